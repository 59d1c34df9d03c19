/**
 * The application of the team workspace (test/support/team-workspace.ts, with `core.customers.phone` added: see
 * `CUSTOMERS_WITH_PHONE`), as its queries: 37 statements over core's,
 * sales' and reporting's tables, views and functions, with parameters, one per line of `app/queries/app.sql`. Each has
 * an id and the objects (`schema.table.column`, `schema.view`, `schema.function`) it uses, so a test can say which
 * queries a change must flag.
 */
export const APP_QUERIES: { id: string; sql: string }[] = [
  { id: 'customer-by-id', sql: 'SELECT id, name, email, region FROM core.customers WHERE id = $1' },
  { id: 'customer-email', sql: 'SELECT email FROM core.customers WHERE id = $1' },
  { id: 'customer-names', sql: 'SELECT id, name FROM core.customers ORDER BY name LIMIT $1' },
  { id: 'customers-in-region', sql: 'SELECT id, name FROM core.customers WHERE region = $1' },
  { id: 'count-regions', sql: 'SELECT region, count(*) FROM core.customers GROUP BY region' },
  { id: 'insert-customer', sql: 'INSERT INTO core.customers (id, name, email) VALUES ($1, $2, $3)' },
  { id: 'insert-customer-region', sql: "INSERT INTO core.customers (id, name, region) VALUES ($1, $2, 'us')" },
  { id: 'rename-customer', sql: 'UPDATE core.customers SET name = $2 WHERE id = $1' },
  { id: 'set-email', sql: 'UPDATE core.customers SET email = $2 WHERE id = $1' },
  { id: 'delete-customer', sql: 'DELETE FROM core.customers WHERE id = $1' },
  { id: 'active', sql: 'SELECT id, name, region FROM core.active_customers' },
  { id: 'active-count', sql: 'SELECT count(*) FROM core.active_customers WHERE region = $1' },
  { id: 'order-by-id', sql: 'SELECT id, customer_id, amount, placed_on FROM sales.orders WHERE id = $1' },
  { id: 'orders-of', sql: 'SELECT id, amount FROM sales.orders WHERE customer_id = $1 ORDER BY placed_on DESC' },
  { id: 'insert-order', sql: 'INSERT INTO sales.orders (id, customer_id, amount) VALUES ($1, $2, $3)' },
  { id: 'update-amount', sql: 'UPDATE sales.orders SET amount = $2 WHERE id = $1' },
  { id: 'delete-order', sql: 'DELETE FROM sales.orders WHERE id = $1' },
  { id: 'orders-since', sql: 'SELECT count(*) FROM sales.orders WHERE placed_on >= $1' },
  {
    id: 'order-join',
    sql: 'SELECT o.id, c.name FROM sales.orders o JOIN core.customers c ON c.id = o.customer_id WHERE o.id = $1',
  },
  { id: 'summary', sql: 'SELECT customer_id, name, orders, total FROM sales.order_summary' },
  { id: 'summary-of', sql: 'SELECT total FROM sales.order_summary WHERE customer_id = $1' },
  { id: 'order-count', sql: 'SELECT sales.order_count($1)' },
  { id: 'order-count-plus', sql: 'SELECT sales.order_count($1) AS n' },
  { id: 'revenue', sql: 'SELECT customer_id, name, total FROM reporting.customer_revenue' },
  { id: 'revenue-top', sql: 'SELECT name, total FROM reporting.top_customers' },
  { id: 'revenue-of', sql: 'SELECT reporting.revenue_of($1)' },
  { id: 'revenue-of-many', sql: 'SELECT c.id, reporting.revenue_of(c.id) FROM core.customers c WHERE c.region = $1' },
  { id: 'revenue-over', sql: 'SELECT customer_id FROM reporting.customer_revenue WHERE total > $1' },
  {
    id: 'with-cte',
    sql: 'WITH big AS (SELECT customer_id FROM sales.order_summary WHERE total > $1) SELECT count(*) FROM big',
  },
  { id: 'exists-order', sql: 'SELECT EXISTS (SELECT 1 FROM sales.orders WHERE customer_id = $1)' },
  {
    id: 'upsert-customer',
    sql: 'INSERT INTO core.customers (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name',
  },
  { id: 'now', sql: 'SELECT now()' },
  { id: 'order-star', sql: 'SELECT * FROM sales.orders WHERE id = $1' },
  { id: 'customer-phone', sql: 'SELECT phone FROM core.customers WHERE id = $1' },
  { id: 'customer-contact', sql: 'SELECT id, name, phone FROM core.customers WHERE id = $1' },
  { id: 'set-phone', sql: 'UPDATE core.customers SET phone = $2 WHERE id = $1' },
  { id: 'customers-with-phone', sql: 'SELECT id FROM core.customers WHERE phone IS NOT NULL' },
];

/** `app/queries/app.sql`: one query per line, so a query's origin line gives its id. */
export function appQueriesFile(): string {
  return APP_QUERIES.map((q) => `${q.sql};`).join('\n') + '\n';
}

/** The id of the query at `origin` (`app/queries/app.sql:<line>`). */
export function queryId(origin: string): string {
  const line = Number(/:(\d+)$/.exec(origin)?.[1]);
  return APP_QUERIES[line - 1]?.id ?? origin;
}

/** core.customers with a column no view uses (`phone`): the app's queries use it directly. */
export function customersTable(phone: string | null, region = "region text NOT NULL DEFAULT 'eu'"): string {
  return `CREATE TABLE core.customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  ${region}${phone ? `,\n  ${phone}` : ''}
);
`;
}
