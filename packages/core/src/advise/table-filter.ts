import { DbeeError } from '../errors';

/** A table by schema and name, as the filter reads it. */
interface Named {
  schema: string;
  name: string;
}

/**
 * `--include-tables` and `--skip-tables` of `dbee advise` (Dexter's `--include` and `--exclude`): each value a comma-separated list of tables,
 * `schema.table` or `table` (any of the project's schemas), `*` matching any run of characters (`shop.order*`). A table
 * is advised on when it matches an inclusion (or none is given) and no exclusion. A name without `*` that matches
 * none of the project's tables is refused (a typo would otherwise silently advise on everything, or on nothing).
 */
export function tableFilter(
  tables: Named[],
  include: string[] | undefined,
  exclude: string[] | undefined,
): (t: { schema: string; table?: string; name?: string }) => boolean {
  const split = (values: string[] | undefined) =>
    (values ?? [])
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
  const [inc, exc] = [split(include), split(exclude)];
  const unknown = [...inc, ...exc].filter((p) => !p.includes('*') && !tables.some((t) => matches(p, t)));
  if (unknown.length)
    throw new DbeeError(`--include-tables/--skip-tables name no table of the project: ${unknown.join(', ')}`, {
      code: 'ADVICE_TABLE_UNKNOWN',
      hint: `give tables as schema.table or table, * for any characters; the project's tables: ${
        tables
          .slice(0, 20)
          .map((t) => `${t.schema}.${t.name}`)
          .join(', ') + (tables.length > 20 ? ', ...' : '')
      }`,
    });
  return (t) => {
    const named = { schema: t.schema, name: t.table ?? t.name ?? '' };
    return (!inc.length || inc.some((p) => matches(p, named))) && !exc.some((p) => matches(p, named));
  };
}

function matches(pattern: string, t: Named): boolean {
  const dot = pattern.indexOf('.');
  const [schema, name] = dot < 0 ? [null, pattern] : [pattern.slice(0, dot), pattern.slice(dot + 1)];
  return (schema === null || glob(schema).test(t.schema)) && glob(name).test(t.name);
}

function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}
