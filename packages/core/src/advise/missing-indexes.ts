import type { AppQuery } from '../check/queries';
import type { Connection } from '../engine/engine';
import type { AdviseIndex, AdviseRole, IndexShape, QueryColumn } from '../engine/advise-role';

/** Dexter's thresholds (ankane/dexter `lib/dexter/indexer.rb`), configurable through `dbee advise`'s options. */
export interface AdviseThresholds {
  /** A query whose generic plan costs less is left alone (Dexter `--min-cost`). Default 100. */
  minCost: number;
  /** An index is kept when it cuts a query's cost by at least this percentage (Dexter `--min-cost-savings-pct`). Default 50. */
  minSavingsPct: number;
  /** Queries called fewer times are left alone, when the source counts calls (a live source of the engine). Default 0. */
  minCalls: number;
}

export const DEFAULT_THRESHOLDS: AdviseThresholds = { minCost: 100, minSavingsPct: 50, minCalls: 0 };

/** A two-column index wins over single-column ones only when its plan costs under this share of theirs (Dexter). */
const PAIR_SHARE = 0.5;
/** HypoPG's OIDs for hypothetical indexes are limited; Dexter creates at most 500 at once. */
const MAX_CANDIDATES = 500;

/** One query of the workload with the planner's view of it on the target. */
export interface CostedQuery {
  query: AppQuery;
  /** Generic plan's cost now, or null when it could not be planned (`skipped` says why). */
  cost: number | null;
  /** Indexes the current plan scans. */
  indexes: string[];
  columns: QueryColumn[];
  skipped?: string;
}

/** Two columns of a table where one mostly determines the other (from the statistics advice). */
export interface DependentPair {
  schema: string;
  table: string;
  columns: [string, string];
}

/** A query's cost before and after an index. */
export interface CostChange {
  origin: string;
  text: string;
  before: number;
  after: number;
}

export interface IndexAdvice {
  index: IndexShape;
  /** The queries whose plan uses it, with their cost without and with it (all advised indexes present). */
  queries: CostChange[];
}

/** Queries past the cost and calls floors: the ones an index is sought for. */
export function eligible(workload: CostedQuery[], t: AdviseThresholds): CostedQuery[] {
  return workload.filter(
    (q) => q.cost !== null && q.cost >= t.minCost && (q.query.calls === undefined || q.query.calls >= t.minCalls),
  );
}

/**
 * Candidate indexes, Dexter's way: every column a query filters, joins or sorts on, alone and in ordered pairs with
 * another column of the same table in the same query; btree on plain columns only. Candidates whose columns lead an
 * existing btree index (or one the release adds) are not candidates.
 */
export function candidates(
  queries: CostedQuery[],
  covering: Pick<AdviseIndex, 'columns' | 'method' | 'predicate' | 'schema' | 'table'>[],
): {
  singles: IndexShape[];
  pairs: IndexShape[];
} {
  const singles = new Map<string, IndexShape>();
  const pairs = new Map<string, IndexShape>();
  for (const q of queries) {
    const byTable = new Map<string, { schema: string; table: string; columns: string[] }>();
    for (const c of q.columns) {
      const key = `${c.schema}.${c.name}`;
      const entry = byTable.get(key) ?? { schema: c.schema, table: c.name, columns: [] };
      if (!entry.columns.includes(c.column)) entry.columns.push(c.column);
      byTable.set(key, entry);
    }
    for (const { schema, table, columns } of byTable.values()) {
      for (const a of columns) {
        add(singles, { schema, table, columns: [a] });
        for (const b of columns) if (a !== b) add(pairs, { schema, table, columns: [a, b] });
      }
    }
  }
  const open = (s: IndexShape) => !coveredBy(s, covering);
  return { singles: [...singles.values()].filter(open), pairs: [...pairs.values()].filter(open) };
}

function add(into: Map<string, IndexShape>, shape: Omit<IndexShape, 'name'>): void {
  const key = `${shape.schema}.${shape.table}(${shape.columns.join(',')})`;
  if (!into.has(key)) into.set(key, { ...shape, name: indexName(shape.table, shape.columns) });
}

