import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedEnvironment } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { serverShadowStats } from '../../packages/postgres/src/shadow/open-shadow';
import { createDatabase, queryUrl, SERVER_URL } from '../support/pg';

/**
 * Issue 90: a server shadow (`shadow: server`) is wiped when the next shadow of the process takes it, not when it is
 * disposed: the wipe drops every object of the build (0.17-0.27 s after 1,000 objects, which the command that was done
 * with it waited for), and a command that builds one shadow and ends drops the kept one anyway. Nothing runs in the
 * background: the next open waits for the wipe. Server only: the embedded shadow's own test is
 * packages/postgres/src/shadow/embedded-shadow.test.ts.
 */
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still not ${what} after 60 s`);
};

/** Catalog rows of a shadow, read by independent SQL: schemas (owner, privileges, comment), relations, settings. */
const SNAPSHOT = `SELECT
  (SELECT json_agg(json_build_array(nspname, nspowner::regrole::text, nspacl::text, obj_description(oid, 'pg_namespace')) ORDER BY nspname) FROM pg_namespace) AS schemas,
  (SELECT count(*)::int FROM pg_class) AS relations,
  (SELECT count(*)::int FROM pg_proc) AS routines,
  (SELECT count(*)::int FROM pg_type) AS types,
  current_setting('search_path') AS path, current_user AS usr`;

describe('the wipe of a server shadow (shadow: server)', () => {
  const target = `dbee_shadow_wipe_${process.pid}`;
  afterAll(async () => {
    await queryUrl(SERVER_URL, `DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
    await queryUrl(SERVER_URL, `DROP DATABASE IF EXISTS ${target}_big WITH (FORCE)`);
  });

  it('is done when the shadow is taken again, not when it is disposed (a command that ends pays nothing)', async () => {
    const url = await createDatabase(target);
    const environment = { name: 'test', connection: { url } } as unknown as ResolvedEnvironment;
    const engine = createPostgresEngine();
    await engine.release!();
    const open = () => engine.diff!.openShadow('server', environment, { workspaceRoot: process.cwd(), roles: [] });
    const nameOf = (s: { conn: { description?: string } }) =>
      /\(shadow (dbee_shadow_\w+)\)/.exec(s.conn.description ?? '')?.[1];
    const shadowUrl = (name: string) => {
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    };
    try {
      const first = await open();
      const name = nameOf(first)!;
      const fresh = (await first.conn.query(SNAPSHOT)).rows[0];
      await first.conn.execute(`CREATE SCHEMA sales;
        CREATE TABLE sales.orders (id integer PRIMARY KEY, note text);
        CREATE VIEW sales.v AS SELECT id FROM sales.orders;
        CREATE TABLE public.t (id int);
        CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql AS 'SELECT 1';
        CREATE TYPE public.mood AS ENUM ('ok');
        COMMENT ON SCHEMA public IS 'changed';
        REVOKE USAGE ON SCHEMA public FROM PUBLIC`);
      await first.conn.execute('SET search_path = sales');
      const before = { ...serverShadowStats };
      await first.dispose();
      // Kept as it is: what the build made is still there, seen from another session.
      expect(serverShadowStats.kept).toBe(before.kept + 1);
      expect(serverShadowStats.wiped).toBe(before.wiped);
      expect(
        await queryUrl(
          shadowUrl(name),
          `SELECT to_regclass('sales.orders')::text AS orders, to_regclass('t')::text AS t`,
        ),
      ).toEqual([{ orders: 'sales.orders', t: 't' }]);

      // The next shadow takes it, wiped first: the same database, as good as new.
      const second = await open();
      expect(nameOf(second)).toBe(name);
      expect([serverShadowStats.wiped, serverShadowStats.reused, serverShadowStats.discarded]).toEqual([
        before.wiped + 1,
        before.reused + 1,
        before.discarded,
      ]);
      expect((await second.conn.query(SNAPSHOT)).rows[0]).toEqual(fresh);
      await second.conn.execute('CREATE SCHEMA s2; CREATE TABLE s2.t (id int)');
      await second.dispose();

      // The command ends: the kept one is dropped without a wipe first.
      const wiped = serverShadowStats.wiped;
      await engine.release!();
      expect(serverShadowStats.wiped).toBe(wiped);
      await until('dropped', async () => {
        const left = await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        return left.length === 0;
      });
    } finally {
      await engine.release!();
    }
  });

  it('is not done on a shadow whose wipe would take more than a quarter of the lock table: a new database instead', async () => {
    // The wipe takes a lock per object (about five per table with a key) in the table every session of the server
    // shares, as the next command starts beside its own reads: a small server's table filled, the command's lock failed.
    const url = await createDatabase(`${target}_big`);
    const environment = { name: 'test', connection: { url } } as unknown as ResolvedEnvironment;
    const engine = createPostgresEngine();
    await engine.release!();
    const open = () => engine.diff!.openShadow('server', environment, { workspaceRoot: process.cwd(), roles: [] });
    const nameOf = (s: { conn: { description?: string } }) =>
      /\(shadow (dbee_shadow_\w+)\)/.exec(s.conn.description ?? '')?.[1];
    try {
      const small = await open();
      const name = nameOf(small)!;
      // Tables with a key: each is two relations and two types. Enough of them for a quarter of the table.
      const { rows } = await small.conn.query<{ entries: number }>(
        `SELECT current_setting('max_locks_per_transaction')::int * (current_setting('max_connections')::int
           + current_setting('max_prepared_transactions')::int + current_setting('autovacuum_max_workers')::int
           + current_setting('max_worker_processes')::int + current_setting('max_wal_senders')::int + 1) AS entries`,
      );
      const tables = Math.ceil(rows[0]!.entries / 4 / 2 / 4) + 10;
      await small.conn.execute(
        `CREATE SCHEMA big; DO $$ BEGIN FOR i IN 1..${tables} LOOP EXECUTE format('CREATE TABLE big.t%s (id int PRIMARY KEY)', i); END LOOP; END $$`,
      );
      const before = { ...serverShadowStats };
      await small.dispose();
      const next = await open();
      expect(nameOf(next)).not.toBe(name);
      expect([serverShadowStats.wiped, serverShadowStats.discarded]).toEqual([before.wiped, before.discarded + 1]);
      await until('dropped', async () => {
        const left = await queryUrl(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        return left.length === 0;
      });
      await next.dispose();
    } finally {
      await engine.release!();
    }
  });
});
