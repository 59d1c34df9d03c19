import { columnRule } from './column-type';

/** A NOT NULL column has a default (or is an identity or generated column). */
export const columnNotNullDefault = columnRule({
  name: 'column-not-null-default',
  category: 'columns',
  summary: 'A NOT NULL column has a default.',
  why: 'An INSERT that does not name the column fails; a default keeps old application versions writing during a release.',
  bytebase: 'column.set-default-for-not-null',
  defaultLevel: 'off',
  engines: ['postgres'],
  examples: {
    forbid: 'CREATE TABLE app.orders (id bigint PRIMARY KEY, status text NOT NULL);',
    allow: "CREATE TABLE app.orders (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'new');",
  },
  judge: (c, t) =>
    c.notNull &&
    c.default === null &&
    c.identity === null &&
    c.generated === null &&
    !t.constraints.some((k) => k.kind === 'primary-key' && k.columns.includes(c.name))
      ? 'NOT NULL without a default: give it one'
      : null,
});
