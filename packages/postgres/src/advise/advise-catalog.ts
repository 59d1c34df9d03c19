import type {
  AdviseIndex,
  AdviseTable,
  ColumnSet,
  Connection,
  IndexShape,
  PartitionIndex,
  PlannedCost,
  TableName,
  TablePartition,
} from '@dbee/core';
import { partitionWiseIndex } from '../render/partition-index';
export { relationNames } from '../catalog/relation-names';
import { ident, qualified } from '../render/quote';

/**
 * The catalog reads, planner calls and HypoPG calls of `dbee advise` (the `advise` role, see advise-role.ts in core).
 * Every statement here only reads: hypothetical indexes live in this session and create nothing.
 */

const RELKINDS = `('r','p','m')`;

export async function adviseTables(conn: Connection, schemas: string[]): Promise<AdviseTable[]> {
  const rows = await conn.query<{
    schema: string;
    name: string;
    rows: string | number;
    modified: string | number | null;
    analyzed: Date | string | null;
    partitions: TablePartition[] | string | null;
  }>(
    // A partitioned table holds no rows itself: its size is its leaves', and its partitions (every level, parents
    // first) are what an index on it is built on.
    `SELECT n.nspname AS schema, c.relname AS name,
            CASE WHEN c.relkind = 'p' THEN
              (SELECT coalesce(sum(greatest(l.reltuples, 0)), 0) FROM pg_partition_tree(c.oid) t
                 JOIN pg_class l ON l.oid = t.relid WHERE t.isleaf)
            ELSE greatest(c.reltuples, 0) END::bigint AS rows,
            s.n_mod_since_analyze AS modified, greatest(s.last_analyze, s.last_autoanalyze) AS analyzed,
            CASE WHEN c.relkind = 'p' THEN
              (SELECT json_agg(json_build_object('schema', pn.nspname, 'name', p.relname, 'leaf', t.isleaf,
                        'parent', json_build_object('schema', qn.nspname, 'name', q.relname))
                        ORDER BY t.level, pn.nspname, p.relname)
                 FROM pg_partition_tree(c.oid) t
                 JOIN pg_class p ON p.oid = t.relid JOIN pg_namespace pn ON pn.oid = p.relnamespace
                 JOIN pg_class q ON q.oid = t.parentrelid JOIN pg_namespace qn ON qn.oid = q.relnamespace
                WHERE t.level > 0) END AS partitions
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relkind IN ${RELKINDS} AND n.nspname = ANY($1::text[])
      ORDER BY 1, 2`,
    [schemas],
  );
  return rows.rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    rows: Number(r.rows),
    modifiedSinceAnalyze: Number(r.modified ?? 0),
    lastAnalyzed: r.analyzed === null ? null : new Date(r.analyzed).toISOString(),
    partitions: (typeof r.partitions === 'string' ? JSON.parse(r.partitions) : r.partitions) ?? [],
  }));
}

export async function adviseIndexes(conn: Connection, schemas: string[]): Promise<AdviseIndex[]> {
  const rows = await conn.query<
    Omit<AdviseIndex, 'scans' | 'bytes'> & { scans: string | number | null; bytes: string | number }
  >(
    `SELECT n.nspname AS schema, t.relname AS "table", i.relname AS name,
            CASE WHEN 0 = ANY (x.indkey::int2[]) THEN NULL ELSE
              (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(att, ord)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.att
                WHERE k.ord <= x.indnkeyatts) END AS columns,
            am.amname AS method, x.indisunique AS "unique", x.indisprimary AS "primary",
            pg_get_expr(x.indpred, x.indrelid) AS predicate,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p','u','x')) AS "constraint",
            s.idx_scan AS scans, pg_relation_size(i.oid) AS bytes, pg_get_indexdef(x.indexrelid) AS definition,
            (SELECT pn.nspname || '.' || p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent
               JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE h.inhrelid = x.indexrelid) AS "attachedTo"
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam
       LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
      WHERE n.nspname = ANY($1::text[]) AND t.relkind IN ${RELKINDS}
      ORDER BY 1, 2, 3`,
    [schemas],
  );
  return rows.rows.map((r) => ({ ...r, scans: Number(r.scans ?? 0), bytes: Number(r.bytes) }));
}

