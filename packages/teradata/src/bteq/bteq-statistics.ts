import { quoteIdent, quoteString } from '../parse/teradata-identifiers';
import { statisticsGroups } from '../render/teradata-statistics';

/**
 * The attributes of `DBC.ColumnsV` that make two columns alike for statistics: name, type, length, precision and
 * scale, nullability, character set and case specificity (Data Dictionary, "ColumnsV"). Statistics are copied only
 * between columns defined alike: a column whose NOT CASESPECIFIC attribute differs gets none ("Example: Statistics Not
 * Copied", SQL Data Definition Language, CREATE TABLE).
 */
const COLUMN_ATTRIBUTES =
  'UPPER(ColumnName) AS c, ColumnType AS t, ColumnLength AS l, DecimalTotalDigits AS p, DecimalFractionalDigits AS s, ' +
  'Nullable AS n, CharType AS cs, UpperCaseFlag AS u';

function inTable(db: string, name: string): string {
  return `UPPER(DatabaseName) = ${quoteString(db.toUpperCase())} AND UPPER(TableName) = ${quoteString(name.toUpperCase())}`;
}

/** Where a COLLECT STATISTICS of a table built aside goes, and how its requests are tested. */
export interface StatisticsCopy {
  /** The database, the live table's name and the name the new table is built under. */
  db: string;
  live: string;
  aside: string;
  /** A unique tag for this request's labels (`<step>_<statement>`). */
  tag: string;
  /** The test after each request (`.IF ERRORCODE <> 0 THEN .GOTO ...`). */
  fail: string;
  /** `COMMIT;` and its test after a DDL in ANSI mode, nothing in Teradata mode. */
  commit: string[];
}

/**
 * Statistics copied, not collected again (#73 item 7), in a BTEQ script: a `COLLECT STATISTICS` of a table built aside
 * with `copyData` becomes `COLLECT STATISTICS <groups> ON t_new FROM t` when, at run time, the two tables have the
 * same columns (`DBC.ColumnsV` compared both ways with EXCEPT ALL: what `dbee deploy` decides from the two CREATE
 * texts, decided here when the script runs, since the live table can change after the export) and the live table
 * holds statistics on every group of the request (`DBC.StatsV`, one row per group, its columns comma-separated: a
 * group it has none on would get none). Otherwise the request collects in full, as written. The rows were copied
 * whole, so the live table's statistics describe the new table's rows; COLLECT STATISTICS FROM "does not copy data. It
 * copies only the statistics for the specified column sets", and takes no USING clause (SQL Data Definition Language
 * Detailed Topics, "Rules and Guidelines for the COLLECT STATISTICS (Optimizer Form) FROM source_table Clause").
 * Null when `sql` is not a COLLECT STATISTICS whose groups dbee reads.
 */
export function copiedStatistics(sql: string, full: string, at: StatisticsCopy): string[] | null {
  const parsed = statisticsGroups(sql);
  if (!parsed) return null;
  const { db, live, aside, tag, fail } = at;
  const liveSql = `${quoteIdent(db)}.${quoteIdent(live)}`;
  const asideSql = `${quoteIdent(db)}.${quoteIdent(aside)}`;
  const columns = (name: string) => `SELECT ${COLUMN_ATTRIBUTES} FROM DBC.ColumnsV WHERE ${inTable(db, name)}`;
  const groups = [...new Set(parsed.groups.map((g) => g.columns.join(',')))];
  const toFull = `.IF ACTIVITYCOUNT > 0 THEN .GOTO STATS_FULL_${tag}`;
  return [
    `.REMARK ${quoteString(`statistics: copied from ${liveSql} when its columns and statistics match, else collected`)}`,
    `SELECT TOP 1 1 FROM (${columns(live)} EXCEPT ALL ${columns(aside)}) d;`,
    fail,
    toFull,
    `SELECT TOP 1 1 FROM (${columns(aside)} EXCEPT ALL ${columns(live)}) d;`,
    fail,
    toFull,
    `SELECT 1 FROM (SELECT COUNT(*) AS n FROM DBC.StatsV WHERE ${inTable(db, live)} AND UPPER(ColumnName) IN (${groups.map(quoteString).join(', ')})) s WHERE s.n < ${groups.length};`,
    fail,
    toFull,
    `COLLECT STATISTICS ${parsed.groups.map((g) => g.text).join(', ')} ON ${asideSql} FROM ${liveSql};`,
    fail,
    ...at.commit,
    `.GOTO STATS_DONE_${tag}`,
    `.LABEL STATS_FULL_${tag}`,
    full,
    fail,
    ...at.commit,
    `.LABEL STATS_DONE_${tag}`,
  ];
}
