import { dbYaml } from '../runner/helpers';
import { RUNS, type Cell, type Shape } from './verdict-matrix';
import type { PhaseRun } from './verdict-rollback-objects';

/**
 * The verdict matrix's column `preview` (issue 89), a phase after clone: `dbee preview <p> create --queries` of the
 * `check` runs' releases (verdict-matrix.ts). A preview per project and correct release, made by the correct release
 * and taken by the broken one after it (a later push of the same branch), then dropped again by a `setup` run:
 * - correct: the preview made from the target (its structure cloned, lab's reference data `lab.kinds` copied, which
 *   lab's smoke check counts), the application's queries checked, the release deployed, the smoke checks passed:
 *   exit 0, "result: ready";
 * - broken: the release renames the column each shape's query reads: the same preview's check (its structure kept,
 *   the correct release deployed there) stops it before the deployment, exit 1, each shape's query named at its file
 *   and line; never "ready". A `create` of an existing preview makes no structure (preview.ts `createPreview`): the
 *   broken run costs a check, where a preview of its own cost a database, a clone and a drop more. It needs its
 *   correct run before it: `VERDICTS_ONLY='^preview lab'` runs both.
 * sales has two previews (its own release, then core's): each correct run names the structure it cloned.
 */
const LAB_DB = `${dbYaml('lab')}referenceData: [lab.kinds]\n`;
const preview = (project: string, action: 'create' | 'drop', queries?: string) => ({
  command: 'preview' as const,
  options: { project, action, name: `v-${project}`, ...(queries ? { queries } : {}) },
});
const drop = (project: string): PhaseRun => ({ files: {}, ...preview(project, 'drop'), setup: true });
const of = (run: keyof typeof RUNS, extra: Record<string, string> = {}) => ({ ...RUNS[run].files, ...extra });

export const PREVIEW_RUNS: Record<string, PhaseRun> = {
  'preview lab: a migration per shape and a column on each table': {
    files: of('check lab: a migration per shape, each with its undo', { 'lab/db.yaml': LAB_DB }),
    ...preview('lab', 'create', 'app/lab.sql'),
  },
  'preview lab: a column each query reads renamed': {
    files: of('check lab: a column each query reads renamed, per shape', { 'lab/db.yaml': LAB_DB }),
    ...preview('lab', 'create', 'app/lab.sql'),
  },
  'preview lab dropped after its releases': drop('lab'),
  'preview pub: a migration and a column': {
    files: of('check pub: a migration and its undo'),
    ...preview('pub', 'create', 'app/pub.sql'),
  },
  'preview pub: the column the query reads renamed': {
    files: of('check pub: the column the query reads renamed'),
    ...preview('pub', 'create', 'app/pub.sql'),
  },
  'preview pub dropped after its releases': drop('pub'),
  'preview sales: a function replaced, a view given a column, a migration': {
    files: of('check sales: a function replaced and a migration with its undo'),
    ...preview('sales', 'create', 'app/sales.sql'),
  },
  'preview sales: a column of its view renamed': {
    files: of('check sales: a column of its view renamed'),
    ...preview('sales', 'create', 'app/sales.sql'),
  },
  'preview sales dropped after its releases': drop('sales'),
  'preview sales: core changes (a new function, products given a column and repriced)': {
    files: of('check sales: core gets a new function, products repriced and back'),
    ...preview('sales', 'create', 'app/sales.sql'),
  },
  'preview sales: core renames a column of its view and of products': {
    files: of('check sales: core renames a column of its view and of products (touch trigger)'),
    ...preview('sales', 'create', 'app/sales.sql'),
  },
  'preview sales dropped after core changed and broke it': drop('sales'),
};

/** Each shape: its project's correct and broken preview, what the ready one names, the query line the broken names. */
const SHAPE_RUNS: [Shape, string, string, RegExp[], string, number][] = [];
const shape = (s: Shape, correct: string, broken: string, names: RegExp[], file: string, line: number) =>
  SHAPE_RUNS.push([s, correct, broken, names, file, line]);
const LAB = [
  'preview lab: a migration per shape and a column on each table',
  'preview lab: a column each query reads renamed',
] as const;
const LAB_READY = [/structure: cloned lab from target/, /reference data: lab\.kinds \(3 rows\) from target/];
shape('one project', ...LAB, LAB_READY, 'app/lab.sql', 1);
shape('partitions', ...LAB, LAB_READY, 'app/lab.sql', 2);
shape('a foreign-key cycle', ...LAB, LAB_READY, 'app/lab.sql', 3);
shape('a table without a primary key', ...LAB, LAB_READY, 'app/lab.sql', 4);
shape('tables past the sample bound', ...LAB, LAB_READY, 'app/lab.sql', 5);
shape(
  'public',
  'preview pub: a migration and a column',
  'preview pub: the column the query reads renamed',
  [/structure: cloned pub from target/],
  'app/pub.sql',
  1,
);
const SALES_READY = [/structure: cloned core, sales from target/];
shape(
  'dependent projects, one unchanged',
  'preview sales: a function replaced, a view given a column, a migration',
  'preview sales: a column of its view renamed',
  SALES_READY,
  'app/sales.sql',
  1,
);
const CORE = [
  'preview sales: core changes (a new function, products given a column and repriced)',
  'preview sales: core renames a column of its view and of products',
] as const;
shape('a change in the dependency only', ...CORE, SALES_READY, 'app/sales.sql', 2);
shape('touch triggers', ...CORE, SALES_READY, 'app/sales.sql', 3);

/** The broken release ran on the preview its correct release made (the order of `PREVIEW_RUNS`). */
const KEPT = /structure: kept \(made by an earlier create\)/;

export const PREVIEW_CELLS: Cell[] = SHAPE_RUNS.flatMap(([s, correct, broken, names, file, line]): Cell[] => [
  {
    capability: 'preview',
    shape: s,
    release: 'correct',
    run: correct,
    exit: 0,
    names: [...names, /check: passed/, /deploy: succeeded/, /result: ready/],
  },
  {
    capability: 'preview',
    shape: s,
    release: 'broken',
    run: broken,
    exit: 1,
    names: [new RegExp(`BREAKS ${file.replace('.', '\\.')}:${line}\\b`), KEPT],
    never: [/result: ready/, /deploy: succeeded/],
  },
]);
