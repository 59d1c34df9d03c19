import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLockRetry, type LockAttempt } from '@dbee/core';
import { PgConnection, postgresLockTimeouts } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

let db: Awaited<ReturnType<typeof scratchDatabase>>;
let conn: PgConnection;
let holder: PgConnection;

beforeAll(async () => {
  db = await scratchDatabase('dbee_lr');
  conn = await PgConnection.open({ connectionString: db.url }, 'scratch');
  holder = await PgConnection.open({ connectionString: db.url }, 'holder');
  await conn.execute(`CREATE TABLE public.locked (id int PRIMARY KEY)`);
});
afterAll(async () => {
  await holder?.close();
  await conn?.close();
  await db?.drop();
});

describe('withLockRetry on a server', () => {
  it('retries while another session holds an ACCESS EXCLUSIVE lock, and succeeds once it is released', async () => {
    await holder.execute('BEGIN; LOCK TABLE public.locked IN ACCESS EXCLUSIVE MODE');
    const attempts: LockAttempt[] = [];
    const pending = withLockRetry(conn, postgresLockTimeouts, ['ALTER TABLE public.locked ADD COLUMN a int'], {
      lockTimeoutMs: 50,
      baseDelayMs: 20,
      maxAttempts: 50,
      onAttempt: (a) => {
        attempts.push(a);
        if (a.attempt === 3) void holder.execute('COMMIT');
      },
    });
    const r = await pending;
    expect(r.attempts).toBeGreaterThanOrEqual(4);
    expect(attempts.slice(0, 3).every((a) => a.error?.includes('lock timeout'))).toBe(true);
    expect(attempts[attempts.length - 1]!.error).toBeUndefined();
    const cols = await conn.query(
      `SELECT 1 FROM pg_attribute WHERE attrelid = 'public.locked'::regclass AND attname = 'a'`,
    );
    expect(cols.rows).toHaveLength(1);
  });

  it('gives up after the limit with LOCK_RETRY_EXHAUSTED (exit 2), never an endless wait', async () => {
    await holder.execute('BEGIN; LOCK TABLE public.locked IN ACCESS EXCLUSIVE MODE');
    const attempts: LockAttempt[] = [];
    try {
      const e = await withLockRetry(conn, postgresLockTimeouts, ['ALTER TABLE public.locked ADD COLUMN b int'], {
        lockTimeoutMs: 30,
        baseDelayMs: 5,
        maxAttempts: 4,
        onAttempt: (a) => attempts.push(a),
      }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'LOCK_RETRY_EXHAUSTED', exitCode: 2 });
      expect((e as Error).message).toContain('gave up after 4 attempts');
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
      expect(attempts.every((a) => a.error)).toBe(true);
    } finally {
      await holder.execute('COMMIT');
    }
  });

  it('runs a statement that refuses a transaction on its own, retries it, and puts the session lock_timeout back', async () => {
    await conn.execute(`SET lock_timeout = '7s'`);
    await holder.execute('BEGIN; LOCK TABLE public.locked IN ACCESS EXCLUSIVE MODE');
    const attempts: LockAttempt[] = [];
    const r = await withLockRetry(
      conn,
      postgresLockTimeouts,
      ['CREATE INDEX CONCURRENTLY locked_idx ON public.locked (id)'],
      {
        transaction: false,
        lockTimeoutMs: 50,
        baseDelayMs: 20,
        maxAttempts: 50,
        onAttempt: (a) => {
          attempts.push(a);
          if (a.attempt === 2) void holder.execute('COMMIT');
        },
      },
    );
    expect(r.attempts).toBeGreaterThanOrEqual(3);
    expect(attempts[0]!.error).toContain('lock timeout');
    const index = await conn.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.locked_idx'::regclass`,
    );
    expect(index.rows).toEqual([{ valid: true }]);
    expect((await conn.query<{ v: string }>(`SELECT current_setting('lock_timeout') AS v`)).rows[0]!.v).toBe('7s');
    await conn.execute('RESET lock_timeout');
  });
});
