import {
  example,
  exampleFiles,
  LAB_NOTE,
  LAB_SQL,
  ORDERS,
  PRODUCTS,
  PRODUCTS_NOTE,
  PUB_NOTE,
  PUB_SQL,
  type Cell,
  type Shape,
} from './verdict-matrix';

/**
 * The verdict matrix's column `blue/green phases` (issue 89), judged by verdicts-blue-green.test.ts on a cluster of its
 * own (logical replication: `wal_level = logical`, which the shared server lacks). Its workspace is the shared one
 * (the example projects core and sales, lab with every table shape, pub owning `public`) with a project `app` that
 * depends on all of them: a switchover moves the whole database, so blue/green deploys a project that depends on every
 * project of the database (docs/blue-green.md), blue the database `app`, green `app_green`, the router a file.
 *
 * The runs, in order, on one blue and one green:
 * 1. the deploy phase's dry run while lab.readings has no key: refused before green is made, the table named with what
 *    to do (a table without a key cannot have its updates replicated), and the switch says to deploy first; then lab
 *    given `REPLICA IDENTITY FULL`, as the refusal says (a direct deploy of lab: a setup run);
 * 2. broken: every shape's table given a narrower column type (a `data-loss` hazard green's environment does not
 *    allow): green made, the release refused on it, each step named; `status` names the deploy again, never the
 *    switch; `switch` and its dry run refused;
 * 3. correct, sales, lab and pub changed and core not: a column `note` on each shape's table (an index on the keyless
 *    one), sales's function replaced; deployed to the green in sync: done, `status` says `next: dbee switch`, `switch
 *    --dry-run` passes; then blue is written (every shape's table: inserts, updates, deletes, the touch triggers firing
 *    on blue) and green compared with blue, table by table (the probe);
 * 4. broken: the keyless table given a column (its full-row identity could not be carried back): refused, named;
 * 5. correct, core changed and sales not (the dependency only, its touch-triggered tables given a column): judged as
 *    3; then the switch, the application's writes on green (keys from green's sequences) and blue compared with green.
 * Cells are judged on a run's whole output: each command's `$ dbee ...: exit N` line and its output, then the probe's.
 */
export interface BlueGreenRun {
  /** Files written before the run (workspace-relative); restored after it unless `keep`. */
  files: Record<string, string>;
  /**
   * The steps, in order: dbee commands (the first is the deploy phase, whose exit code is the cell's) and probes (the
   * application's writes on the side named, every shape's table then compared on the other side: `probe` in the test).
   */
  steps: (BlueGreenCommand | { probe: 'blue' | 'green' })[];
  /** The run's files stay (a setup, or a release deployed to green that the next release builds on). */
  keep?: true;
  /** A setup run: it must exit 0 and judges no cell. */
  setup?: true;
}
export interface BlueGreenCommand {
  command: 'deploy' | 'status' | 'switch';
  options: Record<string, unknown> & { project: string };
}

/** The project that depends on every project of the database: what blue/green deploys. */
export const UMBRELLA = 'app';
const phase = (command: BlueGreenCommand['command'], extra: Record<string, unknown> = {}): BlueGreenCommand => ({
  command,
  options: {
    project: UMBRELLA,
    env: 'blue',
    ...(command === 'status' ? {} : { assumeYes: true, ticket: 'CHG-89' }),
    ...extra,
  },
});
const DEPLOY = phase('deploy', { strategy: 'blue-green' });
const DEPLOY_DRY = phase('deploy', { strategy: 'blue-green', dryRun: true });
const STATUS = phase('status');
const SWITCH_DRY = phase('switch', { dryRun: true });
const SWITCH = phase('switch');

const FULL = 'ALTER TABLE lab.readings REPLICA IDENTITY FULL;\n';
const CUSTOMERS = 'core/schema/core/tables/customers.sql';
const LINE_AMOUNT = 'sales/schema/sales/functions/line_amount.sql';
/** A column `note` added after a table's last column `updated_at` (the example's tables end so). */
const withNote = (sql: string) =>
  sql.replace(/(updated_at +timestamptz NOT NULL DEFAULT now\(\))\n\);/, '$1,\n  note        text\n);');

