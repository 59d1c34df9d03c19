import { DbeeError } from '../errors';
import type { HistoryTable } from '../engine/import-role';

/** A history table's place (`[schema.]table`). */
export type TableName = HistoryTable;

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

/** A value of a row as text (drivers give numbers, bigints as strings, dates as Date). */
export function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
