import { type ChangeOf, type Classification, of, sameButName, tk } from './classification';

/** A CHECK, foreign key or unique constraint added: `NOT VALID` (or an index built concurrently) at expand, validated at complete. */
export function addConstraint(c: ChangeOf<'add-constraint'>, s: Classification): void {
  const key = tk(c.table.schema, c.table.name);
  // A created table's CREATE TABLE holds its constraints; a renamed one is a rename.
  if (s.created.has(key) || (s.droppedConstraints.get(key) ?? []).some((d) => sameButName(d, c.constraint))) return;
  const k = c.constraint.kind;
  if (k === 'check' || k === 'foreign-key' || k === 'unique') {
    of(s.addedConstraints, key, () => []).push({
      name: c.constraint.name,
      kind: k,
      columns: c.constraint.columns,
      definition: c.constraint.definition,
    });
    s.summary.push(`add ${k} constraint ${c.constraint.name} on ${c.table.schema}.${c.table.name}`);
  } else
    s.refuse(
      `${c.table.schema}.${c.table.name}: adding a ${k} constraint (${c.constraint.name}) is not supported by the expand-contract strategy`,
      'deploy this change with the direct strategy first',
    );
}