export async function adviseForeignKeys(conn: Connection, schemas: string[]): Promise<ColumnSet[]> {
  const rows = await conn.query<ColumnSet>(
    `SELECT n.nspname AS schema, t.relname AS "table", k.conname AS name,
            (SELECT array_agg(a.attname::text ORDER BY c.ord) FROM unnest(k.conkey) WITH ORDINALITY c(att, ord)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.att) AS columns
       FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE k.contype = 'f' AND n.nspname = ANY($1::text[])
      ORDER BY 1, 2, 3`,
    [schemas],
  );
  return rows.rows;
}

export async function adviseExtendedStatistics(conn: Connection, schemas: string[]): Promise<ColumnSet[]> {
  const rows = await conn.query<ColumnSet>(
    `SELECT n.nspname AS schema, t.relname AS "table", s.stxname AS name,
            (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
              WHERE a.attrelid = t.oid AND a.attnum = ANY (s.stxkeys::int2[])) AS columns
       FROM pg_statistic_ext s JOIN pg_class t ON t.oid = s.stxrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = ANY($1::text[])
      ORDER BY 1, 2, 3`,
    [schemas],
  );
  return rows.rows;
}

export async function statsSince(conn: Connection): Promise<string | null> {
  const r = await conn.query<{ reset: Date | string | null }>(
    `SELECT stats_reset AS reset FROM pg_stat_database WHERE datname = current_database()`,
  );
  const reset = r.rows[0]?.reset;
  return reset ? new Date(reset).toISOString() : null;
}

/**
 * The generic plan's cost: a query with parameters (`$1`, as pg_stat_statements and applications write them) is
 * prepared and its plan forced generic (`plan_cache_mode`), as Dexter does on servers before PostgreSQL 16's
 * `EXPLAIN (GENERIC_PLAN)`; one without parameters is explained as it is. Nothing runs: `EXPLAIN` without `ANALYZE`.
 */
export async function plannedCost(conn: Connection, sql: string, searchPath: string[]): Promise<PlannedCost> {
  return withSearchPath(conn, searchPath, () => explainCost(conn, sql));
}

async function explainCost(conn: Connection, sql: string): Promise<PlannedCost> {
  const params = Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  if (params === 0) {
    const plan = (await conn.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`)).rows[0]?.['QUERY PLAN'];
    const { pruned: _, ...planned } = costOf(topPlan(plan));
    return planned;
  }
  const { pruned, ...planned } = costOf(await explainGeneric(conn, sql, params, false));
  if (!pruned) return planned;
  // `EXPLAIN EXECUTE` starts the executor, which prunes the partitions its arguments (NULL) rule out: every one when
  // the query compares the partition key with a parameter, and their index scans with them. The generic plan planned
  // without run-time pruning scans them all: the indexes are read from it, the cost from the plan the server runs.
  const unpruned = costOf(await explainGeneric(conn, sql, params, true));
  return { cost: planned.cost, indexes: unpruned.indexes, indexOnly: unpruned.indexOnly };
}

/** The generic plan of a query with `params` parameters, explained with NULL arguments (nothing runs). */
async function explainGeneric(conn: Connection, sql: string, params: number, unpruned: boolean): Promise<PlanNode> {
  await conn.execute(`PREPARE dbee_advise AS ${sql}`);
  try {
    await conn.execute(
      `SET plan_cache_mode = force_generic_plan${unpruned ? '; SET enable_partition_pruning = off' : ''}`,
    );
    const args = Array.from({ length: params }, () => 'NULL').join(', ');
    return topPlan(
      (await conn.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) EXECUTE dbee_advise(${args})`)).rows[0]?.[
        'QUERY PLAN'
      ],
    );
  } finally {
    await conn.execute(
      `RESET plan_cache_mode;${unpruned ? ' RESET enable_partition_pruning;' : ''} DEALLOCATE dbee_advise`,
    );
  }
}

