import type { ChangeOf, Classification } from './classification';

/** A column added: added at expand (filled by `up` when declared), shown by the new version only. */
export function addColumn(c: ChangeOf<'add-column'>, s: Classification): void {
  s.summary.push(
    `add column ${c.table.schema}.${c.table.name}.${c.column.name} ${c.column.type}${c.column.notNull ? ' NOT NULL' : ''}`,
  );
}
