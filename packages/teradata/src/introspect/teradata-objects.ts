import { formatKey, type Connection, type ObjectKey, type SetAside } from '@dbee/core';
import {
  captureDefinition as showDefinition,
  liveColumns,
  TABLE_KIND_CODES,
  tableDependents,
} from '../catalog/teradata-deploy';
import { normalizeName, qualify, quoteIdent } from '../parse/teradata-identifiers';
import {
  definitionStatements,
  kindKeyword,
  MAX_NAME_LENGTH,
  qualifiedName,
  REPLACEABLE_KINDS,
  renderDrop,
  toReplace,
} from '../render/teradata-renderer';
import { tableBuildAside } from './build-aside';

/**
 * The `catalog` role (`ObjectCatalog`) that the core runner calls around a step, on Teradata: which objects
 * exist (conflicts), the current definition of an object (the ledger's previous definition and the reverse of a step
 * that replaces it), how an existing object is moved out of the way of a CREATE (rename aside with a timestamped
 * backup, or drop), and the copy of a renamed-aside table's rows. Reads only; the statements they return run later,
 * each as its own request (Teradata DDL ends its transaction, so the runner never groups them).
 */

/** Kinds that live in `DBC.TablesV` (everything but databases, users, roles and secondary indexes). */
const TABLESV_KINDS = new Set(Object.values(TABLE_KIND_CODES));

/** Keys looked up per catalog query (two parameters each). */
const LOOKUP_BATCH = 400;

/**
 * Formatted keys of those `keys` that exist as the same kind, with one `DBC.TablesV` query for all of them (per 400; and one
 * `DBC.DatabasesV` query for databases and users, one of `DBC.RoleInfoV` for roles and of `DBC.ProfileInfoV` for
 * profiles). Secondary indexes are reported absent.
 */
export async function existingObjects(conn: Connection, keys: ObjectKey[]): Promise<Set<string>> {
  const found = new Set<string>();
  const inTables = keys.filter((k) => TABLESV_KINDS.has(k.kind) && k.schema);
  // One query per LOOKUP_BATCH keys, so a large plan stays within a request's parameter limit.
  for (let from = 0; from < inTables.length; from += LOOKUP_BATCH) {
    const batch = inTables.slice(from, from + LOOKUP_BATCH);
    const where = batch.map(() => '(UPPER(DatabaseName) = ? AND UPPER(TableName) = ?)').join(' OR ');
    const r = await conn.query<{ database_name: string; table_name: string; table_kind: string }>(
      `SELECT DatabaseName AS database_name, TableName AS table_name, TableKind AS table_kind FROM DBC.TablesV WHERE ${where}`,
      batch.flatMap((k) => [normalizeName(k.schema), normalizeName(k.name)]),
    );
    const live = new Map(
      r.rows.map((row) => [
        `${String(row.database_name).trim().toUpperCase()}.${String(row.table_name).trim().toUpperCase()}`,
        TABLE_KIND_CODES[String(row.table_kind).trim()],
      ]),
    );
    for (const k of batch)
      if (live.get(`${normalizeName(k.schema)}.${normalizeName(k.name)}`) === k.kind) found.add(formatKey(k));
  }
  const databases = keys.filter((k) => k.kind === 'database' || k.kind === 'user');
  if (databases.length) {
    const r = await conn.query<{ database_name: string; db_kind: string }>(
      `SELECT DatabaseName AS database_name, DBKind AS db_kind FROM DBC.DatabasesV WHERE UPPER(DatabaseName) IN (${databases.map(() => '?').join(', ')})`,
      databases.map((k) => normalizeName(k.name)),
    );
    const live = new Set(r.rows.map((row) => String(row.database_name).trim().toUpperCase()));
    for (const k of databases) if (live.has(normalizeName(k.name))) found.add(formatKey(k));
  }
  // A function mapping's TableKind is not documented in the pages read (verify): each is looked up with its SHOW.
  for (const k of keys.filter((k) => k.kind === 'function-mapping' && k.schema))
    if (await showDefinition(conn, k)) found.add(formatKey(k));
  // Roles (DBC.RoleInfoV) and profiles (DBC.ProfileInfoV): a CREATE of one that exists would fail (5612).
  for (const [kind, view, column] of [
    ['role', 'RoleInfoV', 'RoleName'],
    ['profile', 'ProfileInfoV', 'ProfileName'],
  ] as const) {
    const named = keys.filter((k) => k.kind === kind);
    if (!named.length) continue;
    const r = await conn.query<{ name: string }>(
      `SELECT ${column} AS name FROM DBC.${view} WHERE UPPER(${column}) IN (${named.map(() => '?').join(', ')})`,
      named.map((k) => normalizeName(k.name)),
    );
    const live = new Set(r.rows.map((row) => String(row.name).trim().toUpperCase()));
    for (const k of named) if (live.has(normalizeName(k.name))) found.add(formatKey(k));
  }
  return found;
}

