import type { Connection, LockTimeouts } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';

/** Default `lock_timeout` of a statement run through `withLockRetry`, in milliseconds (pgroll's). */
export const DEFAULT_LOCK_TIMEOUT_MS = 500;
/** Default number of attempts before `withLockRetry` gives up. */
export const DEFAULT_LOCK_ATTEMPTS = 8;
/** Default delay before the second attempt, in milliseconds; it doubles at each attempt, with jitter. */
export const DEFAULT_LOCK_BASE_DELAY_MS = 200;
/** Default longest delay between two attempts, in milliseconds. */
export const DEFAULT_LOCK_MAX_DELAY_MS = 10_000;

/** One attempt of `withLockRetry`, reported to `LockRetryOptions.onAttempt` (the caller records it in the ledger). */
export interface LockAttempt {
  /** 1-based number of the attempt. */
  attempt: number;
  /** Milliseconds from the start of this attempt to its end (its own lock wait included). */
  waitedMs: number;
  /** The lock timeout's message when this attempt timed out; absent when it succeeded. */
  error?: string;
  /** Milliseconds `withLockRetry` sleeps before the next attempt (absent for the last one, and after success). */
  delayMs?: number;
}

export interface LockRetryOptions {
  /** `lock_timeout` of each attempt, in milliseconds. Default 500. */
  lockTimeoutMs?: number;
  /** Attempts before giving up with `LOCK_RETRY_EXHAUSTED` (exit 2). Default 8; at least 1. */
  maxAttempts?: number;
  /** Delay before the second attempt, in milliseconds; doubled at each later attempt, then jittered. Default 200. */
  baseDelayMs?: number;
  /** Longest delay between two attempts, in milliseconds. Default 10,000. */
  maxDelayMs?: number;
  /**
   * Whether the statements run in one transaction (`SET LOCAL lock_timeout`, all or nothing, retried whole). Default
   * true. False for statements that refuse a transaction (`CREATE INDEX CONCURRENTLY`): each statement then runs on
   * its own under a session `SET lock_timeout` (put back after), and a retry starts from the statement that timed out.
   */
  transaction?: boolean;
  /**
   * Statements run before every attempt (statements `work` only), under the same lock timeout: in the attempt's
   * transaction, or with `transaction: false` each on its own right before the statement being tried. They clear what
   * a cut-short attempt left behind (an INVALID index), so that a retry never takes that for done.
   */
  before?: readonly string[];
  /** Called after every attempt, successful or not. */
  onAttempt?: (attempt: LockAttempt) => void;
  /** Stops waiting between attempts: the pending delay ends and the abort reason is thrown. */
  signal?: AbortSignal;
  /** Source of jitter in [0, 1); default `Math.random` (tests pass a fixed one). */
  random?: () => number;
}

/** What `withLockRetry` did: the work's value, and the attempts it took. */
export interface LockRetryResult<T> {
  value: T;
  /** Attempts made, the successful one included. */
  attempts: number;
  /** Milliseconds spent in all attempts and delays. */
  totalMs: number;
}

/**
 * Run `work` so that it never waits long behind a lock another session holds: under a lock timeout (`timeouts`, the
 * engine's; 500 ms by default), retried on a lock timeout (SQLSTATE 55P03) after an exponential, jittered delay, up to `maxAttempts`;
 * then `LOCK_RETRY_EXHAUSTED` (exit 2), never an endless wait. Every other error is thrown at once.
 *
 * `work` is either statements (no parameters), run in order in one transaction (or each on its own, see
 * `LockRetryOptions.transaction`), or a function given the connection inside a transaction whose `lock_timeout` is
 * already set: it must be safe to run again, since a timed-out attempt is rolled back and retried whole.
 */
export async function withLockRetry<T = void>(
  connection: Connection,
  timeouts: LockTimeouts,
  work: readonly string[] | ((tx: Connection) => Promise<T>),
  options: LockRetryOptions = {},
): Promise<LockRetryResult<T>> {
  const lockTimeoutMs = Math.max(1, Math.round(options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS));
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? DEFAULT_LOCK_ATTEMPTS));
  const started = Date.now();
  const setLocal = timeouts.transaction(lockTimeoutMs);
  const before = options.before ?? [];

  let run: () => Promise<T>;
  let describe: () => string;
  if (typeof work === 'function') {
    run = () =>
      connection.transaction(async (tx) => {
        await tx.execute(setLocal);
        return work(tx);
      });
    describe = () => 'a transaction';
  } else if (options.transaction === false) {
    // One statement at a time, each on its own (no transaction): a retry resumes at the statement that timed out.
    let next = 0;
    run = async () => {
      for (; next < work.length; next++)
        for (const sql of [...before, work[next]!])
          await timeouts.session(connection, lockTimeoutMs, () => connection.execute(sql));
      return undefined as T;
    };
    describe = () => abbreviate(work[next] ?? '');
  } else {
    run = () =>
      connection.transaction(async (tx) => {
        await tx.execute(setLocal);
        for (const sql of [...before, ...work]) await tx.execute(sql);
        return undefined as T;
      });
    describe = () => abbreviate(work.join('; '));
  }

  let last: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const t0 = Date.now();
    try {
      const value = await run();
      options.onAttempt?.({ attempt, waitedMs: Date.now() - t0 });
      return { value, attempts: attempt, totalMs: Date.now() - started };
    } catch (e) {
      if (!isLockTimeout(e)) throw e;
      last = e;
      const delayMs = attempt < maxAttempts ? backoffMs(attempt, options) : undefined;
      options.onAttempt?.({ attempt, waitedMs: Date.now() - t0, error: firstLine(e), delayMs });
      if (delayMs !== undefined) await sleep(delayMs, options.signal);
    }
  }
  throw new DbeeError(
    `gave up after ${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'} to take the locks for ${describe()}: ` +
      `each waited ${lockTimeoutMs} ms (lock_timeout) behind another session\n  last: ${firstLine(last)}`,
    {
      code: 'LOCK_RETRY_EXHAUSTED',
      exitCode: ExitCode.applyFailed,
      hint: 'a long transaction holds a lock on the table: let it finish (or end it), then run again; or raise the lock timeout or the number of attempts',
      details: { attempts: maxAttempts, lockTimeoutMs, totalMs: Date.now() - started },
      cause: last,
    },
  );
}

/**
 * The delay before attempt `attempt + 1`: `baseDelayMs · 2^(attempt-1)`, capped at `maxDelayMs`, then "equal jitter"
 * (half fixed, half random) so that several waiting deployments do not retry in step.
 */
export function backoffMs(
  attempt: number,
  options: Pick<LockRetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {},
): number {
  const base = options.baseDelayMs ?? DEFAULT_LOCK_BASE_DELAY_MS;
  const cap = options.maxDelayMs ?? DEFAULT_LOCK_MAX_DELAY_MS;
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  const random = options.random ?? Math.random;
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** Whether `e` is a lock timeout (SQLSTATE 55P03), as the engine maps it or raw from a driver. */
export function isLockTimeout(e: unknown): boolean {
  if (e instanceof DbeeError) return e.code === 'LOCK_TIMEOUT' || e.details.sqlstate === '55P03';
  return (e as { code?: unknown } | null)?.code === '55P03';
}

/** Wait `ms`, or until `signal` aborts (rejecting with its reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0] ?? message;
}

function abbreviate(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 160 ? one.slice(0, 157) + '...' : one;
}
