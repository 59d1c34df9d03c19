import { columnRule } from './column-type';
import { baseType } from './shared';

/** No `char(n)` columns. */
export const typeNoChar = columnRule({
  name: 'type-no-char',
  summary: 'No column is char(n).',
  why: 'char(n) pads with spaces that comparisons ignore and functions do not; text or varchar(n) say what they hold.',
  defaultLevel: 'warning',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.codes (id bigint PRIMARY KEY, code char(3));',
    allow: 'CREATE TABLE app.codes (id bigint PRIMARY KEY, code varchar(3));',
  },
  judge: (c) => (baseType(c.type) === 'character' ? `${c.type} pads with blanks: use text or varchar` : null),
});
