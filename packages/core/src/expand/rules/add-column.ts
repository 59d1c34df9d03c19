import type { ExpandColumn } from '../../engine/engine';
import type { Column } from '../../schema/model';
import { declarationFile, type TablePlanning } from './column-planning';
import { newColumn } from './new-column';
import { madeAtExpand, type ExpandRule } from './rule';

/** A column added: added at expand (filled by `up` when declared, or its default), shown by the new version only. */
export const addColumn: ExpandRule<'add-column'> = {
  validate() {},
  plan(c, s) {
    s.summary.push(
      `add column ${c.table.schema}.${c.table.name}.${c.column.name} ${c.column.type}${c.column.notNull ? ' NOT NULL' : ''}`,
    );
  },
  expand: newColumn.expand,
  complete: newColumn.complete,
  abort: newColumn.abort,
  completes: madeAtExpand,
};

/** The column of the new shape an `add-column` makes: added under its name, filled by its `up` or its default. */
export function plannedAddedColumn(t: TablePlanning, col: Column): ExpandColumn {
  const given = t.decl?.columns[col.name];
  if (col.identity || col.generated)
    t.refuse(
      `${t.key}.${col.name}: adding an identity or generated column is not supported by the expand-contract strategy`,
      'deploy it with the direct strategy first',
    );
  const up = given?.up ?? null;
  if (col.notNull && up === null && col.default === null)
    t.refuse(
      `${t.key}.${col.name} is added NOT NULL without a default: the old version's rows need a value`,
      `give it a default in its table file, or an up expression computed from the old columns in ${declarationFile(t)}:\n  columns:\n    ${col.name}:\n      up: <expression over the old columns>`,
      given?.location ?? t.decl?.location,
    );
  return {
    name: col.name,
    kind: 'added',
    physical: col.name,
    type: col.type,
    notNull: col.notNull,
    default: col.default,
    up,
    down: null,
  };
}
