import type { Connection } from '../engine/connection';
import { DbeeError } from '../errors';

/** A history table's place: `[schema.]table`, each part a plain identifier. */
export interface TableName {
  schema: string | null;
  name: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** `--history-table` read: refused when it is not `[schema.]table` of plain identifiers. */
export function tableName(text: string): TableName {
  const parts = text.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p)))
    throw new DbeeError(`--history-table ${text}: expected [schema.]table, plain identifiers`, {
      code: 'OPTIONS_INVALID',
      hint: 'e.g. flyway_schema_history or app.flyway_schema_history',
    });
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { schema: null, name: parts[0]! };
}

/** The table as SQL names it, quoted (the tools create them in lower case). */
export function sqlName(t: TableName): string {
  return (t.schema ? `"${t.schema}".` : '') + `"${t.name}"`;
}

/**
 * Where the table is (the standard `information_schema`, no engine catalog), or null: a table named without a schema is
 * looked for in the session's current schema, then in `public`, where the tools create it by default.
 */
export async function findTable(conn: Connection, t: TableName): Promise<TableName | null> {
  const where = t.schema ? `table_schema = '${t.schema}'` : "table_schema IN (current_schema, 'public')";
  const r = await conn.query<{ table_schema: string }>(
    `SELECT table_schema FROM information_schema.tables WHERE table_name = '${t.name}' AND ${where} ORDER BY table_schema = current_schema DESC`,
  );
  const schema = r.rows[0]?.table_schema;
  return schema === undefined ? null : { schema, name: t.name };
}

/** Whether the table has a column (golang-migrate's `schema_migrations` has `dirty`; dbmate's does not). */
export async function hasColumn(conn: Connection, t: TableName, column: string): Promise<boolean> {
  const where = `table_schema = '${t.schema}'`;
  const r = await conn.query(
    `SELECT column_name FROM information_schema.columns WHERE table_name = '${t.name}' AND column_name = '${column}' AND ${where}`,
  );
  return r.rows.length > 0;
}

/** A value of a row as text (drivers give numbers, bigints as strings, dates as Date). */
export function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