/** The workspace the runs start from: the shared one, `app` depending on every project. */
export function blueGreenFiles(): Record<string, string> {
  return {
    ...exampleFiles(),
    'lab/db.yaml': 'version: 1\nname: lab\nengine: postgres\nschemas: [lab]\n',
    'lab/lab.sql': LAB_SQL,
    'pub/db.yaml': 'version: 1\nname: pub\nengine: postgres\nschemas: [public]\n',
    'pub/notes.sql': PUB_SQL,
    [`${UMBRELLA}/db.yaml`]: `version: 1\nname: ${UMBRELLA}\nengine: postgres\nschemas: [${UMBRELLA}]\ndependsOn: [sales, lab, pub]\n`,
    [`${UMBRELLA}/schema.sql`]: `CREATE SCHEMA ${UMBRELLA};\n`,
  };
}

/**
 * The first correct release: a column `note` on each table of lab but the keyless one (which gets an index: a table
 * found by its full row cannot gain a column blue lacks, refused below), of pub and of sales; a function.
 */
const LAB_RELEASE = `${LAB_NOTE.replace('v int NOT NULL, note text);', 'v int NOT NULL);')}${FULL}CREATE INDEX readings_sensor_idx ON lab.readings (sensor);\n`;
const SALES_LAB_PUB = {
  'lab/lab.sql': LAB_RELEASE,
  'lab/log_index.sql': 'CREATE INDEX log_at_idx ON lab.log (at);\n',
  'pub/notes.sql': PUB_NOTE,
  [ORDERS]: withNote(example(ORDERS)),
  [LINE_AMOUNT]: example(LINE_AMOUNT).replace('quantity * unit_price', '(quantity * unit_price)'),
};
/** The second: core's tables (each with its touch trigger) given a column, and a new function. */
const CORE = {
  [PRODUCTS]: PRODUCTS_NOTE(),
  [CUSTOMERS]: withNote(example(CUSTOMERS)),
  'core/schema/core/functions/shout.sql':
    'CREATE FUNCTION core.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE RETURN upper(t);\n',
};
/** The broken release: a narrower type on a column of each shape's table, a data-loss hazard green does not allow. */
const NARROWER = {
  'lab/lab.sql': (LAB_SQL + FULL)
    .replace('qty int NOT NULL', 'qty smallint NOT NULL')
    .replace('v int NOT NULL, PRIMARY', 'v smallint NOT NULL, PRIMARY')
    .replace('label text NOT NULL', 'label varchar(3) NOT NULL')
    .replace('msg text NOT NULL', 'msg varchar(3) NOT NULL')
    .replace('(sensor text NOT NULL', '(sensor varchar(3) NOT NULL'),
  'pub/notes.sql': PUB_SQL.replace('body text', 'body varchar(3)'),
  [ORDERS]: example(ORDERS).replace('status       text', 'status       varchar(3)'),
  [PRODUCTS]: example(PRODUCTS).replace('name        text', 'name        varchar(3)'),
  [CUSTOMERS]: example(CUSTOMERS).replace('full_name   text', 'full_name   varchar(3)'),
};

export const BLUE_GREEN_RUNS = {
  'blue/green: the deploy phase while a table has no key (dry run)': { files: {}, steps: [DEPLOY_DRY, SWITCH_DRY] },
  'blue/green setup: lab.readings given REPLICA IDENTITY FULL (a direct deploy of lab)': {
    files: { 'lab/lab.sql': LAB_SQL + FULL },
    steps: [{ command: 'deploy', options: { project: 'lab', env: 'blue', assumeYes: true } }],
    keep: true,
    setup: true,
  },
  // Green made, the release refused on it.
  'blue/green: a narrower column type on every shape': {
    files: NARROWER,
    steps: [DEPLOY, STATUS, SWITCH_DRY, SWITCH],
  },
  // Deployed to the green in sync, as the refused release's deploy phase run again.
  'blue/green: a column per table of lab, pub and sales, core unchanged': {
    files: SALES_LAB_PUB,
    steps: [DEPLOY, STATUS, SWITCH_DRY, { probe: 'blue' }],
    keep: true,
  },
  // The keyless table (REPLICA IDENTITY FULL) given a column: refused on the green in sync, before anything changes.
  'blue/green: a column added to the table without a key (dry run)': {
    files: { 'lab/lab.sql': LAB_NOTE + FULL },
    steps: [DEPLOY_DRY],
  },
  // A data migration on the green in sync: deployed, and warned of (blue's later writes of its rows win on green).
  'blue/green: a data migration of lab.items (dry run)': {
    files: {
      'lab/migrations/V1__bump.sql': 'UPDATE lab.items SET qty = qty + 1;\n',
      'lab/migrations/V1__bump.rollback.sql': 'UPDATE lab.items SET qty = qty - 1;\n',
    },
    steps: [DEPLOY_DRY],
  },
  // Then the switch: the application writes on green (new keys from green's sequences), blue gets the rows back.
  "blue/green: core's touch-triggered tables given a column, sales unchanged; then the switch": {
    files: CORE,
    steps: [DEPLOY, STATUS, SWITCH_DRY, { probe: 'blue' }, SWITCH, { probe: 'green' }],
    keep: true,
  },
} satisfies Record<string, BlueGreenRun>;
type RunName = keyof typeof BLUE_GREEN_RUNS;