/** `orders` + `customer_id, ordered_at` → `orders_customer_id_ordered_at_idx`, cut to PostgreSQL's 63 bytes. */
export function indexName(table: string, columns: string[]): string {
  const name = `${table}_${columns.join('_')}_idx`;
  return name.length <= 63 ? name : `${name.slice(0, 59)}_idx`;
}

/** Whether a plain btree index (not partial) on the same table starts with exactly these columns. */
export function coveredBy(
  shape: Omit<IndexShape, 'name'>,
  indexes: Pick<AdviseIndex, 'columns' | 'method' | 'predicate' | 'schema' | 'table'>[],
): boolean {
  return indexes.some(
    (i) =>
      i.schema === shape.schema &&
      i.table === shape.table &&
      i.method === 'btree' &&
      !i.predicate &&
      i.columns !== null &&
      i.columns.length >= shape.columns.length &&
      shape.columns.every((c, n) => i.columns![n] === c),
  );
}

/**
 * The missing indexes of a workload, proven by the planner with hypothetical indexes (Dexter's method):
 * 1. every single-column candidate at once, each query re-planned; 2. the two-column candidates added, re-planned;
 * 3. per query, the hypothetical indexes its cheapest plan used, when that plan saves at least `minSavingsPct` (a
 *    two-column index only when its plan costs under half the single-column plan); 4. the chosen set alone, every
 *    query re-planned: an index is advised when a query that uses it saves at least `minSavingsPct`, with each
 *    query's cost before and after. `baseline` makes the release's own indexes hypothetical first, so that what the
 *    release already adds is not advised again.
 */
export async function provenIndexes(
  role: AdviseRole,
  conn: Connection,
  searchPath: string[],
  queries: CostedQuery[],
  existing: AdviseIndex[],
  baseline: IndexShape[],
  t: AdviseThresholds,
  dependent: DependentPair[] = [],
): Promise<IndexAdvice[]> {
  const { singles, pairs: allPairs } = candidates(queries, [...existing, ...baseline.map(asIndex)]);
  if (!singles.length) return [];
  // Where one column determines the other, a second column narrows nothing, though the planner (multiplying their
  // selectivities) thinks it does: no two-column candidate on such a pair.
  const pairs = allPairs.filter(
    (p) =>
      !dependent.some(
        (d) => d.schema === p.schema && d.table === p.table && p.columns.every((c) => d.columns.includes(c)),
      ),
  );
  const keep = 1 - t.minSavingsPct / 100;
  const withBaseline = async (shapes: IndexShape[]) => {
    await role.hypothetical.reset(conn);
    for (const b of baseline) await role.hypothetical.create(conn, b);
    const names = new Map<string, IndexShape>();
    for (const s of shapes.slice(0, MAX_CANDIDATES - baseline.length))
      names.set(await role.hypothetical.create(conn, s), s);
    return names;
  };
  const plan = async (q: CostedQuery) => role.cost(conn, q.query.text, searchPath);
  const one = await withBaseline(singles);
  const firstPass = new Map<CostedQuery, { cost: number; used: IndexShape[] }>();
  for (const q of queries) {
    const p = await plan(q);
    firstPass.set(q, { cost: p.cost, used: p.indexes.flatMap((n) => one.get(n) ?? []) });
  }
  const two = await withBaseline([...pairs, ...singles]);
  const chosen = new Map<string, IndexShape>();
  for (const q of queries) {
    const p = await plan(q);
    const used = p.indexes.flatMap((n) => two.get(n) ?? []);
    const first = firstPass.get(q)!;
    const pick =
      used.some((s) => s.columns.length > 1) && p.cost < first.cost * PAIR_SHARE && p.cost <= q.cost! * keep
        ? used
        : first.cost <= q.cost! * keep
          ? first.used
          : [];
    for (const s of pick) chosen.set(s.name, s);
  }
  // A single column that leads a chosen pair is the pair's prefix: the pair serves its queries too.
  const final = [...chosen.values()].filter(
    (s) => s.columns.length > 1 || ![...chosen.values()].some((o) => o !== s && coveredBy(s, [asIndex(o)])),
  );
  return verify(role, conn, searchPath, queries, final, withBaseline, keep, dependent);
}

