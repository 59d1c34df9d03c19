import type { Column } from '../../schema/model';
import { declarationFile, quoteName, type TablePlanning } from './column-planning';
import type { ShadowExpressions } from './new-column';
import { of as make, tk } from './classification';
import { shadowColumn } from './new-column';
import { carrier, type ExpandRule } from './rule';

/** NOT NULL added: a shadow column checked NOT VALID, validated at complete. Dropping NOT NULL is refused. */
export const alterColumnNullability: ExpandRule<'alter-column-nullability'> = {
  validate(c, s) {
    if (!c.to)
      s.refuse(
        `${c.table.schema}.${c.table.name}.${c.column}: dropping NOT NULL is not supported by the expand-contract strategy`,
        'deploy this change with the direct strategy (dbee deploy --strategy direct) first',
      );
  },
  plan(c, s) {
    make(s.notNullAdded, tk(c.table.schema, c.table.name), () => new Set()).add(c.column);
    s.summary.push(`add NOT NULL to ${c.table.schema}.${c.table.name}.${c.column}`);
  },
  ...shadowColumn,
  completes: (c, of) => c.to && !!carrier(of(c.table), c.column, ['shadow', 'added'])?.x.notNull,
};

/**
 * NOT NULL added: the old version may still write NULL; `up` (declared, required) says what the new column holds then;
 * `down` is the new column itself unless declared.
 */
export function notNullExpressions(
  t: TablePlanning,
  col: Column,
  from: string,
  given: { up: string | null; down: string | null },
): ShadowExpressions {
  if (given.up === null)
    t.refuse(
      `${t.key}.${col.name}: adding NOT NULL needs an up expression: the value the new version sees where the old version writes NULL`,
      `declare it in ${declarationFile(t)}:\n  columns:\n    ${col.name}:\n      up: COALESCE(${from}, <value>)`,
      t.decl?.columns[col.name]?.location ?? t.decl?.location,
    );
  return { up: given.up, down: given.down ?? quoteName(col.name) };
}
