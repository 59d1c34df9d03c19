import { randomUUID } from 'node:crypto';
import {
  DbeeError,
  ExitCode,
  type Connection,
  type LockHandle,
  type LockHolder,
  type LockOptions,
  type LockOwner,
} from '@dbee/core';
import { teradataErrorCode } from '../connection/teradata-errors';
import { ledgerTable, lockTableDdl } from '../ledger/teradata-ledger';

/**
 * Teradata has no advisory locks, so the deployment lock is a row in the ledger's lock table, keyed by the lock key
 * (UNIQUE PRIMARY INDEX). Acquire = INSERT; a duplicate key (error 2801) means another deployment holds it. A row
 * past its `expires_at` (its holder died) is deleted and the INSERT retried; a live one is polled until the timeout.
 * The holder refreshes `expires_at` while it runs (heartbeat), and release deletes only its own row (by token).
 * All times come from the server clock (`CURRENT_TIMESTAMP(6)`), so client clocks never matter.
 */

export interface TeradataLockOptions extends LockOptions {
  /** Ledger database holding the lock table. */
  database: string;
  /** Minutes a lock row lives without a heartbeat, 1 to 99 (an `INTERVAL MINUTE` literal). Default 10. */
  ttlMinutes?: number;
  /** Wait between attempts while the lock is held, in ms. Default 1000. */
  pollMs?: number;
  /** Refresh `expires_at` every ttl/3 while held. Default true. */
  heartbeat?: boolean;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  clock?: () => number;
}

export interface TeradataLockHandle extends LockHandle {
  /** Random id of this holder, stored in the row; release deletes only rows with it. */
  readonly token: string;
  /** Push `expires_at` forward now (the heartbeat does this on its own). */
  refresh(): Promise<void>;
}

interface LockRow {
  owner_token: string | null;
  owner_user: string | null;
  owner_host: string | null;
  owner_pid: number | null;
  deployment_id: string | null;
  acquired_at: unknown;
  expires_at: unknown;
}

const DEFAULT_TTL_MINUTES = 10;

function formatTime(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return String(v ?? '');
}

/** Take the lock `key` on `conn` (a session of its own: the heartbeat runs on it). */
export async function acquireTeradataLock(
  conn: Connection,
  key: string,
  options: TeradataLockOptions,
): Promise<TeradataLockHandle> {
  const ttl = options.ttlMinutes ?? DEFAULT_TTL_MINUTES;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 99) {
    throw new DbeeError(`lock ttl must be a whole number of minutes from 1 to 99, got ${ttl}`, {
      code: 'CONFIG_INVALID',
    });
  }
  const table = ledgerTable(options.database, 'lock');
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const clock = options.clock ?? Date.now;
  const pollMs = options.pollMs ?? 1000;
  const deadline = clock() + options.timeoutMs;
  const token = randomUUID();
  const o = options.owner;
  const expires = `CURRENT_TIMESTAMP(6) + INTERVAL '${ttl}' MINUTE`;
  let createdTable = false;

  for (;;) {
    try {
      await conn.query(
        `INSERT INTO ${table} ("lock_key", "owner_token", "owner_user", "owner_host", "owner_pid", "deployment_id", "acquired_at", "expires_at") ` +
          `VALUES (?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(6), ${expires})`,
        [key, token, o.user, o.host, o.pid, o.deploymentId ?? null],
      );
      break;
    } catch (error) {
      const code = teradataErrorCode(error);
      if (code === 3802) throw ledgerMissing(options.database, error);
      if (code === 3807 && !createdTable) {
        createdTable = true;
        await conn.execute(lockTableDdl(options.database)).catch((e: unknown) => {
          if (teradataErrorCode(e) !== 3803) throw e; // created meanwhile by another deployment
        });
        continue;
      }
      if (code !== 2801) throw error;
    }
    // Held. Take over a row whose holder stopped refreshing it.
    const taken = await conn.query(
      `DELETE FROM ${table} WHERE "lock_key" = ? AND "expires_at" < CURRENT_TIMESTAMP(6)`,
      [key],
    );
    if ((taken.rowCount ?? 0) > 0) continue;
    const holder = await readHolder(conn, table, key);
    if (!holder) continue; // released between our INSERT and SELECT
    const now = clock();
    if (now >= deadline) throw lockBusy(key, holder, options.timeoutMs);
    options.onWait?.(holder);
    await sleep(Math.max(0, Math.min(pollMs, deadline - now)));
  }

  // One request at a time on the lock's session: the heartbeat and release never overlap.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const refresh = (): Promise<void> =>
    serial(async () => {
      await conn.query(`UPDATE ${table} SET "expires_at" = ${expires} WHERE "lock_key" = ? AND "owner_token" = ?`, [
        key,
        token,
      ]);
    });
  let timer: ReturnType<typeof setInterval> | undefined;
  if (options.heartbeat !== false) {
    timer = setInterval(() => void refresh().catch(() => undefined), (ttl * 60_000) / 3);
    timer.unref?.();
  }
  let released = false;
  return {
    token,
    refresh,
    async release() {
      if (released) return;
      released = true;
      if (timer) clearInterval(timer);
      await serial(() => conn.query(`DELETE FROM ${table} WHERE "lock_key" = ? AND "owner_token" = ?`, [key, token]));
    },
  };
}

