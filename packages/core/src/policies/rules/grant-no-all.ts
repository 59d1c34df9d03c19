import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** The privileges a table can have, all of which `GRANT ALL` gives. */
const TABLE_ALL = ['DELETE', 'INSERT', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE'];

/** No `GRANT ALL` on a table: grant the privileges a role needs. */
export const grantNoAll: PolicyRule<Record<string, never>> = {
  name: 'grant-no-all',
  category: 'security',
  summary: 'No role holds every privilege on a table (GRANT ALL); grant what it needs.',
  why: 'ALL includes TRUNCATE, TRIGGER and REFERENCES, which an application role never needs and an attacker would like.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY);\nGRANT ALL ON app.t TO PUBLIC;',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY);\nGRANT SELECT ON app.t TO PUBLIC;',
  },
  check(subject) {
    return subject.model.privileges
      .filter((p) => !p.column && (p.target.kind === 'table' || p.target.kind === 'view') && subject.judges(p.target))
      .filter((p) => TABLE_ALL.every((x) => p.privileges.includes(x)))
      .map((p) => ({
        object: p.target,
        message: `ALL privileges on ${qualified(p.target)} granted to ${p.grantee}: grant only what it needs`,
      }));
  },
};
