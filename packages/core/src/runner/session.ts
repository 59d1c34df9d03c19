import { durationMs } from '../config/units';
import type { DeploySettings } from '../config/schema';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection, Engine, LockHandle, LockOwner } from '../engine/engine';
import { DbeeError, ExitCode } from '../errors';
import type { Reporter } from './reporter';
import { hostname, userInfo } from 'node:os';

/** How long an operation waits for another deployment's lock when nothing says otherwise. */
export const DEFAULT_WAIT_FOR_LOCK_MS = 60_000;

/** Session settings a deployment runs under (`deploy.lockTimeout`, `deploy.statementTimeout`). */
export interface SessionSettings {
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/** The session settings of a project's deploy settings, in milliseconds. */
export function sessionSettings(settings: DeploySettings): SessionSettings {
  return {
    lockTimeoutMs: settings.lockTimeout === undefined ? undefined : durationMs(settings.lockTimeout),
    statementTimeoutMs: settings.statementTimeout === undefined ? undefined : durationMs(settings.statementTimeout),
  };
}

/** What `withSession` needs: where to connect, how long to wait for the lock, and how to set the session up. */
export interface SessionRequest {
  engine: Engine;
  environment: ResolvedEnvironment;
  workspaceRoot: string;
  /** Where the one "waiting for the lock" message goes; none: wait silently. */
  reporter?: Pick<Reporter, 'info'>;
  /**
   * Milliseconds to wait for another deployment's lock. Default: `deploy.waitForLock` of `deploy` (or of the
   * environment), else {@link DEFAULT_WAIT_FOR_LOCK_MS}.
   */
  waitMs?: number;
  /** The deploy settings that apply (a project's, merged over the environment's). Default: the environment's. */
  deploy?: DeploySettings;
  /**
   * Which session settings apply from the start, to every statement of the operation including catalog reads
   * (planning, introspection, smoke baselines), on the working session and on the lock's own session (its reads
   * overlap the working session's: `sideSession`). Default: the deploy settings' lock and statement timeouts, so no
   * statement dbee sends waits without a bound (a catalog read that deparses a constraint opens its table, and waits
   * behind another session's ACCESS EXCLUSIVE lock like a step).
   */
  settings?: SessionSettings;
  /** Schemas for unqualified names (`SET search_path`), set after the settings. */
  searchPath?: string[];
  /** Who asks (recorded with the lock). Default: this process. */
  owner?: LockOwner;
  /** A reader that changes nothing (`dbee check`): no deployment lock where the engine needs none (`LockOptions.reader`). */
  reader?: boolean;
  /**
   * A reader that must write nothing (the board of `dbee docs`): `reader`, and the working session (and the lock's)
   * opened read-only where the engine can (`SessionDialect.setup`'s `readOnly`), so that the server refuses a write.
   */
  readOnly?: boolean;
}

/** A locked, connected and set-up session to one environment (see `withSession`). */
export interface DeploymentSession {
  readonly conn: Connection;
  readonly owner: LockOwner;
  readonly lock: LockHandle;
  /** The settings applied at the start (see `SessionRequest.settings`). */
  readonly settings: SessionSettings;
  /**
   * Throws `LOCK_LOST` (exit 2) when the lock's session is gone: nothing may run after that. Cheap (one round trip on
   * the lock session at most); the runner calls it before every step.
   */
  assertLock(): Promise<void>;
  /**
   * The lock's guard (`LockHandle.guard`), for the runner to evaluate inside its requests: no step starts and no
   * transaction commits after the lock is lost. Null: the lock is checked between requests only.
   */
  readonly lockGuard: string | null;
}

/**
 * The lock's own session for reads that overlap the working session's (`LockHandle.session`), or undefined. Not for a
 * fleet's targets (`OperationContext.plans` set): they run side by side and keep the server's CPUs busy, so a read
 * there wins no time and costs the server the lock session's cold catalog cache (~5 ms per new target,
 * tools/bench-fleet-cpu.ts).
 */
export function sideSession(
  ctx: { plans?: unknown },
  session: Pick<DeploymentSession, 'lock'>,
): Connection | undefined {
  return ctx.plans ? undefined : session.lock.session;
}

let processOwner: { user: string; host: string } | undefined;

/** This process as a lock owner (user, host, pid, start time). */
export function lockOwner(): LockOwner {
  // Read once per process: userInfo() reads the password database (~0.1 ms, every task of an Nx batch asked).
  processOwner ??= { user: userInfo().username, host: hostname() };
  return { ...processOwner, pid: process.pid, since: new Date().toISOString() };
}

/** `user@host (pid 123) since 2026-...`, or `another session`. */
export function describeHolder(h: LockOwner | undefined): string {
  return h ? `${h.user}@${h.host} (pid ${h.pid}) since ${h.since}` : 'another session';
}

/**
 * The one way an operation reaches a database: take the deployment lock (one "waiting" message, one configurable
 * timeout), connect, mark the connection as this lock holder's working session, apply the session settings and
 * search path, run `fn`, then RESET what it set (a pooled connection serves the next project of a batch with
 * that project's own settings, never this one's), close the connection and release the lock, whatever happens.
 */
export async function withSession<T>(
  request: SessionRequest,
  fn: (session: DeploymentSession) => Promise<T>,
): Promise<T> {
  const { engine, environment, reporter } = request;
  const deploy = request.deploy ?? environment.deploy;
  const waitMs =
    request.waitMs ?? (deploy.waitForLock !== undefined ? durationMs(deploy.waitForLock) : DEFAULT_WAIT_FOR_LOCK_MS);
  const owner = request.owner ?? lockOwner();
  const context = { workspaceRoot: request.workspaceRoot };
  let waiting = false;
  const lock = await connecting(environment, () =>
    engine.lock(environment, context, 'deploy', {
      timeoutMs: waitMs,
      owner,
      reader: request.reader || request.readOnly,
      onWait: (h) => {
        // Polled every few hundred milliseconds: say it once.
        if (waiting) return;
        waiting = true;
        reporter?.info(`waiting up to ${waitMs / 1000}s for the deployment lock held by ${describeHolder(h)}...`);
      },
    }),
  );
  try {
    const conn = await connecting(environment, () => engine.connect(environment, context));
    let dirty = false;
    let side: Connection | undefined;
    try {
      await lock.attach?.(conn);
      const settings = request.settings ?? sessionSettings(deploy);
      // Nothing to set, nothing run: an engine's setup may do more than the settings (Teradata tags a query band).
      const some =
        settings.lockTimeoutMs !== undefined || settings.statementTimeoutMs !== undefined || !!request.readOnly;
      const bounds = some
        ? engine.session.setup({ ...settings, ...(request.readOnly ? { readOnly: true } : {}) }).filter((sql) => sql)
        : [];
      const setup = [...bounds, ...(request.searchPath?.length ? [engine.session.searchPath(request.searchPath)] : [])];
      for (const sql of setup) {
        if (!sql) continue;
        dirty = true;
        await conn.execute(sql);
      }
      // The lock's session reads too (introspection shares its queries with it): the same bounds, in one request.
      if (lock.session && bounds.length) {
        side = lock.session;
        await side.execute(bounds.join(';\n'));
      }
      // The runner sets settings and paths of its own (and steps may set anything): reset whenever a statement other
      // than a query ran. A no-op deployment only reads: its session is left as it was, without a round trip.
      const tracked = new Proxy(conn, {
        get(target, prop, receiver) {
          if (prop === 'execute' || prop === 'executeBatch' || prop === 'transaction') dirty = true;
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      return await fn({
        conn: tracked,
        owner,
        lock,
        settings,
        assertLock: () => assertLock(lock),
        lockGuard: lock.guard ?? null,
      });
    } finally {
      if (dirty) {
        for (const sql of engine.session.reset()) await conn.execute(sql).catch(() => {});
      }
      if (side) for (const sql of engine.session.reset()) await side.execute(sql).catch(() => {});
      await conn.close();
    }
  } finally {
    await lock.release();
  }
}

/** Codes of an error `connecting` says as the environment's: it could not be reached, or its settings are wrong. */
const CONNECT_CODES = new Set(['CONNECTION_FAILED', 'CONNECTION_TIMEOUT', 'CONFIG_INVALID']);

/**
 * `open()`, with a connection failure (bad URL or port, server down, SSL refused, authentication) said as a user
 * error naming the environment and the environment variables its connection settings come from (never their values).
 */
export async function connecting<T>(environment: ResolvedEnvironment, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    if (!(e instanceof DbeeError) || !CONNECT_CODES.has(e.code)) throw e;
    const vars = Object.entries(environment.connectionVariables ?? {}).map(
      ([key, names]) => `connection.${key} from ${names.map((n) => '$' + n).join(', ')}`,
    );
    const from = vars.length ? ` (${vars.join('; ')})` : '';
    throw DbeeError.carrying(e.code, `environment ${environment.name}${from}: ${e.message}`, {
      location: e.location ?? environment.declaredAt,
      hint:
        e.hint ??
        `check environments.${environment.name}.connection in dbee.yaml${vars.length ? ' and the variables it uses' : ''}`,
      details: e.details,
      exitCode: ExitCode.invalid,
    });
  }
}

/** Throws `LOCK_LOST` when `lock` says its session is gone. */
export async function assertLock(lock: LockHandle): Promise<void> {
  const lost = await lock.lost?.();
  if (lost) throw lockLost(lost);
}

/** The error of a deployment that lost its lock: exit 2, nothing more runs. */
export function lockLost(reason: string): DbeeError {
  return new DbeeError(`lock lost: ${reason}; the deployment stopped before its next step`, {
    code: 'LOCK_LOST',
    exitCode: ExitCode.applyFailed,
    hint: 'the steps recorded as applied committed; deploy again to resume (another deployment may be running now: it will wait for this one to end)',
  });
}
