import type { ChangeOf, Classification } from './classification';

/** A column dropped: kept (written by `down`) until complete drops it. */
export function dropColumn(c: ChangeOf<'drop-column'>, s: Classification): void {
  s.summary.push(`drop column ${c.table.schema}.${c.table.name}.${c.column.name}`);
}
