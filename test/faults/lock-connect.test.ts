import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, LockOptions, ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { SERVER_URL, queryUrl, scratchDatabase } from '../support/pg';

/**
 * The working session opened beside the deployment lock's (`LockOptions.connect`, issue 90): on a server the two
 * connections are made at once instead of one after the other; the working one sends nothing before the lock is held,
 * is not kept idle while the lock is waited for, and is not left open when the lock is not taken.
 */
describe('the working session opened beside the lock [postgres]', () => {
  const engine = createPostgresEngine();
  const context = { workspaceRoot: '/nonexistent' };
  const owner = (pid: number) => ({ user: 'u', host: 'h', pid, since: new Date().toISOString() });
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let environment: ResolvedEnvironment;
  const env = (url: string) => ({ name: 'server', connection: { url } }) as unknown as ResolvedEnvironment;
  /** `engine.connect` for `LockOptions.connect`, each connection it opens kept. */
  const opener = (e: ResolvedEnvironment) => {
    const opened: { conn: Promise<Connection> }[] = [];
    const connect = () => {
      const conn = engine.connect(e, context);
      opened.push({ conn });
      return conn;
    };
    return { opened, connect };
  };
  /**
   * This database's sessions of dbee, by what their application name says: `lock` (the lock's session, tagged with
   * its owner), `working` (a working session not attached: the name it connected with) or `attached` (a working
   * session marked as the holder's).
   */
  const sessions = async () =>
    (
      await queryUrl<{ name: string }>(
        SERVER_URL,
        "SELECT application_name AS name FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee%'",
        [db.name],
      )
    )
      .map(({ name }) =>
        name === 'dbee'
          ? 'working'
          : name.startsWith('dbee-run ')
            ? 'attached'
            : name.startsWith('dbee')
              ? 'lock'
              : name,
      )
      .sort();
  const until = async (f: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await f()); i++) await new Promise((r) => setTimeout(r, 25));
  };

  beforeAll(async () => {
    db = await scratchDatabase('dbee_lock_connect');
    environment = env(db.url);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('a free lock: the working session is opened while the lock is taken, handed over, and sends nothing before', async () => {
    const { opened, connect } = opener(environment);
    const taking = engine.lock(environment, context, 'deploy', { timeoutMs: 5_000, owner: owner(1), connect });
    // Its open began as the lock was asked for, before the lock's own session was opened: not after the lock was held.
    expect(opened).toHaveLength(1);
    const lock = await taking;
    try {
      expect(lock.working).toBe(opened[0]!.conn);
      const working = await lock.working!;
      // Not marked as the holder's working session until the caller attaches it: it sent nothing yet.
      expect(await sessions()).toEqual(['lock', 'working']);
      await lock.attach!(working);
      expect(await sessions()).toEqual(['attached', 'lock']);
      await working.close();
    } finally {
      await lock.release();
    }
    await until(async () => (await sessions()).length === 0);
    expect(await sessions()).toEqual([]);
  });

  it('a lock held by another: the working session is closed as soon as the lock is waited for, and not handed over', async () => {
    const holder = await engine.lock(environment, context, 'deploy', { timeoutMs: 5_000, owner: owner(2) });
    const { opened, connect } = opener(environment);
    let waits = 0;
    const options: LockOptions = { timeoutMs: 30_000, owner: owner(3), connect, onWait: () => waits++ };
    const taking = engine.lock(environment, context, 'deploy', options);
    try {
      await until(async () => waits > 0);
      expect(opened).toHaveLength(1);
      // While it waits: the holder's lock session and the waiter's; no idle working session.
      await until(async () => (await sessions()).length === 2);
      expect(await sessions()).toEqual(['lock', 'lock']);
    } finally {
      await holder.release();
      // Taken once the holder let go, whatever was found above: released, so that no session outlives the case.
      const lock = await taking;
      await lock.release();
      expect(lock.working).toBeUndefined();
    }
  });

  it('a lock not taken (the wait timed out): no session of the waiter is left open', async () => {
    const holder = await engine.lock(environment, context, 'deploy', { timeoutMs: 5_000, owner: owner(4) });
    const { opened, connect } = opener(environment);
    try {
      await expect(
        engine.lock(environment, context, 'deploy', { timeoutMs: 300, owner: owner(5), connect }),
      ).rejects.toThrow(/lock/);
      expect(opened).toHaveLength(1);
      await until(async () => (await sessions()).length === 1);
      expect(await sessions()).toEqual(['lock']);
    } finally {
      await holder.release();
    }
  });

  it('a server that cannot be reached: the lock fails, and the working session that did open is closed', async () => {
    // The lock's own session fails (a database that does not exist); the working one goes to one that does.
    const missing = env(db.url.replace(/\/[^/?]+(\?|$)/, '/dbee_no_such_database$1'));
    const { opened, connect } = opener(environment);
    await expect(
      engine.lock(missing, context, 'deploy', { timeoutMs: 1_000, owner: owner(6), connect }),
    ).rejects.toThrow(/dbee_no_such_database/);
    expect(opened).toHaveLength(1);
    await until(async () => (await sessions()).length === 0);
    expect(await sessions()).toEqual([]);
  });
});