/**
 * The object's current definition as one statement that recreates it, from `SHOW`: views, macros, procedures,
 * functions and triggers as `REPLACE ...` (so it can serve as the reverse of a step that replaces them), tables and
 * join/hash indexes as their `CREATE` (structure only). Null when it does not exist or SHOW does not apply.
 */
export async function captureDefinition(conn: Connection, key: ObjectKey): Promise<string | null> {
  const text = await showDefinition(conn, key);
  if (!text) return null;
  // SHOW TABLE may add statements after the CREATE (statistics, secondary indexes): the definition is the first.
  const first = definitionStatements(text)[0];
  if (!first) return null;
  return REPLACEABLE_KINDS.has(key.kind) ? toReplace(first) : first;
}

/** `ORDERS_BKP_20261121T103000`: the backup name from core's stamp (`20261121t103000`), at most 128 characters. */
export function backupNameFromStamp(name: string, stamp: string): string {
  const suffix = `_BKP_${stamp.toUpperCase()}`;
  return normalizeName(name).slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
}

/** Kinds that `RENAME <kind>` moves aside, keeping the object (and a table's rows) under the backup name. */
const RENAMEABLE = new Set(['table', 'view', 'macro', 'procedure', 'function', 'trigger']);

/**
 * Get an existing object out of the way of a CREATE. `rename`: `RENAME TABLE DB.T TO DB.T_BKP_<stamp>` (same
 * database; views, macros, procedures, functions and triggers likewise), reverse `RENAME` back; a table's column
 * names are remembered in `columns` for `renderCopyData`. `drop`: `DROP`, reverse the SHOW definition, except for a
 * table, whose rows cannot come back (reverse null), unless it holds no rows (its SHOW text then brings it back
 * exactly; rows inserted between this check and the deployment would be lost). Join and hash indexes hold no rows
 * of their own: both strategies drop them, and their SHOW definition recreates them. A table's join indexes, hash
 * indexes and triggers are `dependents`: dropped before it is renamed or dropped (Teradata refuses either while they
 * exist) and created again, from their SHOW text, once the new table exists. Null when the object does not exist as
 * that kind, or for kinds without DDL (databases, users, roles: dbee leaves those alone).
 */
