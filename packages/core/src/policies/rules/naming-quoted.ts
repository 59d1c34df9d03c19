import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { needsQuotes } from '../sql-text';
import { everyName } from './named-things';

/** No name needs quoting: no capitals, spaces or characters outside `a-z0-9_`. */
export const namingQuoted: PolicyRule<Record<string, never>> = {
  name: 'naming-quoted',
  category: 'naming',
  summary: 'No name needs double quotes (capitals, spaces, punctuation, letters outside a-z).',
  why: 'A quoted name is a different name unquoted: `"Orders"` is not `orders`, and every query must quote it exactly.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  params: z.strictObject({}),
  examples: {
    forbid: 'CREATE TABLE app."Order Lines" (id bigint PRIMARY KEY);',
    allow: 'CREATE TABLE app.order_lines (id bigint PRIMARY KEY);',
  },
  check(subject) {
    return everyName(subject)
      .filter((n) => needsQuotes(n.name))
      .map((n) => ({
        object: n.object,
        near: n.near,
        message: `${n.what} name "${n.name}" needs double quotes in every query: use lower-case letters, digits and _`,
      }));
  },
};
