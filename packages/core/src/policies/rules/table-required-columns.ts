import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** Every table has the columns the team requires, e.g. `[id, created_at]`. */
export const tableRequiredColumns: PolicyRule<{ columns: string[] }> = {
  name: 'table-required-columns',
  category: 'keys',
  summary: 'Every table has the listed columns (`columns: [id, created_at]`).',
  why: 'Columns every table must carry (a surrogate key, audit timestamps) are easiest to keep when they are checked.',
  bytebase: 'column.required',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({ columns: z.array(z.string().min(1)).default(['id', 'created_at']) }),
  examples: {
    params: { columns: ['id', 'created_at'] },
    forbid: 'CREATE TABLE app.orders (id bigint PRIMARY KEY);',
    allow: 'CREATE TABLE app.orders (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());',
  },
  check(subject, params) {
    return subject.tables().flatMap((t) => {
      const missing = params.columns.filter((c) => !t.columns.some((col) => col.name === c));
      return missing.length
        ? [
            {
              object: t.key,
              message: `table ${qualified(t.key)} lacks the required column(s) ${missing.join(', ')}: add them`,
            },
          ]
        : [];
    });
  },
};
