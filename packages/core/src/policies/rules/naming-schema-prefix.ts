import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { qualified } from './shared';

/** Tables and views of a schema start with that schema's prefix, e.g. `{ billing: "bl_" }`. */
export const namingSchemaPrefix: PolicyRule<{ prefixes: Record<string, string> }> = {
  name: 'naming-schema-prefix',
  category: 'naming',
  summary: 'Tables and views of a schema start with the prefix set for it (`prefixes: { billing: bl_ }`).',
  why: 'Where several teams share a database, a prefix per schema tells whose a relation is in any query plan or log.',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({ prefixes: z.record(z.string(), z.string().min(1)).default({}) }),
  examples: {
    params: { prefixes: { app: 'app_' } },
    forbid: 'CREATE TABLE app.orders (id bigint PRIMARY KEY);',
    allow: 'CREATE TABLE app.app_orders (id bigint PRIMARY KEY);',
  },
  check(subject, params) {
    return [...subject.tables(), ...subject.views()]
      .filter(
        (r) => params.prefixes[r.key.schema] !== undefined && !r.key.name.startsWith(params.prefixes[r.key.schema]!),
      )
      .map((r) => ({
        object: r.key,
        message: `${qualified(r.key)} does not start with "${params.prefixes[r.key.schema]}", the prefix of schema ${r.key.schema}: rename it`,
      }));
  },
};