function topPlan(plan: unknown): PlanNode {
  return ((typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: PlanNode }[])[0]!.Plan;
}

/** A plan's cost, the indexes it scans (those scanned index-only), and whether the executor pruned subplans. */
function costOf(top: PlanNode): PlannedCost & { pruned: boolean } {
  const indexes = new Set<string>();
  const indexOnly = new Set<string>();
  let pruned = false;
  const walk = (node: PlanNode) => {
    if (node['Index Name']) indexes.add(node['Index Name']);
    if (node['Index Name'] && node['Node Type'] === 'Index Only Scan') indexOnly.add(node['Index Name']);
    if ((node['Subplans Removed'] ?? 0) > 0) pruned = true;
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(top);
  return { cost: top['Total Cost'], indexes: [...indexes], indexOnly: [...indexOnly], pruned };
}

/**
 * Runs `fn` with the session's search path set to `searchPath`, then puts the one it had back (the session may be
 * pooled for the next task of an Nx batch).
 */
export async function withSearchPath<T>(conn: Connection, searchPath: string[], fn: () => Promise<T>): Promise<T> {
  const before = await conn.query<{ path: string }>(`SELECT current_setting('search_path') AS path`);
  await conn.query(`SELECT set_config('search_path', $1, false)`, [searchPath.map(ident).join(', ') || "''"]);
  try {
    return await fn();
  } finally {
    await conn.query(`SELECT set_config('search_path', $1, false)`, [before.rows[0]!.path]);
  }
}

interface PlanNode {
  'Node Type': string;
  'Total Cost': number;
  'Index Name'?: string;
  'Subplans Removed'?: number;
  Plans?: PlanNode[];
}

/**
 * HypoPG's functions, called by the extension's schema: it may live in a schema of its own that is not on the
 * session's search path (in a database where a project owns `public`, the extension's functions there would be among
 * that project's objects). Looked up once per session and advice (`hypotheticalAvailable` forgets them).
 */
const hypopgFunctions = new WeakMap<Connection, Map<string, string | null>>();

/** HypoPG's function `name`, qualified by the extension's schema; null when the extension (or the function) is not there. */
async function hypopgFunction(conn: Connection, name: string): Promise<string | null> {
  const known = hypopgFunctions.get(conn) ?? new Map<string, string | null>();
  hypopgFunctions.set(conn, known);
  if (!known.has(name)) {
    const r = await conn.query<{ schema: string }>(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'hypopg'
          AND EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = n.oid AND p.proname = $1)`,
      [name],
    );
    known.set(name, r.rows.length ? qualified(r.rows[0]!.schema, name) : null);
  }
  return known.get(name)!;
}

export async function hypotheticalAvailable(
  conn: Connection,
): Promise<{ ok: true; hide: boolean } | { ok: false; reason: string }> {
  hypopgFunctions.delete(conn);
  const r = await conn.query<{ installed: string | null; available: string | null; major: number }>(
    `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'hypopg') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'hypopg') AS available,
            current_setting('server_version_num')::int / 10000 AS major`,
  );
  const row = r.rows[0]!;
  if (row.installed) return { ok: true, hide: (await hypopgFunction(conn, 'hypopg_hide_index')) !== null };
  return {
    ok: false,
    reason: row.available
      ? 'the HypoPG extension is not created in this database: CREATE EXTENSION hypopg (it only adds functions; hypothetical indexes live in one session)'
      : `the server has no HypoPG: install it (Debian: postgresql-${row.major}-hypopg), then CREATE EXTENSION hypopg`,
  };
}

/** HypoPG's function `name`, qualified; an error when the extension is not in this database (checked before). */
async function hypopg(conn: Connection, name: string): Promise<string> {
  const f = await hypopgFunction(conn, name);
  if (!f) throw new Error(`HypoPG's ${name}() is not in this database`);
  return f;
}

