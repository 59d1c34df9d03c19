import { z } from 'zod';
import type { PolicyRule } from '../rule';
import { everyName } from './named-things';

/** Names are at most `max` characters (PostgreSQL truncates at 63 bytes, silently). */
export const namingMaxLength: PolicyRule<{ max: number }> = {
  name: 'naming-max-length',
  category: 'naming',
  summary: 'Names are at most `max` characters long (default 48).',
  why: 'PostgreSQL cuts names at 63 bytes without an error; room under it keeps generated names (`_pkey`, `_seq`, a backup suffix) distinct.',
  bytebase: 'naming.table (maximum length)',
  defaultLevel: 'off',
  engines: ['postgres'],
  params: z.strictObject({ max: z.number().int().min(1).max(63).default(48) }),
  examples: {
    params: { max: 20 },
    forbid: 'CREATE TABLE app.customer_order_line_adjustments (id bigint PRIMARY KEY);',
    allow: 'CREATE TABLE app.order_lines (id bigint PRIMARY KEY);',
  },
  check(subject, params) {
    return everyName(subject)
      .filter((n) => [...n.name].length > params.max)
      .map((n) => ({
        object: n.object,
        near: n.near,
        message: `${n.what} name "${n.name}" is ${[...n.name].length} characters, over ${params.max}: shorten it`,
      }));
  },
};
