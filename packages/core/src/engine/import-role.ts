import type { Connection } from './connection';

/** A history table's place: `[schema.]table`, each part a plain identifier. */
export interface HistoryTable {
  schema: string | null;
  name: string;
}

/**
 * One change of another tool's changelog as read, before any SQL (Liquibase's `<createTable tableName="person">` with
 * its `<column>` children, from XML, YAML or JSON alike): the engine renders it.
 */
export interface ToolChange {
  /** The change type (`createTable`, `column`, `constraints`, `where`). */
  type: string;
  /** Its scalar attributes as text (`tableName`, `autoIncrement: "true"`). */
  attrs: Record<string, string>;
  children: ToolChange[];
  /** Its text content (`<sql>…</sql>`, `<createView>select …</createView>`), trimmed; '' without one. */
  text: string;
  /** 1-based line of the change in its file, for messages. */
  line: number;
}

/**
 * A change rendered: its statements (each without a final `;`), and those that undo it, in the order to run them, or
 * null when the tool generates no undo for the change type (Liquibase's `dropTable`, `insert`, `sql`); `problem` says
 * what is wrong with the change instead (a required attribute missing).
 */
export type RenderedToolChange = { up: string[]; down: string[] | null } | { problem: string };

/** How `dbee import` reads another tool's history table and writes the project's SQL for this engine. */
export interface ImportRole {
  /**
   * Where the table is, or null: a table named without a schema is looked for in the session's current schema, then
   * in `public`, where the tools create it by default.
   */
  findTable(conn: Connection, table: HistoryTable): Promise<HistoryTable | null>;
  /** Whether the table (found, with its schema) has a column (golang-migrate's `schema_migrations` has `dirty`). */
  hasColumn(conn: Connection, table: HistoryTable, column: string): Promise<boolean>;
  /** A statement that fails with `message` when run: the rollback of an imported migration without an undo script. */
  refusal(message: string): string;
  /**
   * A schema dump of this engine's own tool (Rails' db/structure.sql, pg_dump's text) as a migration's SQL: the dump's
   * session settings left out (dbee sets its own, under its bounds) and the objects of `tables` (the other tool's own
   * tables) with them; `left` says what was left out, `problems` what cannot run (a psql meta-command), by line.
   */
  fromDump(
    text: string,
    tables: string[],
  ): { sql: string; left: string[]; problems: { line: number; message: string; hint: string }[] };
  /** Liquibase's change types this engine renders, as Liquibase's own generator for it does; any other is refused. */
  liquibase: Record<string, (change: ToolChange) => RenderedToolChange>;
}
