import type { PostgresTarget } from '../connection/target';

type ServerTarget = Extract<PostgresTarget, { kind: 'server' }>;

/** A libpq connection-string value: quoted when it holds anything but plain characters. */
function value(v: string): string {
  return /^[A-Za-z0-9_.\-/:]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * How another server (a subscription's) reaches `target`: a libpq connection string, the environment's own settings
 * (a `url` as a URI, which libpq reads too). `redacted`: without the password, for a dry run to print. The password
 * otherwise goes into the subscriber's catalog, readable by superusers only; a `.pgpass` file on the subscriber's
 * server avoids it (docs/blue-green.md).
 */
export function conninfo(target: ServerTarget, redacted: boolean): string {
  const c = target.config;
  if (c.connectionString) {
    const url = new URL(c.connectionString);
    if (redacted) url.password = '';
    return url.toString();
  }
  const parts: [string, string | number | undefined][] = [
    ['host', c.host],
    ['port', c.port],
    ['user', c.user],
    ['dbname', c.database],
    ['password', redacted || typeof c.password !== 'string' ? undefined : c.password],
    ['sslmode', c.ssl ? 'require' : undefined],
  ];
  return parts
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${value(String(v))}`)
    .join(' ');
}

/** The name of `target`'s database (libpq's default: the user's name). */
export function databaseOf(target: ServerTarget): string {
  const c = target.config;
  if (c.connectionString) {
    const url = new URL(c.connectionString);
    const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
    return name || decodeURIComponent(url.username) || 'postgres';
  }
  return c.database ?? c.user ?? 'postgres';
}
