import type { Connection, ExpandStatement, LockTimeouts } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import { withLockRetry, type LockRetryOptions } from './lock-retry';

/**
 * Run one statement of the expand/contract strategy under `lock_timeout`, retried on a lock timeout
 * (`withLockRetry`). Its `clear` runs before every attempt, and once more when the statement fails, so that what a
 * cut-short attempt left (an INVALID index) is neither taken for done by the next attempt nor left behind; its
 * `check` runs after it, and a check that does not hold fails the statement with `EXPAND_INCOMPLETE` (exit 2): the
 * strategy never reports a phase done over an object that is not usable.
 */
export async function runExpandStatement(
  conn: Connection,
  timeouts: LockTimeouts,
  s: ExpandStatement,
  options: Omit<LockRetryOptions, 'transaction' | 'before'> = {},
): Promise<void> {
  const clearAfterFailure = async () => {
    if (s.clear)
      await withLockRetry(conn, timeouts, [s.clear], { lockTimeoutMs: options.lockTimeoutMs, maxAttempts: 1 }).catch(
        () => undefined,
      );
  };
  try {
    await withLockRetry(conn, timeouts, [s.sql], {
      ...options,
      transaction: s.transactional,
      ...(s.clear ? { before: [s.clear] } : {}),
    });
  } catch (e) {
    await clearAfterFailure();
    throw e;
  }
  if (!s.check) return;
  const r = await conn.query<{ ok: unknown }>(s.check);
  if (r.rows[0]?.ok === true) return;
  await clearAfterFailure();
  throw new DbeeError(`${s.what}: the statement ended, but what it makes is not usable`, {
    code: 'EXPAND_INCOMPLETE',
    exitCode: ExitCode.applyFailed,
    hint: 'run the same command again: the phase resumes at this statement',
    details: { statement: s.sql, check: s.check },
  });
}
