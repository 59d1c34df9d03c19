import {
  type AuditEvent,
  type AuditTrail,
  type Connection,
  type ExtractedObject,
  formatKey,
  type ObjectKey,
  type SchemaScope,
} from '@dbee/core';
import { authorizationStatement, liveAttributes, passwordVariable } from '../catalog/authorization';
import { TABLE_KIND_CODES } from '../catalog/teradata-deploy';
import { normalizeName, quoteIdent, quoteString } from '../parse/teradata-identifiers';
import { teradataErrorCode } from '../connection/teradata-errors';
import { kindKeyword, showText } from '../render/teradata-renderer';
import { UDT_DATABASE } from '../parse/teradata-parser';

/**
 * `dbee extract` on Teradata: the objects of the project's databases as source files, from `SHOW`, with the
 * environment's database names written back as the sources write them (`DEV_EDW.orders` → `{{env}}_EDW.orders`,
 * `scope.sourceNames`). `--since`/`--by` read `DBC.TablesV` (`CreateTimeStamp`, `LastAlterTimeStamp`, `CreatorName`,
 * `LastAlterName`): Teradata keeps them for every object, so the "audit trail" is always on and covers all time.
 *
 * Unverified on a live system: whether SHOW PROCEDURE works without the SPL text stored; which operations move
 * `LastAlterTimeStamp` (GRANT, COMMENT, COLLECT STATISTICS may: such a hit is extracted as "possibly changed");
 * DBC timestamps are server-local without a zone, compared here with the UTC time of `--since` (a server whose
 * clock is not UTC shifts the window by its offset); the comparison binds the time as a 'YYYY-MM-DD HH:MI:SS'
 * string and relies on Teradata's implicit conversion to TIMESTAMP.
 */

/** Folder of each kind in the project layout (as in examples/teradata). */
const FOLDERS: Partial<Record<ObjectKey['kind'], string>> = {
  table: 'tables',
  view: 'views',
  macro: 'macros',
  procedure: 'procedures',
  function: 'functions',
  'join-index': 'join_indexes',
  'hash-index': 'hash_indexes',
  trigger: 'triggers',
  // d-bee's `.auth` and `.mfnc` files, as dbee's layout names them (`schema/<db>/authorizations/<name>.sql`).
  authorization: 'authorizations',
  'function-mapping': 'function_mappings',
};

const KIND_LIST = Object.keys(TABLE_KIND_CODES)
  .map((k) => `'${k}'`)
  .join(', ');

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

interface CatalogRow {
  database_name: string;
  table_name: string;
  table_kind: string;
  creator_name: string | null;
  create_timestamp: unknown;
  last_alter_name: string | null;
  last_alter_timestamp: unknown;
  comment_string: string | null;
}

function objectsSql(databases: number, extra = ''): string {
  return (
    'SELECT DatabaseName AS database_name, TableName AS table_name, TableKind AS table_kind, CreatorName AS creator_name, ' +
    'CreateTimeStamp AS create_timestamp, LastAlterName AS last_alter_name, LastAlterTimeStamp AS last_alter_timestamp, ' +
    'CommentString AS comment_string ' +
    // UPPER on the dictionary's side: a database created with a lower-case name keeps it, and an ANSI session compares
    // it case-specifically with the (upper-case) binds (#64 S3).
    `FROM DBC.TablesV WHERE UPPER(DatabaseName) IN (${marks(databases)}) AND TableKind IN (${KIND_LIST})${extra} ORDER BY 1, 2`
  );
}

function keyOf(row: CatalogRow): ObjectKey | null {
  const kind = TABLE_KIND_CODES[String(row.table_kind).trim()];
  if (!kind) return null;
  return {
    kind,
    schema: normalizeName(String(row.database_name).trim()),
    name: normalizeName(String(row.table_name).trim()),
  };
}

