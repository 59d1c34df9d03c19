import {
  LAB_NOTE,
  LAB_TABLES,
  migration,
  noteView,
  PUB_NOTE,
  UNDO_NOTHING,
  type Cell,
  type Run,
  type Shape,
} from './verdict-matrix';
import { SALES_FILES, type PhaseRun } from './verdict-rollback-objects';

/**
 * The verdict matrix's column `rollback` (a plain `dbee rollback`: the last deployment undone whole, and what it
 * reached compared with the state before it; docs/rollback.md "What it reached"), in the phase of the real deploys,
 * after `rollback --objects` (verdict-rollback-objects.ts) has left the target as it was:
 * - correct: each project deployed for real with a release that touches every shape's table (lab: a column `note` on
 *   each table and a view over it, a new partition of the partitioned table, the big table indexed; pub: a column and
 *   a view; `deploy sales`: sales.orders and core.products given a column and a view each), then each project rolled
 *   back (core apart from sales, which `deploy sales` deployed together): exit 0, "converged". verdicts.test.ts then
 *   compares the target's catalog with the one before the deploys (`ROLLBACK_RUNS`): equal.
 * - broken: a migration per shape's table that adds a column `kept`, whose rollback script undoes nothing, deployed
 *   and rolled back: exit 2 ("not converged", `ROLLBACK_NOT_CONVERGED`), the shape's migration named as undone by its
 *   rollback script, the rollback recorded failed (verdicts.test.ts reads the ledger, and checks that the catalog
 *   differs by the columns `kept` alone); then a migration of each project drops the columns again
 *   (`ROLLBACK_CLEANUP_RUNS`), so the later phases start from the target as it was.
 * One deploy and one rollback per project (two for sales, whose deploy changes core too) holds the correct cells of all
 * its shapes: a rollback converges only if every shape's part is undone. The broken ones would mask each other in one
 * release (any shape's column left is a difference), so lab's are undone one table at a time (`ROLLBACK_BROKEN_RUNS`):
 * each rollback is not converged by its own table's column alone and names its own migration only.
 */
const deploy = (project: string, extra: Record<string, unknown> = {}): Pick<Run, 'command' | 'options'> => ({
  command: 'deploy',
  options: { project, assumeYes: true, countdownFrom: 0, ...extra },
});
const rollback = (project: string): Pick<Run, 'command' | 'options'> => ({
  command: 'rollback',
  options: { project, assumeYes: true },
});

/**
 * lab's correct release: a column and a view per table (as `rollback --objects`'s), the cycle's foreign key changed, a
 * partition, an index.
 */
const LAB_RELEASE = {
  // The cycle's deferred foreign key given an action: put back by the rollback while the rows of the cycle stay.
  'lab/lab.sql': LAB_NOTE.replace(
    'REFERENCES lab.b (id) DEFERRABLE',
    'REFERENCES lab.b (id) ON DELETE SET NULL DEFERRABLE',
  ),
  'lab/views.sql': LAB_TABLES.map(noteView('lab')).join(''),
  'lab/events_2027.sql':
    "CREATE TABLE lab.events_2027 PARTITION OF lab.events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');\n",
  'lab/log_index.sql': 'CREATE INDEX log_at_idx ON lab.log (at);\n',
};

