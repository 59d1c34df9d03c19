import type { Connection } from '@dbee/core';
import { loadPglite } from '../connection/open';
import { PgConnection } from '../connection/postgres-connection';
import { onDatabase, type PostgresTarget } from '../connection/target';
import { censusOf, censusSql, openEmbeddedShadow, wipedAsNew } from './embedded-shadow';
import { removeLeftShadows, shadowComment, shadowName } from './shadow-leftovers';
import { dropShadowRoles, ensureShadowRoles } from './shadow-roles';

/**
 * A scratch database for building desired schemas: PGlite in memory, or (`shadow: server`) a new database on
 * the environment's own server, for exact version parity, named and commented so that the next one removes it when
 * its run was killed (shadow-leftovers.ts). Either is kept when disposed, for the next shadow of the process, and
 * wiped when that one takes it (the server's below, `KEPT_IDLE_MS`; the embedded one's, embedded-shadow.ts).
 */
export async function openShadow(
  kind: 'embedded' | 'server',
  target: PostgresTarget,
  workspaceRoot?: string,
  roles: readonly string[] = [],
): Promise<{ conn: Connection; side?: () => Promise<Connection | undefined>; dispose(): Promise<void> }> {
  if (kind === 'embedded' || target.kind === 'embedded') {
    const { PgliteConnection, pgliteTemplate } = await loadPglite();
    return openEmbeddedShadow(
      async () =>
        PgliteConnection.open(null, 'pglite:shadow', workspaceRoot ? await pgliteTemplate(workspaceRoot) : undefined),
      roles,
    );
  }
  const server = serverKey(target);
  const reused = await takeKept(server);
  if (reused) {
    // What a killed run left is removed by every command that takes a scratch database, a kept one too.
    await removeLeftShadows(reused.conn);
    return serverShadow(target, reused.name, reused.conn, reused.pristine, roles);
  }
  const name = shadowName();
  const admin = await PgConnection.open(target.config, target.description);
  try {
    // What a killed run left (its name and comment say whose), then this one, recorded the same way.
    await removeLeftShadows(admin);
    await admin.execute(`CREATE DATABASE ${name}`);
    await admin.execute(shadowComment(name));
  } finally {
    await admin.close();
  }
  let conn: PgConnection;
  try {
    conn = await PgConnection.open(onDatabase(target.config, name), `${target.description} (shadow ${name})`);
  } catch (e) {
    await dropShadow(target, name, []);
    throw e;
  }
  // The census a wiped shadow must equal to be kept. A server short of locks for it at this moment (another session
  // of the command reading a large catalog holds the shared lock table) only means this shadow is not kept.
  const pristine = await census(conn).catch(() => null);
  return serverShadow(target, name, conn, pristine, roles);
}

/**
 * A server shadow over `conn` (database `name`), with `roles` made. Disposed without roles made for it, it is kept as
 * it is for the next shadow of this process on the same server (`keep`), which wipes it; else dropped.
 */
async function serverShadow(
  target: PostgresTarget & { kind: 'server' },
  name: string,
  conn: PgConnection,
  pristine: string | null,
  roles: readonly string[],
): Promise<{ conn: Connection; side?: () => Promise<Connection | undefined>; dispose(): Promise<void> }> {
  let made: string[] = [];
  try {
    made = await ensureShadowRoles(conn, roles);
  } catch (e) {
    await conn.close();
    await dropShadow(target, name, made);
    throw e;
  }
  let side: Promise<PgConnection | undefined> | undefined;
  let disposed = false;
  return {
    conn,
    side: () =>
      (side ??= PgConnection.open(onDatabase(target.config, name), `${target.description} (shadow ${name})`).catch(
        () => undefined,
      )),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await (await side)?.close();
      if (!made.length && pristine !== null && keep(serverKey(target), { target, name, conn, pristine })) return;
      await conn.close();
      await dropShadow(target, name, made);
    },
  };
}

/**
 * Drop a server shadow. Dropping a database waits for a checkpoint of the whole server (seconds on a busy one): the
 * server drops the scratch database after dbee has its answer, without dbee waiting. Roles made for it must wait for
 * it. The drop is left running on a session of the maintenance database, not the target's: the target is free for
 * what comes next (a DROP DATABASE of it would wait for that session, or with FORCE end the drop half-way).
 */
async function dropShadow(target: PostgresTarget & { kind: 'server' }, name: string, made: string[]): Promise<void> {
  const drop = `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`;
  if (!made.length) {
    const maintenance = await PgConnection.open(onDatabase(target.config, 'postgres'), target.description).catch(
      () => null,
    );
    if (maintenance) return maintenance.leave(drop).catch(() => maintenance.close());
  }
  const admin = await PgConnection.open(target.config, target.description).catch(() => null);
  if (!admin) return;
  try {
    await admin.execute(drop).catch(() => {});
    await dropShadowRoles(admin, made);
  } finally {
    await admin.close();
  }
}

