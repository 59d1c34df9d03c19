import { DbeeError, type Connection, type ObjectKey, type ObjectKind } from '@dbee/core';
import { normalizeName } from './teradata-identifiers';
import { normalizeDefinition, tableAttributesFromSql, type NormalizeOptions } from './teradata-normalize';
import { TABLE_KIND_CODES } from './teradata-deploy';
import { renderShow, SHOWABLE_KINDS, showText } from './teradata-renderer';

/**
 * Live model of Teradata databases, read from the DBC views with ONE query per object class (objects, columns,
 * primary indexes; never one per object) plus one SHOW per object for its definition.
 */

export interface TeradataColumn {
  name: string;
  /** 1-based position. */
  position: number;
  /** `DBC.ColumnsV.ColumnType` code, trimmed: `I`, `CV`, `D`, `DA`, `TS`... (null for some view columns). */
  typeCode: string | null;
  length: number | null;
  totalDigits: number | null;
  fractionalDigits: number | null;
  nullable: boolean;
}

export interface TeradataAttributes {
  /** Primary index columns; null for a NoPI table (TableKind O); undefined for objects without one. */
  primaryIndex?: { unique: boolean; columns: string[]; partitioned: boolean } | null;
  /** SET or MULTISET, from SHOW TABLE (else from `CheckOpt`: Y = SET, N = MULTISET, unverified). */
  tableKind?: 'SET' | 'MULTISET';
  /** FALLBACK protection (`ProtectionType` F). */
  fallback?: boolean;
  /** Canonical `PARTITION BY` expression from SHOW TABLE, or null. */
  partitioning?: string | null;
  /** `PartitioningLevels` (0 for none). */
  partitioningLevels?: number;
}

/** One object of the live model. */
export interface TeradataObject {
  key: ObjectKey;
  kind: ObjectKind;
  /** `DBC.TablesV.TableKind`. */
  tableKindCode: string;
  /** Canonical definition (see `normalizeDefinition`), or null when SHOW was not run or not possible. */
  definition: string | null;
  /** SHOW output as returned (line ends made `\n`). */
  rawDefinition: string | null;
  attributes: TeradataAttributes;
  columns: TeradataColumn[];
  creatorName: string | null;
  lastAlterName: string | null;
  /** `LastAlterTimeStamp`, `YYYY-MM-DD HH:MM:SS` in the server's local time. */
  lastAlterTimeStamp: string | null;
  commentString: string | null;
}

export interface IntrospectOptions {
  /** Databases to read (the project's owned databases). */
  databases: string[];
  /** Run SHOW for every object (default true). Without it, `definition` is null. */
  definitions?: boolean;
  /** How to normalise definitions. */
  normalize?: NormalizeOptions;
}

/** Table kinds dbee models (tables, views, macros, routines, join/hash indexes, triggers). */
const MODELLED_KINDS = Object.keys(TABLE_KIND_CODES);

/** `?, ?, ?` for n parameters. */
function marks(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v).trim());
const num = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

/** A DBC timestamp as `YYYY-MM-DD HH:MM:SS`: teradatasql returns a Date (its fields are the server's local time, read as UTC), rc.17 a string. */
export function formatDbcTimestamp(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return String(v).trim().slice(0, 19);
}

function checkDatabases(databases: string[]): string[] {
  if (!databases.length) throw new DbeeError('introspect: no databases given', { code: 'INVALID_ARGUMENT' });
  return databases.map(normalizeName);
}

interface ObjectRow {
  database_name: string;
  table_name: string;
  table_kind: string;
  protection_type: string | null;
  check_opt: string | null;
  creator_name: string | null;
  last_alter_name: string | null;
  last_alter_timestamp: unknown;
  partitioning_levels: unknown;
  comment_string: string | null;
}

/** Query 1: every modelled object of the databases, from `DBC.TablesV`. */
export function objectsQuery(count: number): string {
  return (
    'SELECT DatabaseName AS database_name, TableName AS table_name, TableKind AS table_kind, ' +
    'ProtectionType AS protection_type, CheckOpt AS check_opt, CreatorName AS creator_name, ' +
    'LastAlterName AS last_alter_name, LastAlterTimeStamp AS last_alter_timestamp, ' +
    'PartitioningLevels AS partitioning_levels, CommentString AS comment_string ' +
    `FROM DBC.TablesV WHERE DatabaseName IN (${marks(count)}) ` +
    `AND TableKind IN (${MODELLED_KINDS.map((k) => `'${k}'`).join(', ')}) ORDER BY 1, 2`
  );
}

/** Query 2: columns of tables and views (`DBC.ColumnsQV` also types view columns). */
export function columnsQuery(count: number): string {
  return (
    'SELECT DatabaseName AS database_name, TableName AS table_name, ColumnName AS column_name, ColumnId AS column_id, ' +
    'ColumnType AS column_type, ColumnLength AS column_length, DecimalTotalDigits AS total_digits, ' +
    'DecimalFractionalDigits AS fractional_digits, Nullable AS nullable ' +
    `FROM DBC.ColumnsQV WHERE DatabaseName IN (${marks(count)}) ORDER BY 1, 2, 4`
  );
}

/** Query 3: primary index columns (`IndexType` P, or Q when partitioned). */
export function primaryIndexQuery(count: number): string {
  return (
    'SELECT DatabaseName AS database_name, TableName AS table_name, IndexType AS index_type, UniqueFlag AS unique_flag, ' +
    'ColumnName AS column_name, ColumnPosition AS column_position ' +
    `FROM DBC.IndicesV WHERE DatabaseName IN (${marks(count)}) AND IndexType IN ('P', 'Q') ORDER BY 1, 2, 6`
  );
}

