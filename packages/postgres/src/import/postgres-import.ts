import type { HistoryTable, ImportRole } from '@dbee/core';
import { liquibaseChanges } from './liquibase-changes';
import { literal } from '../render/quote';

/** `dbee import` on PostgreSQL: the tools' history tables found through the catalog views, their changes rendered. */
export const postgresImport: ImportRole = {
  async findTable(conn, t) {
    const where = t.schema ? `table_schema = ${literal(t.schema)}` : "table_schema IN (current_schema(), 'public')";
    const r = await conn.query<{ table_schema: string }>(
      `SELECT table_schema FROM information_schema.tables WHERE table_name = ${literal(t.name)} AND ${where} ORDER BY table_schema = current_schema() DESC`,
    );
    const schema = r.rows[0]?.table_schema;
    return schema === undefined ? null : ({ schema, name: t.name } satisfies HistoryTable);
  },
  async hasColumn(conn, t, column) {
    const r = await conn.query(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = ${literal(t.schema ?? 'public')} AND table_name = ${literal(t.name)} AND column_name = ${literal(column)}`,
    );
    return r.rows.length > 0;
  },
  refusal: (message) => `DO $$ BEGIN RAISE EXCEPTION ${literal(message.replace(/%/g, '%%'))}; END $$`,
  liquibase: liquibaseChanges,
};
