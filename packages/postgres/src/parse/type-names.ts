import type { TypeName } from '@pgsql/types';
import { BUILTIN_TYPES, TYPE_DISPLAY_NAMES } from './builtins';
import { nameList, quoteIdent } from './names';

/** Schemas whose objects are never project objects. */
export const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['pg_catalog', 'information_schema']);

/** Whether a type written as `names` resolves to a PostgreSQL built-in (qualified with a system schema or not). */
export function isBuiltinType(names: readonly string[]): boolean {
  if (names.length >= 2) return SYSTEM_SCHEMAS.has(names[names.length - 2]!);
  const name = names[0] ?? '';
  return BUILTIN_TYPES.has(name) || (name.startsWith('_') && BUILTIN_TYPES.has(name.slice(1)));
}

/**
 * A type as `format_type` (and so `pg_get_function_identity_arguments`) prints it, without type modifiers:
 * `int`, `int4` and `integer` give `integer`, `varchar(10)` gives `character varying`, `int[]` gives `integer[]`,
 * `timestamptz` gives `timestamp with time zone`. User types keep the schema they were written with; an unqualified
 * user type gets `defaultSchema` (the first schema of the search path). `%TYPE` references are kept as written.
 */
export function formatTypeName(type: TypeName, defaultSchema: string): string {
  const names = nameList(type.names);
  if (type.pct_type) return `${names.join('.')}%type`;
  let array = (type.arrayBounds?.length ?? 0) > 0;
  let text: string;
  if (isBuiltinType(names)) {
    let name = names[names.length - 1]!;
    if (names.length === 1 && name.startsWith('_') && !BUILTIN_TYPES.has(name)) {
      name = name.slice(1);
      array = true;
    }
    text = TYPE_DISPLAY_NAMES.get(name) ?? name;
    if (names.length >= 2 && names[names.length - 2] === 'information_schema') text = `information_schema.${name}`;
  } else {
    const name = names[names.length - 1] ?? '';
    const schema = names.length >= 2 ? names[names.length - 2]! : defaultSchema;
    text = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  }
  return array ? `${text}[]` : text;
}
