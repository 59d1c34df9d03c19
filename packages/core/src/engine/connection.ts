/**
 * A live connection to one environment and what its queries return: the part of the engine contract that every
 * role takes, apart from the contract so that a role declared in a file of its own imports it without a circle.
 */

/** Rows returned by a query; column names are lower case. */
export interface QueryResult<Row = Record<string, unknown>> {
  rows: Row[];
  /** Rows affected by DML, when the driver reports it. */
  rowCount?: number;
  /** The result's columns in order, when the driver reports them (both PostgreSQL transports do). */
  fields?: ResultField[];
}

/** One column of a query result. */
export interface ResultField {
  /** Column name as the database returns it. */
  name: string;
  /** The engine's identifier of the column's type (PostgreSQL: the type's oid); see `SmokeDialect.typeNames`. */
  typeId: number;
  /** The type's modifier (PostgreSQL: `numeric(12,2)`'s precision and scale, -1 for none), when the driver reports it. */
  typeModifier?: number;
}

/** A message the database sent while running a statement, other than an error (PostgreSQL: NOTICE, WARNING...). */
export interface DatabaseNotice {
  /** Severity as the database names it, e.g. `WARNING`, `NOTICE`, `INFO`. */
  severity: string;
  /** True for warnings (PostgreSQL: severity WARNING, or an SQLSTATE of class 01); smoke checks fail on them. */
  warning: boolean;
  message: string;
  /** SQLSTATE or the engine's code, when there is one (PostgreSQL `RAISE WARNING`: `01000`). */
  code?: string;
}

/**
 * A live connection to one environment. Implementations never put secrets in `description` or in errors.
 */
export interface Connection {
  /** Secret-free description for messages, e.g. `postgres://app@db.internal:5432/sales` or `pglite:.dbee/local`. */
  readonly description: string;
  /**
   * The database runs in this process's thread (an embedded engine, PGlite): each request holds the process until it
   * ends, so a long piece of work is sent in shorter requests (`desiredModel`'s shadow build). Absent: a server.
   */
  readonly inProcess?: boolean;
  /** Run one statement with positional parameters (`$1` on PostgreSQL, `?` on Teradata). */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>>;
  /**
   * Run one read-only catalog query that the session keeps parsed and planned (a prepared statement with a plan that
   * does not depend on its parameters), for the queries that run once per project, many times in a batch; `settings`
   * (e.g. PostgreSQL's `search_path`) hold for this call only. Optional: without it, `query` (with the settings).
   */
  queryPrepared?<Row = Record<string, unknown>>(
    sql: string,
    params: unknown[],
    settings?: Record<string, string>,
  ): Promise<QueryResult<Row>>;
  /**
   * Run `queries` in order in one round trip and return each one's answer, as `query` would (PostgreSQL: each query's
   * Parse, Bind and Execute, then one Sync); the first that fails ends the request with its error. `settings` hold for
   * these queries only, as in `queryPrepared`. Optional: without it, one `query` after the other.
   */
  queryMany?(
    queries: readonly { sql: string; params?: unknown[] }[],
    settings?: Record<string, string>,
  ): Promise<QueryResult[]>;
  /** Run one or more statements without parameters. */
  execute(sql: string): Promise<void>;
  /** Run `fn` in a transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (tx: Connection) => Promise<T>): Promise<T>;
  /**
   * Run `statements` (each one SQL statement, no parameters) in order in one round trip, stopping at the first that
   * fails (PostgreSQL: one multi-statement query; BEGIN and COMMIT may be among them). Optional: without it the runner
   * sends them one by one (`runner/batch.ts`). Outside an explicit transaction PostgreSQL runs such a request as one
   * implicit transaction, so statements that refuse a transaction (`CREATE INDEX CONCURRENTLY`) never go in one.
   */
  executeBatch?(statements: readonly string[]): Promise<BatchResult>;
  close(): Promise<void>;
  /**
   * Listen to the notices and warnings of the statements that run from now on, until the returned function is
   * called. Optional: without it, smoke checks cannot tell a statement that raised a warning.
   */
  onNotice?(listener: (notice: DatabaseNotice) => void): () => void;
  /**
   * Parse and analyse one statement against the session's catalog without running it (PostgreSQL: the extended
   * protocol's Parse and Describe), and say what it would return: its result columns, or the error the server gives.
   * Parameters (`$1`) are typed by the server where it can infer them. Optional: the compatibility check needs it.
   */
  describe?(sql: string): Promise<StatementDescription>;
}

/** What `Connection.describe` found: the statement's result columns (none for a statement without rows), or its error. */
export type StatementDescription =
  | { ok: true; columns: ResultField[] }
  | { ok: false /** The server's message, first line. */; message: string /** SQLSTATE. */; code?: string };

/** Outcome of `Connection.executeBatch`. */
export interface BatchResult {
  /** How many statements completed, in order. */
  completed: number;
  /** The error of statement `completed` (mapped like `execute`'s, naming that statement), or null when all ran. */
  error: Error | null;
}
