import { buildManifest } from '../dbt/manifest-builder';
import type { Cell, Shape } from './verdict-matrix';

/**
 * The verdict matrix's column `check --dbt` (issue 89): a dbt manifest with one model per shape, each reading the
 * columns the application query of the same shape reads (verdict-matrix.ts's `check` runs). Every `check` run of the
 * matrix carries it (`--dbt`), so the column costs no run of its own: the correct release must list the shape's model
 * as a pass, and the broken one (the column renamed) must name the model as breaking at its file, line and column.
 * Runtime imports stay one way (verdict-matrix.ts imports this file; this file imports only types from it).
 */
export const DBT_MANIFEST_PATH = 'analytics/target/manifest.json';

/** A model per shape: its name, its compiled SQL, the run names of its project's correct and broken check. */
const MODELS: { shape: Shape; model: string; sql: string; runs: { correct: string; broken: string } }[] = [];
const LAB = {
  correct: 'check lab: a migration per shape, each with its undo',
  broken: 'check lab: a column each query reads renamed, per shape',
};
const CORE = {
  correct: 'check sales: core gets a new function, products repriced and back',
  broken: 'check sales: core renames a column of its view and of products (touch trigger)',
};
const model = (shape: Shape, name: string, sql: string, runs: { correct: string; broken: string }) =>
  MODELS.push({ shape, model: name, sql, runs });
model('one project', 'lab_items', 'select id, qty from lab.items', LAB);
model('partitions', 'lab_events', 'select id, at, v from lab.events', LAB);
model('a foreign-key cycle', 'lab_cycle', 'select a.id, a.label from lab.a join lab.b on b.a_id = a.id', LAB);
model('a table without a primary key', 'lab_readings', 'select sensor, v from lab.readings', LAB);
model('tables past the sample bound', 'lab_log', 'select id, msg from lab.log', LAB);
model('public', 'pub_notes', 'select id, body from notes', {
  correct: 'check pub: a migration and its undo',
  broken: 'check pub: the column the query reads renamed',
});
model('dependent projects, one unchanged', 'sales_totals', 'select order_id, ordered_at from sales.order_totals', {
  correct: 'check sales: a function replaced and a migration with its undo',
  broken: 'check sales: a column of its view renamed',
});
model('a change in the dependency only', 'core_active', 'select id, created_at from core.active_customers', CORE);
model('touch triggers', 'core_products', 'select sku, name from core.products', CORE);

/** The manifest every `check` run of the matrix writes at `DBT_MANIFEST_PATH`. */
export const DBT_MANIFEST = `${JSON.stringify(
  buildManifest(
    MODELS.map((m) => ({ name: m.model, compiled: m.sql })),
    [],
  ),
  null,
  1,
)}\n`;

const literal = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** No model breaks and none is left unknown: a green of the dbt check. */
const DBT_GREEN =
  /dbt \(manifest v12, column level\): [1-9]\d* nodes? read what the release changes: 0 breaking, 0 unknown/;

export const DBT_CELLS: Cell[] = MODELS.flatMap(({ shape, model: name, runs }): Cell[] => {
  const file = literal(`models/${name}.sql`);
  return [
    {
      capability: 'check --dbt',
      shape,
      release: 'correct',
      run: runs.correct,
      exit: 0,
      names: [new RegExp(`^PASS model ${name} \\(${file}\\)`, 'm'), DBT_GREEN],
    },
    {
      capability: 'check --dbt',
      shape,
      release: 'broken',
      run: runs.broken,
      exit: 1,
      // The model at its file, line and column, and the refusal.
      names: [new RegExp(`^BREAKING model ${name} \\(${file}\\)\\n {2}${file}:1:\\d+: `, 'm'), 'the dbt check fails'],
    },
  ];
});
