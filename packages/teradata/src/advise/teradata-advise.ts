import type { CollectedStatistics, Connection, RecommendedStatistics, StatisticsAdviceRole } from '@dbee/core';
import { qualify, quoteIdent } from '../parse/teradata-identifiers';

/**
 * Teradata's part of `dbee advise`: the optimizer's own statistics recommendations and the collected statistics.
 *
 * - `DIAGNOSTIC HELPSTATS ON FOR SESSION;` makes every later `EXPLAIN` of the session end with the statistics the
 *   optimizer would have wanted, between `BEGIN RECOMMENDED STATS ->` and `END RECOMMENDED STATS;`, one
 *   `"COLLECT STATISTICS COLUMN (CustomerId) ON DB.Customer". (High Confidence)` per line (Teradata Vantage SQL Data
 *   Manipulation Language, "DIAGNOSTIC HELPSTATS"; dwhpro.com/teradata-diagnostic-helpstats/). Nothing is collected.
 * - `DBC.StatsV` lists the collected statistics: `DatabaseName`, `TableName`, `ColumnName` (NULL for the table-level
 *   summary, the columns comma-separated for a multi-column statistic), `LastCollectTimeStamp` (Data Dictionary,
 *   "StatsV"; docs.teradata.com Database Administration, "About Statistics Collection").
 * - Advice is written `COLLECT STATISTICS USING THRESHOLD 10 PERCENT AND THRESHOLD 7 DAYS COLUMN (...) ON db.t`: a
 *   recollection is skipped while less than 10% of the rows changed and the statistic is younger than 7 days (SQL Data
 *   Definition Language, "COLLECT STATISTICS (Optimizer Form)", USING THRESHOLD).
 *
 * Unverified on a live system (the test double follows the manuals): the exact spacing of the recommendation lines.
 */
export const teradataStatisticsAdvice: StatisticsAdviceRole = {
  async recommended(conn, sql) {
    await conn.execute('DIAGNOSTIC HELPSTATS ON FOR SESSION');
    const rows = await conn.query<Record<string, unknown>>(`EXPLAIN ${sql.replace(/;\s*$/, '')}`);
    const text = rows.rows.map((r) => String(Object.values(r)[0] ?? '')).join('\n');
    return parseRecommendations(text);
  },
  async collected(conn: Connection, schemas: string[]): Promise<CollectedStatistics[]> {
    if (!schemas.length) return [];
    const r = await conn.query<{ db: string; tbl: string; col: string | null; at: unknown }>(
      `SELECT DatabaseName AS db, TableName AS tbl, ColumnName AS col, LastCollectTimeStamp AS at FROM DBC.StatsV WHERE UPPER(DatabaseName) IN (${schemas.map(() => '?').join(', ')})`,
      schemas,
    );
    return r.rows.map((row) => ({
      schema: String(row.db).trim(),
      table: String(row.tbl).trim(),
      columns: row.col
        ? String(row.col)
            .split(',')
            .map((c) => c.trim().toUpperCase())
        : [],
      collectedAt: isoTime(row.at),
    }));
  },
  collect: (s) =>
    `COLLECT STATISTICS USING THRESHOLD 10 PERCENT AND THRESHOLD 7 DAYS COLUMN (${s.columns.map(quoteIdent).join(', ')}) ON ${qualify(s.schema, s.table)}`,
  drop: (s) => `DROP STATISTICS COLUMN (${s.columns.map(quoteIdent).join(', ')}) ON ${qualify(s.schema, s.table)}`,
};

/** The recommendations between `BEGIN RECOMMENDED STATS` and `END RECOMMENDED STATS` of an EXPLAIN text. */
export function parseRecommendations(explain: string): RecommendedStatistics[] {
  const block = /BEGIN RECOMMENDED STATS([\s\S]*?)END RECOMMENDED STATS/i.exec(explain)?.[1] ?? '';
  const out: RecommendedStatistics[] = [];
  const line = /COLLECT STATISTICS\s+COLUMN\s*\(([^)]*)\)\s+ON\s+("?[\w$#]+"?)\.("?[\w$#]+"?)[^(\n]*(?:\(([^)]*)\))?/gi;
  for (const m of block.matchAll(line)) {
    const unquote = (s: string) => s.replace(/^"|"$/g, '');
    out.push({
      schema: unquote(m[2]!),
      table: unquote(m[3]!),
      columns: m[1]!.split(',').map((c) => unquote(c.trim()).toUpperCase()),
      confidence: m[4]?.trim() ?? 'confidence not given',
    });
  }
  return out;
}

/** A TIMESTAMP as the driver returns it (a Date, or `2026-01-31 12:00:00.000000[+00:00]`), as ISO; null for none. */
function isoTime(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:\d{2})?$/.exec(String(v).trim());
  return m ? new Date(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`).toISOString() : null;
}