/** The tables the probe writes on one side and compares on both, with the columns blue has (not the release's). */
export const PROBED: Record<string, string> = {
  'lab.items': 'id, qty',
  'lab.events': 'id, at, v',
  'lab.a': 'id, label, b_id',
  'lab.b': 'id, a_id',
  'lab.log': 'id, at, msg',
  'lab.readings': 'sensor, v',
  'public.notes': 'id, body',
  'sales.orders': 'id, customer_id, status, ordered_at, updated_at',
  'core.customers': 'id, email, email_key, full_name, status, country, created_at, updated_at',
  'core.products': 'sku, name, unit_price, active, updated_at',
};

/**
 * The probe's writes (on blue, or on green after the switch), round `k` (each writes new keys): every shape's table
 * inserted, updated, deleted; core.customers and sales.orders given keys by their sequences (green's are set past
 * blue's at the switch).
 */
export function probeWrites(k: number): string[] {
  const id = 1000 + k;
  return [
    `INSERT INTO lab.items VALUES (${id}, 1); UPDATE lab.items SET qty = qty + 1 WHERE id <= 5; DELETE FROM lab.items WHERE id = ${20 - k}`,
    // A row in each partition, one moved between them, one deleted.
    `INSERT INTO lab.events VALUES (${id}, '2025-03-01', 1), (${id + 1}, '2026-03-01', 1); UPDATE lab.events SET at = at + 365 WHERE id = ${1 + k}; DELETE FROM lab.events WHERE id = ${40 - k}`,
    // The cycle: both rows in one transaction (a's key to b deferred).
    `BEGIN; INSERT INTO lab.a VALUES (${id}, 'new', ${id}); INSERT INTO lab.b VALUES (${id}, ${id}); UPDATE lab.a SET label = label || '.' WHERE id <= 3; COMMIT`,
    `INSERT INTO lab.log VALUES (${id}, now(), 'new'); UPDATE lab.log SET msg = msg || '.' WHERE id > 490`,
    // No key: duplicate rows updated and deleted (found by the full row).
    `UPDATE lab.readings SET v = v + 100 WHERE sensor = 's1'; DELETE FROM lab.readings WHERE sensor = 's2' AND v = ${k}`,
    `INSERT INTO public.notes VALUES (${id}, 'new'); UPDATE public.notes SET body = body || '.' WHERE id <= 3`,
    // The touch triggers fire on blue: green must take blue's updated_at, not fire its own.
    `UPDATE sales.orders SET status = 'paid' WHERE id <= ${3 + k}; INSERT INTO sales.orders (customer_id) VALUES (1)`,
    `UPDATE core.customers SET full_name = full_name || '.' WHERE id <= 3; INSERT INTO core.customers (email, full_name, country) VALUES ('new${k}@example.org', 'New', 'FR')`,
    "UPDATE core.products SET unit_price = unit_price + 1 WHERE sku = 'TEA-001'",
  ];
}
/** What the probe says of a table whose rows on `to` are those written on the other side. */
const carried = (table: string, to: 'green' | 'blue' = 'green') =>
  new RegExp(
    `probe: ${to} has ${to === 'green' ? 'blue' : 'green'}'s rows of ${table.replace('.', '\\.')} \\(\\d+ rows\\)`,
  );

const CORRECT_SALES_LAB_PUB: RunName = 'blue/green: a column per table of lab, pub and sales, core unchanged';
const CORRECT_CORE: RunName =
  "blue/green: core's touch-triggered tables given a column, sales unchanged; then the switch";
const BROKEN: RunName = 'blue/green: a narrower column type on every shape';
const KEYLESS: RunName = 'blue/green: the deploy phase while a table has no key (dry run)';

