import type { AppQuery } from '../check/queries';
import type { Connection } from '../engine/engine';
import type { AdviseIndex, AdviseRole, IndexShape, PlannedCost, QueryColumn } from '../engine/advise-role';

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
  if (Buffer.byteLength(name) <= 63) return name;
  // Cut to PostgreSQL's 63 bytes (not characters: a name in UTF-8 can have fewer), never inside a character.
  let head = name.slice(0, 59);
  while (Buffer.byteLength(head) > 59) head = head.slice(0, -1);
  return `${head}_idx`;
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
  const { singles, pairs } = candidates(queries, [...existing, ...baseline.map(asIndex)]);
  if (!singles.length) return [];
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
  const pass = async (shapes: IndexShape[]) => {
    const names = await withBaseline(shapes);
    const out = new Map<CostedQuery, { cost: number; used: IndexShape[] }>();
    for (const q of queries) {
      const p = await plan(q);
      out.set(q, { cost: p.cost, used: p.indexes.flatMap((n) => names.get(n) ?? []) });
    }
    return out;
  };
  const firstPass = await pass(singles);
  const secondPass = await pass([...pairs, ...singles]);
  const trial: Trial = { withBaseline, plan, dependent, queries, keep };
  const chosen = new Map<string, IndexShape>();
  for (const q of queries) {
    const [first, second] = [firstPass.get(q)!, secondPass.get(q)!];
    const usedPairs = second.used.filter((s) => s.columns.length > 1);
    let pick = first.cost <= q.cost! * keep ? first.used : [];
    if (usedPairs.length && second.cost < first.cost * PAIR_SHARE && second.cost <= q.cost! * keep) {
      let served = true;
      for (const pair of usedPairs) served &&= await pairServes(trial, q, pair);
      if (served) pick = second.used;
    }
    for (const s of pick) chosen.set(s.name, s);
  }
  // A single column that leads a chosen pair is the pair's prefix: the pair serves its queries too.
  const final = [...chosen.values()].filter(
    (s) => s.columns.length > 1 || ![...chosen.values()].some((o) => o !== s && coveredBy(s, [asIndex(o)])),
  );
  const advice = await verify(trial, final);
  await role.hypothetical.reset(conn);
  return advice;
}

/** What re-planning the workload with a set of hypothetical indexes needs. */
interface Trial {
  /** Makes exactly these hypothetical (and the release's indexes): their names in the plans. */
  withBaseline: (shapes: IndexShape[]) => Promise<Map<string, IndexShape>>;
  plan: (q: CostedQuery) => Promise<PlannedCost>;
  /** Column pairs where one determines the other. */
  dependent: DependentPair[];
  queries: CostedQuery[];
  /** Share of its cost a query must come down to (1 - min savings). */
  keep: number;
}

/**
 * Whether the planner misjudges `pair` for `q`: one of its columns determines the other and the query compares both
 * with a value, so the planner multiplies their selectivities and believes the pair fetches fewer rows than it does.
 * Only an index-only scan (no row fetched at all) makes such a pair better in fact.
 */
function misjudged(dependent: DependentPair[], q: CostedQuery, pair: IndexShape): boolean {
  if (pair.columns.length < 2) return false;
  const isDependent = dependent.some(
    (d) => d.schema === pair.schema && d.table === pair.table && pair.columns.every((c) => d.columns.includes(c)),
  );
  return (
    isDependent &&
    pair.columns.every((c) =>
      q.columns.some(
        (u) => u.schema === pair.schema && u.name === pair.table && u.column === c && u.use === 'filter' && u.equality,
      ),
    )
  );
}

/**
 * A two-column candidate judged by its own plan: the query planned with the pair alone against the query planned with
 * each of its columns alone; the pair serves the query when its plan costs under half the better single column's
 * (Dexter's share), and, where the planner misjudges it (`misjudged`), when that plan scans it index-only. A dependent
 * pair that sorts, or takes a range on its second column, is judged like any other.
 */
