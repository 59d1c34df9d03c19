/** dbee.yaml of the expand tests that need only an embedded database on disk (a second connection can read it). */
export const EMBEDDED_LOCAL_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
`;

/** dbee.yaml of the expand tests run on both back ends: `local` (PGlite on disk) and `server` (`EXPAND_TEST_URL`). */
export const LOCAL_AND_SERVER_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection: { embedded: .dbee/local }
  server:
    engine: postgres
    connection: { url: "\${EXPAND_TEST_URL}" }
`;

/** dbee.yaml of the expand tests on the server only: the environment `server`, its URL in `EXPAND_TEST_URL`. */
export const SERVER_YAML = `version: 1
defaultEnvironment: server
environments:
  server:
    engine: postgres
    connection: { url: "\${EXPAND_TEST_URL}" }
`;

/**
 * Project `s` before and after one release of the lifecycle tests: a column added NOT NULL and computed from others,
 * a rename, a type change, NOT NULL added, a column dropped, and a table created (`s/tags.sql`, with a foreign key).
 */
export const RELEASE_V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, state text, amount int, label text, note text NOT NULL);',
  's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY, name text);',
};
export const RELEASE_V2 = {
  's/db.yaml':
    'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: column, schema: s, table: orders, from: state, to: status }\n',
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, status text, amount numeric(12,2), label text NOT NULL, total int NOT NULL);',
  's/orders.expand.yaml': [
    'columns:',
    '  total:',
    '    up: price * qty',
    '  label:',
    "    up: COALESCE(label, 'none')",
    '  note:',
    "    down: COALESCE(note, '')",
    '',
  ].join('\n'),
  's/tags.sql': 'CREATE TABLE s.tags (id int PRIMARY KEY, order_id int REFERENCES s.orders (id), tag text);',
};