/** A correct release: deployed on green, next the switch, whose dry run passes; its steps and green's rows named. */
const DONE = [
  '$ dbee deploy app --env blue --strategy blue-green: exit 0',
  /green \(green\) is in sync with blue \(blue\)/,
  'blue/green of app: blue (blue) serves; deploy done',
  'next: dbee switch app --env blue',
  '$ dbee switch app --env blue --dry-run: exit 0',
];
function correct(
  shape: Shape,
  run: RunName,
  tables: string[],
  steps: (string | RegExp)[],
  failedBefore?: string,
): Cell {
  return {
    ...(failedBefore ? { failedBefore } : {}),
    capability: 'blue/green phases',
    shape,
    release: 'correct',
    run,
    exit: 0,
    names: [...DONE, ...steps, ...tables.map((t) => carried(t))],
    // The deploy phase's clone said of the phase running: "deploy did not finish (at step begin): run it again".
    never: [/probe: green differs/, /error:/, 'did not finish'],
  };
}
/** A step of the release deployed to green (after the clone's steps, which only `create`). */
const onGreen = (step: string) =>
  new RegExp(`-> green \\(postgres:[^]*\\] ${step.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`);
/** The summary's line of projects: sales deployed with core unchanged, or the other way round. */
const SALES_ONLY = /projects: [^\n]*core unchanged, sales succeeded/;
const CORE_ONLY = /projects: [^\n]*core succeeded [^\n]*, sales unchanged/;

/**
 * The switch after the correct releases: done (exit 0); then the application writes on green, every shape's table
 * (new keys from green's sequences, set past blue's), and blue, retired, gets the rows back as green has them.
 */
function switched(shape: Shape, tables: string[]): Cell {
  return {
    capability: 'blue/green phases',
    shape,
    release: 'correct',
    run: CORRECT_CORE,
    exit: 0,
    names: ['$ dbee switch app --env blue: exit 0', ...tables.map((t) => carried(t, 'blue'))],
    never: [/probe: (?:green|blue) differs/, /error:/],
  };
}

/** A broken release: refused on green, its step named; never the switch; the switch and its dry run refused. */
function broken(shape: Shape, column: string, from: string, to: string): Cell {
  return {
    capability: 'blue/green phases',
    shape,
    release: 'broken',
    run: BROKEN,
    exit: 1,
    names: [
      'has hazards environment green does not allow',
      new RegExp(
        `changes ${column.replaceAll('.', '\\.')} from ${from} to ${to.replace('(', '\\(').replace(')', '\\)')}`,
      ),
      'deploy done, but the release on green failed or was refused',
      'next: dbee deploy app --env blue --strategy blue-green',
      '$ dbee switch app --env blue --dry-run: exit 1',
      '$ dbee switch app --env blue: exit 1',
      'the release on green failed or was refused: deploy it again first',
    ],
    never: ['next: dbee switch', /switch app --env blue[^\n]*: exit 0/],
  };
}

/** How the partitions failed before (the partitions' key is recorded once, on the partitioned table). */
const PARTITIONS =
  'the deploy phase refused, green never made: "lab.events_2025 has no primary key or replica identity: its updates and deletes cannot be replicated", exit 1';