export async function setAside(
  conn: Connection,
  key: ObjectKey,
  strategy: 'rename' | 'drop',
  stamp: string,
  columns?: Map<string, string[]>,
): Promise<SetAside | null> {
  const keyword = kindKeyword(key.kind);
  // Teradata has no RENAME TYPE, and a type is shared by every database (SYSUDTLIB): `rename` of one is refused
  // (the caller says so, exit 1); `drop` runs DROP TYPE, which Teradata refuses while a column or routine uses the
  // type ("DROP TYPE": the type must not be referenced).
  if (key.kind === 'type' && strategy === 'rename') return null;
  // Nor RENAME AUTHORIZATION or RENAME FUNCTION MAPPING (SQL Data Definition Language has neither): `rename` is refused
  // likewise. `drop` of an authorization has no reverse (its password cannot be read back); of a mapping, its SHOW.
  if ((key.kind === 'authorization' || key.kind === 'function-mapping') && strategy === 'rename') return null;
  const looked = TABLESV_KINDS.has(key.kind) || key.kind === 'function-mapping';
  if (!keyword || !looked || !(await existingObjects(conn, [key])).size) return null;
  const definition = await captureDefinition(conn, key);
  const found = key.kind === 'table' ? await tableDependents(conn, key) : [];
  const dependents = found.length
    ? { dependents: { drop: found.map((d) => renderDrop(d.key)), create: found.map((d) => d.definition) } }
    : {};
  if (strategy === 'rename' && RENAMEABLE.has(key.kind)) {
    const backup = backupNameFromStamp(key.name, stamp);
    const backupKey: ObjectKey = { ...key, name: backup };
    const live = key.kind === 'table' ? await liveColumns(conn, key) : [];
    if (key.kind === 'table') columns?.set(qualifiedName(backupKey), live);
    const grants = key.kind === 'table' ? await tableGrants(conn, key) : [];
    // A table is built aside and swapped in (#73): it keeps its name and rows until its replacement is ready.
    const build =
      key.kind === 'table'
        ? {
            buildAside: await tableBuildAside(conn, key, backupKey, stamp, {
              columns: live,
              grants,
              dependents: found,
              definition,
            }),
          }
        : {};
    return {
      statements: [`RENAME ${keyword} ${qualifiedName(key)} TO ${qualify(key.schema, backup)}`],
      reverse: [`RENAME ${keyword} ${qualifiedName(backupKey)} TO ${qualifiedName(key)}`],
      backup: backupKey,
      ...dependents,
      ...(grants.length ? { after: grants } : {}),
      ...build,
    };
  }
  // A dropped table's rows cannot come back (an empty table can: its structure is all there is); other kinds come
  // back from their definition.
  const restorable = definition && (key.kind !== 'table' || (await isEmpty(conn, key)));
  return { statements: [renderDrop(key)], reverse: restorable ? [definition] : null, backup: null, ...dependents };
}

/** Access right codes of `DBC.AllRightsV` / `DBC.AllRoleRightsV` that dbee grants again, and their privilege words. */
const RIGHTS: Readonly<Record<string, string>> = {
  R: 'SELECT',
  I: 'INSERT',
  U: 'UPDATE',
  D: 'DELETE',
  RF: 'REFERENCES',
  IX: 'INDEX',
  ST: 'STATISTICS',
};

/**
 * The GRANT statements that give a new table of the same name the table-level rights granted on `key` to users and
 * roles (`DBC.AllRightsV`, `DBC.AllRoleRightsV`, `ColumnName = 'All'`; Data Dictionary): a RENAME keeps the rights with
 * the renamed table (they are held by the table, not its name), so without them the roles that read the old table lose
 * access to the new one. Rights of the table's own database and of the deploying user (automatic rights of the owner
 * and creator, which the new table gets again) are left out, and so are column-level rights and rights other than
 * SELECT, INSERT, UPDATE, DELETE, REFERENCES, INDEX and STATISTICS (unverified on a live system: which automatic rights
 * AllRightsV lists).
 */
