import { dbYaml } from '../runner/helpers';
import {
  example,
  LAB_SQL,
  ORDERS,
  PRODUCTS,
  PRODUCTS_NOTE,
  PUB_SQL,
  type Cell,
  type Run,
  type Shape,
} from './verdict-matrix';

/**
 * The verdict matrix's column `expand/complete/abort` (issue 89): the expand-contract strategy's dry run
 * (`deploy --strategy expand-contract --dry-run`) on every shape, in the first phase with the other dry runs. The dry
 * run applies the expand on a scratch copy and prints the complete's statements; `complete` and `abort` themselves
 * need an expand applied for real and are the lifecycle tests' (test/expand), not cells here.
 * - correct: per shape a change the expand carries (a rename, a type change through a shadow column and a backfill,
 *   an added column): exit 0, the release's version schema view of the shape's table named;
 * - broken: per shape a change the expand refuses (an index, a changed default, a dropped constraint, a type change of
 *   a primary key column, a backfill of a table without a key, a view): exit 1,
 *   each named.
 */
const expand = (project: string): Pick<Run, 'command' | 'options'> => ({
  command: 'deploy',
  options: { project, dryRun: true, strategy: 'expand-contract' },
});
const renames = (project: string, list: [string, string, string, string][]) =>
  `${dbYaml(project).replace(`schemas: [${project}]`, `schemas: [${project === 'pub' ? 'public' : project}]`)}renames:\n${list
    .map(
      ([schema, table, from, to]) =>
        `  - { kind: column, schema: ${schema}, table: ${table}, from: ${from}, to: ${to} }\n`,
    )
    .join('')}`;

export const EXPAND_RUNS = {
  'expand lab: a rename, a type change on partitions, a rename in the cycle, a retyped big table, a column added to the keyless table':
    {
      files: {
        'lab/db.yaml': renames('lab', [
          ['lab', 'items', 'qty', 'quantity'],
          ['lab', 'a', 'label', 'name'],
        ]),
        'lab/lab.sql': LAB_SQL.replace('qty int', 'quantity int')
          .replace('v int NOT NULL, PRIMARY', 'v bigint NOT NULL, PRIMARY')
          .replace('label text', 'name text')
          .replace('msg text NOT NULL', 'msg varchar(200) NOT NULL')
          .replace('v int NOT NULL);', 'v int NOT NULL, note text);'),
      },
      ...expand('lab'),
    },
  'expand lab: an index, a changed default, a dropped constraint, a primary key retyped, a keyless table retyped': {
    files: {
      'lab/lab.sql': `${LAB_SQL.replace('v int NOT NULL, PRIMARY', 'v int NOT NULL DEFAULT 0, PRIMARY')
        .replace(/ALTER TABLE lab\.a ADD CONSTRAINT a_b_fkey[^\n]*\n/, '')
        .replace('lab.log (id int PRIMARY KEY', 'lab.log (id bigint PRIMARY KEY')
        .replace('v int NOT NULL);', 'v bigint NOT NULL);')}CREATE INDEX items_qty_idx ON lab.items (qty);\n`,
    },
    ...expand('lab'),
  },
  'expand pub: a column of public.notes renamed': {
    files: {
      'pub/db.yaml': renames('pub', [['public', 'notes', 'body', 'content']]),
      'pub/notes.sql': PUB_SQL.replace('body', 'content'),
    },
    ...expand('pub'),
  },
  'expand pub: a view': {
    files: { 'pub/views.sql': 'CREATE VIEW public.notes_v AS SELECT body FROM public.notes;\n' },
    ...expand('pub'),
  },
  'expand sales: a column added to orders': {
    files: {
      [ORDERS]: example(ORDERS).replace(
        'updated_at   timestamptz NOT NULL DEFAULT now()',
        'updated_at   timestamptz NOT NULL DEFAULT now(),\n  note         text',
      ),
    },
    ...expand('sales'),
  },
  'expand sales: a view over orders': {
    files: {
      'sales/schema/sales/views/orders_v.sql': 'CREATE VIEW sales.orders_v AS SELECT id FROM sales.orders;\n',
    },
    ...expand('sales'),
  },
  'expand sales: core gives products a column (the dependency only)': {
    files: { [PRODUCTS]: PRODUCTS_NOTE() },
    ...expand('sales'),
  },
  'expand sales: core changes the default of a column of products (the dependency only)': {
    files: { [PRODUCTS]: example(PRODUCTS).replace('DEFAULT true', 'DEFAULT false') },
    ...expand('sales'),
  },
  'expand core: a column added to products (touch trigger)': {
    files: { [PRODUCTS]: PRODUCTS_NOTE() },
    ...expand('core'),
  },
  'expand core: the default of a column of products changed (touch trigger)': {
    files: { [PRODUCTS]: example(PRODUCTS).replace('DEFAULT true', 'DEFAULT false') },
    ...expand('core'),
  },
} satisfies Record<string, Run>;
type ExpandRun = keyof typeof EXPAND_RUNS;

