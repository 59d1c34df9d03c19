import type { Connection } from '../engine/engine';
import type { AdviseRole, AdviseTable, ColumnSet } from '../engine/advise-role';
import type { CostedQuery } from './missing-indexes';
import { queryLabel } from './query-label';

/** PostgreSQL's autovacuum defaults: analyze after 50 rows plus 10% of the table changed. */
const STALE_BASE_ROWS = 50;
const STALE_SHARE = 0.1;
/** Tables smaller than this are read whole whatever the estimate: extended statistics change no plan there. */
const EXTENDED_MIN_ROWS = 1_000;

export interface StaleTable {
  table: AdviseTable;
}

export interface ExtendedStatisticsAdvice {
  statistics: ColumnSet;
  /** Queries that filter on the columns together. */
  queries: string[];
}

/** Tables with more rows changed since their last analyze than autovacuum's threshold: the planner's view is old. */
export function staleTables(tables: AdviseTable[]): StaleTable[] {
  return tables
    .filter((t) => t.modifiedSinceAnalyze > STALE_BASE_ROWS + STALE_SHARE * t.rows)
    .map((table) => ({ table }));
}

/**
 * Columns the workload compares with a value together (equality, same table, same query) where one mostly determines
 * the other in the data: the planner multiplies their selectivities as if independent and underestimates the rows;
 * `CREATE STATISTICS` (dependencies, ndistinct, mcv) on the pair corrects it. Pairs an extended statistics object
 * already covers, and small tables, are left out.
 */
export async function extendedStatistics(
  role: AdviseRole,
  conn: Connection,
  workload: CostedQuery[],
  tables: AdviseTable[],
  existing: ColumnSet[],
): Promise<ExtendedStatisticsAdvice[]> {
  const pairs = new Map<string, { schema: string; table: string; columns: [string, string]; queries: string[] }>();
  for (const q of workload) {
    const filters = q.columns.filter((c) => c.use === 'filter' && c.equality);
    for (const a of filters)
      for (const b of filters) {
        if (a.schema !== b.schema || a.name !== b.name || a.column >= b.column) continue;
        const key = `${a.schema}.${a.name}(${a.column},${b.column})`;
        const entry = pairs.get(key) ?? { schema: a.schema, table: a.name, columns: [a.column, b.column], queries: [] };
        const label = queryLabel(q.query);
        if (!entry.queries.includes(label)) entry.queries.push(label);
        pairs.set(key, entry);
      }
  }
  const out: ExtendedStatisticsAdvice[] = [];
  for (const p of pairs.values()) {
    const table = tables.find((t) => t.schema === p.schema && t.name === p.table);
    if (!table || table.rows < EXTENDED_MIN_ROWS) continue;
    const covered = existing.some(
      (s) => s.schema === p.schema && s.table === p.table && p.columns.every((c) => s.columns.includes(c)),
    );
    if (covered) continue;
    const dependent = await role.dependentPairs(conn, { schema: p.schema, name: p.table }, [p.columns]);
    if (!dependent.length) continue;
    out.push({
      statistics: {
        schema: p.schema,
        table: p.table,
        name: `${p.table}_${p.columns.join('_')}_stats`.slice(0, 63),
        columns: p.columns,
      },
      queries: p.queries,
    });
  }
  return out;
}