async function tableGrants(conn: Connection, key: ObjectKey): Promise<string[]> {
  const where = "UPPER(DatabaseName) = ? AND UPPER(TableName) = ? AND ColumnName = 'All'";
  const params = [normalizeName(key.schema), normalizeName(key.name)];
  const users = await conn.query<{ grantee: string; access_right: string; grant_authority: string | null; me: string }>(
    `SELECT UserName AS grantee, AccessRight AS access_right, GrantAuthority AS grant_authority, USER AS me FROM DBC.AllRightsV WHERE ${where}`,
    params,
  );
  const roles = await conn.query<{ grantee: string; access_right: string }>(
    `SELECT RoleName AS grantee, AccessRight AS access_right FROM DBC.AllRoleRightsV WHERE ${where}`,
    params,
  );
  const byGrantee = new Map<string, { rights: Set<string>; option: boolean }>();
  const add = (grantee: string, code: string, option: boolean) => {
    const privilege = RIGHTS[code.trim()];
    if (!privilege) return;
    const name = `${grantee.trim()}${option ? ' WITH GRANT OPTION' : ''}`;
    const g = byGrantee.get(name) ?? { rights: new Set<string>(), option };
    g.rights.add(privilege);
    byGrantee.set(name, g);
  };
  const own = new Set([normalizeName(key.schema)]);
  for (const r of users.rows) {
    if (r.me) own.add(normalizeName(String(r.me).trim()));
    const grantee = normalizeName(String(r.grantee).trim());
    if (own.has(grantee)) continue;
    add(String(r.grantee), String(r.access_right), String(r.grant_authority ?? '').trim() === 'Y');
  }
  for (const r of roles.rows) add(String(r.grantee), String(r.access_right), false);
  const order = Object.values(RIGHTS);
  return [...byGrantee]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, g]) => {
      const [grantee, option] = name.split(' WITH ');
      const rights = [...g.rights].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(', ');
      const to = grantee!.toUpperCase() === 'PUBLIC' ? 'PUBLIC' : quoteIdent(grantee!);
      return `GRANT ${rights} ON ${qualifiedName(key)} TO ${to}${option ? ' WITH GRANT OPTION' : ''}`;
    });
}

/** Whether a table holds no rows (`SELECT TOP 1`: reads at most one row). */
async function isEmpty(conn: Connection, key: ObjectKey): Promise<boolean> {
  const r = await conn.query(`SELECT TOP 1 1 AS one FROM ${qualifiedName(key)}`);
  return r.rows.length === 0;
}

/** The number of rows of a table (`SELECT COUNT(*)`). */
export async function rowCount(conn: Connection, key: ObjectKey): Promise<number> {
  const r = await conn.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${qualifiedName(key)}`);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * `INSERT INTO DB.T (cols) SELECT cols FROM DB.T_BKP_...`, with the columns the renamed-aside table had (remembered by
 * `setAside`), or `INSERT INTO DB.T SELECT * FROM ...` when they are unknown. Teradata has no anonymous blocks, so
 * the column list is fixed before the new table exists: a column the new definition dropped makes the copy fail
 * (error 5628), and the step with it (undone by its reverse).
 */
export function renderCopyData(backup: ObjectKey, table: ObjectKey, columns?: Map<string, string[]>): string {
  const cols = columns?.get(qualifiedName(backup));
  if (!cols?.length) return `INSERT INTO ${qualifiedName(table)} SELECT * FROM ${qualifiedName(backup)}`;
  const list = cols.map(quoteIdent).join(', ');
  return `INSERT INTO ${qualifiedName(table)} (${list}) SELECT ${list} FROM ${qualifiedName(backup)}`;
}

/** `DATABASE DEV_EDW`: Teradata has one default database per session, the first entry of the search path. */
export function searchPathStatement(schemas: string[]): string | null {
  const first = schemas[0];
  return first ? `DATABASE ${quoteIdent(first)}` : null;
}

/**
 * Session statements before a deployment. Teradata has no session-level lock or statement timeout (the request
 * timeout is the connection's `request_timeout`; lock waits are workload management's), so the settings are not
 * translated; the session is tagged with a query band, so DBAs can tell dbee's requests in DBQL.
 */
export function sessionSetup(): string[] {
  return [`SET QUERY_BAND = 'ApplicationName=dbee;' FOR SESSION`];
}