export async function createHypothetical(conn: Connection, index: IndexShape): Promise<string> {
  const r = await conn.query<{ indexname: string }>(
    `SELECT indexname FROM ${await hypopg(conn, 'hypopg_create_index')}($1)`,
    [createIndexSql(index, false)],
  );
  return r.rows[0]!.indexname;
}

export async function hideIndex(conn: Connection, index: { schema: string; name: string }): Promise<boolean> {
  const hide = await hypopgFunction(conn, 'hypopg_hide_index');
  if (!hide) return false;
  const r = await conn.query<{ hidden: boolean }>(`SELECT ${hide}($1::regclass) AS hidden`, [
    qualified(index.schema, index.name),
  ]);
  return Boolean(r.rows[0]?.hidden);
}

export async function resetHypothetical(conn: Connection): Promise<void> {
  const reset = await hypopgFunction(conn, 'hypopg_reset');
  if (!reset) return;
  const unhide = await hypopgFunction(conn, 'hypopg_unhide_all_indexes');
  await conn.execute(`SELECT ${reset}()${unhide ? `; SELECT ${unhide}()` : ''}`);
}

/**
 * Pairs where one column mostly determines the other, on the first 30,000 rows: distinct pairs at most 10% over the
 * larger column's distinct values, neither column constant nor nearly unique in the sample.
 */
export async function dependentPairs(
  conn: Connection,
  table: TableName,
  pairs: [string, string][],
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const [a, b] of pairs) {
    const r = await conn.query<{ n: string; ab: string; a: string; b: string }>(
      `SELECT count(*) AS n, count(DISTINCT (${ident(a)}, ${ident(b)})) AS ab, count(DISTINCT ${ident(a)}) AS a,
              count(DISTINCT ${ident(b)}) AS b
         FROM (SELECT ${ident(a)}, ${ident(b)} FROM ${qualified(table.schema, table.name)} LIMIT 30000) s`,
    );
    const { n, ab, a: da, b: db } = r.rows[0]!;
    const [rows, pairsSeen, left, right] = [Number(n), Number(ab), Number(da), Number(db)];
    const larger = Math.max(left, right);
    if (Math.min(left, right) > 1 && larger < rows / 2 && pairsSeen <= larger * 1.1) out.push([a, b]);
  }
  return out;
}

/**
 * `CREATE INDEX`. On a partitioned table built without blocking writes (PostgreSQL refuses `CONCURRENTLY` there):
 * `partitionWiseIndex`, the recipe a plan's `--safe` build uses too.
 */
export function createIndexSql(index: IndexShape, concurrently: boolean, partitions: PartitionIndex[] = []): string {
  const create = (i: IndexShape, how: 'CONCURRENTLY' | 'ONLY' | '') =>
    `CREATE INDEX ${how === 'CONCURRENTLY' ? 'CONCURRENTLY ' : ''}${ident(i.name)} ON ${how === 'ONLY' ? 'ONLY ' : ''}${qualified(i.schema, i.table)} (${i.columns.map(ident).join(', ')})`;
  if (!partitions.length) return create(index, concurrently ? 'CONCURRENTLY' : '');
  if (!concurrently) return create(index, '');
  return partitionWiseIndex(index, partitions, create).join(';\n');
}

export function createStatisticsSql(stats: ColumnSet): string {
  return `CREATE STATISTICS ${qualified(stats.schema, stats.name)} (dependencies, ndistinct, mcv) ON ${stats.columns.map(ident).join(', ')} FROM ${qualified(stats.schema, stats.table)}`;
}

export function dropStatisticsSql(stats: ColumnSet): string {
  return `DROP STATISTICS IF EXISTS ${qualified(stats.schema, stats.name)}`;
}

export function analyzeSql(table: TableName): string {
  return `ANALYZE ${qualified(table.schema, table.name)}`;
}
