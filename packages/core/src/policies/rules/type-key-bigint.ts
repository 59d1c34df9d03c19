import { columnRule } from './column-type';
import { baseType, constraintsOf } from './shared';

/** Primary key columns of an integer type are bigint. */
export const typeKeyBigint = columnRule({
  name: 'type-key-bigint',
  category: 'keys',
  summary: 'Integer primary key columns are bigint.',
  why: 'An integer key runs out at 2,147,483,647; changing its type later rewrites the table and every referencing one.',
  bytebase: 'index.primary-key-type-allowlist',
  defaultLevel: 'off',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.orders (id integer PRIMARY KEY);',
    allow: 'CREATE TABLE app.orders (id bigint PRIMARY KEY);',
  },
  judge: (c, t) =>
    ['integer', 'smallint'].includes(baseType(c.type)) &&
    constraintsOf(t, 'primary-key').some((pk) => pk.columns.includes(c.name))
      ? `a primary key column of type ${c.type}: use bigint`
      : null,
});