/** The tables given a column `kept` by the broken releases' migrations, by project: [shape, table, version]. */
const KEPT: Record<string, [Shape, string, number][]> = {
  lab: [
    ['one project', 'lab.items', 91],
    ['partitions', 'lab.events', 92],
    ['a foreign-key cycle', 'lab.a', 93],
    ['tables past the sample bound', 'lab.log', 94],
    ['a table without a primary key', 'lab.readings', 95],
  ],
  pub: [['public', 'public.notes', 91]],
  sales: [['dependent projects, one unchanged', 'sales.orders', 91]],
  // core's table with the touch trigger, changed by `deploy sales` while sales depends on it.
  core: [
    ['a change in the dependency only', 'core.products', 91],
    ['touch triggers', 'core.products', 91],
  ],
};
/** The relations a column `kept` is left on after the broken rollbacks (a partitioned table's partitions too). */
export const KEPT_RELATIONS = [
  'lab.items',
  'lab.events',
  'lab.events_2025',
  'lab.events_2026',
  'lab.a',
  'lab.log',
  'lab.readings',
  'public.notes',
  'sales.orders',
  'core.products',
];
const addKept = (table: string) => `ALTER TABLE ${table} ADD COLUMN kept int;`;
const dropKept = (table: string) => `ALTER TABLE ${table} DROP COLUMN kept;`;
/** The migration of a broken release that adds `kept` to a table, its rollback script undoing nothing. */
const keep = (project: string, table: string, version: number) =>
  migration(project, version, `keep_${table.split('.')[1]}`, addKept(table), UNDO_NOTHING);
const SALES_KEPT = { ...keep('sales', 'sales.orders', 91), ...keep('core', 'core.products', 91) };
/** A project's cleanup: one migration that drops the columns `kept`, with the rollback script that adds them back. */
function dropRelease(project: string): Record<string, string> {
  const tables = [...new Set(KEPT[project]!.map(([, table]) => table))];
  return migration(project, 99, 'drop_kept', tables.map(dropKept).join('\n'), tables.map(addKept).join('\n'));
}

const correct = (project: string) => `rollback ${project}: its release undone whole`;
/** The run of a broken rollback: one per migration of `KEPT` (lab's are undone one deployment at a time). */
const broken = (project: string, version: number) =>
  `rollback ${project}: V${version}'s rollback script undoes nothing`;

/** The correct releases, deployed and rolled back; the target's schemas are then as before the deploys. */
export const ROLLBACK_RUNS: Record<string, PhaseRun> = {
  'deploy lab: a column and a view per table, a partition, the big table indexed': {
    files: LAB_RELEASE,
    ...deploy('lab'),
    setup: true,
  },
  [correct('lab')]: { files: {}, ...rollback('lab') },
  'deploy pub: a column and a view over it': {
    files: { 'pub/notes.sql': PUB_NOTE, 'pub/views.sql': noteView('public')('notes') },
    ...deploy('pub'),
    setup: true,
  },
  [correct('pub')]: { files: {}, ...rollback('pub') },
  'deploy sales: orders and core.products (touch trigger) given a column and a view each': {
    files: SALES_FILES,
    ...deploy('sales'),
    setup: true,
  },
  [correct('sales')]: { files: {}, ...rollback('sales') },
  [correct('core')]: { files: {}, ...rollback('core') },
};

/**
 * The broken releases, deployed and rolled back (not converged). lab's five tables one deployment and rollback at a
 * time: each rollback is compared with the state the failed rollback before it left (the earlier columns `kept`
 * included), so it is not converged by its own table's column alone, and names only its own migration. sales's and
 * core's in one `deploy sales`, each project rolled back on its own.
 */
export const ROLLBACK_BROKEN_RUNS: Record<string, PhaseRun> = {
  ...Object.fromEntries(
    KEPT.lab!.flatMap(([, table, version]) => [
      [
        `deploy lab: V${version} adds a column to ${table}, its rollback script undoes nothing`,
        { files: keep('lab', table, version), ...deploy('lab'), setup: true },
      ],
      [broken('lab', version), { files: keep('lab', table, version), ...rollback('lab') }],
    ]),
  ),
  'deploy pub: V91 adds a column to public.notes, its rollback script undoes nothing': {
    files: keep('pub', 'public.notes', 91),
    ...deploy('pub'),
    setup: true,
  },
  [broken('pub', 91)]: { files: keep('pub', 'public.notes', 91), ...rollback('pub') },
  'deploy sales: V91 of sales and of core add a column to orders and core.products, their rollback scripts undo nothing':
    { files: SALES_KEPT, ...deploy('sales'), setup: true },
  [broken('sales', 91)]: { files: SALES_KEPT, ...rollback('sales') },
  [broken('core', 91)]: { files: SALES_KEPT, ...rollback('core') },
};

