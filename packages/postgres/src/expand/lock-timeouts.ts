import type { Connection, LockTimeouts } from '@dbee/core';

/**
 * PostgreSQL's lock timeouts (`lock_timeout`): `SET LOCAL` for a transaction; for a statement run on its own, the
 * session's setting read, set, and put back with `set_config` (a `RESET` would drop the deployment's own
 * `lock_timeout`, set by its session setup).
 */
export const postgresLockTimeouts: LockTimeouts = {
  transaction: (ms) => `SET LOCAL lock_timeout = '${Math.max(1, Math.round(ms))}ms'`,
  async session<T>(conn: Connection, ms: number, work: () => Promise<T>): Promise<T> {
    const before = await conn.query<{ v: string }>(`SELECT current_setting('lock_timeout') AS v`);
    await conn.execute(`SET lock_timeout = '${Math.max(1, Math.round(ms))}ms'`);
    try {
      return await work();
    } finally {
      await conn
        .query(`SELECT set_config('lock_timeout', $1, false)`, [before.rows[0]?.v ?? '0'])
        .catch(() => undefined);
    }
  },
};
