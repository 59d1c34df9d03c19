import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** A table has at most `max` indexes. */
export const indexMaxPerTable: PolicyRule<{ max: number }> = {
  name: 'index-max-per-table',
  category: 'indexes',
  summary: 'A table has at most `max` indexes (default 10), keys included.',
  why: 'Every index is written on every insert and on updates of its columns; past a handful, writes pay for reads nobody makes.',
  bytebase: 'index.total-number-limit',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({ max: z.number().int().positive().default(10) }),
  examples: {
    params: { max: 2 },
    forbid:
      'CREATE TABLE app.t (id bigint PRIMARY KEY, a int, b int);\nCREATE INDEX t_a ON app.t (a);\nCREATE INDEX t_b ON app.t (b);',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY, a int, b int);\nCREATE INDEX t_a ON app.t (a);',
  },
  check(subject, params) {
    return subject.tables().flatMap((t) => {
      const keys = t.constraints.filter((c) => ['primary-key', 'unique', 'exclusion'].includes(c.kind)).length;
      const count = subject.indexesOf(t.key).length + keys;
      return count > params.max
        ? [
            {
              object: t.key,
              message: `table ${qualified(t.key)} has ${count} indexes, over ${params.max}: drop the unused ones (dbee advise lists them)`,
            },
          ]
        : [];
    });
  },
};
