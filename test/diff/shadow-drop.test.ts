import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine, PgConnection } from '@dbee/postgres';
import { createDatabase, queryUrl, SERVER_URL } from '../support/pg';

/**
 * Issue 40, item 5: dropping a database waits for a checkpoint of the whole server (seconds on a busy one). A scratch
 * database on the server (`shadow: server`) is dropped by the server after dbee has its answer: dbee sends the DROP
 * and closes the session without waiting for it (`PgConnection.leave`); the server runs it to its end, and nothing is
 * left behind.
 */
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still not ${what} after 60 s`);
};
const sessionsOf = async (application: string) =>
  (
    await queryUrl<{ n: number }>(
      SERVER_URL,
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [application],
    )
  )[0]!.n;

describe('a statement left running when the session closes (PgConnection.leave)', () => {
  const table = `dbee_leave_probe_${process.pid}`;
  afterAll(async () => {
    await queryUrl(SERVER_URL, `DROP TABLE IF EXISTS ${table}`);
  });

  it('returns before the statement ends; the server runs it to its end, then ends the session', async () => {
    const lock = await PgConnection.open({ connectionString: SERVER_URL }, 'lock');
    const application = `dbee-leave-${process.pid}`;
    const left = await PgConnection.open({ connectionString: SERVER_URL, application_name: application }, 'left');
    try {
      await lock.execute(`SELECT pg_advisory_lock(${process.pid})`);
      // It waits for the lock this test holds: it cannot have ended when leave() returns.
      await left.leave(`DO $$ BEGIN PERFORM pg_advisory_lock(${process.pid}); CREATE TABLE ${table} (id int); END $$`);
      expect(await sessionsOf(application)).toBe(1);
      await lock.execute(`SELECT pg_advisory_unlock(${process.pid})`);
      await until('ended', async () => (await sessionsOf(application)) === 0);
      expect(await queryUrl(SERVER_URL, `SELECT to_regclass($1) AS t`, [table])).toEqual([{ t: table }]);
    } finally {
      await lock.close();
      await left.close();
    }
  });
});

describe('the scratch database of a diff on the server (shadow: server)', () => {
  const target = `dbee_shadow_target_${process.pid}`;
  afterAll(async () => {
    await queryUrl(SERVER_URL, `DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
  });

  it('is wiped and kept for the next command of the process, then gone when the command ends, with no session left, and the target is free at once', async () => {
    const url = await createDatabase(target);
    const environment = { name: 'test', connection: { url } } as unknown as ResolvedEnvironment;
    const engine = createPostgresEngine();
    const open = () => engine.diff!.openShadow('server', environment, { workspaceRoot: process.cwd(), roles: [] });
    const nameOf = (s: { conn: { description?: string } }) =>
      /\(shadow (dbee_shadow_\w+)\)/.exec(s.conn.description ?? '')?.[1];
    const first = await open();
    const name = nameOf(first);
    expect(name).toMatch(/^dbee_shadow_/);
    await first.conn.execute('CREATE SCHEMA s; CREATE TABLE s.t (id int); CREATE TABLE t (id int)');
    await first.dispose();
    // The next shadow of the process is the same database, as new: what the first one built is gone.
    const second = await open();
    expect(nameOf(second)).toBe(name);
    const left = await second.conn.query(
      `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('s', 'public')`,
    );
    expect(left.rows).toEqual([]);
    // What the wipe cannot undo (a publication lives outside every schema) is never handed on: that one is dropped.
    await second.conn.execute('CREATE PUBLICATION dbee_probe');
    await second.dispose();
    const third = await open();
    const other = nameOf(third);
    expect(other).not.toBe(name);
    await until('dropped', async () => {
      const left = await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      return left.length === 0;
    });
    await third.dispose();
    // The command ended: the kept one goes (the dbee command and the Nx executors call release).
    await engine.release!();
    const shadowName = other!;
    const dropping = await queryUrl<{ datname: string }>(
      SERVER_URL,
      'SELECT datname FROM pg_stat_activity WHERE query = $1',
      [`DROP DATABASE IF EXISTS ${shadowName} WITH (FORCE)`],
    );
    expect(dropping.filter((s) => s.datname !== 'postgres')).toEqual([]);
    // The drop runs on a session of the maintenance database: nothing of dbee's is left on the target, which a script
    // may drop right after the diff (without FORCE: it would fail while a session is connected to it).
    await queryUrl(SERVER_URL, `DROP DATABASE ${target}`);
    await until('dropped', async () => {
      const left = await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [shadowName]);
      return left.length === 0;
    });
    const sessions = await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_stat_activity WHERE datname = $1', [shadowName]);
    expect(sessions).toEqual([]);
  });
});