const LAB_OK: ExpandRun =
  'expand lab: a rename, a type change on partitions, a rename in the cycle, a retyped big table, a column added to the keyless table';
const LAB_REFUSED: ExpandRun =
  'expand lab: an index, a changed default, a dropped constraint, a primary key retyped, a keyless table retyped';
const CORE = {
  correct: 'expand core: a column added to products (touch trigger)',
  broken: 'expand core: the default of a column of products changed (touch trigger)',
} as const;

const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The expand's verdicts on one shape: its version schema's view of the table, and the refused change named. */
function cells(shape: Shape, runs: { correct: ExpandRun; broken: ExpandRun }, view: string, refused: RegExp): Cell[] {
  return [
    {
      capability: 'expand/complete/abort',
      shape,
      release: 'correct',
      run: runs.correct,
      exit: 0,
      names: [new RegExp(`VIEW [^\\n]*${literal(view)}\\b`)],
    },
    { capability: 'expand/complete/abort', shape, release: 'broken', run: runs.broken, exit: 1, names: [refused] },
  ];
}

const LAB = { correct: LAB_OK, broken: LAB_REFUSED };
export const EXPAND_CELLS: Cell[] = [
  ...cells('one project', LAB, 'lab_v1.items', /items_qty_idx/),
  ...cells('partitions', LAB, 'lab_v1.events', /lab\.events[^\n]*default|default[^\n]*lab\.events/i),
  ...cells('a foreign-key cycle', LAB, 'lab_v1.a', /a_b_fkey/),
  ...cells('tables past the sample bound', LAB, 'lab_v1.log', /lab\.log[^\n]*\bid\b|lab\.log\.id/),
  ...cells('a table without a primary key', LAB, 'lab_v1.readings', /lab\.readings/),
  ...cells(
    'public',
    { correct: 'expand pub: a column of public.notes renamed', broken: 'expand pub: a view' },
    'public_v1.notes',
    /public\.notes_v/,
  ),
  ...cells(
    'dependent projects, one unchanged',
    { correct: 'expand sales: a column added to orders', broken: 'expand sales: a view over orders' },
    'sales_v1.orders',
    /sales\.orders_v/,
  ),
  // The strategy expands the project named alone: a dependency's change, carried or not, is refused, naming it.
  ...(['correct', 'broken'] as const).map(
    (release): Cell => ({
      capability: 'expand/complete/abort',
      shape: 'a change in the dependency only',
      release,
      run:
        release === 'correct'
          ? 'expand sales: core gives products a column (the dependency only)'
          : 'expand sales: core changes the default of a column of products (the dependency only)',
      exit: 1,
      names: [
        /sales depends on core \(table:core\.products\), whose sources differ from what target has deployed/,
        'deploy core first (dbee deploy core --env target',
      ],
      never: ['nothing to change'],
      failedBefore: 'found by the matrix: "sales: nothing to change on target", exit 0, core\'s change left out',
    }),
  ),
  ...cells('touch triggers', CORE, 'core_v1.products', /core\.products[^\n]*default|default[^\n]*core\.products/i),
];
