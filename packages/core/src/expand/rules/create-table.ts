import type { ChangeOf, Classification } from './classification';

/** A table created: made at expand (the new version's view reads it), dropped by abort. */
export function createTable(c: ChangeOf<'create-table'>, s: Classification): void {
  s.summary.push(`create table ${c.table.key.schema}.${c.table.key.name}`);
}
