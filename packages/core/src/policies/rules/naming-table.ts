import { namePatternRule } from './naming-pattern';

/** Table names match a pattern (default snake_case). */
export const namingTable = namePatternRule({
  name: 'naming-table',
  what: 'Table',
  bytebase: 'naming.table',
  defaultLevel: 'warning',
  engines: ['postgres'],
  names: (s) => s.tables().map((t) => ({ object: t.key, name: t.key.name })),
  examples: {
    forbid: 'CREATE TABLE app."OrderLines" (id bigint PRIMARY KEY);',
    allow: 'CREATE TABLE app.order_lines (id bigint PRIMARY KEY);',
  },
});
