import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { constraintsOf, qualified } from './shared';

/** Every table has a primary key. */
export const tablePrimaryKey: PolicyRule<Record<string, never>> = {
  name: 'table-primary-key',
  category: 'keys',
  summary: 'Every table has a primary key.',
  why: 'Without one, rows cannot be told apart: logical replication cannot update or delete them, and neither can a tool.',
  bytebase: 'table.require-pk',
  defaultLevel: 'error',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE TABLE app.events (at timestamptz, body text);',
    allow: 'CREATE TABLE app.events (id bigint PRIMARY KEY, at timestamptz, body text);',
  },
  check(subject) {
    return subject
      .tables()
      .filter((t) => constraintsOf(t, 'primary-key').length === 0)
      .map((t) => ({ object: t.key, message: `table ${qualified(t.key)} has no primary key: add one` }));
  },
};
