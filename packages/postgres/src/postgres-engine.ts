import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Connection, ObjectKey, Engine, EngineCapabilities, ResolvedEnvironment } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { formatKey } from '@dbee/core/schema';
import type { ClientConfig } from 'pg';
import { PgConnection, redactUrl, type PgConnectConfig } from './postgres-connection';
import type { PgliteConnection as PgliteConnectionType } from './pglite-connection';
import { mapPostgresError } from './postgres-errors';
import { postgresLedger } from './postgres-ledger';
import { postgresSmoke } from './postgres-smoke';
import { advisoryLockHolder, fileLockHolder, takeAdvisoryLock, takeFileLock } from './postgres-lock';
import { PostgresParser, readQueryLineage } from './parse';
import {
  introspect,
  introspectRelations,
  catalogVersion,
  fingerprint,
  fingerprints,
  stateFingerprints,
  stateOf,
} from './introspect';
import { safeSourceStep } from './render/safe-rewrites';
import { renderPlanSteps } from './render';
import { isPresentSchema, newDatabaseModel } from './new-database';
import { sameDefinition } from './compare/same-definition';
import {
  captureDefinition,
  captureDefinitions,
  replacesOnlyItself,
  existingObjects,
  renderCopyData,
  rowsEstimate,
  rowsUpTo,
  setAside,
} from './postgres-objects';
import { disableRoutine, findRoutines } from './postgres-disable';
import { stepOutcome } from './postgres-recover';
import { extensionMembers, extract, unwritten } from './extract/extract';
import { postgresAudit } from './extract/audit';
import { dropShadowRoles, ensureShadowRoles } from './shadow-roles';
import { postgresPreview } from './postgres-preview';
import { openEmbeddedShadow, RESET_SHADOW } from './embedded-shadow';
import { postgresFacts } from './postgres-facts';
import { postgresExpand } from './expand/expand-sql';
import { postgresBackfill } from './expand/backfill-sql';
import { postgresQuerySources } from './query-sources';
import { postgresAdvise } from './advise/advise-role';
import { copySample, missingRows } from './scratch-rows';
import { removeLeftShadows, shadowComment, shadowName } from './shadow-leftovers';

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

export const postgresCapabilities: EngineCapabilities = {
  transactionalDdl: true,
};

/**
 * PGlite (WebAssembly PostgreSQL) and its template cache, loaded on first use: a server environment never loads them,
 * which keeps `dbee status`/`deploy` against a server quick to start.
 */
async function loadPglite(): Promise<{
  PgliteConnection: typeof PgliteConnectionType;
  pgliteTemplate: typeof import('./pglite-template').pgliteTemplate;
}> {
  const [{ PgliteConnection }, { pgliteTemplate }] = await Promise.all([
    import('./pglite-connection'),
    import('./pglite-template'),
  ]);
  return { PgliteConnection, pgliteTemplate };
}

/** Open a connection to a PostgreSQL target. */
export async function openPostgres(target: PostgresTarget, workspaceRoot?: string): Promise<Connection> {
  if (target.kind === 'server') return PgConnection.open(target.config, target.description);
  // A new embedded database starts from the cached template instead of running initdb (seconds saved).
  const fresh = target.dataDir !== null && !existsSync(join(target.dataDir, 'PG_VERSION'));
  const { PgliteConnection, pgliteTemplate } = await loadPglite();
  return PgliteConnection.open(
    target.dataDir,
    target.description,
    fresh && workspaceRoot ? await pgliteTemplate(workspaceRoot) : undefined,
  );
}

