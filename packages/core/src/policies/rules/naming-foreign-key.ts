import { templateRule } from './naming-template';
import { constraintsOf } from './shared';

/** Foreign keys follow a template (default `fk_{table}_{columns}`). */
export const namingForeignKey = templateRule({
  name: 'naming-foreign-key',
  what: 'Foreign key',
  template: 'fk_{table}_{columns}',
  bytebase: 'naming.index.fk',
  defaultLevel: 'off',
  engines: ['postgres'],
  names: (s) =>
    s.tables().flatMap((t) =>
      constraintsOf(t, 'foreign-key').map((c) => ({
        object: t.key,
        name: c.name,
        table: t.key.name,
        columns: c.columns,
      })),
    ),
  examples: {
    forbid:
      'CREATE TABLE app.customers (id bigint PRIMARY KEY);\nCREATE TABLE app.orders (id bigint PRIMARY KEY, customer_id bigint CONSTRAINT orders_customer REFERENCES app.customers);',
    allow:
      'CREATE TABLE app.customers (id bigint PRIMARY KEY);\nCREATE TABLE app.orders (id bigint PRIMARY KEY, customer_id bigint CONSTRAINT fk_orders_customer_id REFERENCES app.customers);',
  },
});
