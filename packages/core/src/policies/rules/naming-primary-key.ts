import { templateRule } from './naming-template';
import { constraintsOf } from './shared';

/** Primary keys follow a template (default `{table}_pkey`, PostgreSQL's own name for an unnamed one). */
export const namingPrimaryKey = templateRule({
  name: 'naming-primary-key',
  what: 'Primary key',
  template: '{table}_pkey',
  bytebase: 'naming.index.pk',
  defaultLevel: 'warning',
  engines: ['postgres'],
  names: (s) =>
    s.tables().flatMap((t) =>
      constraintsOf(t, 'primary-key').map((c) => ({
        object: t.key,
        name: c.name,
        table: t.key.name,
        columns: c.columns,
      })),
    ),
  examples: {
    forbid: 'CREATE TABLE app.orders (id bigint CONSTRAINT orders_id_key PRIMARY KEY);',
    allow: 'CREATE TABLE app.orders (id bigint PRIMARY KEY);',
  },
});
