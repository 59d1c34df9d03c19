/**
 * A seeded workload for `dbee advise` with known answers, shared by the test (`advise.test.ts`, small) and the
 * benchmark (`tools/bench-advise.ts`, 100k-1M rows): tables of a shop, the application's queries (each with the index
 * that is known to serve it, or none: the decoys), existing indexes of which two are redundant, a pair of columns one
 * of which determines the other (extended statistics), and a table changed since its last analyze.
 */

/** The project's sources (`db.yaml` and schema files) under `databases/shop/`. */
export function shopSources(): Record<string, string> {
  return {
    'databases/shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\nsearchPath: [shop, public]\n',
    'databases/shop/schema/shop/tables/customers.sql': `CREATE TABLE shop.customers (
  id integer PRIMARY KEY,
  email text NOT NULL,
  region integer NOT NULL,
  city text NOT NULL,
  created_at timestamptz NOT NULL
);`,
    'databases/shop/schema/shop/tables/products.sql': `CREATE TABLE shop.products (
  id integer PRIMARY KEY,
  sku text NOT NULL,
  category integer NOT NULL,
  price numeric NOT NULL
);`,
    'databases/shop/schema/shop/tables/orders.sql': `CREATE TABLE shop.orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES shop.customers (id),
  store_id integer NOT NULL,
  status text NOT NULL,
  ordered_at timestamptz NOT NULL,
  total numeric NOT NULL,
  note text
);`,
    'databases/shop/schema/shop/tables/addresses.sql': `CREATE TABLE shop.addresses (
  id integer PRIMARY KEY,
  zip integer NOT NULL,
  city_code integer NOT NULL
);`,
    'databases/shop/schema/shop/tables/settings.sql': `CREATE TABLE shop.settings (
  name text PRIMARY KEY,
  value text
);`,
    // Existing indexes: orders_status_idx is a prefix of orders_status_ordered_idx, customers_created_idx2 a
    // duplicate of customers_created_idx.
    'databases/shop/schema/shop/indexes/orders.sql': `CREATE INDEX orders_status_idx ON shop.orders (status);
CREATE INDEX orders_status_ordered_idx ON shop.orders (status, ordered_at);`,
    'databases/shop/schema/shop/indexes/customers.sql': `CREATE INDEX customers_created_idx ON shop.customers (created_at);
CREATE INDEX customers_created_idx2 ON shop.customers (created_at);`,
  };
}

/** The indexes that exist and are redundant: what the advice must call redundant. */
export const REDUNDANT = ['orders_status_idx', 'customers_created_idx2'];

/**
 * The application's queries, literal values as an application's ORM logs them, each with the index that serves it
 * (`table(columns)`), or null for a decoy an index does not help (a value most rows have, a range the planner
 * cannot narrow, an expression, a tiny table, no filter) or a query an existing index serves.
 */
export const QUERIES: { sql: string; index: string | null }[] = [
  { sql: 'SELECT id, total FROM shop.orders WHERE customer_id = 4711', index: 'orders(customer_id)' },
  { sql: "SELECT id FROM shop.customers WHERE email = 'c4711@example.com'", index: 'customers(email)' },
  {
    sql: "SELECT id, total FROM shop.orders WHERE store_id = 17 AND ordered_at > '2026-06-01'",
    index: 'orders(store_id,ordered_at)',
  },
  { sql: "SELECT id, price FROM shop.products WHERE sku = 'SKU-42'", index: 'products(sku)' },
  { sql: 'SELECT id, total FROM shop.orders ORDER BY ordered_at DESC LIMIT 20', index: 'orders(ordered_at)' },
  {
    sql: "SELECT c.email, o.total FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id WHERE c.email = 'c99@example.com'",
    index: 'orders(customer_id)',
  },
  { sql: "SELECT count(*) FROM shop.orders WHERE status = 'shipped'", index: null },
  { sql: 'SELECT count(*) FROM shop.orders WHERE total > 10', index: null },
  { sql: "SELECT id FROM shop.customers WHERE lower(city) = 'oslo'", index: null },
  { sql: "SELECT value FROM shop.settings WHERE name = 'theme'", index: null },
  { sql: 'SELECT avg(total) FROM shop.orders', index: null },
  { sql: 'SELECT id FROM shop.addresses WHERE zip = 120 AND city_code = 12', index: 'addresses(zip)' },
  // The same two dependent columns, where the second one orders the rows: the pair serves the sort and the limit,
  // whichever column determines the other (the rule for dependent columns must not take it away).
  { sql: 'SELECT zip FROM shop.addresses WHERE city_code = 7 ORDER BY zip LIMIT 5', index: 'addresses(city_code,zip)' },
  // Served by an index made by hand on the server (not in the sources; the test's release drops it).
  { sql: "SELECT id FROM shop.customers WHERE city = 'city7'", index: null },
];

/** The indexes the advice must find: the set of `index` above. */
export const KNOWN_GOOD = [...new Set(QUERIES.flatMap((q) => (q.index ? [q.index] : [])))];

/**
 * Rows for `customers` customers (orders: 5 per customer; products: one per 10 customers), by set-based inserts, then
 * ANALYZE; then a fifth of the customers updated, so that `customers` is stale. Returns the statements.
 */
export function seedData(customers: number): string[] {
  const orders = customers * 5;
  const products = Math.max(100, Math.floor(customers / 10));
  return [
    `INSERT INTO shop.customers SELECT i, 'c' || i || '@example.com', i % 20, 'city' || (i % 300), '2026-01-01'::timestamptz + (i % 365) * interval '1 day' FROM generate_series(1, ${customers}) i`,
    `INSERT INTO shop.products SELECT i, 'SKU-' || i, i % 50, (i % 1000) / 10.0 FROM generate_series(1, ${products}) i`,
    `INSERT INTO shop.orders SELECT i, 1 + (i::bigint * 7919) % ${customers}, i % 1000, (ARRAY['new','paid','shipped','done','returned'])[1 + i % 5], '2026-01-01'::timestamptz + (i % 500000) * interval '1 minute', (i % 997) / 3.0, NULL FROM generate_series(1, ${orders}) i`,
    `INSERT INTO shop.addresses SELECT i, i % 1000, (i % 1000) / 10 FROM generate_series(1, ${customers}) i`,
    `INSERT INTO shop.settings VALUES ('theme', 'dark'), ('lang', 'en')`,
    // The counters of this session's writes reach the statistics at its next report: forced before ANALYZE (else
    // they would count as changes after it), and after the update.
    'SELECT pg_stat_force_next_flush()',
    'CREATE INDEX customers_city_idx ON shop.customers (city)',
    'ANALYZE',
    `UPDATE shop.customers SET city = city || '!' WHERE id % 5 = 0`,
    'SELECT pg_stat_force_next_flush()',
  ];
}

/** `CREATE INDEX ... ON shop.orders (customer_id)` → `orders(customer_id)`; the same key as `QUERIES[].index`. */
export function indexKey(table: string, columns: string[]): string {
  return `${table}(${columns.join(',')})`;
}
