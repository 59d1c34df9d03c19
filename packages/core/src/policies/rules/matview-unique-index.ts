import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** A materialized view has a unique index, so it can be refreshed CONCURRENTLY. */
export const matviewUniqueIndex: PolicyRule<Record<string, never>> = {
  name: 'matview-unique-index',
  category: 'views',
  summary: 'A materialized view has a unique index (REFRESH ... CONCURRENTLY needs one).',
  why: 'Without it, every refresh locks the view against readers for as long as the query takes.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE MATERIALIZED VIEW app.m AS SELECT 1 AS id;',
    allow: 'CREATE MATERIALIZED VIEW app.m AS SELECT 1 AS id;\nCREATE UNIQUE INDEX m_id ON app.m (id);',
  },
  check(subject) {
    return subject
      .views()
      .filter((v) => v.key.kind === 'materialized-view')
      .filter((v) => !subject.indexesOf(v.key).some((i) => i.unique && !i.predicate))
      .map((v) => ({
        object: v.key,
        message: `materialized view ${qualified(v.key)} has no unique index: REFRESH ... CONCURRENTLY is impossible, every refresh blocks readers`,
      }));
  },
};
