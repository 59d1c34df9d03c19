import { example, LAB_SQL, PUB_SQL, RUNS, type Cell, type Run, type Shape } from './verdict-matrix';

/**
 * The verdict matrix's column `advise` (issue 89), a phase after the others: `dbee advise <project> --queries
 * app/advise.sql` on the target itself (advise plans on the target's session, with the target's sizes and statistics;
 * it never works on a copy). Its verdict is the report: exit 0 when the index advice is proven by hypothetical
 * indexes, the advised index named with the queries it serves; for a release, each query whose plan uses an index the
 * release drops (a regression, or with HypoPG before 1.4 a query not costed) and each foreign key it adds without an
 * index. The workload (`ADVISE_QUERIES`) is the same for every run; a correct release changes rows (an ANALYZE to run
 * after it), a broken one drops an index a query uses or adds a foreign key without one.
 *
 * Before its runs, the phase (`ADVISE_SETUP`) gives each shape's table rows enough for an index to pay (the planner
 * sizes a table from its pages: a table of 20 rows is read whole whatever its indexes) and creates HypoPG in a schema
 * of its own, `hypopg`, which no project owns: in `public` its functions would be pub's, and pub's plan would drop the
 * extension. It also makes by hand an index on a partition under the name the advice gives that partition's index
 * (`events_2025_v_idx`, on other columns): the advice must name its own otherwise. After them, verdicts.test.ts checks that the target is as it was (advise applies nothing), then
 * `ADVISE_TEARDOWN` takes the rows and the extension away again. lab.a and lab.b reference each other by columns
 * without an index, so each deleted row's foreign-key check read the other table whole: 22,000 such reads, 4.5 s of
 * the server's CPU (an eighth of the file's). The teardown indexes both columns for its deletes (their deferred
 * checks run at `SET CONSTRAINTS ALL IMMEDIATE`, before the indexes go) and drops the indexes in the same transaction.
 */

/** Rows added per shape's table (the partitioned and the big table past 10,000: their statements differ there). */
const N = 11_000;
export const ADVISE_SETUP = `
CREATE SCHEMA hypopg;
CREATE EXTENSION hypopg SCHEMA hypopg;
CREATE INDEX events_2025_v_idx ON lab.events_2025 (at);
INSERT INTO lab.items SELECT g, g FROM generate_series(1001, 1000 + ${N}) g;
INSERT INTO lab.events SELECT g, DATE '2025-01-01' + (g % 700), g FROM generate_series(1001, 1000 + ${N}) g;
BEGIN;
INSERT INTO lab.a SELECT g, 'a' || g, g FROM generate_series(1001, 1000 + ${N}) g;
INSERT INTO lab.b SELECT g, g FROM generate_series(1001, 1000 + ${N}) g;
COMMIT;
INSERT INTO lab.log SELECT g, now() - g * interval '1 second', 'line ' || g FROM generate_series(1001, 1000 + ${N}) g;
INSERT INTO lab.readings SELECT 'x' || (g % 5000), g % 5 FROM generate_series(1, ${N}) g;
INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1001, 1000 + ${N}) g;
INSERT INTO core.customers (email, full_name, country) SELECT 'x' || g || '@example.org', 'X ' || g, 'DE' FROM generate_series(1, ${N}) g;
INSERT INTO core.products (sku, name, unit_price) SELECT 'X-' || g, 'x ' || g, 1 FROM generate_series(1, ${N}) g;
INSERT INTO sales.orders (customer_id, ordered_at)
  SELECT c.id, now() - c.id * interval '1 minute' FROM core.customers c WHERE c.email LIKE 'x%';
ANALYZE lab.items, lab.events, lab.a, lab.b, lab.log, lab.readings, public.notes, core.customers, core.products, sales.orders;
`;
export const ADVISE_TEARDOWN = `
DROP EXTENSION hypopg;
DROP SCHEMA hypopg;
DROP INDEX lab.events_2025_v_idx;
DELETE FROM sales.orders o USING core.customers c WHERE c.id = o.customer_id AND c.email LIKE 'x%';
DELETE FROM core.customers WHERE email LIKE 'x%';
DELETE FROM core.products WHERE sku LIKE 'X-%';
DELETE FROM public.notes WHERE id > 1000;
DELETE FROM lab.readings WHERE sensor LIKE 'x%';
DELETE FROM lab.log WHERE id > 1000;
BEGIN;
CREATE INDEX teardown_a_b_id_idx ON lab.a (b_id);
CREATE INDEX teardown_b_a_id_idx ON lab.b (a_id);
DELETE FROM lab.b WHERE id > 1000;
DELETE FROM lab.a WHERE id > 1000;
SET CONSTRAINTS ALL IMMEDIATE;
DROP INDEX lab.teardown_a_b_id_idx, lab.teardown_b_a_id_idx;
COMMIT;
DELETE FROM lab.events WHERE id > 1000;
DELETE FROM lab.items WHERE id > 1000;
`;