export const BLUE_GREEN_CELLS: Cell[] = [
  correct(
    'one project',
    CORRECT_SALES_LAB_PUB,
    ['lab.items'],
    [onGreen('alter table:lab.items')],
    'the deploy phase (exit 0) said of itself, while cloning app: "deploy did not finish (at step begin): run it again"',
  ),
  correct('partitions', CORRECT_SALES_LAB_PUB, ['lab.events'], [onGreen('alter table:lab.events')], PARTITIONS),
  correct('a foreign-key cycle', CORRECT_SALES_LAB_PUB, ['lab.a', 'lab.b'], [onGreen('alter table:lab.a')]),
  correct(
    'tables past the sample bound',
    CORRECT_SALES_LAB_PUB,
    ['lab.log'],
    [onGreen('alter table:lab.log'), onGreen('create index:lab.log_at_idx@lab.log')],
  ),
  correct(
    'a table without a primary key',
    CORRECT_SALES_LAB_PUB,
    ['lab.readings'],
    [onGreen('create index:lab.readings_sensor_idx@lab.readings')],
  ),
  correct('public', CORRECT_SALES_LAB_PUB, ['public.notes'], [onGreen('alter table:public.notes')]),
  correct(
    'dependent projects, one unchanged',
    CORRECT_SALES_LAB_PUB,
    ['sales.orders'],
    [onGreen('replace function:sales.line_amount(integer,numeric)'), SALES_ONLY],
  ),
  correct(
    'a change in the dependency only',
    CORRECT_CORE,
    ['core.customers', 'sales.orders'],
    [onGreen('create function:core.shout(text)'), onGreen('alter table:core.customers'), CORE_ONLY],
  ),
  // The touch triggers fired on blue; replication gave green blue's updated_at (probe), its triggers did not fire.
  correct(
    'touch triggers',
    CORRECT_CORE,
    ['core.products', 'core.customers', 'sales.orders'],
    [onGreen('alter table:core.products')],
  ),
  // Without a key, a table's updates and deletes cannot be replicated: refused before green is made, named with what
  // to do; the other shapes' tables are not named.
  {
    capability: 'blue/green phases',
    shape: 'a table without a primary key',
    release: 'correct',
    run: KEYLESS,
    exit: 1,
    names: [
      'lab.readings has no primary key or replica identity: its updates and deletes cannot be replicated',
      'REPLICA IDENTITY FULL',
      '--strategy expand-contract',
      // No green: the switch says to run the deploy phase first.
      '$ dbee switch app --env blue --dry-run: exit 1',
      'switch refused: no green is made (run the deploy phase first)',
      'next: dbee deploy app --env blue --strategy blue-green',
    ],
    never: [
      /lab\.(?:items|events|events_2025|events_2026|a|b|log|kinds)\b[^\n]*(?:no primary key|cannot)/,
      'in sync',
      'cannot connect',
    ],
    failedBefore: `${PARTITIONS}: each partition named beside lab.readings; and the switch's dry run, with no green made, said "environment green: cannot connect ... database "app_green" does not exist" with a hint to check the server`,
  },
  switched('one project', ['lab.items']),
  switched('partitions', ['lab.events']),
  switched('a foreign-key cycle', ['lab.a', 'lab.b']),
  switched('tables past the sample bound', ['lab.log']),
  switched('a table without a primary key', ['lab.readings']),
  switched('public', ['public.notes']),
  switched('dependent projects, one unchanged', ['sales.orders']),
  switched('a change in the dependency only', ['core.customers', 'sales.orders']),
  switched('touch triggers', ['core.products', 'core.customers', 'sales.orders']),
  // A column the keyless table gains on green: the way back could not carry its full-row identity.
  {
    capability: 'blue/green phases',
    shape: 'a table without a primary key',
    release: 'broken',
    run: 'blue/green: a column added to the table without a key (dry run)',
    exit: 1,
    names: [
      'lab.readings is found by its full row (REPLICA IDENTITY FULL) and gains column note on green',
      'the release cannot be deployed to green',
      '--strategy expand-contract',
    ],
    never: [/lab\.(?:items|events|a|log)\b[^\n]*(?:gains|cannot)/, 'dry run: nothing was applied'],
    failedBefore:
      'the release deployed on green, the switch done (exit 0), then every UPDATE and DELETE of lab.readings on green failed: cannot update table "readings": Column list used by the publication does not cover the replica identity',
  },
  // A data migration runs on green while blue takes writes: deployed, and the loss of its changes to rows blue writes
  // after it is said, the migration named.
  {
    capability: 'blue/green phases',
    shape: 'one project',
    release: 'correct',
    run: 'blue/green: a data migration of lab.items (dry run)',
    exit: 0,
    names: [
      /data migrations \(migration:lab\/V1 \(lab\/migrations\/V1__bump\.sql\)\) run on green while blue takes writes/,
    ],
    failedBefore: 'the deploy phase said nothing of blue overwriting, on green, the rows the migration changed',
  },
  broken('one project', 'lab.items.qty', 'integer', 'smallint'),
  broken('partitions', 'lab.events.v', 'integer', 'smallint'),
  broken('a foreign-key cycle', 'lab.a.label', 'text', 'character varying(3)'),
  broken('tables past the sample bound', 'lab.log.msg', 'text', 'character varying(3)'),
  broken('a table without a primary key', 'lab.readings.sensor', 'text', 'character varying(3)'),
  broken('public', 'public.notes.body', 'text', 'character varying(3)'),
  broken('dependent projects, one unchanged', 'sales.orders.status', 'text', 'character varying(3)'),
  broken('a change in the dependency only', 'core.customers.full_name', 'text', 'character varying(3)'),
  broken('touch triggers', 'core.products.name', 'text', 'character varying(3)'),
];
