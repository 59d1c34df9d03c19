import { type ChangeOf, type Classification, of, sameButName, tk } from './classification';

/** A constraint dropped: only as half of a rename (added again with the same definition); otherwise refused. */
export function dropConstraint(c: ChangeOf<'drop-constraint'>, s: Classification): void {
  const key = tk(c.table.schema, c.table.name);
  const partner = s.changes.find(
    (o) =>
      o.kind === 'add-constraint' &&
      tk(o.table.schema, o.table.name) === key &&
      sameButName(o.constraint, c.constraint),
  );
  if (partner && partner.kind === 'add-constraint')
    of(s.renamedConstraints, key, () => []).push({ from: c.constraint.name, to: partner.constraint.name });
  else
    s.refuse(
      `${key}: dropping constraint ${c.constraint.name} is not supported by the expand-contract strategy`,
      'deploy this change with the direct strategy first',
    );
}
