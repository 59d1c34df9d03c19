import { isAbsolute, join } from 'node:path';
import type { ResolvedEnvironment } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import type { ClientConfig } from 'pg';
import { redactUrl, type PgConnectConfig } from './postgres-connection';

/** Where an environment's database is: embedded (PGlite data folder or memory) or a server. */
export type PostgresTarget =
  | { kind: 'embedded'; dataDir: string | null; description: string }
  | { kind: 'server'; config: PgConnectConfig; description: string };

const SERVER_KEYS = ['url', 'host', 'port', 'user', 'password', 'database', 'ssl'];

/**
 * Read `connection:` of a PostgreSQL environment. `embedded: <folder>` (relative to the workspace root) or
 * `embedded: memory` selects PGlite; `url`, or `host`/`port`/`user`/`password`/`database`, a server.
 */
export function postgresTarget(environment: ResolvedEnvironment, workspaceRoot: string): PostgresTarget {
  const c = environment.connection;
  const unknown = Object.keys(c).filter((k) => k !== 'embedded' && !SERVER_KEYS.includes(k) && k !== 'applicationName');
  const where = `environments.${environment.name}.connection`;
  if (unknown.length) {
    throw new DbeeError(`${where}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, {
      code: 'CONFIG_INVALID',
      location: environment.declaredAt,
      hint: `a PostgreSQL connection takes embedded, or url, or ${SERVER_KEYS.slice(1).join('/')}`,
    });
  }
  if (c.embedded !== undefined) {
    if (Object.keys(c).some((k) => SERVER_KEYS.includes(k))) {
      throw new DbeeError(`${where}: "embedded" cannot be combined with server settings`, {
        code: 'CONFIG_INVALID',
        location: environment.declaredAt,
      });
    }
    const dir = String(c.embedded);
    if (dir === 'memory') return { kind: 'embedded', dataDir: null, description: 'pglite:memory' };
    const dataDir = isAbsolute(dir) ? dir : join(workspaceRoot, dir);
    return { kind: 'embedded', dataDir, description: `pglite:${dir}` };
  }
  if (c.url !== undefined) {
    const url = String(c.url);
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new DbeeError(`${where}.url: expected a postgres:// URL`, {
        code: 'CONFIG_INVALID',
        location: environment.declaredAt,
      });
    }
    return {
      kind: 'server',
      config: { connectionString: url, application_name: 'dbee', ...connectConfig(environment) },
      description: redactUrl(url),
    };
  }
  if (c.host === undefined) {
    throw new DbeeError(`${where}: set "embedded", "url" or "host"`, {
      code: 'CONFIG_INVALID',
      location: environment.declaredAt,
    });
  }
  const config: PgConnectConfig = {
    host: String(c.host),
    port: c.port === undefined ? 5432 : Number(c.port),
    user: c.user === undefined ? undefined : String(c.user),
    password: c.password === undefined ? undefined : String(c.password),
    database: c.database === undefined ? undefined : String(c.database),
    ssl: c.ssl === true || c.ssl === 'true' ? { rejectUnauthorized: false } : undefined,
    application_name: 'dbee',
    ...connectConfig(environment),
  };
  return {
    kind: 'server',
    config,
    description: `postgres://${config.user ?? ''}${config.user ? '@' : ''}${config.host}:${config.port}/${config.database ?? ''}`,
  };
}

/** The environment's `connectTimeout` and `connectRetries` as node-postgres settings (`PgConnection.open`). */
function connectConfig(
  environment: ResolvedEnvironment,
): Pick<PgConnectConfig, 'connectionTimeoutMillis' | 'connectRetries'> {
  const c = environment.connect ?? {};
  return {
    ...(c.timeoutMs !== undefined ? { connectionTimeoutMillis: c.timeoutMs } : {}),
    ...(c.retries !== undefined ? { connectRetries: c.retries } : {}),
  };
}

/** The connection settings of `config` on another database of the same server. */
export function onDatabase<C extends ClientConfig>(config: C, database: string): C {
  return config.connectionString
    ? { ...config, connectionString: withDatabase(config.connectionString, database) }
    : { ...config, database };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}
