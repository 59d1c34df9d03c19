import { templateRule } from './naming-template';
import { indexColumns } from './shared';

/** Index names follow a template (default `idx_{table}_{columns}`); unique indexes are `naming-unique`'s. */
export const namingIndex = templateRule({
  name: 'naming-index',
  what: 'Index',
  template: 'idx_{table}_{columns}',
  bytebase: 'naming.index.idx',
  defaultLevel: 'off',
  engines: ['postgres'],
  names: (s) =>
    s
      .indexes()
      .filter((i) => !i.unique)
      .map((i) => ({
        object: i.table,
        name: i.key.name,
        table: i.table.name,
        columns: indexColumns(i),
      })),
  examples: {
    forbid:
      'CREATE TABLE app.orders (id bigint PRIMARY KEY, customer_id bigint);\nCREATE INDEX orders_cust ON app.orders (customer_id);',
    allow:
      'CREATE TABLE app.orders (id bigint PRIMARY KEY, customer_id bigint);\nCREATE INDEX idx_orders_customer_id ON app.orders (customer_id);',
  },
});
