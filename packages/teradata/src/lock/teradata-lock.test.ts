import { DbeeError, type LockOwner } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { acquireTeradataLock } from './teradata-lock';
import { createFakeConnection, FakeTeradataSession } from '../../testing/fake-connection';

interface Row {
  token: string;
  user: string;
  host: string;
  pid: number;
  deployment: string | null;
  acquired: number;
  expires: number;
}

/** A fake session whose lock table behaves like the real one, on a server clock the test controls. */
function lockServer(
  initial: Record<string, Row> = {},
  options: { missingTable?: boolean; missingDatabase?: boolean } = {},
) {
  const rows = new Map(Object.entries(initial));
  const clock = { now: Date.UTC(2026, 10, 21, 10, 30, 0) };
  let tableExists = !options.missingTable;
  const ts = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const session = new FakeTeradataSession()
    .on(/^CREATE MULTISET TABLE DBEE_LEDGER\."lock"/, () => {
      tableExists = true;
      return {};
    })
    .on(/^INSERT INTO DBEE_LEDGER\."lock"/, (_sql, p) => {
      if (options.missingDatabase) return { error: { code: 3802, text: "Database 'DBEE_LEDGER' does not exist." } };
      if (!tableExists) return { error: { code: 3807, text: "Object 'DBEE_LEDGER.lock' does not exist." } };
      const key = String(p[0]);
      if (rows.has(key))
        return { error: { code: 2801, text: 'Duplicate unique prime key error in DBEE_LEDGER.lock.' } };
      rows.set(key, {
        token: String(p[1]),
        user: String(p[2]),
        host: String(p[3]),
        pid: Number(p[4]),
        deployment: p[5] as string | null,
        acquired: clock.now,
        expires: clock.now + 10 * 60_000,
      });
      return { rowCount: 1 };
    })
    .on(
      /^DELETE FROM DBEE_LEDGER\."lock" WHERE "lock_key" = \? AND "expires_at" < CURRENT_TIMESTAMP\(6\)$/,
      (_sql, p) => {
        const r = rows.get(String(p[0]));
        if (r && r.expires < clock.now) {
          rows.delete(String(p[0]));
          return { rowCount: 1 };
        }
        return { rowCount: 0 };
      },
    )
    .on(/^DELETE FROM DBEE_LEDGER\."lock" WHERE "lock_key" = \? AND "owner_token" = \?$/, (_sql, p) => {
      const r = rows.get(String(p[0]));
      if (r && r.token === p[1]) rows.delete(String(p[0]));
      return { rowCount: r && r.token === p[1] ? 1 : 0 };
    })
    .on(/^UPDATE DBEE_LEDGER\."lock" SET "expires_at"/, (_sql, p) => {
      const r = rows.get(String(p[0]));
      if (r && r.token === p[1]) r.expires = clock.now + 10 * 60_000;
      return { rowCount: r ? 1 : 0 };
    })
    .on(/^SELECT "owner_user"/, (_sql, p) => {
      const r = rows.get(String(p[0]));
      return {
        rows: r
          ? [
              {
                owner_user: r.user,
                owner_host: r.host,
                owner_pid: r.pid,
                deployment_id: r.deployment,
                acquired_at: ts(r.acquired),
                expires_at: ts(r.expires),
              },
            ]
          : [],
      };
    });
  return { session, rows, clock, conn: createFakeConnection(session) };
}

const me: LockOwner = { user: 'bob', host: 'ci-3', pid: 99, since: '2026-11-21T10:30:00Z', deploymentId: 'd-2' };
const alice: Row = {
  token: 't-alice',
  user: 'alice',
  host: 'build-7',
  pid: 4242,
  deployment: 'd-1',
  acquired: Date.UTC(2026, 10, 21, 10, 0, 0),
  expires: Date.UTC(2026, 10, 21, 10, 40, 0),
};

