import { DbeeError, type ObjectKey, type ObjectKind } from '@dbee/core';
import { qualify, quoteIdent } from '../parse/teradata-identifiers';
import { isSignificant, splitStatements, tokenize } from '../parse/splitter';

/**
 * SQL text dbee generates for Teradata: SHOW, DROP, RENAME, REPLACE, backup names and the copy of surviving
 * columns. Names are always qualified (an unqualified name lands in the session's default database).
 */

/** The object-type words of a kind in DDL (`DROP JOIN INDEX`), or null for kinds Teradata has no DDL word for. */
export function kindKeyword(kind: ObjectKind): string | null {
  const words: Partial<Record<ObjectKind, string>> = {
    table: 'TABLE',
    view: 'VIEW',
    macro: 'MACRO',
    procedure: 'PROCEDURE',
    function: 'FUNCTION',
    'join-index': 'JOIN INDEX',
    'hash-index': 'HASH INDEX',
    trigger: 'TRIGGER',
    database: 'DATABASE',
    user: 'USER',
    role: 'ROLE',
    profile: 'PROFILE',
    index: 'INDEX',
    type: 'TYPE',
    authorization: 'AUTHORIZATION',
    'function-mapping': 'FUNCTION MAPPING',
  };
  return words[kind] ?? null;
}

/** Kinds that `REPLACE` creates or replaces in place, keeping privileges granted on them. */
export const REPLACEABLE_KINDS: ReadonlySet<ObjectKind> = new Set([
  'view',
  'macro',
  'procedure',
  'function',
  'trigger',
  // REPLACE AUTHORIZATION (its password from the source's variable again: a changed file is replaced, with no reverse,
  // as the old password cannot be read back).
  'authorization',
  // REPLACE FUNCTION MAPPING "replaces the definition of an existing function mapping or, if the specified function
  // mapping does not exist, creates a new function mapping by that name" (SQL Data Definition Language).
  'function-mapping',
]);
/** Kinds whose definition `SHOW <kind>` returns. */
export const SHOWABLE_KINDS: ReadonlySet<ObjectKind> = new Set([
  'table',
  'view',
  'macro',
  'procedure',
  'function',
  'join-index',
  'hash-index',
  'trigger',
  'type',
  // SHOW FUNCTION MAPPING (Release Summary 16.20 Feature Update 1, "Function Mapping"). An authorization has no SHOW.
  'function-mapping',
]);

function keyword(key: ObjectKey): string {
  const k = kindKeyword(key.kind);
  if (!k) throw new DbeeError(`dbee cannot generate DDL for a ${key.kind} on Teradata`, { code: 'RENDER_UNSUPPORTED' });
  return k;
}

/** `DB.NAME`, or `NAME` for databases, users and roles. */
export function qualifiedName(key: ObjectKey): string {
  return qualify(key.schema, key.name);
}

/** `SHOW VIEW DB.V`: the object's current DDL. */
export function renderShow(key: ObjectKey): string {
  if (!SHOWABLE_KINDS.has(key.kind))
    throw new DbeeError(`Teradata has no SHOW for a ${key.kind}`, { code: 'RENDER_UNSUPPORTED' });
  return `SHOW ${keyword(key)} ${qualifiedName(key)}`;
}

/** `DROP TABLE DB.T`; for a secondary index `DROP INDEX name ON DB.T` (or `DROP INDEX (cols) ON DB.T`). */
export function renderDrop(key: ObjectKey, indexColumns?: string[]): string {
  if (key.kind === 'index') {
    const [db, ...rest] = (key.parent ?? '').split('.');
    const table = qualify(db!, rest.join('.'));
    const target = indexColumns?.length ? `(${indexColumns.map(quoteIdent).join(', ')})` : quoteIdent(key.name);
    return `DROP INDEX ${target} ON ${table}`;
  }
  return `DROP ${keyword(key)} ${qualifiedName(key)}`;
}

/** `RENAME TABLE DB.T TO DB.NEW`: same database. */
export function renderRename(key: ObjectKey, newName: string): string {
  return `RENAME ${keyword(key)} ${qualifiedName(key)} TO ${qualify(key.schema, newName)}`;
}

/** Longest Teradata object name (characters). */
export const MAX_NAME_LENGTH = 128;

/**
 * Name of the renamed-aside backup of a table: `<NAME>_BKP_<yyyymmddThhmmss>` (UTC), in the same database, e.g.
 * `ORDERS_BKP_20261121T103000`; the original name is shortened when the result would pass 128 characters.
 */
export function backupName(name: string, now: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp =
    `${p(now.getUTCFullYear(), 4)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}` +
    `T${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  const suffix = `_BKP_${stamp}`;
  return name.toUpperCase().slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
}

/** `INSERT INTO DB.T (a, b) SELECT a, b FROM DB.T_BKP_...`: the rows of the surviving columns. */
export function renderCopyData(key: ObjectKey, backup: string, columns: string[]): string {
  const cols = columns.map(quoteIdent).join(', ');
  return `INSERT INTO ${qualifiedName(key)} (${cols}) SELECT ${cols} FROM ${qualify(key.schema, backup)}`;
}

/**
 * The statement with its leading `CREATE` turned into `REPLACE` (views, macros, procedures, functions, triggers);
 * text after the keyword is kept byte for byte. A statement that already says REPLACE is returned unchanged.
 */
export function toReplace(sql: string): string {
  const first = tokenize(sql, '<generated>').find(isSignificant);
  if (!first || first.type !== 'word') return sql;
  if (first.value === 'CREATE') return sql.slice(0, first.start) + 'REPLACE' + sql.slice(first.end);
  return sql;
}

/** Text returned by SHOW: rows of every result set concatenated, `\r` line ends turned into `\n`. */
export function showText(rows: Record<string, unknown>[]): string {
  return rows
    .map((r) => String(Object.values(r)[0] ?? ''))
    .join('')
    .replace(/\r\n?/g, '\n')
    .trim();
}

/** The statements of a definition text (SHOW output may hold several), each without its `;`. */
export function definitionStatements(text: string): string[] {
  return splitStatements(text, '<SHOW output>', { bteq: 'skip' }).map((s) => s.sql);
}

export { tableColumns } from '../parse/table-columns';
