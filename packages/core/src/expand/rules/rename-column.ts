import type { ExpandColumn } from '../../engine/engine';
import type { Column } from '../../schema/model';
import type { TablePlanning } from './column-planning';
import { of as make, tk } from './classification';
import { nothing, type ExpandRule } from './rule';

/**
 * A column renamed: each version schema's view names it its own way; renamed physically at complete. A column renamed
 * and retyped (or made NOT NULL) is a shadow: its swap renames it.
 */
export const renameColumn: ExpandRule<'rename-column'> = {
  validate() {},
  plan(c, s) {
    make(s.renamedColumns, tk(c.table.schema, c.table.name), () => new Map()).set(c.to, c.from);
    s.summary.push(`rename column ${c.table.schema}.${c.table.name}.${c.from} to ${c.to}`);
  },
  expand: nothing,
  complete: (p, sql) => ({ renameColumns: [sql.rename(p.table, p.column)] }),
  abort: nothing,
  completes: (c, of) =>
    of(c.table)?.t.columns.some((x) => x.kind !== 'added' && x.from === c.from && x.name === c.to) ?? false,
};

/**
 * A column of the new shape that keeps its physical column: the same, or renamed (`from`). Its default must stay: a
 * default changed on a column that stays is refused.
 */
export function plannedKeptColumn(t: TablePlanning, col: Column, from: string, before: Column): ExpandColumn {
  if ((before.default ?? null) !== (col.default ?? null) && from === col.name)
    t.refuse(
      `${t.key}.${col.name}: changing a column's default is not supported by the expand-contract strategy`,
      'deploy this change with the direct strategy first',
    );
  return {
    name: col.name,
    kind: from === col.name ? 'same' : 'renamed',
    physical: from,
    from,
    type: col.type,
    notNull: col.notNull,
    default: col.default,
    up: null,
    down: null,
  };
}