describe('lock row', () => {
  it('acquires a free lock by INSERT and releases it by DELETE of its own row', async () => {
    const { rows, conn } = lockServer();
    const h = await acquireTeradataLock(conn, 'sales@test', {
      database: 'DBEE_LEDGER',
      timeoutMs: 1000,
      owner: me,
      heartbeat: false,
    });
    expect(rows.get('sales@test')).toMatchObject({
      user: 'bob',
      host: 'ci-3',
      pid: 99,
      deployment: 'd-2',
      token: h.token,
    });
    await h.release();
    await h.release();
    expect(rows.has('sales@test')).toBe(false);
  });

  it('held by another owner: waits, calls onWait with the holder, then fails naming the holder', async () => {
    const { clock, conn, rows } = lockServer({ 'sales@test': alice });
    const waits: (LockOwner | undefined)[] = [];
    const sleeps: number[] = [];
    const started = clock.now;
    const e = await acquireTeradataLock(conn, 'sales@test', {
      database: 'DBEE_LEDGER',
      timeoutMs: 3000,
      pollMs: 1000,
      owner: me,
      heartbeat: false,
      onWait: (h) => waits.push(h),
      clock: () => clock.now,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.now += ms;
      },
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DbeeError);
    expect((e as DbeeError).code).toBe('LOCK_BUSY');
    expect((e as DbeeError).message).toBe(
      'another deployment holds the lock on sales@test: alice@build-7 (pid 4242) since 2026-11-21 10:00:00.000, deployment d-1; gave up after 3s',
    );
    expect(waits).toHaveLength(3);
    expect(waits[0]).toEqual({
      user: 'alice',
      host: 'build-7',
      pid: 4242,
      since: '2026-11-21 10:00:00.000',
      expiresAt: '2026-11-21 10:40:00.000',
      deploymentId: 'd-1',
    });
    expect(sleeps).toEqual([1000, 1000, 1000]);
    expect(clock.now - started).toBe(3000);
    expect(rows.get('sales@test')!.user).toBe('alice');
  });

  it('takes over a row whose holder stopped refreshing it (expired)', async () => {
    const { clock, conn, rows } = lockServer({
      'sales@test': { ...alice, expires: Date.UTC(2026, 10, 21, 10, 29, 0) },
    });
    const h = await acquireTeradataLock(conn, 'sales@test', {
      database: 'DBEE_LEDGER',
      timeoutMs: 0,
      owner: me,
      heartbeat: false,
      clock: () => clock.now,
    });
    expect(rows.get('sales@test')).toMatchObject({ user: 'bob', token: h.token });
  });

  it('gets the lock once the holder releases it while we wait', async () => {
    const { clock, conn, rows } = lockServer({ 'sales@test': alice });
    const h = await acquireTeradataLock(conn, 'sales@test', {
      database: 'DBEE_LEDGER',
      timeoutMs: 10_000,
      pollMs: 500,
      owner: me,
      heartbeat: false,
      clock: () => clock.now,
      sleep: async (ms) => {
        clock.now += ms;
        rows.delete('sales@test');
      },
    });
    expect(rows.get('sales@test')!.token).toBe(h.token);
  });

  it('refresh pushes expires_at forward on the server clock', async () => {
    const { clock, conn, rows } = lockServer();
    const h = await acquireTeradataLock(conn, 'k', {
      database: 'DBEE_LEDGER',
      timeoutMs: 0,
      owner: me,
      heartbeat: false,
    });
    clock.now += 5 * 60_000;
    await h.refresh();
    expect(rows.get('k')!.expires).toBe(clock.now + 10 * 60_000);
  });

  it('creates the lock table when it is missing, and says how to create a missing ledger database', async () => {
    const { session, conn, rows } = lockServer({}, { missingTable: true });
    await acquireTeradataLock(conn, 'k', { database: 'DBEE_LEDGER', timeoutMs: 0, owner: me, heartbeat: false });
    expect(rows.has('k')).toBe(true);
    expect(session.log.some((l) => l.sql.startsWith('CREATE MULTISET TABLE DBEE_LEDGER."lock"'))).toBe(true);

    const missing = lockServer({}, { missingDatabase: true });
    await expect(
      acquireTeradataLock(missing.conn, 'k', { database: 'DBEE_LEDGER', timeoutMs: 0, owner: me, heartbeat: false }),
    ).rejects.toMatchObject({
      code: 'LEDGER_MISSING',
      hint: expect.stringContaining('CREATE DATABASE DBEE_LEDGER FROM <owner>'),
    });
  });
});