/** A DBC timestamp as a Date (teradatasql: a Date; rc.17 and the double: a string or a Date), read as UTC. */
function timeOf(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v;
  const s = String(v).trim();
  const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(s) ? s.replace(' ', 'T') : s.replace(' ', 'T') + 'Z');
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `2026-11-21 10:30:00`: a time as DBC compares it (TIMESTAMP(0), no zone). */
function dbcTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `text` with every qualifier naming a database of `sourceNames` (as deployed, any case, quoted or not) written as
 * the sources write it. Only qualifiers (`DB.` / `"DB".`) change: a column or string that happens to hold the same
 * word does not.
 */
export function restoreDatabaseNames(text: string, sourceNames: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [live, source] of Object.entries(sourceNames).sort((a, b) => b[0].length - a[0].length)) {
    const re = new RegExp(`(?<![A-Za-z0-9_$#"])("?)${escapeRegExp(live)}\\1(?=\\s*\\.)`, 'gi');
    out = out.replace(re, source);
  }
  return out;
}

/** The folder of a database: its source name without placeholders (`{{env}}_EDW` → `edw`). */
function databaseFolder(database: string, sourceNames: Readonly<Record<string, string>>): string {
  const source = sourceNames[database.toUpperCase()] ?? database;
  const plain = source.replace(/\{\{[^}]*\}\}/g, '').replace(/^[_$#]+|[_$#]+$/g, '');
  return safe((plain || source).toLowerCase());
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** Kinds `COMMENT ON <kind>` takes. */
const COMMENTED_KINDS = new Set(['table', 'view', 'macro', 'procedure', 'function', 'trigger']);

/**
 * `Engine.extract.objects`: every object of the scope's databases, one file per object, in database and name order.
 * A file holds the object's SHOW text, then (as d-bee writes them) its comments, `COMMENT ON <kind>` from
 * `DBC.TablesV.CommentString` and `COMMENT ON COLUMN` from `DBC.ColumnsV.CommentString`, and for a table the
 * `COLLECT STATISTICS` request of `SHOW STATISTICS ON` (none when the table has no statistics), so that deploying the
 * file brings them back.
 */
export async function extractTeradata(conn: Connection, scope: SchemaScope): Promise<ExtractedObject[]> {
  const databases = scope.schemas.map((s) => normalizeName(s));
  if (!databases.length) return [];
  const sourceNames = Object.fromEntries(Object.entries(scope.sourceNames ?? {}).map(([k, v]) => [k.toUpperCase(), v]));
  const rows = await conn.query<CatalogRow>(objectsSql(databases.length), databases);
  const columnComments = await conn.query<{
    database_name: string;
    table_name: string;
    column_name: string;
    comment_string: string | null;
  }>(
    'SELECT DatabaseName AS database_name, TableName AS table_name, ColumnName AS column_name, CommentString AS comment_string ' +
      `FROM DBC.ColumnsV WHERE UPPER(DatabaseName) IN (${marks(databases.length)}) AND CommentString IS NOT NULL ORDER BY 1, 2, ColumnId`,
    databases,
  );
  const commentsOf = (db: string, name: string) =>
    columnComments.rows.filter(
      (c) =>
        normalizeName(String(c.database_name).trim()) === db && normalizeName(String(c.table_name).trim()) === name,
    );
  const out: ExtractedObject[] = [];
  for (const row of rows.rows) {
    const key = keyOf(row);
    const word = key && kindKeyword(key.kind);
    if (!key || !word || !FOLDERS[key.kind]) continue;
    const qualified = `${quoteIdent(key.schema!)}.${quoteIdent(key.name)}`;
    if (key.kind === 'authorization') {
      const written = await authorizationFile(conn, key, qualified, sourceNames);
      if (written) out.push({ ...written, path: layoutPath(key, sourceNames) });
      continue;
    }
    const show = await conn.query(`SHOW ${word} ${qualified}`);
    const parts = [showText(show.rows).replace(/;?\s*$/, ';')];
    if (COMMENTED_KINDS.has(key.kind)) {
      if (row.comment_string)
        parts.push(`COMMENT ON ${word} ${qualified} AS ${quoteString(String(row.comment_string))};`);
      for (const c of commentsOf(key.schema!, key.name))
        parts.push(
          `COMMENT ON COLUMN ${qualified}.${quoteIdent(String(c.column_name).trim())} AS ${quoteString(String(c.comment_string))};`,
        );
    }
    if (key.kind === 'table') {
      const stats = await statisticsOf(conn, qualified);
      if (stats) parts.push(stats);
    }
    const text = restoreDatabaseNames(parts.join('\n\n'), sourceNames) + '\n';
    out.push({ key, path: layoutPath(key, sourceNames), text });
  }
  const mappings = await functionMappings(conn, databases, sourceNames);
  return [...out, ...(await typesUsed(conn, databases, sourceNames)), ...('files' in mappings ? mappings.files : [])];
}

/** `schema/<database folder>/<kind folder>/<name>.sql`. */
function layoutPath(key: ObjectKey, sourceNames: Readonly<Record<string, string>>): string {
  return `schema/${databaseFolder(key.schema!, sourceNames)}/${FOLDERS[key.kind]}/${safe(key.name.toLowerCase())}.sql`;
}

/** Teradata errors that say a dictionary view (or a column of it) cannot be read here: missing, or no access. */
const UNREADABLE = new Set([3807, 3523, 3810, 5628]);

/**
 * An authorization as a file (d-bee's `.auth`): its attributes from `DBC.AuthorizationsV` (authorization.ts, columns
 * unverified) and the password as `${TD_AUTH_<DB>_<NAME>}`, since Teradata never shows it; the note says which variable
 * to set before deploying the file. Null when the view cannot be read (reported by `unwritten`).
 */
async function authorizationFile(
  conn: Connection,
  key: ObjectKey,
  qualified: string,
  sourceNames: Readonly<Record<string, string>>,
): Promise<Omit<ExtractedObject, 'path'> | null> {
  let attributes: Awaited<ReturnType<typeof liveAttributes>>;
  try {
    attributes = await liveAttributes(conn, key);
  } catch (error) {
    if (UNREADABLE.has(teradataErrorCode(error) ?? 0)) return null;
    throw error;
  }
  if (!attributes) return null;
  // Named after the database as the sources name it (`edw`, not `DEV_EDW`): one variable name on every environment.
  const variable = passwordVariable({ schema: databaseFolder(key.schema, sourceNames), name: key.name });
  const statement = authorizationStatement(qualified, attributes, variable);
  return {
    key,
    text:
      `-- The password cannot be read back from Teradata: set ${variable} where dbee deploy runs.\n` +
      `${restoreDatabaseNames(statement, sourceNames)}\n`,
    note: `${formatKey(key)}: its password cannot be read back; the file takes it from \${${variable}}: set ${variable} where dbee deploy runs`,
  };
}

/**
 * The function mappings of the scope's databases (d-bee's `.mfnc`), from `SHOW FUNCTION MAPPING` (Release Summary
 * 16.20 Feature Update 1, "Function Mapping"), listed from `DBC.FunctionMappingsV` (`DatabaseName`,
 * `FunctionMappingName`): that view's columns are not in the pages read (verify). When it cannot be read here, the
 * reason is returned instead (`unwritten` reports it) and no mapping is written.
 */
async function functionMappings(
  conn: Connection,
  databases: string[],
  sourceNames: Readonly<Record<string, string>>,
): Promise<{ files: ExtractedObject[] } | { unreadable: string }> {
  const rows = await listMappings(conn, databases);
  if ('unreadable' in rows) return rows;
  const files: ExtractedObject[] = [];
  for (const row of rows) {
    const key: ObjectKey = {
      kind: 'function-mapping',
      schema: normalizeName(String(row.database_name).trim()),
      name: normalizeName(String(row.mapping_name).trim()),
    };
    const show = await conn.query(`SHOW FUNCTION MAPPING ${quoteIdent(key.schema)}.${quoteIdent(key.name)}`);
    const text = `${showText(show.rows).replace(/;?\s*$/, ';')}\n`;
    files.push({ key, path: layoutPath(key, sourceNames), text: restoreDatabaseNames(text, sourceNames) });
  }
  return { files };
}

/** The function mappings of `databases` in `DBC.FunctionMappingsV`, or why that view cannot be read here. */
async function listMappings(
  conn: Connection,
  databases: string[],
): Promise<{ database_name: string; mapping_name: string }[] | { unreadable: string }> {
  try {
    return (
      await conn.query<{ database_name: string; mapping_name: string }>(
        `SELECT DatabaseName AS database_name, FunctionMappingName AS mapping_name FROM DBC.FunctionMappingsV WHERE UPPER(DatabaseName) IN (${marks(databases.length)}) ORDER BY 1, 2`,
        databases,
      )
    ).rows;
  } catch (error) {
    const code = teradataErrorCode(error);
    if (!UNREADABLE.has(code ?? 0)) throw error;
    return {
      unreadable: `function mappings of ${databases.join(', ')}: DBC.FunctionMappingsV cannot be read (Teradata error ${code})`,
    };
  }
}

/**
 * `Engine.extract.unwritten`: what extract could not write for want of a readable dictionary view: the authorizations
 * (`DBC.AuthorizationsV`) and function mappings (`DBC.FunctionMappingsV`) of the scope's databases.
 */
export async function unwrittenTeradata(conn: Connection, scope: SchemaScope): Promise<string[]> {
  const databases = scope.schemas.map((s) => normalizeName(s));
  if (!databases.length) return [];
  const out: string[] = [];
  const mappings = await listMappings(conn, databases);
  if ('unreadable' in mappings) out.push(mappings.unreadable);
  const auths = await conn.query<CatalogRow>(objectsSql(databases.length, " AND TableKind = 'X'"), databases);
  for (const row of auths.rows) {
    const key = keyOf(row);
    if (!key) continue;
    try {
      await liveAttributes(conn, key);
    } catch (error) {
      const code = teradataErrorCode(error);
      if (!UNREADABLE.has(code ?? 0)) throw error;
      out.push(`authorization ${key.schema}.${key.name}: DBC.AuthorizationsV cannot be read (Teradata error ${code})`);
    }
  }
  return out;
}

/**
 * The user-defined types the columns of the scope's databases use (`DBC.ColumnsV.ColumnUDTName`), from `SHOW TYPE`,
 * as `schema/sysudtlib/types/<name>.sql`: every type lives in SYSUDTLIB, shared by all databases, so only the ones
 * the project's tables need are its own to extract (d-bee's `.type` files).
 */
async function typesUsed(
  conn: Connection,
  databases: string[],
  sourceNames: Readonly<Record<string, string>>,
): Promise<ExtractedObject[]> {
  const used = await conn.query<{ udt: string }>(
    `SELECT DISTINCT ColumnUDTName AS udt FROM DBC.ColumnsV WHERE UPPER(DatabaseName) IN (${marks(databases.length)}) AND ColumnUDTName IS NOT NULL ORDER BY 1`,
    databases,
  );
  const out: ExtractedObject[] = [];
  for (const row of used.rows) {
    const name = String(row.udt).trim();
    const key: ObjectKey = { kind: 'type', schema: UDT_DATABASE, name: name.toUpperCase() };
    const show = await conn.query(`SHOW TYPE ${UDT_DATABASE}.${quoteIdent(name)}`);
    out.push({
      key,
      path: `schema/${databaseFolder(UDT_DATABASE, sourceNames)}/types/${safe(name.toLowerCase())}.sql`,
      text: `${showText(show.rows).replace(/;?\s*$/, ';')}\n`,
    });
  }
  return out;
}

/**
 * `SHOW STATISTICS ON t`: the COLLECT STATISTICS request that collects the table's statistics again (`\r` made `\n`),
 * or null when the table has none (3624) or the user may not see them.
 */
async function statisticsOf(conn: Connection, qualified: string): Promise<string | null> {
  try {
    const r = await conn.query(`SHOW STATISTICS ON ${qualified}`);
    const text = showText(r.rows).trim();
    return text ? text.replace(/\s*;?\s*$/, ';') : null;
  } catch (error) {
    const code = teradataErrorCode(error);
    if (code !== null && [3624, 3523, 3807].includes(code)) return null;
    throw error;
  }
}

/**
 * The audit trail of `extract --since/--by` on Teradata: `DBC.TablesV`. Always on (nothing to enable; one period
 * from the epoch), with no silent cap on how far back `--since` goes. `--since` keeps objects created or last
 * altered at or after the time; `--by` objects whose CreatorName or LastAlterName is the user. Dropped objects
 * leave no row in DBC: `dbee extract` reports them from the ledger instead (deployed, no longer in the database).
 */
export const teradataAudit: AuditTrail = {
  async enable() {},
  async disable() {},
  async periods() {
    return [{ from: new Date(0), to: null }];
  },
  async events(conn, filter): Promise<AuditEvent[]> {
    const databases = filter.schemas.map((s) => normalizeName(s));
    if (!databases.length) return [];
    const params: unknown[] = [...databases];
    let extra = '';
    if (filter.since) {
      extra += ' AND (LastAlterTimeStamp >= ? OR CreateTimeStamp >= ?)';
      params.push(dbcTime(filter.since), dbcTime(filter.since));
    }
    if (filter.by) {
      extra += ' AND (UPPER(LastAlterName) = ? OR UPPER(CreatorName) = ?)';
      params.push(filter.by.toUpperCase(), filter.by.toUpperCase());
    }
    const rows = await conn.query<CatalogRow>(objectsSql(databases.length, extra), params);
    const events: AuditEvent[] = [];
    for (const row of rows.rows) {
      const key = keyOf(row);
      if (!key) continue;
      const created = timeOf(row.create_timestamp);
      const altered = timeOf(row.last_alter_timestamp) ?? created;
      const isCreate =
        !!created &&
        (!filter.since || created >= filter.since) &&
        (!altered || altered.getTime() === created.getTime());
      events.push({
        at: (altered ?? created ?? new Date(0)).toISOString(),
        role: String((isCreate ? row.creator_name : row.last_alter_name) ?? row.creator_name ?? '').trim(),
        event: 'ddl',
        command: `${isCreate ? 'CREATE' : 'ALTER'} ${kindKeyword(key.kind)}`,
        objectType: key.kind,
        schema: key.schema ?? null,
        identity: `${key.schema}.${key.name}`,
        key,
      });
    }
    return events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  },
};

/**
 * `extract --owner <root>`: `root` and every database or user it owns, directly or through others, from
 * `DBC.DatabasesV` (`DatabaseName`, `OwnerName`: the immediate owner, "the database or user whose permanent space is
 * used to create a new database or user", Database Administration, "Creating a Database or User"), read in one query
 * and walked from `root` down, so the order of the rows does not matter. Names upper case, `root` first, then by level
 * and name; empty when `root` does not exist.
 */
export async function ownedDatabases(conn: Connection, root: string): Promise<string[]> {
  const r = await conn.query<{ database_name: string; owner_name: string | null }>(
    'SELECT DatabaseName AS database_name, OwnerName AS owner_name FROM DBC.DatabasesV',
  );
  const children = new Map<string, string[]>();
  const all = new Set<string>();
  for (const row of r.rows) {
    const name = normalizeName(String(row.database_name).trim());
    all.add(name);
    const owner = row.owner_name === null ? null : normalizeName(String(row.owner_name).trim());
    if (owner && owner !== name) children.set(owner, [...(children.get(owner) ?? []), name]);
  }
  const start = normalizeName(root);
  if (!all.has(start)) return [];
  const out = [start];
  const seen = new Set(out);
  for (let level = [start]; level.length; ) {
    const next = level.flatMap((d) => children.get(d) ?? []).filter((d) => !seen.has(d));
    next.sort();
    for (const d of next) seen.add(d);
    out.push(...next);
    level = next;
  }
  return out;
}
