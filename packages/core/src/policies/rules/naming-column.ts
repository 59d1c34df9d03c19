import { namePatternRule } from './naming-pattern';

/** Column names match a pattern (default snake_case). */
export const namingColumn = namePatternRule({
  name: 'naming-column',
  what: 'Column',
  bytebase: 'naming.column',
  defaultLevel: 'warning',
  engines: ['postgres'],
  names: (s) => s.tables().flatMap((t) => t.columns.map((c) => ({ object: t.key, name: c.name, near: c.name }))),
  examples: {
    forbid: 'CREATE TABLE app.orders (id bigint PRIMARY KEY, "placedOn" date);',
    allow: 'CREATE TABLE app.orders (id bigint PRIMARY KEY, placed_on date);',
  },
});