const mapKey = (db: string, name: string): string => `${normalizeName(db.trim())}.${normalizeName(name.trim())}`;

/**
 * Read the live model of `databases`: three catalog queries, then `SHOW` per object (unless `definitions: false`).
 * Objects come back sorted by database and name.
 */
export async function introspect(conn: Connection, options: IntrospectOptions): Promise<TeradataObject[]> {
  const dbs = checkDatabases(options.databases);
  const objects = await conn.query<ObjectRow>(objectsQuery(dbs.length), dbs);
  const columns = await conn.query<Record<string, unknown>>(columnsQuery(dbs.length), dbs);
  const indexes = await conn.query<Record<string, unknown>>(primaryIndexQuery(dbs.length), dbs);

  const colsBy = new Map<string, TeradataColumn[]>();
  for (const c of columns.rows) {
    const k = mapKey(String(c.database_name), String(c.table_name));
    const list = colsBy.get(k) ?? [];
    list.push({
      name: normalizeName(String(c.column_name).trim()),
      position: Number(c.column_id ?? list.length + 1),
      typeCode: str(c.column_type),
      length: num(c.column_length),
      totalDigits: num(c.total_digits),
      fractionalDigits: num(c.fractional_digits),
      nullable: str(c.nullable) !== 'N',
    });
    colsBy.set(k, list);
  }
  const piBy = new Map<string, { unique: boolean; columns: string[]; partitioned: boolean }>();
  for (const r of indexes.rows) {
    const k = mapKey(String(r.database_name), String(r.table_name));
    const pi = piBy.get(k) ?? {
      unique: str(r.unique_flag) === 'Y',
      columns: [],
      partitioned: str(r.index_type) === 'Q',
    };
    pi.columns.push(normalizeName(String(r.column_name).trim()));
    piBy.set(k, pi);
  }

  const out: TeradataObject[] = [];
  for (const row of objects.rows) {
    const code = String(row.table_kind).trim();
    const kind = TABLE_KIND_CODES[code] ?? 'other';
    const key: ObjectKey = {
      kind,
      schema: normalizeName(String(row.database_name).trim()),
      name: normalizeName(String(row.table_name).trim()),
    };
    const k = `${key.schema}.${key.name}`;
    const attributes: TeradataAttributes = {};
    if (kind === 'table' || kind === 'join-index' || kind === 'hash-index') {
      attributes.fallback = str(row.protection_type) === 'F';
      attributes.primaryIndex = code === 'O' ? null : (piBy.get(k) ?? undefined);
      attributes.partitioningLevels = Number(num(row.partitioning_levels) ?? 0);
    }
    if (kind === 'table') {
      const checkOpt = str(row.check_opt);
      if (checkOpt === 'Y') attributes.tableKind = 'SET';
      else if (checkOpt === 'N') attributes.tableKind = 'MULTISET';
    }
    let raw: string | null = null;
    if (options.definitions !== false && SHOWABLE_KINDS.has(kind)) {
      raw = showText((await conn.query(renderShow(key))).rows) || null;
    }
    if (raw && kind === 'table') {
      const fromShow = tableAttributesFromSql(raw, options.normalize);
      if (fromShow) {
        attributes.tableKind = fromShow.tableKind;
        attributes.partitioning = fromShow.partitioning;
      }
    }
    out.push({
      key,
      kind,
      tableKindCode: code,
      definition: raw ? normalizeDefinition(raw, { ...options.normalize, defaultDatabase: key.schema }) : null,
      rawDefinition: raw,
      attributes,
      columns: colsBy.get(k) ?? [],
      creatorName: str(row.creator_name),
      lastAlterName: str(row.last_alter_name),
      lastAlterTimeStamp: formatDbcTimestamp(row.last_alter_timestamp),
      commentString: str(row.comment_string),
    });
  }
  return out.sort((a, b) => (a.key.schema + '.' + a.key.name < b.key.schema + '.' + b.key.name ? -1 : 1));
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
  let where = `DatabaseName IN (${marks(dbs.length)}) AND TableKind IN (${MODELLED_KINDS.map((k) => `'${k}'`).join(', ')})`;
  if (options.byUser) {
    where += ' AND (LastAlterName = ? OR CreatorName = ?)';
    params.push(options.byUser, options.byUser);
  }
  if (options.since instanceof Date) {
    where += ' AND LastAlterTimeStamp >= CAST(? AS TIMESTAMP(0))';
    params.push(options.since.toISOString().slice(0, 19).replace('T', ' '));
  } else if (options.since) {
    const h = options.since.hours;
    if (!Number.isInteger(h) || h < 1)
      throw new DbeeError(`since.hours must be a whole number of hours, got ${h}`, { code: 'INVALID_ARGUMENT' });
    // No silent cap: HOUR(4)/DAY(4) intervals reach 9,999 hours / days (INTERVAL 'n' HOUR alone stops at 99); the
    // window is exact (days and the remaining hours); beyond 9,999 days (27 years) it is refused, never shortened.
    const days = Math.floor(h / 24);
    const hours = h % 24;
    if (days > 9999)
      throw new DbeeError(`since.hours ${h} is more than 9,999 days back`, {
        code: 'INVALID_ARGUMENT',
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
