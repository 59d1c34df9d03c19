import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** Tables of the listed schemas have row-level security enabled. */
export const tableRowSecurity: PolicyRule<{ schemas: string[] }> = {
  name: 'table-row-security',
  category: 'security',
  summary: 'Tables in the listed schemas (`schemas: [tenant]`) have row-level security enabled.',
  why: "In a multi-tenant schema, a table without RLS shows every tenant's rows to any query that forgets its WHERE.",
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({ schemas: z.array(z.string().min(1)).default([]) }),
  examples: {
    params: { schemas: ['app'] },
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY);',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY);\nALTER TABLE app.t ENABLE ROW LEVEL SECURITY;',
  },
  check(subject, params) {
    return subject
      .tables()
      .filter((t) => params.schemas.includes(t.key.schema) && t.attrs['rowSecurity'] !== true)
      .map((t) => ({
        object: t.key,
        message: `table ${qualified(t.key)} has no row-level security: ALTER TABLE ${qualified(t.key)} ENABLE ROW LEVEL SECURITY, with its policies`,
      }));
  },
};
