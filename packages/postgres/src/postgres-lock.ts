import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { DbeeError, type LockHandle, type LockOptions, type LockOwner } from '@dbee/core';
import type { PgConnection } from './postgres-connection';

const POLL_MS = 200;

/** 64-bit advisory lock id for a key: the first 8 bytes of its SHA-256, as a signed bigint string. */
export function advisoryLockId(key: string): string {
  return createHash('sha256').update('dbee:' + key).digest().readBigInt64BE(0).toString();
}

/**
 * Server lock: a session advisory lock taken by polling `pg_try_advisory_lock` on its own connection. Never a
 * blocking `pg_advisory_lock`: a waiting session holds a snapshot, which makes `CREATE INDEX CONCURRENTLY` in
 * the holder wait for it forever. The lock dies with its session, so a killed process leaves nothing behind.
 */
export async function takeAdvisoryLock(conn: PgConnection, key: string, options: LockOptions): Promise<LockHandle> {
  const id = advisoryLockId(key);
  const deadline = Date.now() + options.timeoutMs;
  await conn.query(`SELECT set_config('application_name', $1, false)`, [ownerTag(options.owner)]);
  for (;;) {
    const r = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [id]);
    if (r.rows[0]?.ok) break;
    const holder = await advisoryHolder(conn, id);
    if (Date.now() >= deadline) throw lockBusy(key, holder, options.timeoutMs);
    options.onWait?.(holder);
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await conn.query('SELECT pg_advisory_unlock($1::bigint)', [id]).catch(() => {});
      await conn.close();
    },
  };
}

async function advisoryHolder(conn: PgConnection, id: string): Promise<LockOwner | undefined> {
  const big = BigInt(id);
  const unsigned = big < 0n ? big + (1n << 64n) : big;
  const classid = (unsigned >> 32n).toString();
  const objid = (unsigned & 0xffffffffn).toString();
  const r = await conn.query<{ application_name: string; usename: string; client_addr: string | null; backend_start: Date; pid: number }>(
    `SELECT a.application_name, a.usename, a.client_addr::text AS client_addr, a.backend_start, a.pid
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1`,
    [classid, objid],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return parseOwnerTag(row.application_name) ?? {
    user: row.usename,
    host: row.client_addr ?? 'local socket',
    pid: row.pid,
    since: new Date(row.backend_start).toISOString(),
  };
}

/** `application_name` of the lock session: who holds it, readable by anyone who can see pg_stat_activity. */
function ownerTag(o: LockOwner): string {
  // application_name is limited to 63 bytes; keep the essentials.
  return `dbee ${o.user}@${o.host} ${o.pid} ${o.since}`.slice(0, 63);
}

function parseOwnerTag(tag: string): LockOwner | undefined {
  const m = /^dbee (\S+)@(\S+) (\d+) (\S+)$/.exec(tag);
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
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        if (readOwner(path)?.pid === options.owner.pid) unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
  };
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockBusy(key: string, holder: LockOwner | undefined, timeoutMs: number): DbeeError {
  const who = holder ? `${holder.user}@${holder.host} (pid ${holder.pid}) since ${holder.since}` : 'another session';
  return new DbeeError(`another deployment holds the lock on ${key}: ${who}; gave up after ${timeoutMs / 1000}s`, {
    code: 'LOCK_BUSY',
    hint: 'wait for it to finish and run again, or raise deploy.waitForLock / --wait-for-lock',
    details: { holder },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
