import type { Connection } from '../engine/connection';
import type { ImportRole } from '../engine/import-role';
import type { TableName } from './history';

/** One migration of another tool, as dbee will write it. */
export interface ImportedMigration {
  /** dbee's version (`1.2`, `20240101120000`): the tool's order, numerically. */
  version: string;
  /** The description part of dbee's file name (`create_users`). */
  name: string;
  /** The forward script, as dbee runs it (the tool's annotations removed, placeholders as `{{name}}`). */
  up: string;
  /** The undo script, or null when the tool has none for it. */
  down: string | null;
  /** Its file in the tool's folder (folder-relative), for messages. */
  file: string;
  /** Its line in that file where one file holds several (a Liquibase change set); 1 otherwise. */
  line?: number;
  /** The tool's name for it in its history table (Flyway's version, a file name, a Sqitch change id). */
  id: string;
  /** The tool's own checksum of it, recomputed from the file, where the tool keeps one (compared with the history). */
  checksum?: string;
  /**
   * Its checksums under the tool's earlier algorithms, by the version its history writes before a `:` (Liquibase's
   * `8` for `8:…`), or why one cannot be recomputed: an entry of that version is compared with it instead of `checksum`.
   */
  earlier?: Record<string, string | { why: string }>;
  /** Other texts the tool's history may hold for it (Prisma also accepts the script with its line endings as LF). */
  alsoAccepted?: string[];
  /** Why its checksum cannot be recomputed although the tool keeps one (printed as "checksum not verified (…)"). */
  unverifiable?: string;
  /** What dbee writes above the script (why it looks as it does), without the comment marks. */
  notes?: string[];
}

/** A repeatable (re-runnable) script of the tool (Flyway `R__`), written as a dbee object file. */
export interface ImportedRepeatable {
  /** The object file's name in the project (`repeatable/refresh_views.sql`). */
  path: string;
  text: string;
  /** Its file in the tool's folder. */
  file: string;
  /** The tool's name for it in its history, when the history lists it (a Liquibase `runOnChange` change set). */
  id?: string;
}

/** A verification of the tool (Sqitch `verify/`), written as a dbee smoke check. */
export interface ImportedSmoke {
  /** The smoke file's name in the project (`smoke/users.sql`). */
  path: string;
  text: string;
  file: string;
}

/** What a tool's folder holds, read and checked: nothing is written until every file is read. */
export interface ImportedFolder {
  migrations: ImportedMigration[];
  repeatables: ImportedRepeatable[];
  smoke: ImportedSmoke[];
  /** Variables for db.yaml (Flyway placeholders). */
  variables: Record<string, string>;
  /** Files of the folder that are not migrations and were left out, each with why (printed). */
  skipped: string[];
  /** What the import mapped to something close rather than the same (a Liquibase context kept as a note), printed. */
  notices?: string[];
  /** The tool's own name of the project, which its history is kept under (Sqitch's `%project`). */
  project?: string;
  /** The versions the folder says its tool recorded (the `schema_migrations` list of Rails' db/structure.sql). */
  recorded?: string[];
}

/** One row (or the state) of the tool's history table, as the import compares it with the folder. */
export interface HistoryEntry {
  /** The migration's `ImportedMigration.id`. */
  id: string;
  /** The tool's checksum of the applied script, null when it keeps none. */
  checksum: string | null;
  /** Why the entry is not a success (failed, dirty, unfinished), or null. */
  failed: string | null;
  /** How the history names it, for messages (`V3 (flyway_schema_history rank 4)`). */
  label: string;
  /** When the tool applied it, for the record (text), or null. */
  at: string | null;
  /** Why its checksum cannot be compared with the file's (a checksum version dbee does not recompute), if so. */
  unverifiable?: string;
}

/**
 * What the history says was applied: the entries (each must name a migration of the folder), and the versions applied
 * without an entry of their own (golang-migrate keeps only its current version: every older one ran before it).
 */
export interface History {
  entries: HistoryEntry[];
  /** Ids of the folder's migrations that count as applied through another entry (`through` says which). */
  implied: { id: string; through: string }[];
}

/** One tool: the reader of its folder and of its history table. */
export interface Importer {
  /** The tool's name as `--from` takes it. */
  tool: string;
  /**
   * Read `folder` (absolute; `display` is how messages name it): every problem thrown together, with file and line.
   * `engine` renders what the tool describes without SQL (Liquibase's change types).
   */
  read(folder: string, display: string, engine: ImportRole): ImportedFolder;
  /** Its history table by default (`[schema.]table`). */
  table: string;
  /** Where the folder's own configuration puts the history table (Flyway's `flyway.table`), else `table`. */
  tableOf?(folder: string, display: string): string;
  /** Read its history table (its existence checked already) against the folder's migrations. */
  history(conn: Connection, table: TableName, folder: ImportedFolder, engine: ImportRole): Promise<History>;
  /** How the tool clears a failed entry, for the refusal's hint. */
  repair: string;
}
