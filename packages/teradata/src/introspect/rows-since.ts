import type { Connection, ObjectKey } from '@dbee/core';
import { normalizeName, quoteIdent, quoteString } from '../parse/teradata-identifiers';
import { qualifiedName } from '../render/teradata-renderer';
import { tableModel } from '../render/teradata-table-diff';
import { ROLLBACK_CHECK_MAX_BYTES, sessionMode, TeradataConnection } from '../connection/teradata-connection';
import { captureDefinition } from './teradata-objects';

/**
 * Columns per `HASHROW` call: it takes a limited number of expressions (64, verify), and each column gives two: longer
 * lists are hashed in parts.
 */
const HASHROW_COLUMNS = 25;

/** What `changedRows` compares of a table copied from its backup. */
export interface CopiedColumns {
  /** The columns both tables have, as written in SQL. */
  columns: string[];
  /** The new table's primary index columns (none for NO PRIMARY INDEX). */
  key: string[];
  /** No two rows alike are possible in the new table: a unique primary index, or a SET table. */
  unique: boolean;
  /** Character columns among `columns` (their values are hashed by their bytes: `contentHash`). Default none. */
  character?: ReadonlySet<string>;
  /** Key columns declared NOT NULL (joined with a plain `=`, which keeps the join on the primary index). Default none. */
  notNull?: ReadonlySet<string>;
}

/**
 * The hash arguments of one column that tell apart what `HASHROW` of the bare value does not (#92 item 4). HASHROW is
 * the 32-bit row hash that distributes rows, not a content checksum: "an expression that evaluates to NULL" and "an
 * expression that evaluates to 0, '', ' ', or a similar value" all give '00000000'XB (SQL Functions, Expressions, and
 * Predicates, HASHROW, "Result"), and values that compare equal hash alike, so NOT CASESPECIFIC text (Teradata mode's
 * default) hashes case-blind. Each column is hashed as two values: a NULL tag (`CASE WHEN c IS NULL THEN 1 ELSE 2 END`:
 * never 0, so NULL and 0 or '' differ) and, for character columns, `CHAR2HEXINT(c)` ("the hexadecimal representation
 * for a character string", SQL Functions, Expressions, and Predicates, CHAR2HEXINT: 'Ada' and 'ADA' differ there);
 * other columns by their value.
 *
 * Blind spots, documented in docs/teradata.md: a changed row whose 32-bit hash collides with the old one's (one in 2^32
 * per changed row); CLOB and BLOB columns (CHAR2HEXINT and HASHROW do not take them; a LOB column is hashed as its
 * value, verify); a CHAR(n) value and the same value with trailing blanks (padded alike).
 */
function contentHash(alias: string, column: string, character: boolean): string[] {
  const c = `${alias}.${column}`;
  return [`CASE WHEN ${c} IS NULL THEN 1 ELSE 2 END`, character ? `CHAR2HEXINT(${c})` : c];
}

/**
 * The rollback's data check (#73 item 5): whether `table` (the deployed table, or where a killed rollback left it) holds
 * rows that `base` (the table the deployment renamed aside and copied `copy.columns` from) does not, or lacks rows
 * `base` holds (deleted since the deployment: putting `base` back would bring them back). Rows are compared by the new
 * table's primary index key and a row hash of the copied columns (`HASHROW` over `contentHash`, which tells NULL, 0,
 * '' and case apart), not by their whole values:
 *
 * - where no two rows alike can exist (a unique primary index, or a SET table), two anti-joins on the key
 *   (`NOT EXISTS`), each row of one side looked up by its key in the other: joined on the primary index, which both
 *   tables share unless the release changed it, each AMP compares its own rows and spools only what differs (a NOT
 *   NULL key column is joined with a plain `=`; a nullable one also matches NULL with NULL);
 * - otherwise (a MULTISET table without a unique primary index), `EXCEPT ALL` of (key, row hash) both ways: the
 *   multiset of rows, with the spool of the key and four bytes per row hash rather than of the whole rows.
 *
 * Each query answers one row when something differs. A row hash is four bytes: a changed row whose hash collides with
 * the old one's is not seen (one in 2^32 per changed row).
 */
