import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DBT_CELLS, DBT_MANIFEST, DBT_MANIFEST_PATH } from './verdict-dbt';

/**
 * The verdict matrix (issue 89, invariant 15 of the architecture), as data: every capability that gives a verdict ×
 * every workspace shape a team has × a correct and a broken release. A cell names the run that judges it (`RUNS`: the
 * release written into one shared workspace, the command, then the release taken out again), the exit code the
 * verdict must have and what it must name (the broken thing: a file, a table, a step). A cell not covered yet is
 * `pending` with its reason: printed by the test's summary and listed in docs/verdicts.md, never silently missing.
 * A new capability or shape is one more entry of `CAPABILITIES` or `SHAPES`; its cells start pending.
 *
 * Shared workspace (verdicts.test.ts): the example workspace (examples/core, examples/sales: dependent projects, touch
 * triggers) beside a project `lab` (one project of several schemas' shapes: partitions, a foreign-key cycle, a table
 * without a primary key, a table past the sample bound) and a project `pub` owning `public`; deployed once, rows
 * seeded once, and every run a dry run on a copy (the target never changes: the test checks that too).
 * `verify.rollback: true` is set for the environment, so a plain `deploy --dry-run` runs the rollback test too.
 */

export const CAPABILITIES = [
  'verified dry run',
  'rollback test',
  'rollback test of a package',
  'check',
  'check --dbt',
  '--objects',
  'rollback',
  'rollback --objects',
  'preview',
  'clone',
  'advise',
  'blue/green phases',
  'expand/complete/abort',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const SHAPES = {
  'one project': 'lab alone: a data migration of lab.items',
  'dependent projects, one unchanged': 'sales changes, core (its dependency) does not: deploy sales',
  'a change in the dependency only': 'core changes, sales does not: deploy sales',
  public: 'a project owning public (pub): public.notes',
  partitions: 'lab.events, partitioned by range, rows in two partitions',
  'a foreign-key cycle': 'lab.a and lab.b reference each other',
  'touch triggers': "core.products and its BEFORE UPDATE trigger setting updated_at (the example's own)",
  'tables past the sample bound': 'lab.log: 500 rows, the copy takes 200 (verify.sampleRows)',
  'a table without a primary key': 'lab.readings: duplicate rows, no key',
} as const;
export type Shape = keyof typeof SHAPES;

export type Release = 'correct' | 'broken';

/** One command on the shared workspace with a release written into it (the files are taken out after). */
export interface Run {
  /** The files of the release (workspace-relative), written before the command and removed (or restored) after. */
  files: Record<string, string>;
  command: 'deploy' | 'plan' | 'check' | 'rollback' | 'clone' | 'preview' | 'advise';
  options: Record<string, unknown> & { project: string };
}

export interface Cell {
  capability: Capability;
  shape: Shape;
  release: Release;
  /**
   * The run that judges the cell (a key of `RUNS`, or of a later phase's runs: verdict-rollback-objects.ts); several
   * cells may share one. A cell whose run did not run fails.
   */
  run: string;
  /** The exit code the verdict must have. */
  exit: 0 | 1 | 2 | 3;
  /** What its output must say: for a broken release, the broken thing by name. */
  names: (string | RegExp)[];
  /** What its output must not say. */
  never?: (string | RegExp)[];
  /** The issue item this cell failed before (how it failed). */
  failedBefore?: string;
}

/** A cell of the cross product not covered yet, with why. */
export interface PendingCell {
  capability: Capability;
  shape: Shape;
  release: Release;
  pending: string;
}

const dryRun = (project: string, extra: Record<string, unknown> = {}) => ({
  command: 'deploy' as const,
  options: { project, dryRun: true, ...extra },
});

/** A migration and its rollback script in a project (`lab/migrations/V1__x.sql`, `V1__x.rollback.sql`). */
export function migration(
  project: string,
  version: number,
  name: string,
  up: string,
  down: string,
): Record<string, string> {
  return {
    [`${project}/migrations/V${version}__${name}.sql`]: `${up}\n`,
    [`${project}/migrations/V${version}__${name}.rollback.sql`]: `${down}\n`,
  };
}

export const UNDO_NOTHING = 'SELECT 1;';
const LINE_AMOUNT = 'sales/schema/sales/functions/line_amount.sql';

/** lab's data migrations, one per shape of its tables: each with its correct undo, or an undo that undoes nothing. */
const LAB_MIGRATIONS = {
  items: [1, 'bump', 'UPDATE lab.items SET qty = qty + 1;', 'UPDATE lab.items SET qty = qty - 1;'],
  events: [2, 'shift', 'UPDATE lab.events SET v = v + 1;', 'UPDATE lab.events SET v = v - 1;'],
  cycle: [3, 'relabel', 'UPDATE lab.a SET label = upper(label);', 'UPDATE lab.a SET label = lower(label);'],
  readings: [4, 'raise', 'UPDATE lab.readings SET v = v + 1;', 'UPDATE lab.readings SET v = v - 1;'],
} as const;

function labRelease(undo: 'correct' | 'nothing'): Record<string, string> {
  return Object.assign(
    {},
    ...Object.values(LAB_MIGRATIONS).map(([v, name, up, down]) =>
      migration('lab', v, name, up, undo === 'correct' ? down : UNDO_NOTHING),
    ),
  );
}

/** core's correct release: a new function, and products repriced with the undo that reprices them back. */
function coreCorrectFiles(): Record<string, string> {
  return {
    'core/schema/core/functions/shout.sql':
      'CREATE FUNCTION core.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE RETURN upper(t);\n',
    ...migration(
      'core',
      2,
      'reprice',
      'UPDATE core.products SET unit_price = unit_price + 1;',
      'UPDATE core.products SET unit_price = unit_price - 1;',
    ),
  };
}

/** The shared workspace's own sources of lab and pub (verdicts.test.ts writes them; a release may edit them). */
export const LAB_SQL = `CREATE SCHEMA lab;
CREATE TABLE lab.items (id int PRIMARY KEY, qty int NOT NULL);
CREATE TABLE lab.events (id int NOT NULL, at date NOT NULL, v int NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE lab.events_2025 PARTITION OF lab.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE lab.events_2026 PARTITION OF lab.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE lab.a (id int PRIMARY KEY, label text NOT NULL, b_id int);
CREATE TABLE lab.b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES lab.a (id));
ALTER TABLE lab.a ADD CONSTRAINT a_b_fkey FOREIGN KEY (b_id) REFERENCES lab.b (id) DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE lab.log (id int PRIMARY KEY, at timestamptz NOT NULL, msg text NOT NULL);
CREATE TABLE lab.readings (sensor text NOT NULL, v int NOT NULL);
CREATE TABLE lab.kinds (code text PRIMARY KEY);
`;
export const PUB_SQL = 'CREATE TABLE public.notes (id int PRIMARY KEY, body text NOT NULL);\n';

/** The application's queries over lab's tables, one per shape (line n of app/lab.sql). */
const LAB_QUERIES = [
  'SELECT id, qty FROM lab.items WHERE id = $1;',
  'SELECT id, v FROM lab.events WHERE at >= $1;',
  'SELECT a.id, a.label FROM lab.a JOIN lab.b ON b.a_id = a.id;',
  'SELECT sensor, v FROM lab.readings WHERE sensor = $1;',
  'SELECT id, msg FROM lab.log ORDER BY id DESC LIMIT 10;',
];
/** The application's queries over the example's projects: a view of sales, a view of core, core's touched table. */
const SALES_QUERIES = [
  'SELECT order_id, ordered_at FROM sales.order_totals WHERE customer_id = $1;',
  'SELECT id, created_at FROM core.active_customers;',
  'SELECT sku, name FROM core.products WHERE active;',
];
const lines = (queries: string[]) => `${queries.join('\n')}\n`;
/** `check` of the queries, with the dbt manifest of the column `check --dbt` (verdict-dbt.ts) beside them. */
const check = (project: string, queries: string) => ({
  command: 'check' as const,
  options: { project, queries, dbt: DBT_MANIFEST_PATH },
});
const ORDER_TOTALS = 'sales/schema/sales/views/order_totals.sql';
const ACTIVE_CUSTOMERS = 'core/schema/core/views/active_customers.sql';
export const PRODUCTS = 'core/schema/core/tables/products.sql';

/** lab's tables, one per shape: a key, partitions, a foreign-key cycle, past the sample bound, no key. */
export const LAB_TABLES = ['items', 'events', 'a', 'log', 'readings'] as const;
/** lab's sources with a column `note` added to each table of `LAB_TABLES`. */
export const LAB_NOTE = LAB_SQL.replace('qty int NOT NULL)', 'qty int NOT NULL, note text)')
  .replace('v int NOT NULL, PRIMARY KEY', 'v int NOT NULL, note text, PRIMARY KEY')
  .replace('b_id int)', 'b_id int, note text)')
  .replace('msg text NOT NULL)', 'msg text NOT NULL, note text)')
  .replace('v int NOT NULL);', 'v int NOT NULL, note text);');
export const PUB_NOTE = PUB_SQL.replace('body text NOT NULL)', 'body text NOT NULL, note text)');
/** A view `<schema>.<table>_v` reading the new column `note`. */
export const noteView = (schema: string) => (table: string) =>
  `CREATE VIEW ${schema}.${table}_v AS SELECT note FROM ${schema}.${table};\n`;
export const ORDERS = 'sales/schema/sales/tables/orders.sql';
export const PRODUCTS_NOTE = () =>
  example(PRODUCTS).replace(
    'updated_at  timestamptz NOT NULL DEFAULT now()',
    'updated_at  timestamptz NOT NULL DEFAULT now(),\n  note        text',
  );

/**
 * The runs of the matrix, each a release and a command on the shared workspace. To keep the matrix cheap, one run
 * carries the releases of several shapes where their verdicts do not mask each other: a correct run passes only when
 * every shape's part is proven, and a broken run must name each shape's broken part.
 */
export const RUNS = {
  'lab: a migration per shape, each with its undo; the big table indexed': {
    files: { ...labRelease('correct'), 'lab/log_index.sql': 'CREATE INDEX log_at_idx ON lab.log (at);\n' },
    ...dryRun('lab'),
  },
  'lab: a migration per shape, each undo undoes nothing; the newest rows of the big table changed': {
    files: {
      ...labRelease('nothing'),
      ...migration('lab', 5, 'mark', "UPDATE lab.log SET msg = 'gone' WHERE id > 450;", UNDO_NOTHING),
    },
    ...dryRun('lab'),
  },
  'lab: a migration that fails': {
    files: migration('lab', 1, 'bump', 'UPDATE lab.items SET quantity = 1;', UNDO_NOTHING),
    ...dryRun('lab'),
  },
  'lab: partitions, a row moved to no partition': {
    files: migration('lab', 2, 'shift', "UPDATE lab.events SET at = '1999-01-01';", UNDO_NOTHING),
    ...dryRun('lab'),
  },
  'lab: the big table rewritten and back': {
    files: migration(
      'lab',
      5,
      'mark',
      "UPDATE lab.log SET msg = msg || '.';",
      'UPDATE lab.log SET msg = left(msg, -1);',
    ),
    ...dryRun('lab'),
  },
  'sales: a function replaced and a migration with its undo': {
    files: {
      [LINE_AMOUNT]: example(LINE_AMOUNT).replace('quantity * unit_price', '(quantity * unit_price)'),
      'sales/migrations/V2__double.sql': 'UPDATE sales.order_lines SET quantity = quantity * 2;\n',
      'sales/migrations/U2__double.sql': 'UPDATE sales.order_lines SET quantity = quantity / 2;\n',
    },
    ...dryRun('sales'),
  },
  'sales: an undo that undoes nothing': {
    files: {
      'sales/migrations/V2__double.sql': 'UPDATE sales.order_lines SET quantity = quantity * 2;\n',
      'sales/migrations/U2__double.sql': `${UNDO_NOTHING}\n`,
    },
    ...dryRun('sales'),
  },
  'sales: a migration that fails': {
    files: {
      'sales/migrations/V2__double.sql': 'UPDATE sales.order_lines SET quantity = 0;\n',
      'sales/migrations/U2__double.sql': `${UNDO_NOTHING}\n`,
    },
    ...dryRun('sales'),
  },
  'sales: a package of a function replaced': {
    files: { [LINE_AMOUNT]: example(LINE_AMOUNT).replace('quantity * unit_price', '(quantity * unit_price)') },
    command: 'plan',
    options: { project: 'sales', out: 'dist/replaced', testRollback: true },
  },
  'sales: a package whose undo undoes nothing': {
    files: {
      'sales/migrations/V2__double.sql': 'UPDATE sales.order_lines SET quantity = quantity * 2;\n',
      'sales/migrations/U2__double.sql': `${UNDO_NOTHING}\n`,
    },
    command: 'plan',
    options: { project: 'sales', out: 'dist/undoes-nothing', testRollback: true },
  },
  'core: a new function, and products repriced and back (touch trigger)': {
    files: coreCorrectFiles(),
    ...dryRun('sales'),
  },
  'core: undos that undo nothing (customers; products, touch trigger)': {
    files: {
      ...migration('core', 2, 'lower_names', 'UPDATE core.customers SET full_name = lower(full_name);', UNDO_NOTHING),
      ...migration('core', 3, 'reprice', 'UPDATE core.products SET unit_price = unit_price + 1;', UNDO_NOTHING),
    },
    ...dryRun('sales'),
  },
  'core: a migration that fails': {
    files: migration('core', 2, 'lower_names', "UPDATE core.customers SET country = 'germany';", UNDO_NOTHING),
    ...dryRun('sales'),
  },
  'pub: a migration and its undo': {
    files: migration(
      'pub',
      1,
      'sign',
      "UPDATE public.notes SET body = body || '!';",
      'UPDATE public.notes SET body = left(body, -1);',
    ),
    ...dryRun('pub'),
  },
  'pub: an undo that undoes nothing': {
    files: migration('pub', 1, 'sign', "UPDATE public.notes SET body = body || '!';", UNDO_NOTHING),
    ...dryRun('pub'),
  },
  // The correct releases of `check` also add a column to each shape's table (a view: at its end), so that the dbt
  // models over them are judged (a release of migrations alone changes no column a model reads).
  'check lab: a migration per shape, each with its undo': {
    files: {
      ...labRelease('correct'),
      'lab/lab.sql': LAB_NOTE,
      'app/lab.sql': lines(LAB_QUERIES),
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('lab', 'app/lab.sql'),
  },
  'check lab: a column each query reads renamed, per shape': {
    files: {
      'lab/lab.sql': LAB_SQL.replace('qty int', 'quantity int')
        .replace('v int NOT NULL, PRIMARY', 'value int NOT NULL, PRIMARY')
        .replace('label text', 'name text')
        .replace('msg text', 'message text')
        .replace('(sensor text NOT NULL, v int', '(sensor text NOT NULL, value int'),
      'app/lab.sql': lines(LAB_QUERIES),
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('lab', 'app/lab.sql'),
  },
  'check pub: a migration and its undo': {
    files: {
      ...migration(
        'pub',
        1,
        'sign',
        "UPDATE public.notes SET body = body || '!';",
        'UPDATE public.notes SET body = left(body, -1);',
      ),
      'pub/notes.sql': PUB_NOTE,
      'app/pub.sql': 'SELECT id, body FROM notes WHERE id = $1;\n',
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('pub', 'app/pub.sql'),
  },
  'check pub: the column the query reads renamed': {
    files: {
      'pub/notes.sql': PUB_SQL.replace('body', 'content'),
      'app/pub.sql': 'SELECT id, body FROM notes WHERE id = $1;\n',
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('pub', 'app/pub.sql'),
  },
  'check sales: a function replaced and a migration with its undo': {
    files: {
      [ORDER_TOTALS]: example(ORDER_TOTALS).replace(' AS total\n', ' AS total,\n       count(l.order_id) AS lines\n'),
      [LINE_AMOUNT]: example(LINE_AMOUNT).replace('quantity * unit_price', '(quantity * unit_price)'),
      'sales/migrations/V2__double.sql': 'UPDATE sales.order_lines SET quantity = quantity * 2;\n',
      'sales/migrations/U2__double.sql': 'UPDATE sales.order_lines SET quantity = quantity / 2;\n',
      'app/sales.sql': lines(SALES_QUERIES),
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('sales', 'app/sales.sql'),
  },
  'check sales: a column of its view renamed': {
    files: {
      [ORDER_TOTALS]: example(ORDER_TOTALS)
        .replaceAll('o.ordered_at', 'o.ordered_at AS placed_at')
        .replace(
          'GROUP BY o.id, o.customer_id, o.status, o.ordered_at AS placed_at',
          'GROUP BY o.id, o.customer_id, o.status, o.ordered_at',
        ),
      'app/sales.sql': lines(SALES_QUERIES),
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('sales', 'app/sales.sql'),
  },
  'check sales: core gets a new function, products repriced and back': {
    files: {
      ...coreCorrectFiles(),
      [PRODUCTS]: PRODUCTS_NOTE(),
      // The view's definition changes, not its columns (the example's smoke check holds them).
      [ACTIVE_CUSTOMERS]: example(ACTIVE_CUSTOMERS).replace(
        "WHERE status = 'active'",
        "WHERE status = 'active' AND country IS NOT NULL",
      ),
      'app/sales.sql': lines(SALES_QUERIES),
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('sales', 'app/sales.sql'),
  },
  'check sales: core renames a column of its view and of products (touch trigger)': {
    files: {
      [ACTIVE_CUSTOMERS]: example(ACTIVE_CUSTOMERS).replace(
        'full_name, country, created_at',
        'full_name, country, created_at AS since',
      ),
      [PRODUCTS]: example(PRODUCTS).replace('name        text', 'title       text').replace('(name)', '(title)'),
      'app/sales.sql': lines(SALES_QUERIES),
      [DBT_MANIFEST_PATH]: DBT_MANIFEST,
    },
    ...check('sales', 'app/sales.sql'),
  },
  'lab package: a migration per shape, each with its undo; the big table indexed': {
    files: { ...labRelease('correct'), 'lab/log_index.sql': 'CREATE INDEX log_at_idx ON lab.log (at);\n' },
    command: 'plan',
    options: { project: 'lab', out: 'dist/lab-correct', testRollback: true },
  },
  'lab package: each undo undoes nothing; the newest rows of the big table changed': {
    files: {
      ...labRelease('nothing'),
      ...migration('lab', 5, 'mark', "UPDATE lab.log SET msg = 'gone' WHERE id > 450;", UNDO_NOTHING),
    },
    command: 'plan',
    options: { project: 'lab', out: 'dist/lab-broken', testRollback: true },
  },
  'pub package: a migration and its undo': {
    files: migration(
      'pub',
      1,
      'sign',
      "UPDATE public.notes SET body = body || '!';",
      'UPDATE public.notes SET body = left(body, -1);',
    ),
    command: 'plan',
    options: { project: 'pub', out: 'dist/pub-correct', testRollback: true },
  },
  'pub package: an undo that undoes nothing': {
    files: migration('pub', 1, 'sign', "UPDATE public.notes SET body = body || '!';", UNDO_NOTHING),
    command: 'plan',
    options: { project: 'pub', out: 'dist/pub-broken', testRollback: true },
  },
  'core package: a new function, and products repriced and back (touch trigger)': {
    files: coreCorrectFiles(),
    command: 'plan',
    options: { project: 'sales', out: 'dist/core-correct', testRollback: true },
  },
  'core package: undos that undo nothing (customers; products, touch trigger)': {
    files: {
      ...migration('core', 2, 'lower_names', 'UPDATE core.customers SET full_name = lower(full_name);', UNDO_NOTHING),
      ...migration('core', 3, 'reprice', 'UPDATE core.products SET unit_price = unit_price + 1;', UNDO_NOTHING),
    },
    command: 'plan',
    options: { project: 'sales', out: 'dist/core-broken', testRollback: true },
  },
  // A migration that fails on rows the copy holds (a NOT NULL or CHECK violation cannot come from rows it lacks).
  'pub: a migration that fails': {
    files: migration('pub', 1, 'blank', 'UPDATE public.notes SET body = NULL;', UNDO_NOTHING),
    ...dryRun('pub'),
  },
  'lab: a migration of the cycle that fails': {
    files: migration('lab', 3, 'relabel', 'UPDATE lab.a SET label = NULL;', UNDO_NOTHING),
    ...dryRun('lab'),
  },
  'lab: a migration of the big table that fails': {
    files: migration('lab', 5, 'mark', 'UPDATE lab.log SET msg = NULL WHERE id > 450;', UNDO_NOTHING),
    ...dryRun('lab'),
  },
  'lab: a migration of the keyless table that fails': {
    files: migration('lab', 4, 'raise', 'UPDATE lab.readings SET v = NULL;', UNDO_NOTHING),
    ...dryRun('lab'),
  },
  'core: a migration of products that fails (touch trigger)': {
    files: migration('core', 3, 'reprice', 'UPDATE core.products SET unit_price = -1;', UNDO_NOTHING),
    ...dryRun('sales'),
  },
  '--objects lab: the tables of every shape, a view left pending': {
    files: { 'lab/lab.sql': LAB_NOTE, 'lab/kinds_v.sql': 'CREATE VIEW lab.kinds_v AS SELECT code FROM lab.kinds;\n' },
    ...dryRun('lab', { objects: LAB_TABLES.map((t) => `table:lab.${t}`) }),
  },
  '--objects lab: a view per shape reading a new column, the tables not selected': {
    files: { 'lab/lab.sql': LAB_NOTE, 'lab/views.sql': LAB_TABLES.map(noteView('lab')).join('') },
    ...dryRun('lab', { objects: LAB_TABLES.map((t) => `view:lab.${t}_v`) }),
  },
  '--objects pub: the table, a view left pending': {
    files: {
      'pub/notes.sql': PUB_NOTE,
      'pub/plain_v.sql': 'CREATE VIEW public.plain_v AS SELECT id FROM public.notes;\n',
    },
    ...dryRun('pub', { objects: ['table:public.notes'] }),
  },
  '--objects pub: a view reading a new column, the table not selected': {
    files: { 'pub/notes.sql': PUB_NOTE, 'pub/views.sql': noteView('public')('notes') },
    ...dryRun('pub', { objects: ['view:public.notes_v'] }),
  },
  '--objects sales: a function replaced, a view left pending': {
    files: {
      [LINE_AMOUNT]: example(LINE_AMOUNT).replace('quantity * unit_price', '(quantity * unit_price)'),
      'sales/schema/sales/views/open_orders.sql':
        "CREATE VIEW sales.open_orders AS SELECT id FROM sales.orders WHERE status = 'open';\n",
    },
    ...dryRun('sales', { objects: ['function:sales.line_amount'] }),
  },
  '--objects sales: a view reading a new column of orders, the table not selected': {
    files: {
      [ORDERS]: example(ORDERS).replace(
        'updated_at   timestamptz NOT NULL DEFAULT now()',
        'updated_at   timestamptz NOT NULL DEFAULT now(),\n  note         text',
      ),
      'sales/schema/sales/views/orders_v.sql': 'CREATE VIEW sales.orders_v AS SELECT id, note FROM sales.orders;\n',
    },
    ...dryRun('sales', { objects: ['view:sales.orders_v'] }),
  },
  '--objects core: products (touch trigger) given a column, a function left pending': {
    files: { [PRODUCTS]: PRODUCTS_NOTE(), ...coreCorrectFiles() },
    ...dryRun('core', { objects: ['table:core.products'] }),
  },
  // A change in the dependency only: core's objects selected while deploying sales, which is unchanged.
  "--objects sales: core's products given a column selected, core's function left pending": {
    files: { [PRODUCTS]: PRODUCTS_NOTE(), ...coreCorrectFiles() },
    ...dryRun('sales', { objects: ['table:core.products'] }),
  },
  '--objects sales: a view of core reading a new column of products, the table not selected': {
    files: {
      [PRODUCTS]: PRODUCTS_NOTE(),
      'core/schema/core/views/products_v.sql': 'CREATE VIEW core.products_v AS SELECT sku, note FROM core.products;\n',
    },
    ...dryRun('sales', { objects: ['view:core.products_v'] }),
  },
  '--objects core: a view reading a new column of products, the table not selected': {
    files: {
      [PRODUCTS]: PRODUCTS_NOTE(),
      'core/schema/core/views/products_v.sql': 'CREATE VIEW core.products_v AS SELECT sku, note FROM core.products;\n',
    },
    ...dryRun('core', { objects: ['view:core.products_v'] }),
  },
} satisfies Record<string, Run>;

const PROVEN = /rollback test: the rollback took [^\n]+, and left the copy as it was before the release/;
// Verified means converged: the copy equals the sources in what the steps touched; a release of migrations alone
// touches no object a comparison reads, and says that instead (its data is the rollback test's).
const VERIFIED =
  /verified on a scratch copy of the target's schemas \(\d+ steps?, all applied\)|applied on a scratch copy of the target's schemas \(\d+ steps?, all applied\), not verified against the sources: no step touches an object a comparison reads/;
const leaves = (script: string) => [
  new RegExp(`${script.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: rollback test: [^\n]*leaves its change on the copy`),
];
const failsOnCopy = (file: string) => [file, /the deployment would be refused/];

type RunName = keyof typeof RUNS;

/** The cells of one shape: the verified dry run and the rollback test of a correct release, and the broken ones. */
function shapeCells(
  shape: Shape,
  runs: { correct: RunName; undoesNothing: RunName; fails?: RunName },
  names: { script: string; fails?: string },
  failedBefore: Partial<Record<'correct' | 'broken', string>> = {},
): Cell[] {
  const cells: Cell[] = [
    { capability: 'verified dry run', shape, release: 'correct', run: runs.correct, exit: 0, names: [VERIFIED] },
    {
      capability: 'rollback test',
      shape,
      release: 'correct',
      run: runs.correct,
      exit: 0,
      names: [PROVEN],
      ...(failedBefore.correct ? { failedBefore: failedBefore.correct } : {}),
    },
    {
      capability: 'rollback test',
      shape,
      release: 'broken',
      run: runs.undoesNothing,
      exit: 1,
      names: leaves(names.script),
      never: [PROVEN],
      ...(failedBefore.broken ? { failedBefore: failedBefore.broken } : {}),
    },
  ];
  if (runs.fails)
    cells.push({
      capability: 'verified dry run',
      shape,
      release: 'broken',
      run: runs.fails,
      exit: 1,
      names: failsOnCopy(names.fails!),
    });
  return cells;
}

const ITEM1 = 'item 1: "the release does not apply on the copy (core: unchanged)", exit 1, the undo never named';
const LAB_CORRECT: RunName = 'lab: a migration per shape, each with its undo; the big table indexed';
const LAB_BROKEN: RunName =
  'lab: a migration per shape, each undo undoes nothing; the newest rows of the big table changed';
const CORE_CORRECT: RunName = 'core: a new function, and products repriced and back (touch trigger)';
const CORE_BROKEN: RunName = 'core: undos that undo nothing (customers; products, touch trigger)';

export const CELLS: Cell[] = [
  ...shapeCells(
    'one project',
    { correct: LAB_CORRECT, undoesNothing: LAB_BROKEN, fails: 'lab: a migration that fails' },
    { script: 'lab/migrations/V1__bump.rollback.sql', fails: 'lab/migrations/V1__bump.sql' },
  ),
  ...shapeCells(
    'dependent projects, one unchanged',
    {
      correct: 'sales: a function replaced and a migration with its undo',
      undoesNothing: 'sales: an undo that undoes nothing',
      fails: 'sales: a migration that fails',
    },
    { script: 'sales/migrations/U2__double.sql', fails: 'sales/migrations/V2__double.sql' },
    { correct: ITEM1, broken: ITEM1 },
  ),
  ...shapeCells(
    'a change in the dependency only',
    { correct: CORE_CORRECT, undoesNothing: CORE_BROKEN, fails: 'core: a migration that fails' },
    { script: 'core/migrations/V2__lower_names.rollback.sql', fails: 'core/migrations/V2__lower_names.sql' },
    { correct: ITEM1, broken: ITEM1 },
  ),
  ...shapeCells(
    'public',
    { correct: 'pub: a migration and its undo', undoesNothing: 'pub: an undo that undoes nothing' },
    { script: 'pub/migrations/V1__sign.rollback.sql' },
  ),
  ...shapeCells(
    'partitions',
    { correct: LAB_CORRECT, undoesNothing: LAB_BROKEN, fails: 'lab: partitions, a row moved to no partition' },
    { script: 'lab/migrations/V2__shift.rollback.sql', fails: 'lab/migrations/V2__shift.sql' },
  ),
  ...shapeCells(
    'a foreign-key cycle',
    { correct: LAB_CORRECT, undoesNothing: LAB_BROKEN },
    { script: 'lab/migrations/V3__relabel.rollback.sql' },
  ),
  ...shapeCells(
    'touch triggers',
    { correct: CORE_CORRECT, undoesNothing: CORE_BROKEN },
    { script: 'core/migrations/V3__reprice.rollback.sql' },
    { correct: 'item 3: the undo\'s UPDATE fires the touch trigger: "rows not restored" (updated_at), exit 1' },
  ),
  ...shapeCells(
    'a table without a primary key',
    { correct: LAB_CORRECT, undoesNothing: LAB_BROKEN },
    { script: 'lab/migrations/V4__raise.rollback.sql' },
  ),
  // The touch trigger's column is left out of the comparison only where no step names it; the verdict says so.
  {
    capability: 'rollback test',
    shape: 'touch triggers',
    release: 'correct',
    run: CORE_CORRECT,
    exit: 0,
    names: [/core\.products\.updated_at: set by trigger products_touch on every UPDATE[^\n]*not compared/],
  },
  // lab's smoke check counts the rows of lab.kinds, which no release touches (the copy holds none of its rows).
  {
    capability: 'rollback test',
    shape: 'one project',
    release: 'correct',
    run: LAB_CORRECT,
    exit: 0,
    names: [/smoke check lab: kinds there [^\n]*fails on the copy before the release too[^\n]*not judged/],
    never: ['smoke check of lab fails', 'would fail them after the deployment too'],
    failedBefore:
      'item 3: a smoke check reading rows the copy lacks refused the release, its hint saying it would fail in production',
  },
  // Past the sample bound: a release that writes no rows of the big table is proven (lab's correct run indexes it);
  // one that writes them is "not proven for rows outside the sample" (exit 1 unless verify.allowSampledRows), whether
  // its undo is right or not.
  {
    capability: 'verified dry run',
    shape: 'tables past the sample bound',
    release: 'correct',
    run: LAB_CORRECT,
    exit: 0,
    names: [VERIFIED],
  },
  {
    capability: 'rollback test',
    shape: 'tables past the sample bound',
    release: 'correct',
    run: LAB_CORRECT,
    exit: 0,
    names: [PROVEN],
    never: [/not proven for rows outside the sample/],
  },
  {
    capability: 'rollback test',
    shape: 'tables past the sample bound',
    release: 'correct',
    run: 'lab: the big table rewritten and back',
    exit: 1,
    names: [
      /lab\/migrations\/V5__mark\.sql:1: rollback test: step 1 \(migrate migration:lab\/V5\) writes rows of lab\.log, which holds more rows than the copy takes \(200\): its rollback is not proven for rows outside the sample/,
      'verify.allowSampledRows',
    ],
  },
  {
    capability: 'rollback test',
    shape: 'tables past the sample bound',
    release: 'broken',
    run: LAB_BROKEN,
    exit: 1,
    names: [
      /lab\/migrations\/V5__mark\.sql:1: rollback test: [^\n]*lab\.log[^\n]*not proven for rows outside the sample/,
    ],
    never: [PROVEN],
    failedBefore:
      'item 2: the first rows in physical order sampled, the newest rows never read: exit 0, "left the copy as it was"',
  },
  // Packages: the package's rollback test undoes its steps as `dbee rollback` would.
  {
    capability: 'rollback test of a package',
    shape: 'dependent projects, one unchanged',
    release: 'correct',
    run: 'sales: a package of a function replaced',
    exit: 0,
    names: [PROVEN, /rollback test: recorded in [^\n]*dist\/replaced/],
    never: ['cannot drop function'],
    failedBefore:
      'item 3: the full-state step undone as a create: "cannot drop function ... other objects depend on it"',
  },
  {
    capability: 'rollback test of a package',
    shape: 'dependent projects, one unchanged',
    release: 'broken',
    run: 'sales: a package whose undo undoes nothing',
    exit: 1,
    names: leaves('sales/migrations/U2__double.sql'),
    never: ['recorded in'],
  },
];

/** `check`: the application's queries against the release, one correct and one broken run per project. */
const CHECK_LAB_CORRECT: RunName = 'check lab: a migration per shape, each with its undo';
const CHECK_LAB_BROKEN: RunName = 'check lab: a column each query reads renamed, per shape';
const CHECK_CORE_CORRECT: RunName = 'check sales: core gets a new function, products repriced and back';
const CHECK_CORE_BROKEN: RunName = 'check sales: core renames a column of its view and of products (touch trigger)';
/** At least one query checked (a check of nothing is no green), none broken. */
const CHECK_NONE_BREAKS = /compatibility: [1-9]\d* quer(?:y|ies) checked, 0 broken/;
const breaks = (file: string, line: number) => new RegExp(`BREAKS ${file.replace('.', '\\.')}:${line}\\b`);
function checkCells(shape: Shape, runs: { correct: RunName; broken: RunName }, file: string, line: number): Cell[] {
  return [
    { capability: 'check', shape, release: 'correct', run: runs.correct, exit: 0, names: [CHECK_NONE_BREAKS] },
    { capability: 'check', shape, release: 'broken', run: runs.broken, exit: 1, names: [breaks(file, line)] },
  ];
}
CELLS.push(
  ...checkCells('one project', { correct: CHECK_LAB_CORRECT, broken: CHECK_LAB_BROKEN }, 'app/lab.sql', 1),
  ...checkCells('partitions', { correct: CHECK_LAB_CORRECT, broken: CHECK_LAB_BROKEN }, 'app/lab.sql', 2),
  ...checkCells('a foreign-key cycle', { correct: CHECK_LAB_CORRECT, broken: CHECK_LAB_BROKEN }, 'app/lab.sql', 3),
  ...checkCells(
    'a table without a primary key',
    { correct: CHECK_LAB_CORRECT, broken: CHECK_LAB_BROKEN },
    'app/lab.sql',
    4,
  ),
  ...checkCells(
    'tables past the sample bound',
    { correct: CHECK_LAB_CORRECT, broken: CHECK_LAB_BROKEN },
    'app/lab.sql',
    5,
  ),
  ...checkCells(
    'public',
    { correct: 'check pub: a migration and its undo', broken: 'check pub: the column the query reads renamed' },
    'app/pub.sql',
    1,
  ),
  ...checkCells(
    'dependent projects, one unchanged',
    {
      correct: 'check sales: a function replaced and a migration with its undo',
      broken: 'check sales: a column of its view renamed',
    },
    'app/sales.sql',
    1,
  ),
  ...checkCells(
    'a change in the dependency only',
    { correct: CHECK_CORE_CORRECT, broken: CHECK_CORE_BROKEN },
    'app/sales.sql',
    2,
  ),
  ...checkCells('touch triggers', { correct: CHECK_CORE_CORRECT, broken: CHECK_CORE_BROKEN }, 'app/sales.sql', 3),
);

/** A package's rollback test (`plan --out --test-rollback`) on the shapes of lab, pub and core. */
const PACKAGE_PROVEN = (out: string) => [PROVEN, new RegExp(`rollback test: recorded in [^\\n]*dist/${out}`)];
function packageCells(shape: Shape, runs: { correct: RunName; broken: RunName; out: string }, script: string): Cell[] {
  return [
    {
      capability: 'rollback test of a package',
      shape,
      release: 'correct',
      run: runs.correct,
      exit: 0,
      names: PACKAGE_PROVEN(runs.out),
      never: ['cannot drop function'],
    },
    {
      capability: 'rollback test of a package',
      shape,
      release: 'broken',
      run: runs.broken,
      exit: 1,
      names: leaves(script),
      never: ['recorded in'],
    },
  ];
}
const LAB_PACKAGES = {
  correct: 'lab package: a migration per shape, each with its undo; the big table indexed',
  broken: 'lab package: each undo undoes nothing; the newest rows of the big table changed',
  out: 'lab-correct',
} as const;
const CORE_PACKAGES = {
  correct: 'core package: a new function, and products repriced and back (touch trigger)',
  broken: 'core package: undos that undo nothing (customers; products, touch trigger)',
  out: 'core-correct',
} as const;
CELLS.push(
  ...packageCells('one project', LAB_PACKAGES, 'lab/migrations/V1__bump.rollback.sql'),
  ...packageCells('partitions', LAB_PACKAGES, 'lab/migrations/V2__shift.rollback.sql'),
  ...packageCells('a foreign-key cycle', LAB_PACKAGES, 'lab/migrations/V3__relabel.rollback.sql'),
  ...packageCells('a table without a primary key', LAB_PACKAGES, 'lab/migrations/V4__raise.rollback.sql'),
  ...packageCells(
    'public',
    {
      correct: 'pub package: a migration and its undo',
      broken: 'pub package: an undo that undoes nothing',
      out: 'pub-correct',
    },
    'pub/migrations/V1__sign.rollback.sql',
  ),
  ...packageCells('a change in the dependency only', CORE_PACKAGES, 'core/migrations/V2__lower_names.rollback.sql'),
  ...packageCells('touch triggers', CORE_PACKAGES, 'core/migrations/V3__reprice.rollback.sql'),
  {
    capability: 'rollback test of a package',
    shape: 'tables past the sample bound',
    release: 'correct',
    run: LAB_PACKAGES.correct,
    exit: 0,
    names: PACKAGE_PROVEN(LAB_PACKAGES.out),
    never: [/not proven for rows outside the sample/],
  },
  {
    capability: 'rollback test of a package',
    shape: 'tables past the sample bound',
    release: 'broken',
    run: LAB_PACKAGES.broken,
    exit: 1,
    names: [
      /lab\/migrations\/V5__mark\.sql:1: rollback test: [^\n]*lab\.log[^\n]*not proven for rows outside the sample/,
    ],
    never: ['recorded in'],
  },
  // A migration that fails on rows the copy holds: refused at its file, on the shapes not covered above.
  ...(
    [
      ['public', 'pub: a migration that fails', 'pub/migrations/V1__blank.sql'],
      ['a foreign-key cycle', 'lab: a migration of the cycle that fails', 'lab/migrations/V3__relabel.sql'],
      ['tables past the sample bound', 'lab: a migration of the big table that fails', 'lab/migrations/V5__mark.sql'],
      [
        'a table without a primary key',
        'lab: a migration of the keyless table that fails',
        'lab/migrations/V4__raise.sql',
      ],
      ['touch triggers', 'core: a migration of products that fails (touch trigger)', 'core/migrations/V3__reprice.sql'],
    ] as const
  ).map(
    ([shape, run, file]): Cell => ({
      capability: 'verified dry run',
      shape,
      release: 'broken',
      run,
      exit: 1,
      names: failsOnCopy(file),
    }),
  ),
);

/**
 * `--objects` (a dry run of a selection): the selected objects planned and verified, the rest left pending and out of
 * the plan; a selection that needs a pending object it does not take is refused, naming both.
 */
function objectsCells(
  shape: Shape,
  runs: { correct: RunName; broken: RunName },
  selected: string,
  pending: string,
  view: string,
): Cell[] {
  const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [
    {
      capability: '--objects',
      shape,
      release: 'correct',
      run: runs.correct,
      exit: 0,
      names: [
        new RegExp(`selection: [^\\n]*${literal(selected)}`),
        new RegExp(`left pending: [^\\n]*${literal(pending)}`),
        VERIFIED,
      ],
      never: [new RegExp(`-- step [^\\n]*${literal(pending)}`)],
    },
    {
      capability: '--objects',
      shape,
      release: 'broken',
      run: runs.broken,
      exit: 1,
      names: [`--objects: ${view} needs ${selected}, pending and not selected`, '--with-needed'],
      never: ['dry run: verified'],
    },
  ];
}
const LAB_OBJECTS = {
  correct: '--objects lab: the tables of every shape, a view left pending',
  broken: '--objects lab: a view per shape reading a new column, the tables not selected',
} as const;
const LAB_SHAPES = [
  ['one project', 'items'],
  ['partitions', 'events'],
  ['a foreign-key cycle', 'a'],
  ['tables past the sample bound', 'log'],
  ['a table without a primary key', 'readings'],
] as const;
CELLS.push(
  ...LAB_SHAPES.flatMap(([shape, t]) =>
    objectsCells(shape, LAB_OBJECTS, `table:lab.${t}`, 'view:lab.kinds_v', `view:lab.${t}_v`),
  ),
  ...objectsCells(
    'public',
    {
      correct: '--objects pub: the table, a view left pending',
      broken: '--objects pub: a view reading a new column, the table not selected',
    },
    'table:public.notes',
    'view:public.plain_v',
    'view:public.notes_v',
  ),
  ...objectsCells(
    'dependent projects, one unchanged',
    {
      correct: '--objects sales: a function replaced, a view left pending',
      broken: '--objects sales: a view reading a new column of orders, the table not selected',
    },
    'table:sales.orders',
    'view:sales.open_orders',
    'view:sales.orders_v',
  ).map((c) =>
    c.release === 'correct'
      ? {
          ...c,
          names: [/selection: function:sales\.line_amount/, /left pending: view:sales\.open_orders/, VERIFIED],
        }
      : c,
  ),
  ...objectsCells(
    'touch triggers',
    {
      correct: '--objects core: products (touch trigger) given a column, a function left pending',
      broken: '--objects core: a view reading a new column of products, the table not selected',
    },
    'table:core.products',
    'function:core.shout(text)',
    'view:core.products_v',
  ),
  ...objectsCells(
    'a change in the dependency only',
    {
      correct: "--objects sales: core's products given a column selected, core's function left pending",
      broken: '--objects sales: a view of core reading a new column of products, the table not selected',
    },
    'table:core.products',
    'function:core.shout(text)',
    'view:core.products_v',
  ),
);

// `check --dbt`: the models of the manifest every `check` run carries (verdict-dbt.ts).
CELLS.push(...DBT_CELLS);

/** Why the cells of a capability not in `CELLS` are not covered yet (issue 89; each is a row to add). */
const PENDING_BY_CAPABILITY: Partial<Record<Capability, string>> = {};

/** Every cell of the cross product that `cells` (default `CELLS`) does not cover, with its reason. */
export function pendingCells(cells: readonly Cell[] = CELLS): PendingCell[] {
  const out: PendingCell[] = [];
  for (const capability of CAPABILITIES)
    for (const shape of Object.keys(SHAPES) as Shape[])
      for (const release of ['correct', 'broken'] as const) {
        if (cells.some((c) => c.capability === capability && c.shape === shape && c.release === release)) continue;
        const pending = PENDING_BY_CAPABILITY[capability] ?? 'no reason given';
        out.push({ capability, shape, release, pending });
      }
  return out;
}

/** The rows the shared workspace is seeded with once deployed (verdicts.test.ts; verdicts-blue-green.test.ts). */
export const SEED = `
INSERT INTO core.customers (email, full_name, country) SELECT 'c' || g || '@example.org', 'C ' || g, 'DE' FROM generate_series(1, 30) g;
INSERT INTO sales.orders (customer_id) SELECT id FROM core.customers, generate_series(1, 3);
INSERT INTO sales.order_lines SELECT o.id, l, CASE WHEN l = 1 THEN 'TEA-001' ELSE 'MUG-001' END, l, 6.5 FROM sales.orders o, generate_series(1, 2) l;
INSERT INTO lab.items SELECT g, g FROM generate_series(1, 20) g;
INSERT INTO lab.events SELECT g, DATE '2025-06-01' + g * 10, g FROM generate_series(1, 40) g;
BEGIN;
INSERT INTO lab.a SELECT g, 'a' || g, g FROM generate_series(1, 10) g;
INSERT INTO lab.b SELECT g, g FROM generate_series(1, 10) g;
COMMIT;
INSERT INTO lab.log SELECT g, now() - g * interval '1 minute', 'line ' || g FROM generate_series(1, 500) g;
INSERT INTO lab.readings SELECT 's' || (g % 3), g % 5 FROM generate_series(1, 30) g;
INSERT INTO lab.kinds VALUES ('a'), ('b'), ('c');
INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1, 15) g;
`;

/** What a cell's run got wrong (empty when the verdict is right); a cell whose run never ran is wrong. */
export function judgeCell(cell: Cell, got: { code: number; out: string } | undefined): string[] {
  const where = `${cell.capability} × ${cell.shape} × ${cell.release} (${cell.run})`;
  if (!got) return [`${where}: its run never ran`];
  const wrong: string[] = [];
  if (got.code !== cell.exit) wrong.push(`${where}: exit ${got.code}, expected ${cell.exit}`);
  const says = (p: string | RegExp) => (typeof p === 'string' ? got.out.includes(p) : p.test(got.out));
  for (const p of cell.names) if (!says(p)) wrong.push(`${where}: does not say ${String(p)}`);
  for (const p of cell.never ?? []) if (says(p)) wrong.push(`${where}: says ${String(p)}`);
  if (wrong.length) wrong.push(`${where}: its output was:\n${got.out}`);
  return wrong;
}

/** The file of the example workspace at `rel` (under examples/). */
export function example(rel: string): string {
  return readFileSync(join(__dirname, '..', '..', 'examples', rel), 'utf8');
}

/** The files of the example workspace's projects (examples/core, examples/sales), as they are in the repository. */
export function exampleFiles(): Record<string, string> {
  const root = join(__dirname, '..', '..', 'examples');
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  for (const project of ['core', 'sales']) walk(join(root, project));
  return out;
}
