import type { Connection } from './connection';

/**
 * How the engine bounds a statement's wait for its locks (PostgreSQL: `lock_timeout`), for `withLockRetry`: each
 * attempt fails after the bound instead of queueing every later reader behind it. A member of the roles that retry on a
 * lock timeout (`ExpandRole`, `BackfillRole`).
 */
export interface LockTimeouts {
  /** Statement that bounds the lock waits of the rest of the current transaction, e.g. `SET LOCAL lock_timeout = '500ms'`. */
  transaction(ms: number): string;
  /**
   * Run `work` with the session's lock waits bounded by `ms` (for a statement that refuses a transaction, `CREATE INDEX
   * CONCURRENTLY`), the session's own bound put back afterwards, whether `work` succeeded or not.
   */
  session<T>(conn: Connection, ms: number, work: () => Promise<T>): Promise<T>;
}