/** The PostgreSQL engine: pg for servers, PGlite for embedded databases (the same SQL, another transport). */
export function createPostgresEngine(): Engine {
  const parser = new PostgresParser();
  return {
    name: 'postgres',
    capabilities: postgresCapabilities,
    parser,
    ledger: postgresLedger,
    smoke: postgresSmoke,
    expand: postgresExpand,
    backfill: postgresBackfill,
    querySources: postgresQuerySources,
    advise: postgresAdvise,
    lineage: { read: readQueryLineage },
    preview: postgresPreview,
    connect: (environment, { workspaceRoot }) =>
      openPostgres(postgresTarget(environment, workspaceRoot), workspaceRoot),
    // `dbee unlock`: who holds the advisory lock (never cleared: it ends with its session), or an embedded database's
    // lock file (never cleared either: the next deployment takes it over once its process is gone).
    locks: {
      async holder(environment, { workspaceRoot }, key) {
        const target = postgresTarget(environment, workspaceRoot);
        if (target.kind === 'embedded') return target.dataDir ? fileLockHolder(target.dataDir + '.lock') : null;
        const conn = await PgConnection.open({ ...target.config, application_name: 'dbee-unlock' }, target.description);
        try {
          return await advisoryLockHolder(conn, key);
        } finally {
          await conn.close();
        }
      },
      clear: async () => false,
    },
    async lock(environment, { workspaceRoot }, key, options) {
      const target = postgresTarget(environment, workspaceRoot);
      if (target.kind === 'embedded') {
        // In-memory databases live in one process; nothing to share, nothing to lock across processes.
        if (!target.dataDir) return { release: async () => {} };
        return takeFileLock(target.dataDir + '.lock', key, options);
      }
      // A reader of a server (`dbee check`) holds no lock: it reads committed catalog state, as any session does.
      if (options.reader) return { release: async () => {} };
      const conn = await PgConnection.open({ ...target.config, application_name: 'dbee-lock' }, target.description);
      try {
        return await takeAdvisoryLock(conn, key, options);
      } catch (e) {
        await conn.close();
        throw e;
      }
    },
    session: {
      setup: ({ lockTimeoutMs, statementTimeoutMs }) => [
        ...(lockTimeoutMs !== undefined ? [`SET lock_timeout = ${lockTimeoutMs}`] : []),
        ...(statementTimeoutMs !== undefined ? [`SET statement_timeout = ${statementTimeoutMs}`] : []),
      ],
      // Back to the session's defaults (the database's and role's settings included). Not application_name: it marks
      // the connection as the lock holder's working session (`attach`) for as long as it is open, whichever project
      // of a batch uses it.
      reset: () => ['RESET lock_timeout; RESET statement_timeout; RESET search_path; RESET synchronous_commit'],
      searchPath: (schemas) => `SET search_path TO ${schemas.map(quoteIdent).join(', ')}`,
    },
    diff: {
      introspect: (conn, scope, side) => introspect(conn, scope, side),
      introspectRelations: (conn, scope) => introspectRelations(conn, scope),
      fingerprint: (conn, scope) => fingerprint(conn, scope),
      fingerprints: (conn, scopes) => fingerprints(conn, scopes),
      stateFingerprints: (conn, scopes) => stateFingerprints(conn, scopes),
      stateOf,
      catalogVersion: (conn) => catalogVersion(conn),
      copySample: (from, to, tables, purpose) => copySample(from, to, tables, purpose),
      missingRows: (error, copy, target) => missingRows(error, copy, target),
      readRows: async (conn, t) =>
        (
          await conn.query<{ r: string }>(
            `SELECT row_to_json(t)::text AS r FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} AS t ORDER BY 1`,
          )
        ).rows.map((x) => x.r),
      roles: async (conn) =>
        (await conn.query<{ rolname: string }>('select rolname from pg_roles order by rolname')).rows.map(
          (r) => r.rolname,
        ),
      renderChanges: (changes, options) => renderPlanSteps(changes, options),
      safeSourceStep,
      openShadow: (kind, environment, { workspaceRoot, roles }) =>
        openShadow(kind, postgresTarget(environment, workspaceRoot), workspaceRoot, roles),
      resetShadow: (conn) => conn.execute(RESET_SHADOW),
      sameDefinition,
      facts: postgresFacts,
      // A SQL function's body may read a view that the copy creates after it (the catalog records no such dependency).
      copySettings: { relax: ['SET check_function_bodies = off'], restore: ['RESET check_function_bodies'] },
      newDatabase: newDatabaseModel,
    },
    catalog: {
      renderDrop: dropStatement,
      ensureSchema: (name) => ({
        statements: [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name)}`],
        // `public` was there before: undoing the step must not drop it.
        reverse: isPresentSchema(name) ? [] : [`DROP SCHEMA IF EXISTS ${quoteIdent(name)}`],
      }),
      inEveryDatabase: (key) => key.kind === 'schema' && isPresentSchema(key.name),
      existingObjects: (conn, keys) => existingObjects(conn, keys, formatKey),
      captureDefinition,
      captureDefinitions,
      replacesOnlyItself,
      setAside,
      renderCopyData,
      rowCount: async (conn, key) =>
        Number(
          (
            await conn.query<{ n: unknown }>(
              `SELECT count(*) AS n FROM ${quoteIdent(key.schema ?? 'public')}.${quoteIdent(key.name)}`,
            )
          ).rows[0]?.n ?? 0,
        ),
      stepOutcome,
      rowsUpTo,
      rowsEstimate,
    },
    access: { findRoutines, disableRoutine },
    extract: {
      objects: (conn, scope) => extract(conn, scope),
      unwritten: (conn, scope) => unwritten(conn, scope),
      externalNames: (conn, scope) => extensionMembers(conn, scope),
    },
    audit: postgresAudit,
    mapError: (error, context) => mapPostgresError(error, context),
  };
}

/** Quote an identifier only when PostgreSQL needs it. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

function qualified(key: ObjectKey): string {
  return key.schema ? `${quoteIdent(key.schema)}.${quoteIdent(key.name)}` : quoteIdent(key.name);
}

/** DROP statement for an object created by a step: the reverse of that step. */
export function dropStatement(key: ObjectKey): string | null {
  const parentTable = key.parent ? key.parent.split('.').map(quoteIdent).join('.') : '';
  switch (key.kind) {
    case 'schema':
      return `DROP SCHEMA ${quoteIdent(key.name)}`;
    case 'extension':
      return `DROP EXTENSION ${quoteIdent(key.name)}`;
    case 'table':
      return `DROP TABLE ${qualified(key)}`;
    case 'view':
      return `DROP VIEW ${qualified(key)}`;
    case 'materialized-view':
      return `DROP MATERIALIZED VIEW ${qualified(key)}`;
    case 'function':
    case 'procedure':
    case 'aggregate':
      return `DROP ${key.kind.toUpperCase()} ${qualified(key)}(${(key.args ?? []).join(', ')})`;
    case 'sequence':
      return `DROP SEQUENCE ${qualified(key)}`;
    case 'type':
      return `DROP TYPE ${qualified(key)}`;
    case 'domain':
      return `DROP DOMAIN ${qualified(key)}`;
    case 'text-search-dictionary':
      return `DROP TEXT SEARCH DICTIONARY ${qualified(key)}`;
    case 'text-search-configuration':
      return `DROP TEXT SEARCH CONFIGURATION ${qualified(key)}`;
    case 'index':
      return `DROP INDEX ${qualified(key)}`;
    case 'trigger':
      return key.parent ? `DROP TRIGGER ${quoteIdent(key.name)} ON ${parentTable}` : null;
    case 'policy':
      return key.parent ? `DROP POLICY ${quoteIdent(key.name)} ON ${parentTable}` : null;
    case 'constraint':
      return key.parent ? `ALTER TABLE ${parentTable} DROP CONSTRAINT ${quoteIdent(key.name)}` : null;
    default:
      return null;
  }
}

/**
 * A scratch database for building desired schemas: PGlite in memory, or (`shadow: server`) a new database on
 * the environment's own server, for exact version parity, named and commented so that the next one removes it when
 * its run was killed (shadow-leftovers.ts). The server database is always dropped on dispose; an
 * embedded one is wiped and kept for the next shadow of the process (embedded-shadow.ts).
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
  let made: string[] = [];
  const name = shadowName();
  const admin = await PgConnection.open(target.config, target.description);
  try {
    // What a killed run left (its name and comment say whose), then this one, recorded the same way.
    await removeLeftShadows(admin);
    await admin.execute(`CREATE DATABASE ${name}`);
    await admin.execute(shadowComment(name));
  } catch (e) {
    await admin.close();
    throw e;
  }
  const drop = async () => {
    await admin.execute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await dropShadowRoles(admin, made);
    await admin.close();
  };
  try {
    const conn = await PgConnection.open(onDatabase(target.config, name), `${target.description} (shadow ${name})`);
    try {
      made = await ensureShadowRoles(conn, roles);
    } catch (e) {
      await conn.close();
      throw e;
    }
    let side: Promise<PgConnection | undefined> | undefined;
    return {
      conn,
      side: () =>
        (side ??= PgConnection.open(onDatabase(target.config, name), `${target.description} (shadow ${name})`).catch(
          () => undefined,
        )),
      async dispose() {
        await (await side)?.close();
        await conn.close();
        // Dropping a database waits for a checkpoint of the whole server (seconds on a busy one): the server drops the
        // scratch database after dbee has its answer, without dbee waiting. Roles made for it must wait for it. The
        // drop is left running on a session of the maintenance database, not the target's: the target is free for
        // what comes next (a DROP DATABASE of it would wait for that session, or with FORCE end the drop half-way).
        if (made.length) return drop();
        const maintenance = await PgConnection.open(onDatabase(target.config, 'postgres'), target.description).catch(
          () => null,
        );
        if (!maintenance) return drop();
        await admin.close();
        await maintenance.leave(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => maintenance.close());
      },
    };
  } catch (e) {
    await drop();
    throw e;
  }
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