async function pairServes(trial: Trial, q: CostedQuery, pair: IndexShape): Promise<boolean> {
  const alone = async (shape: IndexShape) => {
    const names = await trial.withBaseline([shape]);
    const p = await trial.plan(q);
    return { cost: p.cost, indexOnly: p.indexOnly.some((n) => names.has(n)) };
  };
  const own = await alone(pair);
  let single = Number.POSITIVE_INFINITY;
  for (const column of pair.columns) {
    const shape = { schema: pair.schema, table: pair.table, columns: [column] };
    single = Math.min(single, (await alone({ ...shape, name: indexName(pair.table, [column]) })).cost);
  }
  return own.cost < single * PAIR_SHARE && (own.indexOnly || !misjudged(trial.dependent, q, pair));
}

/**
 * Step 4: the chosen indexes alone, each query re-planned; then, cheapest contribution first, an index is dropped when
 * every query that uses it still saves enough without it and its plan without it costs under twice the plan with it
 * (the rule Dexter applies to a second column, applied to a second index: a plan that combines two single-column
 * indexes of one table where one does the work). An index is advised when a query that uses it saves enough.
 */
async function verify(trial: Trial, chosen: IndexShape[]): Promise<IndexAdvice[]> {
  let set = chosen;
  let advice = await costWith(trial, set);
  const find = (within: Map<IndexShape, CostChange[]>, u: CostChange) =>
    [...within.values()].flat().find((c) => c.origin === u.origin && c.text === u.text);
  // Two single-column indexes on columns where one determines the other: the planner multiplies their selectivities
  // and prizes the plan that combines them. Of the two, keep the one whose plan alone is cheaper, if it serves.
  for (const pair of trial.dependent) {
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
      const costs = await costWith(trial, without);
      const after = users.map((u) => find(costs, u));
      if (after.every(Boolean)) trials.push({ without, costs, total: after.reduce((n, c) => n + c!.after, 0) });
    }
    const best = trials.sort((x, y) => x.total - y.total)[0];
    if (best) {
      set = best.without;
      advice = best.costs;
    }
  }
  const byGain = [...advice.keys()].sort((a, b) => gain(advice.get(a)!) - gain(advice.get(b)!));
  for (const x of byGain) {
    if (set.length < 2) break;
    const users = advice.get(x)!;
    const without = set.filter((s) => s !== x);
    const costs = await costWith(trial, without);
    const served = users.every((u) => {
      const after = find(costs, u);
      return after !== undefined && after.after < u.after / PAIR_SHARE;
    });
    if (served) {
      set = without;
      advice = costs;
    }
  }
  return set.flatMap((index) => (advice.has(index) ? [{ index, queries: advice.get(index)! }] : []));
}

/** Total cost a set of queries saves. */
function gain(changes: CostChange[]): number {
  return changes.reduce((sum, c) => sum + (c.before - c.after), 0);
}

/**
 * With exactly `set` (and the baseline) hypothetical: each index's queries that use it and save enough. A query whose
 * plan rests on a pair the planner misjudges for it (and does not scan index-only) is planned again without the
 * dependent pairs: its cost with them is not one it would have.
 */
async function costWith(trial: Trial, set: IndexShape[]): Promise<Map<IndexShape, CostChange[]>> {
  const advice = new Map<IndexShape, CostChange[]>();
  if (!set.length) return advice;
  const record = (q: CostedQuery, p: PlannedCost, names: Map<string, IndexShape>) => {
    if (p.cost > q.cost! * trial.keep) return;
    for (const n of p.indexes) {
      const shape = names.get(n);
      if (!shape) continue;
      const list = advice.get(shape) ?? [];
      list.push({ origin: q.query.origin, text: q.query.text, before: q.cost!, after: p.cost });
      advice.set(shape, list);
    }
  };
  const names = await trial.withBaseline(set);
  const misled: CostedQuery[] = [];
  for (const q of trial.queries) {
    const p = await trial.plan(q);
    const wrong = p.indexes.some((n) => {
      const shape = names.get(n);
      return shape !== undefined && !p.indexOnly.includes(n) && misjudged(trial.dependent, q, shape);
    });
    if (wrong) misled.push(q);
    else record(q, p, names);
  }
  if (misled.length) {
    const honest = set.filter((s) => !misled.some((q) => misjudged(trial.dependent, q, s)));
    const again = await trial.withBaseline(honest);
    for (const q of misled) record(q, await trial.plan(q), again);
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