/**
 * The server shadow kept for reuse within this process: creating a database copies its template (about 0.2-0.3 s of
 * the server's time, with its write-ahead log), dropping it waits for a checkpoint, where wiping one costs a few
 * milliseconds, and a process often needs several one after the other: a verified dry run builds the desired model,
 * then copies the target; an Nx task process or a test runs many commands. A disposed shadow is kept as it is, and the
 * next shadow of the process on the same server wipes it as the embedded one is wiped (`RESET_SHADOW`) and takes it
 * only if its census (censusSql('database')) then equals the one taken when it was new; else it is dropped, and a new
 * database made. The wipe is left to that next open, not done at `dispose`: dropping every object of a 1,000-object
 * build took 0.17-0.27 s, which the command that was done with the shadow waited for, and a command that builds one
 * shadow and ends (a dbee process) drops the kept one without a wipe. Nothing runs in the background: the wipe holds a
 * lock per object until it commits, in the server's shared lock table, and the next open waits for it, so those locks
 * are released before the next command builds anything; one too big for a quarter of that table is dropped instead
 * (`wipeFits`). At most one is kept; it is dropped after
 * {@link KEPT_IDLE_MS} unused, and when the command ends (`releaseKeptShadow`: the dbee command and the Nx executors
 * call the engines' `release`). It keeps its session, so no other dbee process takes it for a left one
 * (`removeLeftShadows`).
 */
export const KEPT_IDLE_MS = 5_000;

interface KeptShadow {
  target: PostgresTarget & { kind: 'server' };
  name: string;
  conn: PgConnection;
  pristine: string;
}

let kept: { key: string; shadow: KeptShadow; timer: NodeJS.Timeout } | null = null;

/** Counters for tests: server shadows kept, taken again, wiped, and found unfit (dropped) when taken. */
export const serverShadowStats = { kept: 0, reused: 0, wiped: 0, discarded: 0 };

function keep(key: string, shadow: KeptShadow): boolean {
  if (kept) return false;
  const timer = setTimeout(() => void releaseKeptShadow(), KEPT_IDLE_MS);
  timer.unref();
  kept = { key, shadow, timer };
  serverShadowStats.kept++;
  return true;
}

/** The kept shadow of this server and user, wiped as new; null when there is none, or it could not be (dropped). */
async function takeKept(key: string): Promise<KeptShadow | null> {
  if (kept?.key !== key) return null;
  const { shadow, timer } = kept;
  clearTimeout(timer);
  kept = null;
  const fits = await wipeFits(shadow.conn);
  if (fits) serverShadowStats.wiped++;
  if (!fits || !(await wipedAsNew(shadow.conn, shadow.pristine, CENSUS))) {
    serverShadowStats.discarded++;
    await shadow.conn.close().catch(() => {});
    await dropShadow(shadow.target, shadow.name, []);
    return null;
  }
  serverShadowStats.reused++;
  return shadow;
}

/**
 * Whether wiping the shadow takes at most a quarter of its server's lock table. The wipe drops every object in one
 * transaction and holds a lock per object until it commits (about five per table, view or routine, its row type,
 * indexes and constraints included), in the table that every session of the server shares (`max_locks_per_transaction`
 * x its sessions; about 7,800 entries on a default server). The wipe runs as the next command starts, beside its own
 * reads of the live side and its lock: a wipe of a 300-object build filled a small server's table and the command's
 * lock failed with "out of shared memory" (test/diff/shadow-lock-table.test.ts). A shadow bigger than that is dropped
 * instead, as one the wipe cannot make new: wiping it costs about as much as making a new database (0.2-0.3 s at 1,000
 * objects), so a new one is not slower. False too when the size cannot be read.
 */
async function wipeFits(conn: PgConnection): Promise<boolean> {
  try {
    const { rows } = await conn.query<{ fits: boolean }>(WIPE_FITS);
    return rows[0]?.fits === true;
  } catch {
    return false;
  }
}

/** Twice the relations, types and routines of the schemas a wipe drops, against a quarter of the lock table. */
const WIPE_FITS = `WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')
                      AND nspname NOT LIKE 'pg\\_%'),
     objects AS (SELECT (SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM ns))
                      + (SELECT count(*) FROM pg_type WHERE typnamespace IN (SELECT oid FROM ns))
                      + (SELECT count(*) FROM pg_proc WHERE pronamespace IN (SELECT oid FROM ns)) AS n)
SELECT 2 * n * 4 <= current_setting('max_locks_per_transaction')::int
         * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int
            + current_setting('autovacuum_max_workers')::int + current_setting('max_worker_processes')::int
            + current_setting('max_wal_senders')::int + 1) AS fits
  FROM objects`;

/** Drop the kept server shadow now, if there is one (the end of a command): no wipe before a drop. */
export async function releaseKeptShadow(): Promise<void> {
  if (!kept) return;
  const { shadow, timer } = kept;
  kept = null;
  clearTimeout(timer);
  await shadow.conn.close().catch(() => {});
  await dropShadow(shadow.target, shadow.name, []);
}

/** A server and a user: a kept shadow serves the environments of the same server and user only. */
function serverKey(target: PostgresTarget & { kind: 'server' }): string {
  return JSON.stringify(onDatabase(target.config, ''));
}

const CENSUS = censusSql('database');

function census(conn: Connection): Promise<string> {
  return censusOf(conn, CENSUS);
}
