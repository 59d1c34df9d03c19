import type { Connection } from './connection';
import type { LockTimeouts } from './lock-timeouts';

/** A key column a backfill's batches walk, with its type as the engine writes it (to cast a cursor value back). */
export interface BackfillKeyColumn {
  name: string;
  type: string;
}

/** A unique key of a table (the primary key or a unique index), as `BackfillRole.keys` reads it. */
export interface BackfillKey {
  primary: boolean;
  /** Its columns in the index's order. */
  columns: string[];
  /** Their types, in the same order. */
  types: string[];
  /** Whether every column is NOT NULL. */
  notNull: boolean;
}

/**
 * The statements of one backfill (see `expand/backfill.ts` for the algorithm that runs them). Keys are given as text,
 * one parameter per key column, cast back with the key's types. Every statement names the ledger's `backfills` table.
 */
export interface BackfillStatements {
  /** Run first in the transaction that starts the backfill: the bound and the count read one snapshot. */
  snapshot: string;
  /** The largest key that matches the backfill's condition now, its columns as text `k0`, `k1`... (no parameter). */
  bound: string;
  /** `n`: the rows up to the key given as parameters `$1...`. */
  count: string;
  /**
   * The ledger row of a new backfill; parameters: id, project, table schema, table name, key columns (JSON), set,
   * where, bound (JSON), total, batch size.
   */
  insert: string;
  /** Marks the start of a run (its time and the rows done before it); parameter: the id. */
  runStart: string;
  /** Marks the backfill done; parameter: the id. */
  finish: string;
  /**
   * Locks the ledger row (`cursor_key`, `status`, and `wal` when the WAL is read) and makes the batch's settings;
   * parameters: the id, then each setting's name and value.
   */
  lock: string;
  /**
   * `k0`, `k1`...: the key of the `size`-th row after the cursor (parameters: the cursor's key unless `first`, the
   * bound's key, the offset).
   */
  upper(first: boolean): string;
  /**
   * Updates the rows from the cursor (excluded) to the range's end (included) and moves the ledger's cursor there, in
   * one statement: `updated`, and `wal` when the WAL is read. Parameters: the cursor's key unless `first`, the range
   * end's key, the end as JSON, the id, the next batch size.
   */
  update(first: boolean): string;
}

/**
 * Backfills and batched migrations (`expand/backfill.ts`, `expand/batched-migration.ts`): the engine's SQL for keyset
 * batches, the ledger's cursor rows, its keys and WAL position (PostgreSQL: `packages/postgres/src/expand/backfill-sql.ts`).
 * Core keeps the algorithm (batch sizes, pacing, resuming, verdicts); the engine keeps every catalog name.
 */
export interface BackfillRole {
  /** How each batch bounds its lock waits (`withLockRetry`). */
  readonly lockTimeouts: LockTimeouts;
  /**
   * The statements of a backfill over `table`, walking `key`, with the `SET` list `set` and the optional condition
   * `where`; `ledgerSchema` holds the `backfills` table; `settings` are the names of the settings each batch makes;
   * `readWal`: the lock and the update also return the server's WAL position (`wal`); `readWaiters`: the update also
   * returns `waiting`, the sessions then waiting on a lock this session holds (the application's transactions queued
   * behind the batch's rows), and `waited_ms`, the longest of their statements so far (0 when none).
   */
  statements(input: {
    ledgerSchema: string;
    table: { schema: string; name: string };
    key: readonly BackfillKeyColumn[];
    set: string;
    where?: string;
    settings: readonly string[];
    readWal: boolean;
    readWaiters?: boolean;
  }): BackfillStatements;
  /** The unique keys of `table` (primary first, then narrowest), or null when the table does not exist. */
  keys(conn: Connection, table: { schema: string; name: string }): Promise<BackfillKey[] | null>;
  /** The table a statement names (`orders`, `sales.orders`), resolved with the session's search path, or null. */
  resolveTable(conn: Connection, name: string): Promise<{ schema: string; name: string } | null>;
  /** Whether this session may read the server's WAL position (some services and databases do not allow it). */
  walReadable(conn: Connection): Promise<boolean>;
  /** The bytes of WAL between two positions as the statements return them (`from` earlier). */
  walBytes(from: string, to: string): number;
  /**
   * The settings that make a batch compress what it writes to the WAL, when the server does not already and the
   * role may make them; none when `settings` (the caller's) make them already, or they cannot be made.
   */
  walCompression(conn: Connection, settings: Readonly<Record<string, string>>): Promise<Record<string, string>>;
  /**
   * The ledger's backfill rows (every column of the `backfills` table, plus `run_ms`: the milliseconds of the latest
   * run), the one of `id` or those of `project` when given, newest first; none when the table does not exist.
   */
  rows(
    conn: Connection,
    ledgerSchema: string,
    filter: { id?: string; project?: string },
  ): Promise<Record<string, unknown>[]>;
}
