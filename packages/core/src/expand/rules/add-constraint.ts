import { type ChangeOf, type Classification, of, sameButName, tk } from './classification';

/**
 * A CHECK, foreign key or unique constraint added: `NOT VALID` (or an index built concurrently) at expand, validated at
 * complete. On a table the release creates (its foreign keys, and what its source declares `NOT VALID`, come apart
 * from its CREATE TABLE): made at expand once every new table exists, valid at once (the new table is empty and the
 * old version never writes it), so the new version's writes are checked from the start.
 */
export function addConstraint(c: ChangeOf<'add-constraint'>, s: Classification): void {
  const key = tk(c.table.schema, c.table.name);
  if (s.created.has(key)) {
    const { name, kind, columns, definition, attrs } = c.constraint;
    if (kind === 'check' || kind === 'foreign-key' || kind === 'unique')
      of(s.createdConstraints, key, () => []).push({
        name,
        kind,
        columns,
        definition,
        ...(attrs['notValid'] === true ? { notValid: true } : {}),
      });
    return;
  }
  // A renamed constraint is a rename.
  if ((s.droppedConstraints.get(key) ?? []).some((d) => sameButName(d, c.constraint))) return;
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
