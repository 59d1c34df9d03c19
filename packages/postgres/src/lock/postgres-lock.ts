import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import type { LockHandle, LockHolder, LockOptions, LockOwner } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import type { PgConnection } from '../connection/postgres-connection';

const POLL_MS = 200;
/**
 * How often the lock session runs a query while it holds the lock: well inside any idle timeout a server, a pooler
 * or a firewall may apply (the session also turns its own `idle_session_timeout` off, and TCP keepalives are on).
 */
export const KEEPALIVE_MS = 5_000;
/** The keepalive query: named, so that `pg_stat_activity` (and a count of a command's requests) tells it apart. */
export const KEEPALIVE_SQL = 'SELECT 1 AS dbee_lock_keepalive';

/** 64-bit advisory lock id for a key: the first 8 bytes of its SHA-256, as a signed bigint string. */
export function advisoryLockId(key: string): string {
  return createHash('sha256')
    .update('dbee:' + key)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/**
 * How often the server checks, while a statement of the lock session or its working session runs (or waits for a
 * lock), that dbee's end of the connection is still open (`client_connection_check_interval`, PostgreSQL 14+). A
 * killed dbee closes its sockets: without the check, a backend blocked behind another session's table lock would
 * notice only when the lock came and it wrote its answer, and meanwhile keep the deployment lock of the dead process.
 */
export const CLIENT_CHECK_MS = 1_000;

/**
 * Turns the session's idle timeout off and the server's check of the client on (see `CLIENT_CHECK_MS`) where the
 * server has them (PostgreSQL 14+), a no-op (null) elsewhere. Told by the server's version, not by a look-up in
 * pg_settings: that view builds a row for every setting the server has (~0.7 ms of server CPU, twice per deployment:
 * the lock session and its working session).
 */
const NO_IDLE_TIMEOUT = `SELECT CASE WHEN current_setting('server_version_num')::int >= 140000 THEN set_config('idle_session_timeout', '0', false) || set_config('client_connection_check_interval', '${CLIENT_CHECK_MS}', false) END`;

/**
 * Server lock: a session advisory lock taken by polling `pg_try_advisory_lock` on its own connection. Never a
 * blocking `pg_advisory_lock`: a waiting session holds a snapshot, which makes `CREATE INDEX CONCURRENTLY` in
 * the holder wait for it forever. The lock dies with its session, so a killed process leaves nothing behind.
 *
 * The lock cannot be lost silently: its session never sits idle (a keepalive query every few seconds, its own
 * idle timeout off, TCP keepalives), and `lost()` proves before every step that the session still lives. A taker
 * that gets the advisory lock also waits until no working session of an earlier holder (tagged by `attach`) is
 * left in the same database: a deployment whose lock session was cut may still be running a statement, and it
 * stops before its next step; only then are its rows taken as interrupted.
 */
export async function takeAdvisoryLock(conn: PgConnection, key: string, options: LockOptions): Promise<LockHandle> {
  const id = advisoryLockId(key);
  const deadline = Date.now() + options.timeoutMs;
  // A second advisory lock that only this holder ever takes: while the lock session lives it holds it, and a working
  // session's try for it fails; once the session is gone (terminated, cut), the try succeeds and the guard raises.
  const holderId = advisoryLockId(`holder:${key}:${randomUUID()}`);
  const first = await firstTry(conn, id, holderId, ownerTag('dbee', options.owner));
  let locked = first.locked;
  let held: boolean | null = first.held;
  if (held === null) {
    try {
      let holder = locked ? first.holder : await advisoryHolder(conn, id);
      for (;;) {
        if (locked && !holder) break;
        if (Date.now() >= deadline) throw lockBusy(key, holder, options.timeoutMs, locked);
        options.onWait?.(holder);
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
        if (!locked) {
          const r = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [id]);
          locked = r.rows[0]?.ok === true;
        }
        holder = locked ? await liveWorkingSession(conn) : await advisoryHolder(conn, id);
      }
    } catch (e) {
      if (locked) await conn.query('SELECT pg_advisory_unlock($1::bigint)', [id]).catch(() => {});
      throw e;
    }
    held = await conn
      .query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [holderId])
      .then((r) => r.rows[0]?.ok === true)
      .catch(() => false);
  }
  const guard = held ? lockGuard(holderId) : undefined;
  let released = false;
  const keepalive = setInterval(() => {
    if (!conn.closedReason) void conn.query(KEEPALIVE_SQL).catch(() => {});
  }, KEEPALIVE_MS);
  keepalive.unref();
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(keepalive);
      await conn
        .query('SELECT pg_advisory_unlock($1::bigint), pg_advisory_unlock($2::bigint)', [id, holderId])
        .catch(() => {});
      await conn.close();
    },
    guard,
    session: conn,
    async lost() {
      if (released) return 'the lock was released';
      if (conn.closedReason) return `the lock's session ended (${conn.closedReason})`;
      try {
        // Any answer proves the session lives, and a session advisory lock lasts as long as its session.
        await conn.query('SELECT 1');
        return null;
      } catch (e) {
        return `the lock's session ended (${conn.closedReason ?? (e as Error).message.split('\n')[0]})`;
      }
    },
    async attach(working) {
      // One round trip: the mark, and no idle timeout (null before PostgreSQL 14).
      await working.query(`SELECT set_config('application_name', $1, false), (${NO_IDLE_TIMEOUT})`, [
        ownerTag('dbee-run', options.owner),
      ]);
    },
  };
}

