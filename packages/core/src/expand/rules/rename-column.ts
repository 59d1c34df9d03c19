import { type ChangeOf, type Classification, of, tk } from './classification';

/** A column renamed: each version schema's view names it its own way. */
export function renameColumn(c: ChangeOf<'rename-column'>, s: Classification): void {
  of(s.renamedColumns, tk(c.table.schema, c.table.name), () => new Map()).set(c.to, c.from);
  s.summary.push(`rename column ${c.table.schema}.${c.table.name}.${c.from} to ${c.to}`);
}
