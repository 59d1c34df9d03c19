import { type ChangeOf, type Classification, tk } from './classification';

/** A table renamed: the new version schema's view keeps the new name over the renamed table. */
export function renameTable(c: ChangeOf<'rename-table'>, s: Classification): void {
  s.renamedTables.set(tk(c.table.schema, c.from), c.to);
  s.summary.push(`rename table ${c.table.schema}.${c.from} to ${c.to}`);
}