/**
 * The guard of a lock whose session holds advisory lock `holderId` (see `LockHandle.guard`): 1 while a shared try for
 * it fails (the lock session holds it); once that session is gone the try succeeds and the division by zero raises.
 * The try is volatile, so the division is never folded while planning. Trying a lock that another session holds costs
 * one lookup in the lock table, not a scan of it (as pg_locks or pg_stat_activity would), and the expression adds a
 * function call and three operators to a statement the step sends anyway.
 */
function lockGuard(holderId: string): string {
  return `(1 / (NOT pg_try_advisory_xact_lock_shared(${holderId}::bigint))::integer)`;
}

/**
 * The working sessions of other lock holders still connected to this database (see `attach`), oldest first. Read from
 * `pg_stat_get_activity`, the function under the `pg_stat_activity` view, with the same columns and the same
 * visibility for roles that may not read other sessions' details: without the view's joins to `pg_database` and
 * `pg_authid`, a new session parses and plans it in less server time (every target of a fleet takes the lock once).
 */
const WORKING_SESSIONS = `SELECT a.application_name, pg_get_userbyid(a.usesysid) AS usename, a.client_addr::text AS client_addr,
            a.backend_start, a.pid
       FROM pg_stat_get_activity(NULL) a
      WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND a.application_name LIKE 'dbee-run %' AND a.pid <> pg_backend_pid()
      ORDER BY a.backend_start LIMIT 1`;

/** A working session of another lock holder still connected to this database (see `attach`), or undefined. */
async function liveWorkingSession(conn: PgConnection): Promise<LockOwner | undefined> {
  return ownerOf((await conn.query<ActivityRow>(WORKING_SESSIONS)).rows[0]);
}

/**
 * The lock session's first request, the whole of taking a free lock (a fleet takes hundreds): the session's owner tag
 * and idle timeout, the try for the lock, and once it is taken a working session of an earlier holder still connected
 * (read after the try) and, when there is none, the holder's own second lock (`held`; null when not tried). Each part
 * runs after the one before it: a materialized CTE is read by the next, and the lateral query only for its row.
 */
async function firstTry(
  conn: PgConnection,
  id: string,
  holderId: string,
  tag: string,
): Promise<{ locked: boolean; holder: LockOwner | undefined; held: boolean | null }> {
  const r = await conn.query<Partial<ActivityRow> & { ok: boolean; held: boolean | null }>(
    `WITH s AS MATERIALIZED (SELECT set_config('application_name', $1, false) AS a, (${NO_IDLE_TIMEOUT}) AS b),
          l AS MATERIALIZED (SELECT pg_try_advisory_lock($2::bigint) AS ok FROM s)
     SELECT l.ok, w.*, CASE WHEN l.ok AND w.pid IS NULL THEN pg_try_advisory_lock($3::bigint) END AS held
       FROM l LEFT JOIN LATERAL (${WORKING_SESSIONS}) w ON l.ok`,
    [tag, id, holderId],
  );
  const row = r.rows[0]!;
  const locked = row.ok === true;
  const holder = locked
    ? ownerOf(row.pid === null || row.pid === undefined ? undefined : (row as ActivityRow))
    : undefined;
  return { locked, holder, held: row.held ?? null };
}

interface ActivityRow {
  application_name: string;
  usename: string;
  client_addr: string | null;
  backend_start: Date;
  pid: number;
}

/**
 * `dbee unlock`: the holder of the advisory lock `key` in this database, or null. An advisory lock ends only with the
 * session that holds it (or its own unlock), so it is never cleared by dbee: the holder says which server session
 * (backend pid) to end, if its process is gone and the session lingers.
 */
