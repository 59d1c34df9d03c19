import type { Connection, ObjectKey } from '@dbee/core';
import { normalizeName, quoteIdent, quoteString } from '../parse/teradata-identifiers';
import { qualifiedName } from '../render/teradata-renderer';
import { tableModel } from '../render/teradata-table-diff';
import { ROLLBACK_CHECK_MAX_BYTES, sessionMode, TeradataConnection } from '../connection/teradata-connection';
import { captureDefinition } from './teradata-objects';

/** Columns per `HASHROW` call: it takes a limited number of expressions (64, verify): longer lists are hashed in parts. */
const HASHROW_COLUMNS = 50;

/**
 * The rollback's data check (#73 item 5): whether `table` (the deployed table, or where a killed rollback left it) holds
 * rows that `base` (the table the deployment renamed aside and copied `copy.columns` from) does not, or lacks rows
 * `base` holds (deleted since the deployment: putting `base` back would bring them back). Rows are compared by the new
 * table's primary index key and a row hash of the copied columns (`HASHROW`, SQL Functions, Expressions, and
 * Predicates), not by their whole values:
 *
 * - where no two rows alike can exist (a unique primary index, or a SET table), two anti-joins on the key
 *   (`NOT EXISTS`), each row of one side looked up by its key in the other: joined on the primary index, which both
 *   tables share unless the release changed it, each AMP compares its own rows and spools only what differs;
 * - otherwise (a MULTISET table without a unique primary index), `EXCEPT ALL` of (key, row hash) both ways: the
 *   multiset of rows, with the spool of the key and four bytes per row rather than of the whole rows.
 *
 * Each query answers one row when something differs. A row hash is four bytes: a changed row whose hash collides with
 * the old one's is not seen (one in 2^32 per changed row).
 */
export function changedRows(
  copy: { columns: string[]; key: string[]; unique: boolean },
  table: string,
  base: string,
  form: 'exists' | 'count' = 'exists',
): string[] {
  const head = form === 'exists' ? 'SELECT TOP 1 1' : 'SELECT COUNT(*) AS n';
  const chunks: string[][] = [];
  for (let i = 0; i < copy.columns.length; i += HASHROW_COLUMNS)
    chunks.push(copy.columns.slice(i, i + HASHROW_COLUMNS));
  const hashes = (alias: string) => chunks.map((ch) => `HASHROW(${ch.map((col) => `${alias}.${col}`).join(', ')})`);
  if (copy.unique) {
    const same = (a: string, b: string) =>
      [
        ...copy.key.map((k) => `(${a}.${k} = ${b}.${k} OR (${a}.${k} IS NULL AND ${b}.${k} IS NULL))`),
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
      await conn.query<{ column_name: string }>(
        'SELECT ColumnName AS column_name FROM DBC.ColumnsV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ? ORDER BY ColumnId',
        [normalizeName(key.schema), normalizeName(key.name)],
      )
    ).rows.map((r) => String(r.column_name).trim().toUpperCase());
  const kept = new Set(await columns(backup));
  const shared = (await columns(table)).filter((c) => kept.has(c));
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
  const copy = {
    columns: shared.map(quoteIdent),
    key: key.filter((k) => kept.has(k)).map(quoteIdent),
    unique,
  };
  const [written, deleted] = changedRows(copy, qualifiedName(table), qualifiedName(backup), 'count');
  return { written: await count(written!.replace(/;$/, '')), deleted: await count(deleted!.replace(/;$/, '')) };
}
