// Space limits of the Teradata test double: PERM per database and SPOOL per user, as the Data Dictionary and the
// Messages manual describe them. No Teradata system exists here; what a real system measures (bytes per row, per AMP,
// with FALLBACK and compression) is not modelled: a row's size is the byte length of its values written as JSON, and
// the system has one AMP. What the double keeps is the rule, so a test can fail on it:
//
// - PERM: "The maximum amount of permanent space ... for the database" (SQL Data Definition Language, CREATE
//   DATABASE, "PERMANENT = n BYTES"); a request that would take a database past it fails with 2644 "No more room in
//   database %DBID." and is rolled back (Messages, 2644; the request changes nothing). Checked on every INSERT (one row
//   or INSERT ... SELECT) and CREATE TABLE ... AS ... WITH DATA.
// - SPOOL: "the maximum amount of spool space available to the user" (CREATE USER, "SPOOL = n BYTES"); a request
//   whose intermediate rows exceed it fails with 2646 "No more spool space in %DBID." (Messages, 2646). The double
//   counts a SELECT's result rows and an INSERT ... SELECT's selected rows as the request's spool.
// - `DBC.DiskSpaceV` (Vproc, DatabaseName, AccountName, MaxPerm, CurrentPerm, PeakPerm: one row per AMP and
//   database; Data Dictionary, "DiskSpaceV") and `DBC.TableSizeV` (Vproc, DatabaseName, AccountName, TableName,
//   CurrentPerm, PeakPerm: one row per AMP and table; Data Dictionary, "TableSizeV"). A database given no PERM has
//   MaxPerm {@link UNLIMITED_PERM}.
import { FakeSqlError, type Row } from './fake-sql';

/** MaxPerm the double reports for a database made without a PERM limit. */
export const UNLIMITED_PERM = 1e15;

/** Bytes the double counts for one row. */
export function rowBytes(row: Row | readonly unknown[]): number {
  const values = Array.isArray(row) ? row : Object.values(row);
  return Buffer.byteLength(JSON.stringify(values.map((v) => (v instanceof Date ? v.toISOString() : v))), 'utf8');
}

/** Bytes of a table's rows. */
export function tableBytes(rows: readonly Row[] | undefined): number {
  return (rows ?? []).reduce((n, r) => n + rowBytes(r), 0);
}

/** Refuse (2644) when `adding` bytes would take a database of `maxPerm` holding `current` bytes past its limit. */
export function checkRoom(database: string, maxPerm: number | null | undefined, current: number, adding: number): void {
  if (maxPerm === null || maxPerm === undefined || adding <= 0) return;
  if (current + adding > maxPerm) throw new FakeSqlError(2644, `No more room in database ${database}.`);
}

/** Refuse (2646) when a request's spooled rows exceed the user's SPOOL. */
export function checkSpool(
  user: string,
  spool: number | null | undefined,
  rows: readonly (readonly unknown[])[],
): void {
  if (spool === null || spool === undefined) return;
  const bytes = rows.reduce((n, r) => n + rowBytes(r), 0);
  if (bytes > spool) throw new FakeSqlError(2646, `No more spool space in ${user}.`);
}
