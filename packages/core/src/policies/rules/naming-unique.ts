import { templateRule } from './naming-template';
import { constraintsOf, indexColumns } from './shared';

/** Unique constraints and unique indexes follow a template (default `uk_{table}_{columns}`). */
export const namingUnique = templateRule({
  name: 'naming-unique',
  what: 'Unique key',
  template: 'uk_{table}_{columns}',
  bytebase: 'naming.index.uk',
  defaultLevel: 'off',
  engines: ['postgres'],
  names: (s) => [
    ...s
      .tables()
      .flatMap((t) =>
        constraintsOf(t, 'unique').map((c) => ({ object: t.key, name: c.name, table: t.key.name, columns: c.columns })),
      ),
    ...s
      .indexes()
      .filter((i) => i.unique)
      .map((i) => ({ object: i.table, name: i.key.name, table: i.table.name, columns: indexColumns(i) })),
  ],
  examples: {
    forbid: 'CREATE TABLE app.users (id bigint PRIMARY KEY, email text CONSTRAINT email_unique UNIQUE);',
    allow: 'CREATE TABLE app.users (id bigint PRIMARY KEY, email text CONSTRAINT uk_users_email UNIQUE);',
  },
});
