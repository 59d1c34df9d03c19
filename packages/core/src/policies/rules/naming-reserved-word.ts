import { z } from 'zod';
import { RESERVED_WORDS } from '../keywords';
import type { PolicyRule } from '../rule';
import { everyName } from './named-things';

/** No name is a reserved key word (`user`, `order`, `group`...), which every query must then quote. */
export const namingReservedWord: PolicyRule<Record<string, never>> = {
  name: 'naming-reserved-word',
  category: 'naming',
  summary: 'No table, column, view or routine is named with a reserved SQL key word.',
  why: 'A column called `order` or a table called `user` must be quoted in every query, by every tool, forever.',
  bytebase: 'naming.identifier.no-keyword',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE TABLE app.orders (id bigint PRIMARY KEY, "user" text);',
    allow: 'CREATE TABLE app.orders (id bigint PRIMARY KEY, user_name text);',
  },
  check(subject) {
    return everyName(subject)
      .filter((n) => RESERVED_WORDS.has(n.name))
      .map((n) => ({
        object: n.object,
        near: n.near,
        message: `${n.what} name "${n.name}" is a reserved key word and must be quoted everywhere: rename it`,
      }));
  },
};
