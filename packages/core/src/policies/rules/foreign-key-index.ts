import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { constraintsOf, indexColumns, indexCovers, qualified } from './shared';

/** A foreign key's columns lead some index of its table (else a delete of a parent row scans the child table). */
export const foreignKeyIndex: PolicyRule<Record<string, never>> = {
  name: 'foreign-key-index',
  category: 'indexes',
  summary: "Every foreign key's columns are the leading columns of an index (or key) of its table.",
  why: 'A delete or key update on the referenced table checks the referencing rows: without an index, a full scan under a lock for each row.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid:
      'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id bigint REFERENCES app.a);',
    allow:
      'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id bigint REFERENCES app.a);\nCREATE INDEX b_a_id ON app.b (a_id);',
  },
  check(subject) {
    return subject.tables().flatMap((t) => {
      const leading = [
        ...subject.indexesOf(t.key).map(indexColumns),
        ...t.constraints.filter((c) => c.kind === 'primary-key' || c.kind === 'unique').map((c) => c.columns),
      ].filter((cols): cols is string[] => cols !== null);
      return constraintsOf(t, 'foreign-key')
        .filter((fk) => !leading.some((cols) => indexCovers(fk.columns, cols)))
        .map((fk) => ({
          object: t.key,
          near: fk.name,
          message: `foreign key ${fk.name} of ${qualified(t.key)} (${fk.columns.join(', ')}) has no index: CREATE INDEX ON ${qualified(t.key)} (${fk.columns.join(', ')})`,
        }));
    });
  },
};
