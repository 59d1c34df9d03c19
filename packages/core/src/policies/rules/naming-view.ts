import { namePatternRule } from './naming-pattern';

/** View and materialized view names match a pattern (default snake_case; a team may ask for `^v_`). */
export const namingView = namePatternRule({
  name: 'naming-view',
  what: 'View',
  defaultLevel: 'warning',
  engines: ['postgres'],
  names: (s) => s.views().map((v) => ({ object: v.key, name: v.key.name })),
  examples: {
    forbid: 'CREATE VIEW app."OpenOrders" AS SELECT 1 AS id;',
    allow: 'CREATE VIEW app.open_orders AS SELECT 1 AS id;',
  },
});
