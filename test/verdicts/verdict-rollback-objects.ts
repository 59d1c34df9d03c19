import {
  example,
  LAB_NOTE,
  LAB_TABLES,
  noteView,
  ORDERS,
  PRODUCTS,
  PRODUCTS_NOTE,
  PUB_NOTE,
  type Cell,
  type Run,
  type Shape,
} from './verdict-matrix';

/**
 * The verdict matrix's column `rollback --objects` (issue 89), a phase of its own after the dry runs, since it needs
 * deployments to undo: each project is deployed for real once with a column `note` added to the table of every shape
 * and a view over each new column (lab, pub; sales with core), then
 * - broken: the tables selected without the views that stand on their new column (a dry run): refused, exit 1, each
 *   table and the view that stands on it named;
 * - correct: the tables and their views selected (the real rollback): exit 0, each column dropped, no index the
 *   release never touched dropped. verdicts.test.ts then compares the target's catalog with the one before the phase:
 *   every column and view gone, nothing else changed.
 * The deploys are `setup` runs: they must exit 0 and judge no cell.
 */
export type PhaseRun = Run & { setup?: true };

const deploy = (project: string): Pick<Run, 'command' | 'options'> => ({
  command: 'deploy',
  options: { project, assumeYes: true, countdownFrom: 0 },
});
const rollback = (project: string, objects: string[], dryRun: boolean): Pick<Run, 'command' | 'options'> => ({
  command: 'rollback',
  options: { project, objects, assumeYes: true, ...(dryRun ? { dryRun } : {}) },
});

/** sales's release of a column `note` on orders and core's products (touch trigger), a view over each. */
export const SALES_FILES = {
  [ORDERS]: example(ORDERS).replace(
    'updated_at   timestamptz NOT NULL DEFAULT now()',
    'updated_at   timestamptz NOT NULL DEFAULT now(),\n  note         text',
  ),
  'sales/schema/sales/views/orders_v.sql': noteView('sales')('orders'),
  [PRODUCTS]: PRODUCTS_NOTE(),
  'core/schema/core/views/products_v.sql': noteView('core')('products'),
};
const tables = (schema: string, names: readonly string[]) => names.map((t) => `table:${schema}.${t}`);
const views = (schema: string, names: readonly string[]) => names.map((t) => `view:${schema}.${t}_v`);

/** The phase's runs, in order: the deploys, the refused selections, then the rollbacks. */
export const ROLLBACK_OBJECTS_RUNS: Record<string, PhaseRun> = {
  'deploy lab: a column note per table, a view over each': {
    files: { 'lab/lab.sql': LAB_NOTE, 'lab/views.sql': LAB_TABLES.map(noteView('lab')).join('') },
    ...deploy('lab'),
    setup: true,
  },
  'deploy pub: a column note, a view over it': {
    files: { 'pub/notes.sql': PUB_NOTE, 'pub/views.sql': noteView('public')('notes') },
    ...deploy('pub'),
    setup: true,
  },
  'deploy sales: orders and core.products (touch trigger) given a column note, a view over each': {
    files: SALES_FILES,
    ...deploy('sales'),
    setup: true,
  },
  'rollback --objects lab: the tables without their views (dry run)': {
    files: {},
    ...rollback('lab', tables('lab', LAB_TABLES), true),
  },
  'rollback --objects pub: the table without its view (dry run)': {
    files: {},
    ...rollback('pub', ['table:public.notes'], true),
  },
  'rollback --objects sales: orders without its view (dry run)': {
    files: {},
    ...rollback('sales', ['table:sales.orders'], true),
  },
  'rollback --objects core: products without its view (dry run)': {
    files: {},
    ...rollback('core', ['table:core.products'], true),
  },
  'rollback --objects lab: the tables and their views': {
    files: {},
    ...rollback('lab', [...tables('lab', LAB_TABLES), ...views('lab', LAB_TABLES)], false),
  },
  'rollback --objects pub: the table and its view': {
    files: {},
    ...rollback('pub', ['table:public.notes', 'view:public.notes_v'], false),
  },
  'rollback --objects sales: orders and its view, core left as deployed': {
    files: {},
    ...rollback('sales', ['table:sales.orders', 'view:sales.orders_v'], false),
  },
  'rollback --objects core: products (touch trigger) and its view': {
    files: {},
    ...rollback('core', ['table:core.products', 'view:core.products_v'], false),
  },
};

const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
function cells(
  shape: Shape,
  table: string,
  runs: { broken: string; correct: string },
  never: (string | RegExp)[] = [],
): Cell[] {
  const view = `view:${table}_v`;
  return [
    {
      capability: 'rollback --objects',
      shape,
      release: 'correct',
      run: runs.correct,
      exit: 0,
      // Each undone by its own reverse (the column dropped: the catalog after the phase shows it), nothing else.
      names: [
        new RegExp(`\\] drop ${literal(view)}\\n`),
        new RegExp(`\\] restore table:${literal(table)}\\n`),
        /status: +succeeded \(exit 0\)/,
      ],
      never: [/\] (?:drop|restore) (?:index|trigger|constraint)/, ...never],
    },
    {
      capability: 'rollback --objects',
      shape,
      release: 'broken',
      run: runs.broken,
      exit: 1,
      names: [
        new RegExp(`table:${literal(table)} cannot be rolled back alone: ${literal(view)} stands on it`),
        `--objects '${view}'`,
      ],
    },
  ];
}

const LAB = {
  broken: 'rollback --objects lab: the tables without their views (dry run)',
  correct: 'rollback --objects lab: the tables and their views',
};
const SALES = {
  broken: 'rollback --objects sales: orders without its view (dry run)',
  correct: 'rollback --objects sales: orders and its view, core left as deployed',
};
const CORE = {
  broken: 'rollback --objects core: products without its view (dry run)',
  correct: 'rollback --objects core: products (touch trigger) and its view',
};

export const ROLLBACK_OBJECTS_CELLS: Cell[] = [
  ...cells('one project', 'lab.items', LAB),
  ...cells('partitions', 'lab.events', LAB),
  ...cells('a foreign-key cycle', 'lab.a', LAB),
  ...cells('tables past the sample bound', 'lab.log', LAB),
  ...cells('a table without a primary key', 'lab.readings', LAB),
  ...cells('public', 'public.notes', {
    broken: 'rollback --objects pub: the table without its view (dry run)',
    correct: 'rollback --objects pub: the table and its view',
  }),
  // sales goes back while core, deployed by the same `deploy sales`, keeps its column.
  ...cells('dependent projects, one unchanged', 'sales.orders', SALES, [/\] (?:drop|restore) [a-z]+:core\./]),
  // The dependency's objects, rolled back on their own (they are core's, deployed by `deploy sales`).
  ...cells('a change in the dependency only', 'core.products', CORE, [/\] (?:drop|restore) [a-z]+:sales\./]),
  ...cells('touch triggers', 'core.products', CORE),
];