/** The columns `kept` the broken rollbacks leave, dropped by a migration of each project. */
export const ROLLBACK_CLEANUP_RUNS: Record<string, PhaseRun> = {
  'deploy lab: the columns the rollback left dropped': { files: dropRelease('lab'), ...deploy('lab'), setup: true },
  'deploy pub: the column the rollback left dropped': { files: dropRelease('pub'), ...deploy('pub'), setup: true },
  'deploy sales: the columns the rollbacks left dropped (sales and core)': {
    files: { ...dropRelease('sales'), ...dropRelease('core') },
    ...deploy('sales'),
    setup: true,
  },
};

/** The broken rollbacks verdicts.test.ts expects recorded failed, in order: the project, the migrations each undid. */
export const NOT_CONVERGED: { project: string; undone: string[] }[] = [
  ...KEPT.lab!.map(([, , version]) => ({ project: 'lab', undone: [`migration:lab/V${version}`] })),
  ...['pub', 'sales', 'core'].map((project) => ({ project, undone: [`migration:${project}/V91`] })),
];

const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The line a rollback says when its schemas are as before the deployment it undid. */
const converged = (project: string) =>
  new RegExp(`${project}: converged: its schemas are as deployment #\\d+ left them \\(the fingerprint it recorded`);

function cells(shape: Shape, project: string, undone: string[], never: RegExp[] = []): Cell[] {
  const [, , version] = KEPT[project]!.find(([s]) => s === shape)!;
  return [
    {
      capability: 'rollback',
      shape,
      release: 'correct',
      run: correct(project),
      exit: 0,
      names: [converged(project), ...undone.map((step) => new RegExp(`\\] ${literal(step)}\\n`))],
      never: [/not converged|not proven converged|not compared/, ...never],
    },
    {
      capability: 'rollback',
      shape,
      release: 'broken',
      run: broken(project, version),
      exit: 2,
      names: [
        `${project}: not converged: every step of the rollback ran`,
        'The rollback is applied and recorded as failed',
        `migration:${project}/V${version}: undone by its rollback script`,
      ],
      // Its own migration alone: another's rollback script cannot be what left the difference.
      never: [converged(project), new RegExp(`migration:[a-z]+/V(?!${version}:)\\d+: undone`)],
    },
  ];
}

export const ROLLBACK_CELLS: Cell[] = [
  ...cells('one project', 'lab', ['drop view:lab.items_v', 'restore table:lab.items']),
  ...cells('partitions', 'lab', ['drop table:lab.events_2027', 'restore table:lab.events']),
  ...cells('a foreign-key cycle', 'lab', ['drop view:lab.a_v', 'restore table:lab.a']),
  ...cells('tables past the sample bound', 'lab', ['drop index:lab.log_at_idx@lab.log', 'restore table:lab.log']),
  ...cells('a table without a primary key', 'lab', ['drop view:lab.readings_v', 'restore table:lab.readings']),
  ...cells('public', 'pub', ['drop view:public.notes_v', 'restore table:public.notes']),
  // sales goes back whole while core, deployed by the same `deploy sales`, keeps its column until its own rollback.
  ...cells(
    'dependent projects, one unchanged',
    'sales',
    ['drop view:sales.orders_v', 'restore table:sales.orders'],
    [/\] [a-z]+ [a-z]+:core\./],
  ),
  ...cells(
    'a change in the dependency only',
    'core',
    ['drop view:core.products_v', 'restore table:core.products'],
    [/\] [a-z]+ [a-z]+:sales\./],
  ),
  ...cells('touch triggers', 'core', ['drop view:core.products_v', 'restore table:core.products']),
];