/** The application's queries (line n of app/advise.sql): per shape one an index would serve, one a key serves. */
const ADVISE_QUERIES = [
  'SELECT id FROM lab.items WHERE qty = $1;',
  'SELECT qty FROM lab.items WHERE id = $1;',
  'SELECT id FROM lab.events WHERE v = $1;',
  'SELECT v FROM lab.events WHERE id = $1 AND at = $2;',
  'SELECT id FROM lab.b WHERE a_id = $1;',
  'SELECT id, msg FROM lab.log WHERE msg = $1;',
  'SELECT msg FROM lab.log WHERE id = $1;',
  'SELECT v FROM lab.readings WHERE sensor = $1;',
  'SELECT id FROM notes WHERE body = $1;',
  'SELECT body FROM notes WHERE id = $1;',
  'SELECT id, status FROM sales.orders WHERE ordered_at = $1;',
  'SELECT id FROM sales.orders WHERE customer_id = $1;',
  'SELECT o.id FROM sales.orders o JOIN core.customers c ON c.id = o.customer_id WHERE c.email_key = $1;',
  'SELECT l.order_id FROM sales.order_lines l JOIN core.products p ON p.sku = l.sku WHERE p.active AND p.name = $1;',
];
const line = (sql: string) => ADVISE_QUERIES.indexOf(sql) + 1;
const WORKLOAD = { 'app/advise.sql': `${ADVISE_QUERIES.join('\n')}\n` };
const advise = (project: string, format?: 'json') => ({
  command: 'advise' as const,
  options: { project, queries: 'app/advise.sql', ...(format ? { format } : {}) },
});
const of = (run: keyof typeof RUNS) => RUNS[run].files;

const migration = (project: string, version: number, name: string, up: string, down: string) => ({
  [`${project}/migrations/V${version}__${name}.sql`]: `${up}\n`,
  [`${project}/migrations/V${version}__${name}.rollback.sql`]: `${down}\n`,
});
const SALES_INDEXES = 'sales/schema/sales/indexes/orders.sql';
const CUSTOMERS = 'core/schema/core/tables/customers.sql';
const PRODUCTS = 'core/schema/core/tables/products.sql';

