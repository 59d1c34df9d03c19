import type { Connection, ObjectKey } from '@dbee/core';
import { isSignificant, type Token, tokenize } from '../parse/splitter';
import { qualifiedName } from './teradata-renderer';

/** One statistics group of a `COLLECT STATISTICS` request: `COLUMN (a, b)` or `INDEX (x)`, as written. */
interface StatisticsGroup {
  /** The group's text in the request (`COLUMN (customer_id)`). */
  text: string;
  /** Its columns, upper case. */
  columns: string[];
}

/**
 * The groups of `COLLECT STATISTICS [USING ...] COLUMN (a), COLUMN (b, c), INDEX (x) ON t` (Teradata Vantage SQL Data
 * Definition Language, COLLECT STATISTICS (Optimizer Form); `STATS`/`STAT` are accepted abbreviations; the older form
 * names the table first, `COLLECT STATISTICS ON t COLUMN a`), with what comes before the first group (`using`) and the
 * table. Null when the request is not one of these shapes (it is then run as written).
 */
export function statisticsGroups(sql: string): { using: string; table: string; groups: StatisticsGroup[] } | null {
  const w = tokenize(sql, '<statistics>').filter((t) => isSignificant(t) && t.type !== 'semicolon');
  if (w[0]?.value !== 'COLLECT' || !/^STAT(S|ISTICS)?$/.test(w[1]?.value ?? '')) return null;
  const on = w.findIndex((t, i) => i > 1 && t.type === 'word' && t.value === 'ON');
  if (on < 0) return null;
  const groups: StatisticsGroup[] = [];
  let first = -1;
  for (let k = 2; k < w.length; k++) {
    const t = w[k]!;
    if (t.type !== 'word' || (t.value !== 'COLUMN' && t.value !== 'INDEX')) continue;
    if (first < 0) first = k;
    let end: Token | undefined;
    const columns: string[] = [];
    if (w[k + 1]?.text === '(') {
      let j = k + 2;
      for (; j < w.length && w[j]!.text !== ')'; j++)
        if (w[j]!.type === 'word' || w[j]!.type === 'quoted') columns.push(w[j]!.value);
      end = w[j];
    } else if (w[k + 1] && (w[k + 1]!.type === 'word' || w[k + 1]!.type === 'quoted')) {
      end = w[k + 1];
      columns.push(end!.value);
    }
    if (!end || !columns.length) return null;
    groups.push({ text: sql.slice(t.start, end.end), columns });
  }
  if (!groups.length) return null;
  // The table: `db.t` or `t` after ON (before the groups in the older form).
  const last = w[on + 2]?.text === '.' ? w[on + 3] : w[on + 1];
  if (!w[on + 1] || !last) return null;
  const table = sql.slice(w[on + 1]!.start, last.end);
  const using = on < first ? '' : sql.slice(w[1]!.end, w[first]!.start).trim();
  return { using, table, groups };
}

/** The column groups the target holds statistics on (`SHOW STATISTICS ON t`; none: 3624, or no answer). */
export async function liveStatistics(conn: Connection, key: ObjectKey): Promise<Set<string>> {
  try {
    const r = await conn.query(`SHOW STATISTICS ON ${qualifiedName(key)}`);
    const text = r.rows
      .map((row) => Object.values(row).join(''))
      .join('')
      .replace(/\r/g, '\n');
    return new Set(statisticsGroups(text)?.groups.map((g) => g.columns.join(',')) ?? []);
  } catch {
    return new Set();
  }
}

/**
 * The COLLECT STATISTICS requests a changed table's file needs again (#64 S5): only the groups that read a column the
 * change adds (`touched`) or that the target has no statistics on yet (`live`: the groups it has), so a table with
 * large statistics is not re-collected in full for a comment or a new column. A request whose shape is not
 * understood runs as written. Statistics are not schema: a group removed from the file keeps its statistics.
 */
export function statisticsToCollect(statements: string[], live: Set<string>, touched: Set<string>): string[] {
  const out: string[] = [];
  for (const sql of statements) {
    const parsed = statisticsGroups(sql);
    if (!parsed) {
      out.push(sql);
      continue;
    }
    const keep = parsed.groups.filter((g) => !live.has(g.columns.join(',')) || g.columns.some((c) => touched.has(c)));
    if (!keep.length) continue;
    if (keep.length === parsed.groups.length) out.push(sql);
    else
      out.push(
        `COLLECT STATISTICS ${parsed.using ? `${parsed.using} ` : ''}${keep.map((g) => g.text).join(', ')} ON ${parsed.table}`,
      );
  }
  return out;
}
