import type { ChangeOf } from '../../schema/change';
import { type Classification, of as make, sameButName, tk } from './classification';
import { nothing, type ExpandRule } from './rule';

/** The constraint added again with the same definition under another name: a dropped constraint's other half. */
function partner(c: ChangeOf<'drop-constraint'>, s: Classification) {
  const key = tk(c.table.schema, c.table.name);
  const found = s.changes.find(
    (o) =>
      o.kind === 'add-constraint' &&
      tk(o.table.schema, o.table.name) === key &&
      sameButName(o.constraint, c.constraint),
  );
  return found?.kind === 'add-constraint' ? found : undefined;
}

/** A constraint dropped: only as half of a rename (added again with the same definition), renamed at complete. */
export const dropConstraint: ExpandRule<'drop-constraint'> = {
  validate(c, s) {
    if (!partner(c, s))
      s.refuse(
        `${tk(c.table.schema, c.table.name)}: dropping constraint ${c.constraint.name} is not supported by the expand-contract strategy`,
        'deploy this change with the direct strategy first',
      );
  },
  plan(c, s) {
    make(s.renamedConstraints, tk(c.table.schema, c.table.name), () => []).push({
      from: c.constraint.name,
      to: partner(c, s)!.constraint.name,
    });
  },
  expand: nothing,
  complete: (p, sql) => ({ renameConstraints: [sql.rename(p.table, p.rename)] }),
  abort: nothing,
  completes: (c, of) => of(c.table)?.t.renamedConstraints?.some((r) => r.from === c.constraint.name) ?? false,
};
