import { columnRule } from './column-type';
import { baseType } from './shared';

/** `jsonb`, not `json`. */
export const typeNoJson = columnRule({
  name: 'type-no-json',
  summary: 'JSON columns are jsonb, not json.',
  why: 'json keeps the text and parses it on every read; jsonb is parsed once, compares by value and can be indexed.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.docs (id bigint PRIMARY KEY, body json);',
    allow: 'CREATE TABLE app.docs (id bigint PRIMARY KEY, body jsonb);',
  },
  judge: (c) => (baseType(c.type) === 'json' ? 'json is re-parsed on every read: use jsonb' : null),
});