async function readHolder(conn: Connection, table: string, key: string): Promise<LockHolder | undefined> {
  const r = await conn.query<LockRow>(
    `SELECT "owner_user" AS owner_user, "owner_host" AS owner_host, "owner_pid" AS owner_pid, "deployment_id" AS deployment_id, ` +
      `"acquired_at" AS acquired_at, "expires_at" AS expires_at, "owner_token" AS owner_token FROM ${table} WHERE "lock_key" = ?`,
    [key],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const holder: LockHolder = {
    user: row.owner_user ?? 'unknown',
    host: row.owner_host ?? 'unknown',
    pid: Number(row.owner_pid ?? 0),
    since: formatTime(row.acquired_at),
    expiresAt: formatTime(row.expires_at),
  };
  if (row.deployment_id) holder.deploymentId = row.deployment_id;
  if (row.owner_token) holder.token = row.owner_token;
  return holder;
}

/**
 * `dbee unlock`: the holder of the lock row `key` in the ledger database (`dbee deploy`, or a BTEQ script: owner host
 * `bteq`, owner pid its session number, token `bteq-<deployment id>-<plan checksum>`), or null when there is none (no
 * row, or no lock table yet). A BTEQ holder whose session is still logged on is `alive`.
 */
export async function teradataLockHolder(conn: Connection, database: string, key: string): Promise<LockHolder | null> {
  let holder: LockHolder | undefined;
  try {
    holder = await readHolder(conn, ledgerTable(database, 'lock'), key);
  } catch (error) {
    if (teradataErrorCode(error) === 3807) return null;
    throw error;
  }
  if (!holder) return null;
  const alive = holder.host === 'bteq' && holder.pid > 0 ? await sessionLoggedOn(conn, holder.pid) : false;
  if (alive)
    holder.alive = `BTEQ session ${holder.pid} is still logged on (DBC.SessionInfoV); end it (ABORT SESSION in Teradata Viewpoint or the PM/API) if its script is gone`;
  return holder;
}

/**
 * Whether session `number` is logged on: a row of `DBC.SessionInfoV` ("one row for each session currently logged on":
 * Data Dictionary, SessionInfoV). A user without the right to read the view gets no answer: false, and `dbee unlock`
 * asks for the usual confirmation.
 */
async function sessionLoggedOn(conn: Connection, number: number): Promise<boolean> {
  try {
    const r = await conn.query('SELECT SessionNo FROM DBC.SessionInfoV WHERE SessionNo = ?', [number]);
    return r.rows.length > 0;
  } catch {
    return false;
  }
}

/** `dbee unlock`: delete the lock row `key` of the holder whose token is `token` (no other); false when it was gone. */
export async function clearTeradataLock(
  conn: Connection,
  database: string,
  key: string,
  token: string,
): Promise<boolean> {
  const r = await conn.query(
    `DELETE FROM ${ledgerTable(database, 'lock')} WHERE "lock_key" = ? AND "owner_token" = ?`,
    [key, token],
  );
  return (r.rowCount ?? 0) > 0;
}

function lockBusy(key: string, holder: LockOwner, timeoutMs: number): DbeeError {
  const who = `${holder.user}@${holder.host} (pid ${holder.pid}) since ${holder.since}${holder.deploymentId ? `, deployment ${holder.deploymentId}` : ''}`;
  return new DbeeError(`another deployment holds the lock on ${key}: ${who}; gave up after ${timeoutMs / 1000}s`, {
    code: 'LOCK_BUSY',
    hint: 'wait for it to finish and run again, or raise deploy.waitForLock; a holder that died is taken over once its row expires',
    details: { holder },
  });
}

function ledgerMissing(database: string, cause: unknown): DbeeError {
  return new DbeeError(`the ledger database ${database} does not exist`, {
    code: 'LEDGER_MISSING',
    hint: `ask a DBA to create it, e.g. CREATE DATABASE ${database} FROM <owner> AS PERM = 50e6, and grant the deploying user CREATE TABLE, SELECT, INSERT, UPDATE and DELETE on it; or set connection.ledgerDatabase`,
    exitCode: ExitCode.applyFailed,
    details: { database },
    cause,
  });
}
