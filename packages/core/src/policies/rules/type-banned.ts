import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { baseType, qualified } from './shared';

/** Column types the team does not use, by the engine's name (`types: [money, "timestamp without time zone", xml]`). */
export const typeBanned: PolicyRule<{ types: string[] }> = {
  name: 'type-banned',
  category: 'types',
  summary:
    'No column has one of the listed types (as the catalog names them: `character varying`, `timestamp without time zone`).',
  why: "A team's own list of types it has been burnt by, beside the built-in rules.",
  bytebase: 'column.type-disallow-list',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({ types: z.array(z.string().min(1)).default([]) }),
  examples: {
    params: { types: ['xml'] },
    forbid: 'CREATE TABLE app.t (id bigint PRIMARY KEY, body xml);',
    allow: 'CREATE TABLE app.t (id bigint PRIMARY KEY, body text);',
  },
  check(subject, params) {
    const banned = new Set(params.types.map((t) => t.toLowerCase()));
    return subject.tables().flatMap((t) =>
      t.columns
        .filter((c) => banned.has(baseType(c.type)) || banned.has(c.type))
        .map((c) => ({
          object: t.key,
          near: c.name,
          message: `${qualified(t.key)}.${c.name} is ${c.type}, a type this team does not use`,
        })),
    );
  },
};
