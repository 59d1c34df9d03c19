import { DbeeError, type Connection, type ObjectKey } from '@dbee/core';
import { normalizeName } from '../parse/teradata-identifiers';
import { TABLE_KIND_CODES } from '../catalog/teradata-deploy';

/**
 * The objects of Teradata databases as `DBC.TablesV` lists them (one query), optionally those created or altered by a
 * user or since a time: what `dbee diff` compares with the sources (`teradata-compare.ts`). Definitions are read with
 * `SHOW`, object by object, by the code that compares them.
 */

/** Table kinds dbee models (tables, views, macros, routines, join/hash indexes, triggers). */
const MODELLED_KINDS = Object.keys(TABLE_KIND_CODES);

/** `?, ?, ?` for n parameters. */
function marks(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v).trim());

/** A DBC timestamp as `YYYY-MM-DD HH:MM:SS`: teradatasql returns a Date (its fields are the server's local time, read as UTC), rc.17 a string. */
export function formatDbcTimestamp(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return String(v).trim().slice(0, 19);
}

function checkDatabases(databases: string[]): string[] {
  if (!databases.length) throw new DbeeError('no databases given', { code: 'OPTIONS_INVALID' });
  return databases.map(normalizeName);
}

export interface ChangedObjectsOptions {
  databases: string[];
  /** Only objects created or last altered by this user (`CreatorName` or `LastAlterName`). */
  byUser?: string;
  /**
   * Only objects altered since: a Date (compared with `LastAlterTimeStamp`, which is server-local time without zone:
   * the Date is sent as its UTC fields), or `{ hours }` computed on the server (preferred): any whole number of
   * hours up to 9,999 days, never capped.
   */
  since?: Date | { hours: number };
}

export interface ChangedObject {
  key: ObjectKey;
  tableKindCode: string;
  creatorName: string | null;
  lastAlterName: string | null;
  lastAlterTimeStamp: string | null;
  createTimeStamp: string | null;
}

/**
 * Objects changed by a user and/or since a time, from `DBC.TablesV` (one query), newest first. Dropped objects leave
 * no row; GRANT, COMMENT or COLLECT STATISTICS may also move `LastAlterTimeStamp` (unverified): treat a hit as
 * "possibly changed" and confirm with a diff.
 */
export async function listChangedObjects(conn: Connection, options: ChangedObjectsOptions): Promise<ChangedObject[]> {
  const dbs = checkDatabases(options.databases);
  const params: unknown[] = [...dbs];
  // Names compared upper case on both sides: case is preserved in the dictionary and ANSI sessions compare it
  // case-specifically (#64 S3).
  let where = `UPPER(DatabaseName) IN (${marks(dbs.length)}) AND TableKind IN (${MODELLED_KINDS.map((k) => `'${k}'`).join(', ')})`;
  if (options.byUser) {
    where += ' AND (UPPER(LastAlterName) = ? OR UPPER(CreatorName) = ?)';
    params.push(options.byUser.toUpperCase(), options.byUser.toUpperCase());
  }
  if (options.since instanceof Date) {
    where += ' AND LastAlterTimeStamp >= CAST(? AS TIMESTAMP(0))';
    params.push(options.since.toISOString().slice(0, 19).replace('T', ' '));
  } else if (options.since) {
    const h = options.since.hours;
    if (!Number.isInteger(h) || h < 1)
      throw new DbeeError(`since.hours must be a whole number of hours, got ${h}`, { code: 'OPTIONS_INVALID' });
    // No silent cap: HOUR(4)/DAY(4) intervals reach 9,999 hours / days (INTERVAL 'n' HOUR alone stops at 99); the
    // window is exact (days and the remaining hours); beyond 9,999 days (27 years) it is refused, never shortened.
    const days = Math.floor(h / 24);
    const hours = h % 24;
    if (days > 9999)
      throw new DbeeError(`since.hours ${h} is more than 9,999 days back`, {
        code: 'OPTIONS_INVALID',
        hint: 'give since as a Date, or leave it out to list every object',
      });
    const interval =
      h <= 9999
        ? `INTERVAL '${h}' HOUR(4)`
        : `INTERVAL '${days}' DAY(4)${hours ? ` - INTERVAL '${hours}' HOUR(4)` : ''}`;
    where += ` AND LastAlterTimeStamp >= CURRENT_TIMESTAMP(0) - ${interval}`;
  }
  const r = await conn.query<Record<string, unknown>>(
    'SELECT DatabaseName AS database_name, TableName AS table_name, TableKind AS table_kind, CreatorName AS creator_name, ' +
      'LastAlterName AS last_alter_name, LastAlterTimeStamp AS last_alter_timestamp, CreateTimeStamp AS create_timestamp ' +
      `FROM DBC.TablesV WHERE ${where} ORDER BY LastAlterTimeStamp DESC, 1, 2`,
    params,
  );
  return r.rows.map((row) => {
    const code = String(row.table_kind).trim();
    return {
      key: {
        kind: TABLE_KIND_CODES[code] ?? 'other',
        schema: normalizeName(String(row.database_name).trim()),
        name: normalizeName(String(row.table_name).trim()),
      },
      tableKindCode: code,
      creatorName: str(row.creator_name),
      lastAlterName: str(row.last_alter_name),
      lastAlterTimeStamp: formatDbcTimestamp(row.last_alter_timestamp),
      createTimeStamp: formatDbcTimestamp(row.create_timestamp),
    };
  });
}
