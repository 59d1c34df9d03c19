import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** An index has at most `max` key columns. */
export const indexMaxColumns: PolicyRule<{ max: number }> = {
  name: 'index-max-columns',
  category: 'indexes',
  summary: 'An index has at most `max` key columns (default 5).',
  why: 'A wide index is large, slow to write and rarely used past its first columns.',
  bytebase: 'index.key-number-limit',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({ max: z.number().int().positive().default(5) }),
  examples: {
    params: { max: 2 },
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY, a int, b int, c int);\nCREATE INDEX t_abc ON app.t (a, b, c);',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY, a int, b int, c int);\nCREATE INDEX t_ab ON app.t (a, b);',
  },
  check(subject, params) {
    return subject
      .indexes()
      .filter((i) => i.columns.length > params.max)
      .map((i) => ({
        object: i.table,
        near: i.key.name,
        message: `index ${i.key.name} on ${qualified(i.table)} has ${i.columns.length} key columns, over ${params.max}`,
      }));
  },
};
