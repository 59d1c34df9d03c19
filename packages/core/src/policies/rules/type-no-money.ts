import { columnRule } from './column-type';
import { baseType } from './shared';

/** No `money` columns. */
export const typeNoMoney = columnRule({
  name: 'type-no-money',
  summary: 'No column is of type money.',
  why: 'money rounds to the server\'s lc_monetary and formats by locale; numeric keeps every digit (PostgreSQL wiki, "Don\'t Do This").',
  bytebase: 'column.type-disallow-list',
  defaultLevel: 'warning',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.prices (id bigint PRIMARY KEY, amount money);',
    allow: 'CREATE TABLE app.prices (id bigint PRIMARY KEY, amount numeric(12,2));',
  },
  judge: (c) => (baseType(c.type) === 'money' ? 'money depends on the locale and rounds: use numeric' : null),
});
