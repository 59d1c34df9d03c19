import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine, PgConnection } from '@dbee/postgres';
import { createDatabase, queryUrl, SERVER_URL } from '../support/pg';

/**
 * Issue 90: a server shadow (`shadow: server`) is wiped for the next shadow of the process after the command has its
 * answer, not before: `dispose` hands it on with its wipe still running (dropping every object of a 1,000-object
 * build took 0.1-0.3 s, which a diff waited for), and the next shadow waits for the wipe. Server only: the embedded
 * shadow is wiped when it is next taken (packages/postgres/src/shadow/embedded-shadow.test.ts).
 */
describe('the wipe of a server shadow (shadow: server)', () => {
  const target = `dbee_shadow_wipe_${process.pid}`;
  afterAll(async () => {
    await queryUrl(SERVER_URL, `DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
  });

  it('is not waited for by dispose; the next shadow waits for it and gets the database as new', async () => {
    const url = await createDatabase(target);
    const environment = { name: 'test', connection: { url } } as unknown as ResolvedEnvironment;
    const engine = createPostgresEngine();
    const open = () => engine.diff!.openShadow('server', environment, { workspaceRoot: process.cwd(), roles: [] });
    const nameOf = (s: { conn: { description?: string } }) =>
      /\(shadow (dbee_shadow_\w+)\)/.exec(s.conn.description ?? '')?.[1];
    const first = await open();
    const name = nameOf(first)!;
    await first.conn.execute('CREATE SCHEMA s; CREATE TABLE s.t (id int)');
    // Another session holds a lock on what the wipe drops: the wipe waits for it.
    const shadowUrl = new URL(url);
    shadowUrl.pathname = `/${name}`;
    const holder = await PgConnection.open({ connectionString: shadowUrl.toString() }, 'holder');
    try {
      await holder.execute('BEGIN; LOCK TABLE s.t IN ACCESS SHARE MODE');
      const disposed = first.dispose().then(() => 'returned');
      const waiting = async () =>
        (
          await queryUrl<{ n: number }>(
            SERVER_URL,
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
            [name],
          )
        )[0]!.n;
      for (let i = 0; i < 600 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await waiting()).toBe(1);
      // The wipe waits, and dispose has returned (it waited for the wipe before).
      expect(await Promise.race([disposed, new Promise((r) => setImmediate(() => r('pending')))])).toBe('returned');
      const second = open();
      await holder.execute('COMMIT');
      await disposed;
      const next = await second;
      expect(nameOf(next)).toBe(name);
      const left = await next.conn.query(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('s', 'public')`,
      );
      expect(left.rows).toEqual([]);
      await next.dispose();
    } finally {
      await holder.close();
      await engine.release!();
    }
  });
});
