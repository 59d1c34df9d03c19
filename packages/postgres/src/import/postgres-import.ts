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
  fromDump,
};

/** What `pg_dump` writes for its session: left out of a migration. */
const SESSION = /^(SET\s+[\w.]+\s*(=|TO)\s*.*;|SELECT pg_catalog\.set_config\(.*\);)\s*$/i;
/** pg_dump's comment before each object: `-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -`. */
const HEADER = /^-- Name: ([^;\s]+)[^;]*; Type: [^;]+; Schema: [^;]*;/;

function fromDump(text: string, tables: string[]): ReturnType<ImportRole['fromDump']> {
  const skip = new Set(tables);
  const out: string[] = [];
  const left = new Set<string>();
  const problems: { line: number; message: string; hint: string }[] = [];
  let skipping = false;
  for (const [i, l] of text.split(/\r?\n/).entries()) {
    const header = HEADER.exec(l);
    if (header) skipping = skip.has(header[1]!);
    else if (l.startsWith('-- PostgreSQL database dump complete')) skipping = false;
    if (skipping) {
      if (l.trim() && !l.startsWith('--')) left.add(`the tables ${tables.join(', ')}`);
    } else if (SESSION.test(l.trim())) left.add("pg_dump's session settings (SET …, set_config('search_path', …))");
    else if (/^\\(un)?restrict\b/.test(l)) left.add("pg_dump's \\restrict lines");
    else if (/^\\/.test(l))
      problems.push({
        line: i + 1,
        message: 'a psql meta-command, which dbee does not run',
        hint: 'remove it from the dump, then import',
      });
    else out.push(l);
  }
  return {
    sql: `${out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()}\n`,
    left: [...left],
    problems,
  };
}