export const ADVISE_RUNS: Record<string, Run> = {
  'advise lab: a migration per shape': {
    files: { ...of('lab: a migration per shape, each with its undo; the big table indexed'), ...WORKLOAD },
    // JSON: it gives every statement of the partitioned table's index.
    ...advise('lab', 'json'),
  },
  'advise lab: keys dropped, foreign keys without an index added': {
    files: {
      'lab/lab.sql': LAB_SQL.replace('id int PRIMARY KEY, qty', 'id int NOT NULL, qty')
        .replace(', PRIMARY KEY (id, at)', '')
        .replace(
          '(id int PRIMARY KEY, label text NOT NULL, b_id int)',
          '(id int PRIMARY KEY, label text NOT NULL, b_id int, c_id int REFERENCES lab.b (id))',
        )
        .replace('(id int PRIMARY KEY, at timestamptz', '(id int NOT NULL, at timestamptz')
        .replace(
          '(sensor text NOT NULL, v int NOT NULL)',
          '(sensor text NOT NULL, v int NOT NULL, kind text REFERENCES lab.kinds (code))',
        ),
      ...WORKLOAD,
    },
    ...advise('lab'),
  },
  'advise pub: a migration': { files: { ...of('pub: a migration and its undo'), ...WORKLOAD }, ...advise('pub') },
  'advise pub: the key dropped': {
    files: { 'pub/notes.sql': PUB_SQL.replace('id int PRIMARY KEY', 'id int NOT NULL'), ...WORKLOAD },
    ...advise('pub'),
  },
  'advise sales: a function replaced and a migration': {
    files: { ...of('sales: a function replaced and a migration with its undo'), ...WORKLOAD },
    ...advise('sales'),
  },
  'advise sales: the index of orders by customer dropped': {
    files: {
      [SALES_INDEXES]: example(SALES_INDEXES).replace(/^CREATE INDEX orders_customer_idx[^\n]*\n/, ''),
      ...migration(
        'sales',
        2,
        'drop_customer_index',
        'DROP INDEX sales.orders_customer_idx;',
        'CREATE INDEX orders_customer_idx ON sales.orders (customer_id);',
      ),
      ...WORKLOAD,
    },
    ...advise('sales'),
  },
  'advise sales: core gets a new function, products repriced': {
    files: { ...of('core: a new function, and products repriced and back (touch trigger)'), ...WORKLOAD },
    ...advise('sales'),
  },
  'advise sales: core drops the index of customers by email and of active products by name': {
    files: {
      [CUSTOMERS]: example(CUSTOMERS).replace(/^CREATE UNIQUE INDEX customers_email_key_idx[^\n]*\n/m, ''),
      [PRODUCTS]: example(PRODUCTS).replace(/^CREATE INDEX products_active_idx[^\n]*\n/m, ''),
      ...migration(
        'core',
        2,
        'drop_indexes',
        'DROP INDEX core.customers_email_key_idx;\nDROP INDEX core.products_active_idx;',
        'CREATE UNIQUE INDEX customers_email_key_idx ON core.customers (email_key);\nCREATE INDEX products_active_idx ON core.products (name) WHERE active;',
      ),
      ...WORKLOAD,
    },
    ...advise('sales'),
  },
};

const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The advised index in the text report: its statement's first line, then the query it serves, cost before and after. */
const advised = (statement: string, query: string) =>
  new RegExp(
    `^  ${literal(statement)}\\n(    [^\\n]*\\n)*?    app/advise\\.sql:${line(query)}: cost [\\d.]+ -> [\\d.]+ \\(-\\d+%\\)$`,
    'm',
  );
/** The advised index in the JSON report: the query it serves, then its statement (`\n` between statements). */
const advisedJson = (query: string, statement: string) =>
  new RegExp(
    `"origin": "app/advise\\.sql:${line(query)}",[^\\]]*\\],\\s*"tableRows": \\d+,\\s*"statement": "${literal(statement)}"`,
  );
/** A query whose plan uses an index the release drops: costed with the index hidden (HypoPG 1.4), or said not costed. */
const dropsIndexOf = (query: string, index: string) =>
  new RegExp(
    `plan gets worse: app/advise\\.sql:${line(query)}: |UNPROVEN: app/advise\\.sql:${line(query)}: its plan uses ${literal(index)}\\b[^\\n]*, which the release drops`,
  );
const analyzeAfter = (step: string, table: string) => `after ${step}: ANALYZE ${table}`;
const analyzeAfterJson = (step: string, table: string) =>
  new RegExp(`"step": "${literal(step)}",[^}]*\\},\\s*"statement": "ANALYZE ${literal(table)}"`);
