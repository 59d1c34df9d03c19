import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { constraintsOf, qualified } from './shared';

/** No foreign keys (for teams that keep referential integrity in the application, e.g. sharded databases). */
export const tableNoForeignKey: PolicyRule<Record<string, never>> = {
  name: 'table-no-foreign-key',
  category: 'keys',
  summary: 'Tables declare no foreign keys.',
  why: 'Some teams (sharded or partitioned across databases) keep references in the application; a foreign key there would fail.',
  bytebase: 'table.no-foreign-key',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid:
      'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id bigint REFERENCES app.a);',
    allow: 'CREATE TABLE app.a (id bigint PRIMARY KEY);\nCREATE TABLE app.b (id bigint PRIMARY KEY, a_id bigint);',
  },
  check(subject) {
    return subject.tables().flatMap((t) =>
      constraintsOf(t, 'foreign-key').map((c) => ({
        object: t.key,
        near: c.name,
        message: `table ${qualified(t.key)} declares the foreign key ${c.name}: this team keeps references in the application`,
      })),
    );
  },
};
