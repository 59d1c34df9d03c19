import type { FakeTeradataSession } from './fake-connection';
import { formatTimestamp } from './fake-sql';

/**
 * The optimizer's statistics recommendations and `DBC.StatsV`, added to a fake system for `dbee advise` (installed by
 * a test through the session's `on` handlers; the rest of the double is unchanged):
 *
 * - `DIAGNOSTIC HELPSTATS ON FOR SESSION` turns the recommendations on for the session (Teradata Vantage SQL Data
 *   Manipulation Language, "DIAGNOSTIC HELPSTATS"): afterwards `EXPLAIN <request>` ends with
 *   `BEGIN RECOMMENDED STATS ->`, one `"COLLECT STATISTICS COLUMN (C) ON DB.T". (High Confidence)` line per
 *   statistic the optimizer would want, and `END RECOMMENDED STATS;` (the layout dwhpro.com shows,
 *   dwhpro.com/teradata-diagnostic-helpstats/). The double recommends a single-column statistic for each column a
 *   `WHERE` compares with `=` that has none collected; a real optimizer weighs more (joins, multi-column groups).
 *   An EXPLAIN of a missing object is refused (3807), as the EXPLAIN Request Modifier parses the request.
 * - `DBC.StatsV` (Data Dictionary, "StatsV"): one row per collected column group (`ColumnName` the columns
 *   comma-separated) and a table-level row (`ColumnName` NULL) per table with statistics, `LastCollectTimeStamp` the
 *   time of the last `COLLECT STATISTICS` of the group (see `collectedAt`).
 *
 * Unverified here: the exact text of a live EXPLAIN's recommendation lines and which statistics a real optimizer asks.
 */
export interface HelpStats {
  /** Set when a statistic was last collected (to make one stale). Columns upper case. */
  collectedAt(table: string, columns: string[], at: Date): void;
}

export function installHelpStats(session: FakeTeradataSession, now: () => Date = () => new Date()): HelpStats {
  let on = false;
  const times = new Map<string, Date>();
  const key = (table: string, columns: string[]) => `${table.toUpperCase()}(${columns.join(',').toUpperCase()})`;
  session.on(/^\s*DIAGNOSTIC\s+HELPSTATS\s+ON\s+FOR\s+SESSION\s*;?\s*$/i, () => {
    on = true;
    return { rows: [] };
  });
  // Observes every COLLECT STATISTICS (the double stores the groups itself: the reply is left to it).
  session.on(/^\s*COLLECT\s+STATISTICS\b/i, (sql) => {
    const table = /\bON\s+([\w$#]+\.[\w$#]+)/i.exec(sql)?.[1];
    if (table) for (const m of sql.matchAll(/COLUMN\s*\(([^)]*)\)/gi)) times.set(key(table, split(m[1]!)), now());
    return undefined;
  });
  session.on(
    (sql) => on && /^\s*EXPLAIN\s/i.test(sql) && /\bWHERE\b/i.test(sql),
    (sql) => {
      const tables = [...sql.matchAll(/\b(?:FROM|JOIN)\s+([\w$#]+)\.([\w$#]+)/gi)].map((m) =>
        `${m[1]}.${m[2]}`.toUpperCase(),
      );
      const lines = [`1) First, we do an all-AMPs RETRIEVE step from ${tables.join(', ')} (fake plan).`];
      const where = sql.slice(sql.search(/\bWHERE\b/i));
      const columns = [...where.matchAll(/(?:\b[\w$#]+\.)?\b([A-Za-z_][\w$#]*)\s*=/g)].map((m) => m[1]!.toUpperCase());
      const recommended: string[] = [];
      for (const t of tables) {
        const o = session.catalog.get(t);
        if (!o) return { error: { code: 3807, text: `Object '${t}' does not exist.` } };
        for (const c of columns) {
          if (!new RegExp(`\\b${c}\\b`, 'i').test(o.show)) continue;
          if ((o.statistics ?? []).some((g) => g.length === 1 && g[0] === c)) continue;
          const line = `"COLLECT STATISTICS COLUMN (${c}) ON ${t}". (High Confidence)`;
          if (!recommended.includes(line)) recommended.push(line);
        }
      }
      if (recommended.length)
        lines.push(
          'BEGIN RECOMMENDED STATS ->',
          ...recommended.map((l, n) => ` ${n + 2}) ${l}`),
          'END RECOMMENDED STATS;',
        );
      return { rows: lines.map((explanation) => ({ explanation })) };
    },
  );
  session.on(/\bFROM\s+DBC\.StatsV\b/i, (_sql, params) => {
    const databases = new Set((params ?? []).map((p) => String(p).toUpperCase()));
    const rows: Record<string, unknown>[] = [];
    for (const [id, o] of session.catalog) {
      const [db, table] = id.split('.') as [string, string];
      if (!databases.has(db) || !o.statistics?.length) continue;
      let latest = new Date(0);
      for (const g of o.statistics) {
        const at = times.get(key(id, g)) ?? now();
        if (at > latest) latest = at;
        rows.push({ db, tbl: table, col: g.join(','), at: formatTimestamp(at) });
      }
      rows.push({ db, tbl: table, col: null, at: formatTimestamp(latest) });
    }
    return { rows };
  });
  return { collectedAt: (table, columns, at) => times.set(key(table, columns), at) };
}

function split(list: string): string[] {
  return list.split(',').map((c) => c.trim().replace(/^"|"$/g, '').toUpperCase());
}