/**
 * Step 4: the chosen indexes alone, each query re-planned; then, cheapest contribution first, an index is dropped when
 * every query that uses it still saves enough without it and its plan without it costs under twice the plan with it
 * (the rule Dexter applies to a second column, applied to a second index: a plan that combines two single-column
 * indexes of one table where one does the work). An index is advised when a query that uses it saves enough.
 */
async function verify(
  role: AdviseRole,
  conn: Connection,
  searchPath: string[],
  queries: CostedQuery[],
  chosen: IndexShape[],
  withBaseline: (shapes: IndexShape[]) => Promise<Map<string, IndexShape>>,
  keep: number,
  dependent: DependentPair[],
): Promise<IndexAdvice[]> {
  let set = chosen;
  let advice = await costWith(role, conn, searchPath, queries, set, withBaseline, keep);
  // Two single-column indexes on columns where one determines the other: the planner multiplies their selectivities
  // and prizes the plan that combines them. Of the two, keep the one whose plan alone is cheaper, if it serves.
  for (const pair of dependent) {
    const [a, b] = pair.columns.map((c) =>
      set.find(
        (s) => s.schema === pair.schema && s.table === pair.table && s.columns.length === 1 && s.columns[0] === c,
      ),
    );
    if (!a || !b) continue;
    const users = [...(advice.get(a) ?? []), ...(advice.get(b) ?? [])];
    const trials = [];
    for (const drop of [a, b]) {
      const without = set.filter((s) => s !== drop);
      const trial = await costWith(role, conn, searchPath, queries, without, withBaseline, keep);
      const after = users.map((u) =>
        [...trial.values()].flat().find((c) => c.origin === u.origin && c.text === u.text),
      );
      if (after.every(Boolean)) trials.push({ without, trial, total: after.reduce((n, c) => n + c!.after, 0) });
    }
    const best = trials.sort((x, y) => x.total - y.total)[0];
    if (best) {
      set = best.without;
      advice = best.trial;
    }
  }
  const byGain = [...advice.keys()].sort((a, b) => gain(advice.get(a)!) - gain(advice.get(b)!));
  for (const x of byGain) {
    if (set.length < 2) break;
    const users = advice.get(x)!;
    const without = set.filter((s) => s !== x);
    const trial = await costWith(role, conn, searchPath, queries, without, withBaseline, keep);
    const served = users.every((u) => {
      const after = [...trial.values()].flat().find((c) => c.origin === u.origin && c.text === u.text);
      return after !== undefined && after.after < u.after / PAIR_SHARE;
    });
    if (served) {
      set = without;
      advice = trial;
    }
  }
  await role.hypothetical.reset(conn);
  return set.flatMap((index) => (advice.has(index) ? [{ index, queries: advice.get(index)! }] : []));
}

/** Total cost a set of queries saves. */
function gain(changes: CostChange[]): number {
  return changes.reduce((sum, c) => sum + (c.before - c.after), 0);
}

/** With exactly `set` (and the baseline) hypothetical: each index's queries that use it and save enough. */
async function costWith(
  role: AdviseRole,
  conn: Connection,
  searchPath: string[],
  queries: CostedQuery[],
  set: IndexShape[],
  withBaseline: (shapes: IndexShape[]) => Promise<Map<string, IndexShape>>,
  keep: number,
): Promise<Map<IndexShape, CostChange[]>> {
  const advice = new Map<IndexShape, CostChange[]>();
  if (!set.length) return advice;
  const names = await withBaseline(set);
  for (const q of queries) {
    const p = await role.cost(conn, q.query.text, searchPath);
    if (p.cost > q.cost! * keep) continue;
    for (const n of p.indexes) {
      const shape = names.get(n);
      if (!shape) continue;
      const list = advice.get(shape) ?? [];
      list.push({ origin: q.query.origin, text: q.query.text, before: q.cost!, after: p.cost });
      advice.set(shape, list);
    }
  }
  return advice;
}

/** An index shape as the catalog would list it (a plain btree). */
export function asIndex(s: IndexShape): AdviseIndex {
  return {
    schema: s.schema,
    table: s.table,
    name: s.name,
    columns: s.columns,
    method: 'btree',
    unique: false,
    primary: false,
    predicate: null,
    constraint: false,
    scans: 0,
    bytes: 0,
    definition: '',
  };
}
