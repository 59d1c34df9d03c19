import type { ExpandColumn, ExpandTable } from '../../engine/engine';
import type { ExpandKind, ExpandPart } from './rule';

/**
 * The parts of a release's table, each owned by one change kind, in the order the phases take them: the table it
 * creates, its new shape's columns in order (`same` ones are no change's), the columns it drops, the constraints it
 * adds, the constraints it renames, its rename. Read from the stored plan, so a release expanded before an upgrade
 * completes and aborts the same way.
 */
export function partsOf(table: ExpandTable): ExpandPart[] {
  const parts: ExpandPart[] = table.created ? [{ kind: 'create-table', table }] : [];
  for (const column of table.columns) {
    const kind = columnKind(table, column);
    if (kind) parts.push({ kind, table, column });
  }
  for (const column of table.dropped) parts.push({ kind: 'drop-column', table, column });
  for (const constraint of table.constraints) parts.push({ kind: 'add-constraint', table, constraint });
  for (const rename of table.renamedConstraints ?? []) parts.push({ kind: 'drop-constraint', table, rename });
  if (table.newName !== table.name) parts.push({ kind: 'rename-table', table });
  return parts;
}

/** The kind that owns a column of the new shape: a shadow is a type change, or NOT NULL added to the same type. */
function columnKind(
  table: ExpandTable,
  c: ExpandColumn,
): Extract<ExpandKind, 'add-column' | 'rename-column' | 'alter-column-type' | 'alter-column-nullability'> | null {
  if (c.kind === 'added') return 'add-column';
  if (c.kind === 'renamed') return 'rename-column';
  if (c.kind === 'same') return null;
  const before = table.oldColumns.find((o) => o.name === c.from);
  return before && before.type === c.type ? 'alter-column-nullability' : 'alter-column-type';
}