export async function advisoryLockHolder(conn: PgConnection, key: string): Promise<LockHolder | null> {
  const row = await advisoryActivity(conn, advisoryLockId(key));
  if (!row) return null;
  return {
    ...ownerOf(row)!,
    notClearable:
      `it is a session advisory lock, which ends with the server session holding it (backend pid ${row.pid}). ` +
      `When the holder's process is gone and the session lingers, end it: SELECT pg_terminate_backend(${row.pid})`,
  };
}

/** The session holding the advisory lock in THIS database (advisory locks are per database). */
async function advisoryHolder(conn: PgConnection, id: string): Promise<LockOwner | undefined> {
  return ownerOf(await advisoryActivity(conn, id));
}

async function advisoryActivity(conn: PgConnection, id: string): Promise<ActivityRow | undefined> {
  const big = BigInt(id);
  const unsigned = big < 0n ? big + (1n << 64n) : big;
  const classid = (unsigned >> 32n).toString();
  const objid = (unsigned & 0xffffffffn).toString();
  const r = await conn.query<ActivityRow>(
    `SELECT a.application_name, a.usename, a.client_addr::text AS client_addr, a.backend_start, a.pid
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [classid, objid],
  );
  return r.rows[0];
}

function ownerOf(row: ActivityRow | undefined): LockOwner | undefined {
  if (!row) return undefined;
  return (
    parseOwnerTag(row.application_name) ?? {
      user: row.usename,
      host: row.client_addr ?? 'local socket',
      pid: row.pid,
      since: new Date(row.backend_start).toISOString(),
    }
  );
}

/** `application_name` of the lock session: who holds it, readable by anyone who can see pg_stat_activity. */
function ownerTag(prefix: 'dbee' | 'dbee-run', o: LockOwner): string {
  // application_name is limited to 63 bytes; keep the essentials.
  return `${prefix} ${o.user}@${o.host} ${o.pid} ${o.since}`.slice(0, 63);
}

function parseOwnerTag(tag: string): LockOwner | undefined {
  const m = /^dbee(?:-run)? (\S+)@(\S+) (\d+) (\S+)$/.exec(tag);
  return m ? { user: m[1]!, host: m[2]!, pid: Number(m[3]), since: m[4]! } : undefined;
}

/**
 * Embedded lock for PGlite: an exclusive lock file beside the data directory holding the owner. A file whose
 * owner process is gone (same host, pid not alive) is stale and taken over, so a killed run leaves no lock.
 */
export async function takeFileLock(path: string, key: string, options: LockOptions): Promise<LockHandle> {
  const deadline = Date.now() + options.timeoutMs;
  const body = JSON.stringify(options.owner);
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    try {
      writeFileSync(path, body, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readOwner(path);
    if (holder && holder.host === hostname() && !isAlive(holder.pid)) {
      try {
        unlinkSync(path);
      } catch {
        /* another process took it over first */
      }
      continue;
    }
    if (Date.now() >= deadline) throw lockBusy(key, holder, options.timeoutMs);
    options.onWait?.(holder);
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
  let released = false;
  const ours = (o: LockOwner | undefined) =>
    o?.pid === options.owner.pid && o.host === options.owner.host && o.since === options.owner.since;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        if (ours(readOwner(path))) unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
    async lost() {
      if (released) return 'the lock was released';
      const now = readOwner(path);
      if (ours(now)) return null;
      return now
        ? `the lock file ${path} now belongs to ${now.user}@${now.host} (pid ${now.pid})`
        : `the lock file ${path} was removed`;
    },
  };
}

/** `dbee unlock`: the holder written in an embedded database's lock file, or null (never cleared by dbee, see below). */
export function fileLockHolder(path: string): LockHolder | null {
  const owner = readOwner(path);
  if (!owner) return null;
  return {
    ...owner,
    notClearable: `it is the lock file ${path}, which the next deployment takes over by itself once process ${owner.pid} on ${owner.host} has ended`,
  };
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockBusy(key: string, holder: LockOwner | undefined, timeoutMs: number, lostButRunning = false): DbeeError {
  const who = holder ? `${holder.user}@${holder.host} (pid ${holder.pid}) since ${holder.since}` : 'another session';
  const what = lostButRunning
    ? `another deployment is still running on this database although its lock session ended: ${who}`
    : `another deployment holds the lock on ${key}: ${who}`;
  return new DbeeError(`${what}; gave up after ${timeoutMs / 1000}s`, {
    code: 'LOCK_BUSY',
    hint: 'wait for it to finish and run again, or raise deploy.waitForLock / --wait-for-lock',
    details: { holder },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
