import { durationMs, engineRouter, schemas } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { pgbouncerEntry, pgbouncerRouter } from './pgbouncer-router';

/**
 * `blueGreen.router.pgbouncer` of dbee.yaml (docs/blue-green.md): a PgBouncer driven through its admin console, whose
 * `[databases]` entry for the application's database is rewritten at each switchover. The postgres engine declares it;
 * core validates it through `BlueGreenRole.routers`.
 */
const pgbouncerSettings = schemas.z.strictObject({
  /**
   * Its admin console as a URL, a user of its `admin_users`; `${VAR}` for the password, e.g.
   * `postgres://pgbouncer:${PGBOUNCER_PASSWORD}@10.0.0.9:6432/pgbouncer`.
   */
  admin: schemas.z.string(),
  /** Its configuration file (`pgbouncer.ini`, on this machine), whose `[databases]` entry dbee rewrites. */
  config: schemas.z.string(),
  /** The `[databases]` name the application connects to, e.g. `sales`. */
  database: schemas.z.string(),
  /** Bound of each admin command but `PAUSE`. Default 5s. */
  timeout: schemas.duration.optional(),
});

export const PGBOUNCER_ROUTER = engineRouter(pgbouncerSettings, (config, sides, { workspaceRoot }) => {
  const url = parseAdmin(config.admin);
  return pgbouncerRouter({
    admin: {
      host: decodeURIComponent(url.hostname) || '127.0.0.1',
      port: Number(url.port || 6432),
      user: decodeURIComponent(url.username) || 'pgbouncer',
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    },
    ini: config.config,
    database: config.database,
    entries: { blue: pgbouncerEntry(sides.blue, workspaceRoot), green: pgbouncerEntry(sides.green, workspaceRoot) },
    ...(config.timeout !== undefined ? { timeoutMs: durationMs(config.timeout) } : {}),
  });
});

/** The admin console's URL of `blueGreen.router.pgbouncer.admin`; a malformed one is refused without echoing it. */
function parseAdmin(admin: string): URL {
  try {
    const url = new URL(admin);
    if (url.protocol === 'postgres:' || url.protocol === 'postgresql:') return url;
  } catch {
    // Said below, without the value (it may hold a password).
  }
  throw new DbeeError("blueGreen.router.pgbouncer.admin is not a postgres:// URL of PgBouncer's admin console", {
    code: 'CONFIG_INVALID',
    hint: 'e.g. postgres://pgbouncer:${PGBOUNCER_PASSWORD}@127.0.0.1:6432/pgbouncer (a user of its admin_users)',
  });
}
