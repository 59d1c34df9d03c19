import { DbeeError, ExitCode, type Connection, type ObjectKey, type ParsedStatement } from '@dbee/core';
import { quoteIdent } from '../parse/teradata-identifiers';
import { qualifiedName } from '../render/teradata-renderer';
import { sessionMode } from '../connection/teradata-connection';
import { uniqueIndexOver } from './rows-since';

/**
 * `copyData` into a table that replaces one renamed aside (#64): a SET table keeps one row of each set of duplicates an
 * `INSERT ... SELECT` brings, silently, in Teradata mode (SQL Data Manipulation Language, INSERT ... SELECT,
 * "Duplicate Rows and INSERT"); ANSI mode fails the request (2802), after the rename. `dbee deploy` therefore checks,
 * while it plans the conflict (before anything is renamed), whether the existing table holds duplicate rows when the
 * new table is a SET table, and refuses the copy (exit 1, nothing changed) if it does.
 *
 * The core runner's hooks give `setAside` (which reads the target) no step and `renderCopyData` (which knows the copy
 * is wanted) no connection, so the engine keeps three things between them: the SET/MULTISET word of each `CREATE
 * TABLE` its parser read (the plan's statements come from them), the count of duplicate rows `setAside` found, and
 * which table they belong to.
 */
export class CopyDuplicates {
  /** `CREATE [SET|MULTISET] TABLE`, by qualified name: the word written, or null (the session mode's default). */
  private readonly declared = new Map<string, 'SET' | 'MULTISET' | null>();
  /** Duplicate rows of a table renamed aside, by backup name (qualified). */
  private readonly found = new Map<string, { table: string; rows: number }>();

  /** Remember the kind of each table the sources create. */
  parsed(statements: ParsedStatement[]): void {
    for (const s of statements) {
      if (s.key?.kind !== 'table' || s.action !== 'create') continue;
      const m = /^\s*CREATE\s+(SET|MULTISET)\b/i.exec(s.sql);
      this.declared.set(qualifiedName(s.key), m ? (m[1]!.toUpperCase() as 'SET' | 'MULTISET') : null);
    }
  }

  /**
   * Before `key` (a table) is renamed to `backup`: when its replacement is a SET table (written so, or unwritten in a
   * Teradata-mode session), count its duplicate rows over `columns` (the columns the copy takes). Reads the table once,
   * unless a unique primary or secondary index over copied columns (`DBC.IndicesV`) makes duplicates impossible.
   */
  async check(conn: Connection, key: ObjectKey, backup: ObjectKey, columns: string[] | undefined): Promise<void> {
    const name = qualifiedName(key);
    const declared = this.declared.get(name);
    const set = declared === 'SET' || (declared !== 'MULTISET' && sessionMode(conn) === 'TERA');
    this.found.delete(qualifiedName(backup));
    if (!set) return;
    // A unique index over copied columns makes duplicates impossible: nothing to count (#73 item 5).
    if (columns?.length && (await conn.query(uniqueIndexOver(key.schema ?? '', key.name, columns))).rows.length) return;
    const list = columns?.length ? columns.map(quoteIdent).join(', ') : '*';
    const r = await conn.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM (SELECT ${list} FROM ${name} EXCEPT ALL SELECT DISTINCT ${list} FROM ${name}) d`,
    );
    const rows = Number(r.rows[0]?.n ?? 0);
    if (rows > 0) this.found.set(qualifiedName(backup), { table: name, rows });
  }

  /** Refuse the copy from `backup` when `check` found duplicate rows in the table it was. */
  refuse(backup: ObjectKey): void {
    const d = this.found.get(qualifiedName(backup));
    if (!d) return;
    throw new DbeeError(
      `copyData: ${d.table} holds ${d.rows} duplicate row${d.rows === 1 ? '' : 's'}, and the new table is a SET table: the copy would keep one row of each without a word (Teradata mode) or fail after the rename (ANSI mode, 2802); nothing was renamed`,
      {
        code: 'COPY_LOSES_ROWS',
        hint: `make the new ${d.table} a MULTISET table (CREATE MULTISET TABLE), or remove the duplicate rows from the existing one, then deploy again`,
        exitCode: ExitCode.invalid,
      },
    );
  }
}
