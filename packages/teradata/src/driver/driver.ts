/**
 * The one narrow interface dbee needs from a Teradata driver. Two packages implement it: `teradatasql` (default)
 * and the deprecated `teradata-nodejs-driver`. Both are loaded lazily, so importing @dbee/teradata never needs
 * either; tests plug in the test double (`packages/teradata/testing/`, outside src/: not shipped).
 */

/** Name of a supported driver package: the value of `connection.driver` in dbee.yaml. */
export type TeradataDriverName = 'teradatasql' | 'teradata-nodejs-driver';

/** One result set: column names as the driver reports them, and rows as arrays. */
export interface TeradataResultSet {
  columns: string[];
  rows: unknown[][];
}

export interface TeradataResult {
  /** Every result set of the request, in order (SHOW and multi-statement requests return several). */
  resultSets: TeradataResultSet[];
  /** The activity count: rows returned or affected by the request. */
  rowCount: number;
  /**
   * Warnings of a successful response (code and text), when the driver reports them; absent when it does not. A
   * stored procedure that does not compile arrives as a success with warning 5526 "Stored Procedure is not
   * created/replaced due to error(s)" (its SPL messages as the rows); `TeradataConnection` turns that into an error.
   */
  warnings?: { code: number; text: string }[];
}

/** A logged-on session. Methods reject with the driver's own error (mapped by `TeradataConnection`). */
export interface TeradataSession {
  /** Run one request, with `?` parameters when given, and read all of its result sets. */
  run(sql: string, params?: unknown[]): Promise<TeradataResult>;
  /** Turn auto-commit on (default: each request is its own transaction) or off (dbee commits or rolls back). */
  setAutocommit(on: boolean): Promise<void>;
  /** End the open transaction. Only called with auto-commit off. */
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

/** A driver package behind the narrow interface. */
export interface TeradataDriver {
  readonly name: TeradataDriverName | 'fake';
  /** Version of the driver package, for messages. */
  readonly version: string;
  /** Connection parameter keys this driver accepts (both reject unknown keys). */
  readonly acceptedParameters: ReadonlySet<string>;
  /** Log on. `params` values are all strings, as both drivers require. */
  connect(params: Record<string, string>): Promise<TeradataSession>;
}

/** Escape functions shared by both drivers for transaction control (the native library evaluates them). */
export const ESCAPE = {
  autocommitOn: '{fn teradata_nativesql}{fn teradata_autocommit_on}',
  autocommitOff: '{fn teradata_nativesql}{fn teradata_autocommit_off}',
  commit: '{fn teradata_commit}',
  rollback: '{fn teradata_rollback}',
  /** Prefix of a connection function, answered by the driver without a request to the database. */
  nativeSql: '{fn teradata_nativesql}',
} as const;
