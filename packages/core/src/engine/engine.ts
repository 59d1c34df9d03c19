import type { ObjectKey } from '../model/object-key';
import type { DeferrableConstraint, ParsedStatement, ParseOptions } from '../model/source';
import type { ResolvedEnvironment } from '../config/resolve';

/**
 * What an engine can do, as data. Core branches on these flags, never on an engine's name.
 */
export interface EngineCapabilities {
  /** DDL can share a transaction with later statements and be rolled back (PostgreSQL: yes; Teradata: no). */
  transactionalDdl: boolean;
  /** A scratch database can be built to normalise the desired schema (PostgreSQL: PGlite or a scratch db). */
  shadowDatabase: boolean;
  /** `CREATE OR REPLACE` (PostgreSQL) or `REPLACE` (Teradata) exists for views and routines. */
  createOrReplace: boolean;
  /** Some statements must run outside any transaction (`CREATE INDEX CONCURRENTLY`). */
  nonTransactionalStatements: boolean;
  /** Session advisory locks exist; otherwise the lock is a row in the ledger with owner and expiry. */
  advisoryLocks: boolean;
  /** The database lives inside this process (PGlite): only one process may open it at a time. */
  embedded: boolean;
}

/** Rows returned by a query; column names are lower case. */
export interface QueryResult<Row = Record<string, unknown>> {
  rows: Row[];
  /** Rows affected by DML, when the driver reports it. */
  rowCount?: number;
}

/**
 * A live connection to one environment. Implementations never put secrets in `description` or in errors.
 */
export interface Connection {
  /** Secret-free description for messages, e.g. `postgres://app@db.internal:5432/sales` or `pglite:.dbee/local`. */
  readonly description: string;
  /** Run one statement with positional parameters (`$1` on PostgreSQL, `?` on Teradata). */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>>;
  /** Run one or more statements without parameters. */
  execute(sql: string): Promise<void>;
  /** Run `fn` in a transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (tx: Connection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A held deployment lock. `release` is idempotent. */
export interface LockHandle {
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to keep trying before giving up, in milliseconds. */
  timeoutMs: number;
  /** Who is asking, recorded where the engine can (lock row) and used in the holder message. */
  owner: LockOwner;
  /** Called when the lock is busy, with the holder if known, before each retry. */
  onWait?: (holder: LockOwner | undefined) => void;
}

export interface LockOwner {
  user: string;
  host: string;
  pid: number;
  since: string;
  deploymentId?: string;
}

/**
 * How an engine parses sources: the engine's real parser (PostgreSQL: libpg-query), or its own
 * splitter and classifier (Teradata). Throws `DbeeError` with file, line and column on a syntax error.
 */
export interface SourceParser {
  parse(text: string, file: string, options: ParseOptions): Promise<ParsedStatement[]>;
  /** Remove several foreign keys from one CREATE TABLE (to add them after the tables of a cycle). */
  removeConstraints?(createTable: string, constraints: DeferrableConstraint[]): string;
}

/** The ledger tables as versioned DDL: `migrations[i]` upgrades the ledger from version i to i + 1. */
export interface LedgerDialect {
  /** Schema (PostgreSQL) or database (Teradata) holding the ledger tables. */
  schema: string;
  /** Numbered upgrade scripts, each a list of statements. */
  migrations: string[][];
  /** Positional parameter marker for the n-th (1-based) parameter. */
  param(n: number): string;
  /** SQL expression for the current timestamp. */
  now: string;
}

/** One database engine, composed from narrow roles by a factory in its package. */
export interface Engine {
  /** `postgres`, `teradata`: the value of `engine:` in the configuration. */
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  readonly parser: SourceParser;
  readonly ledger: LedgerDialect;
  /** Open a connection to an environment whose configuration has been resolved (variables interpolated). */
  connect(environment: ResolvedEnvironment, context: { workspaceRoot: string }): Promise<Connection>;
  /** Take the deployment lock for `key` (usually the project or database) on its own session. */
  lock(environment: ResolvedEnvironment, context: { workspaceRoot: string }, key: string, options: LockOptions): Promise<LockHandle>;
  /**
   * The statement that drops an object, used as the reverse of a step that created it; null when the engine
   * cannot drop that kind of object on its own (it goes with its parent, say).
   */
  renderDrop?(key: ObjectKey): string | null;
  /** Session statements run before a deployment's steps, e.g. `SET lock_timeout = '5s'`. */
  sessionSetup?(settings: { lockTimeoutMs?: number; statementTimeoutMs?: number }): string[];
  /** Statement that makes unqualified names resolve through `schemas` (PostgreSQL: `SET search_path`). */
  searchPathStatement?(schemas: string[]): string | null;
  /** Map a driver error to a user-facing `DbeeError` (object missing, already exists, permission...). */
  mapError(error: unknown, context: { statement?: string }): Error;
}