const foreignKeyAdded = (fk: string) => `foreign key without an index (added by the release): ${fk}`;
const NO_REGRESSION = [/plan gets worse/, /UNPROVEN/];
const NO_REGRESSION_JSON = [/"regressions": \[\s*\{/, /"unproven": \[\s*"/];

/** How the cells failed before (issue 89's advise column). */
const BEFORE = {
  hypopg:
    'HypoPG outside the search path (in a schema of its own, kept out of pub\'s public): "function hypopg_reset() does not exist", no report',
  cheap:
    'the release re-planned only the queries past --min-cost; the query the dropped index serves is cheap today: "nothing to say"',
  key: 'a key dropped by `ALTER TABLE ... DROP CONSTRAINT` (as the diff drops it) was no dropped index',
  pruned:
    "the generic plan explained with NULL arguments had every partition pruned (no index scan left to match), and the partitions' indexes were not the partitioned table's",
  dependency:
    '"The release (0 step(s))": the dependency\'s pending steps, which deploy sales runs first, were not planned',
};

type AdviseCase = { run: string; names: (string | RegExp)[]; never?: (string | RegExp)[]; failedBefore?: string };
const cells: [Shape, AdviseCase, AdviseCase][] = [];
const shape = (s: Shape, correct: AdviseCase, broken: AdviseCase) => cells.push([s, correct, broken]);
const Q = ADVISE_QUERIES;

const LAB = ['advise lab: a migration per shape', 'advise lab: keys dropped, foreign keys without an index added'];
const labCorrect = (names: RegExp[], never: RegExp[] = []) => ({
  run: LAB[0]!,
  names,
  never: [...NO_REGRESSION_JSON, ...never],
});
shape(
  'one project',
  labCorrect([
    advisedJson(Q[0]!, 'CREATE INDEX CONCURRENTLY items_qty_idx ON lab.items (qty)'),
    analyzeAfterJson('migration:lab/V1', 'lab.items'),
  ]),
  {
    run: LAB[1]!,
    names: [dropsIndexOf(Q[1]!, 'lab.items_pkey')],
    failedBefore: `${BEFORE.cheap}; ${BEFORE.key}`,
  },
);
shape(
  'partitions',
  // Built without blocking writes: ON ONLY the parent, each partition's CONCURRENTLY and attached; the name
  // events_2025_v_idx is taken on the target (ADVISE_SETUP), so the partition's is numbered as PostgreSQL would.
  labCorrect([
    advisedJson(
      Q[2]!,
      'CREATE INDEX events_v_idx ON ONLY lab.events (v);\nCREATE INDEX CONCURRENTLY events_2025_v_idx1 ON lab.events_2025 (v);\nALTER INDEX lab.events_v_idx ATTACH PARTITION lab.events_2025_v_idx1;\nCREATE INDEX CONCURRENTLY events_2026_v_idx ON lab.events_2026 (v);\nALTER INDEX lab.events_v_idx ATTACH PARTITION lab.events_2026_v_idx'.replaceAll(
        '\n',
        '\\n',
      ),
    ),
    analyzeAfterJson('migration:lab/V2', 'lab.events'),
  ]),
  {
    run: LAB[1]!,
    names: [dropsIndexOf(Q[3]!, 'lab.events_pkey')],
    failedBefore: `${BEFORE.cheap}; ${BEFORE.key}; ${BEFORE.pruned}`,
  },
);
shape(
  'a foreign-key cycle',
  // b's reference to a is served by the index advised for the query; a's to b has none (the target's, listed).
  labCorrect(
    [
      advisedJson(Q[4]!, 'CREATE INDEX CONCURRENTLY b_a_id_idx ON lab.b (a_id)'),
      /"name": "a_b_fkey",\s*"columns": \[\s*"b_id"\s*\],\s*"release": false/,
      analyzeAfterJson('migration:lab/V3', 'lab.a'),
    ],
    [/"name": "b_a_id_fkey"/],
  ),
  { run: LAB[1]!, names: [foreignKeyAdded('lab.a.a_c_id_fkey (c_id)')] },
);
shape(
  'tables past the sample bound',
  // Sized on the target (11,500 rows), not on a copy's sample of 200: built CONCURRENTLY.
  labCorrect([
    advisedJson(Q[5]!, 'CREATE INDEX CONCURRENTLY log_msg_idx ON lab.log (msg)'),
    /"tableRows": 115\d\d,\s*"statement": "CREATE INDEX CONCURRENTLY log_msg_idx/,
  ]),
  {
    run: LAB[1]!,
    names: [dropsIndexOf(Q[6]!, 'lab.log_pkey')],
    failedBefore: `${BEFORE.cheap}; ${BEFORE.key}`,
  },
);
shape(
  'a table without a primary key',
  labCorrect([
    advisedJson(Q[7]!, 'CREATE INDEX CONCURRENTLY readings_sensor_idx ON lab.readings (sensor)'),
    analyzeAfterJson('migration:lab/V4', 'lab.readings'),
  ]),
  { run: LAB[1]!, names: [foreignKeyAdded('lab.readings.readings_kind_fkey (kind)')] },
);
shape(
  'public',
  {
    run: 'advise pub: a migration',
    names: [
      advised('CREATE INDEX CONCURRENTLY notes_body_idx ON public.notes (body)', Q[8]!),
      analyzeAfter('migration:pub/V1', 'public.notes'),
    ],
    never: NO_REGRESSION,
    failedBefore: BEFORE.hypopg,
  },
  {
    run: 'advise pub: the key dropped',
    names: [dropsIndexOf(Q[9]!, 'public.notes_pkey')],
    failedBefore: `${BEFORE.hypopg}; ${BEFORE.cheap}; ${BEFORE.key}`,
  },
);
shape(
  'dependent projects, one unchanged',
  {
    run: 'advise sales: a function replaced and a migration',
    names: [
      advised('CREATE INDEX CONCURRENTLY orders_ordered_at_idx ON sales.orders (ordered_at)', Q[10]!),
      analyzeAfter('migration:sales/V2', 'sales.order_lines'),
    ],
    never: NO_REGRESSION,
  },
  {
    run: 'advise sales: the index of orders by customer dropped',
    names: [dropsIndexOf(Q[11]!, 'sales.orders_customer_idx')],
    failedBefore: BEFORE.cheap,
  },
);
const CORE = [
  'advise sales: core gets a new function, products repriced',
  'advise sales: core drops the index of customers by email and of active products by name',
] as const;
shape(
  'a change in the dependency only',
  {
    run: CORE[0],
    names: [/^The release \([1-9]\d* step\(s\)\)$/m, analyzeAfter('migration:core/V2', 'core.products')],
    never: NO_REGRESSION,
    failedBefore: BEFORE.dependency,
  },
  {
    run: CORE[1],
    names: [dropsIndexOf(Q[12]!, 'core.customers_email_key_idx')],
    failedBefore: `${BEFORE.dependency}; ${BEFORE.cheap}`,
  },
);
shape(
  'touch triggers',
  // The migration's UPDATE fires the touch trigger on every row: products' statistics are stale after it.
  {
    run: CORE[0],
    names: [analyzeAfter('migration:core/V2', 'core.products')],
    never: NO_REGRESSION,
    failedBefore: BEFORE.dependency,
  },
  {
    run: CORE[1],
    names: [dropsIndexOf(Q[13]!, 'core.products_active_idx')],
    failedBefore: `${BEFORE.dependency}; ${BEFORE.cheap}`,
  },
);

export const ADVISE_CELLS: Cell[] = cells.flatMap(([s, correct, broken]): Cell[] => [
  { capability: 'advise', shape: s, release: 'correct', exit: 0, ...correct },
  { capability: 'advise', shape: s, release: 'broken', exit: 0, ...broken },
]);