export function changedRows(
  copy: CopiedColumns,
  table: string,
  base: string,
  form: 'exists' | 'count' = 'exists',
): string[] {
  const head = form === 'exists' ? 'SELECT TOP 1 1' : 'SELECT COUNT(*) AS n';
  const chunks: string[][] = [];
  for (let i = 0; i < copy.columns.length; i += HASHROW_COLUMNS)
    chunks.push(copy.columns.slice(i, i + HASHROW_COLUMNS));
  const plain = (col: string) =>
    col
      .replace(/^"(.*)"$/, '$1')
      .replace(/""/g, '"')
      .toUpperCase();
  const isChar = (col: string) => copy.character?.has(plain(col)) ?? false;
  const hashes = (alias: string) =>
    chunks.map((ch) => `HASHROW(${ch.flatMap((col) => contentHash(alias, col, isChar(col))).join(', ')})`);
  if (copy.unique) {
    const same = (a: string, b: string) =>
      [
        ...copy.key.map((k) =>
          copy.notNull?.has(plain(k))
            ? `${a}.${k} = ${b}.${k}`
            : `(${a}.${k} = ${b}.${k} OR (${a}.${k} IS NULL AND ${b}.${k} IS NULL))`,
        ),
        ...hashes(a).map((h, i) => `${h} = ${hashes(b)[i]}`),
      ].join(' AND ');
    const missing = (from: string, other: string) =>
      `${head} FROM ${from} n WHERE NOT EXISTS (SELECT 1 FROM ${other} o WHERE ${same('o', 'n')});`;
    return [missing(table, base), missing(base, table)];
  }
  const list = (alias: string, from: string) =>
    `SELECT ${[...copy.key.map((k) => `${alias}.${k}`), ...hashes(alias)].join(', ')} FROM ${from} ${alias}`;
  const except = (a: string, b: string) => `${head} FROM (${list('n', a)} EXCEPT ALL ${list('o', b)}) d;`;
  return [except(table, base), except(base, table)];
}

/** Whether a column's type (its `core` text, or a `DBC.ColumnsV` ColumnType code) is CHAR or VARCHAR. */
export function isCharacterType(type: string): boolean {
  return /^\s*(CF|CV|CHAR|CHARACTER|VARCHAR|LONG\s+VARCHAR)\b/i.test(type);
}

/**
 * A query answering a row when table `db.name` has a unique index (a unique primary or secondary index: `UniqueFlag`
 * 'Y' in `DBC.IndicesV`, Data Dictionary) whose columns are all among `columns` (plain names): the table can hold no
 * two rows alike over those columns, so a copy of them into a SET table drops nothing and its duplicate check can be
 * skipped (#73 item 5).
 */
export function uniqueIndexOver(db: string, name: string, columns: readonly string[]): string {
  const on = (alias: string) =>
    `UPPER(${alias}.DatabaseName) = ${quoteString(db.toUpperCase())} AND UPPER(${alias}.TableName) = ${quoteString(name.toUpperCase())}`;
  const list = columns
    .map((c) =>
      quoteString(
        c
          .replace(/^"(.*)"$/, '$1')
          .replace(/""/g, '"')
          .toUpperCase(),
      ),
    )
    .join(', ');
  return (
    `SELECT TOP 1 1 FROM DBC.IndicesV i WHERE ${on('i')} AND i.UniqueFlag = 'Y' AND NOT EXISTS ` +
    `(SELECT 1 FROM DBC.IndicesV j WHERE ${on('j')} AND j.IndexNumber = i.IndexNumber AND UPPER(TRIM(j.ColumnName)) NOT IN (${list}))`
  );
}

