import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { constraintsOf, qualified } from './shared';

/** No `ON DELETE CASCADE`: a delete of one row should not silently delete others. */
export const foreignKeyNoCascade: PolicyRule<Record<string, never>> = {
  name: 'foreign-key-no-cascade',
  category: 'keys',
  summary: 'Foreign keys are not ON DELETE CASCADE.',
  why: 'One DELETE of a parent row removes every child row, and their children, with no trace in the statement that did it.',
  bytebase: 'statement.disallow-on-del-cascade',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid:
      'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id bigint REFERENCES app.a ON DELETE CASCADE);',
    allow:
      'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id bigint REFERENCES app.a);',
  },
  check(subject) {
    return subject.tables().flatMap((t) =>
      constraintsOf(t, 'foreign-key')
        .filter((fk) => fk.references?.onDelete === 'cascade')
        .map((fk) => ({
          object: t.key,
          near: fk.name,
          message: `foreign key ${fk.name} of ${qualified(t.key)} deletes in cascade: delete child rows explicitly, or RESTRICT`,
        })),
    );
  },
};
