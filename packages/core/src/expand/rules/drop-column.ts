import type { DroppedColumn } from '../../engine/engine';
import type { Column } from '../../schema/model';
import { declarationFile, type TablePlanning } from './column-planning';
import { nothing, type ExpandRule } from './rule';

/** A column dropped: kept (written by `down`) until complete drops it. */
export const dropColumn: ExpandRule<'drop-column'> = {
  validate() {},
  plan(c, s) {
    s.summary.push(`drop column ${c.table.schema}.${c.table.name}.${c.column.name}`);
  },
  expand: nothing,
  complete: (p, sql) => ({ dropColumns: [sql.drop(p.table, p.column)] }),
  abort: nothing,
  completes: (c, of) => of(c.table)?.t.dropped.some((d) => d.name === c.column.name) ?? false,
};

/** A column of the old shape that is gone: kept until complete, written by its `down` for the new version's rows. */
export function plannedDroppedColumn(t: TablePlanning, c: Column): DroppedColumn {
  const given = t.decl?.columns[c.name];
  const down = given?.down ?? null;
  if (c.notNull && c.default === null && down === null && !c.identity && !c.generated)
    t.refuse(
      `${t.key}.${c.name} is dropped but NOT NULL without a default: rows the new version inserts need a value for the old version`,
      `declare a down expression (over the new columns) in ${declarationFile(t)}:\n  columns:\n    ${c.name}:\n      down: <expression>`,
      given?.location ?? t.decl?.location,
    );
  return { name: c.name, type: c.type, down };
}