/**
 * `ObjectCatalog.rowsChangedSince` on Teradata (#73 item 5), for `dbee rollback`: the rows that differ between `table`
 * and the `backup` a deployment renamed aside, compared as `rollback.btq` compares them (`changedRows`, counted): by
 * `table`'s primary index key and a row hash of the columns both tables have, both ways (rows written or changed
 * since, rows deleted or changed since). Without a copy every row of `table` was written since. A pair of tables whose
 * size (`DBC.TableSizeV` CurrentPerm) passes the connection's `rollbackCheckMaxBytes` is refused, not compared.
 */
export async function rowsChangedSince(
  conn: Connection,
  table: ObjectKey,
  backup: ObjectKey,
  options: { copied: boolean },
): Promise<{ written: number; deleted: number } | { refused: string }> {
  const max = conn instanceof TeradataConnection ? conn.rollbackCheckMaxBytes : ROLLBACK_CHECK_MAX_BYTES;
  const count = async (sql: string) => Number((await conn.query<{ n: unknown }>(sql)).rows[0]?.n ?? 0);
  if (!options.copied) return { written: await count(`SELECT COUNT(*) AS n FROM ${qualifiedName(table)}`), deleted: 0 };
  const size = await conn.query<{ table_bytes: unknown }>(
    'SELECT SUM(CurrentPerm) AS table_bytes FROM DBC.TableSizeV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) IN (?, ?)',
    [normalizeName(table.schema), normalizeName(table.name), normalizeName(backup.name)],
  );
  const bytes = Number(size.rows[0]?.table_bytes ?? 0);
  if (bytes > max)
    return {
      refused: `${qualifiedName(table)} and its backup ${qualifiedName(backup)} take ${bytes} bytes together, more than the ${max} the check compares (connection.rollbackCheckMaxBytes)`,
    };
  const columns = async (key: ObjectKey) =>
    (
      await conn.query<{ column_name: string; column_type: unknown; nullable: unknown }>(
        'SELECT ColumnName AS column_name, ColumnType AS column_type, Nullable AS nullable FROM DBC.ColumnsV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ? ORDER BY ColumnId',
        [normalizeName(key.schema), normalizeName(key.name)],
      )
    ).rows.map((r) => ({
      name: String(r.column_name).trim().toUpperCase(),
      character: isCharacterType(String(r.column_type ?? '')),
      notNull: String(r.nullable ?? '').trim() === 'N',
    }));
  const kept = new Set((await columns(backup)).map((c) => c.name));
  const own = (await columns(table)).filter((c) => kept.has(c.name));
  const shared = own.map((c) => c.name);
  const model = tableModel((await captureDefinition(conn, table)) ?? '', { tmode: sessionMode(conn) });
  const keyText = model && /\bPRIMARY\s+(?:AMP\s+)?INDEX\s*(?:\w+\s*)?\(([^)]*)\)/i.exec(model.primary);
  const key = keyText
    ? keyText[1]!.split(',').map((k) =>
        k
          .trim()
          .replace(/^"(.*)"$/, '$1')
          .toUpperCase(),
      )
    : [];
  const unique =
    !!model &&
    (/^\s*UNIQUE\s+PRIMARY\b/i.test(model.primary) || /\bSET\b/i.test(model.header.split(/\bTABLE\b/i)[0] ?? ''));
  const copy: CopiedColumns = {
    columns: shared.map(quoteIdent),
    key: key.filter((k) => kept.has(k)).map(quoteIdent),
    unique,
    character: new Set(own.filter((c) => c.character).map((c) => c.name)),
    notNull: new Set(own.filter((c) => c.notNull).map((c) => c.name)),
  };
  const [written, deleted] = changedRows(copy, qualifiedName(table), qualifiedName(backup), 'count');
  return { written: await count(written!.replace(/;$/, '')), deleted: await count(deleted!.replace(/;$/, '')) };
}
