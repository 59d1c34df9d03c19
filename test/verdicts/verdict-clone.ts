import type { Cell, Shape } from './verdict-matrix';
import type { PhaseRun } from './verdict-rollback-objects';

/**
 * The verdict matrix's column `clone` (issue 89), a phase after the rollbacks: the shared workspace has a second
 * environment `copy` (an empty database on the same server, verdicts.test.ts) and
 * - correct: each project cloned from the target into the empty copy for real (core before sales: one project per
 *   call, dependencies first): exit 0, each shape's table made. verdicts.test.ts then compares the copy's schemas with
 *   the target's: equal.
 * - broken: the copy given by hand a column with rows on each shape's table (`CLONE_DRIFT`, run by the test), then
 *   cloned again as a dry run: the gap drops each column, a `data-loss` hazard the copy does not allow: exit 1, each
 *   column named.
 */
const clone = (project: string, dryRun: boolean): Pick<PhaseRun, 'command' | 'options'> => ({
  command: 'clone',
  options: { project, from: 'target', to: 'copy', assumeYes: true, ...(dryRun ? { dryRun } : {}) },
});

/** The shapes' tables, the project each is cloned with. */
const TABLES: [Shape, string, string][] = [
  ['one project', 'lab', 'lab.items'],
  ['partitions', 'lab', 'lab.events'],
  ['a foreign-key cycle', 'lab', 'lab.a'],
  ['tables past the sample bound', 'lab', 'lab.log'],
  ['a table without a primary key', 'lab', 'lab.readings'],
  ['public', 'pub', 'public.notes'],
  ['dependent projects, one unchanged', 'sales', 'sales.orders'],
  ['a change in the dependency only', 'core', 'core.customers'],
  ['touch triggers', 'core', 'core.products'],
];

/** What the test runs on the copy between the real clones and the dry runs: a column with rows per shape's table. */
export const CLONE_DRIFT = TABLES.map(([, , t]) => `ALTER TABLE ${t} ADD COLUMN extra int DEFAULT 1;`).join('\n');

const PROJECTS = ['core', 'sales', 'lab', 'pub'];
const made = (p: string) => `clone ${p}: into the empty copy`;
const refused = (p: string) => `clone ${p} (dry run): the copy has a column more on each table, with rows`;
export const CLONE_RUNS: Record<string, PhaseRun> = Object.fromEntries(
  PROJECTS.map((p) => [made(p), { files: {}, ...clone(p, false) }]),
);
export const CLONE_CHECK_RUNS: Record<string, PhaseRun> = Object.fromEntries(
  PROJECTS.map((p) => [refused(p), { files: {}, ...clone(p, true) }]),
);

const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export const CLONE_CELLS: Cell[] = TABLES.flatMap(([shape, project, table]): Cell[] => [
  {
    capability: 'clone',
    shape,
    release: 'correct',
    run: made(project),
    exit: 0,
    names: [new RegExp(`CREATE TABLE ${literal(table)}\\b`)],
  },
  {
    capability: 'clone',
    shape,
    release: 'broken',
    run: refused(project),
    exit: 1,
    names: [
      /DROP COLUMN [^\n]*extra/,
      new RegExp(`${literal(table)}[^\\n]*data-loss|data-loss[^\\n]*${literal(table)}`),
    ],
  },
]);
