import type { BlueGreenRole, Engine, EngineCapabilities } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { formatKey } from '@dbee/core/schema';
import { openPostgres } from './connection/open';
import { loadPostgresParser } from './parse/libpg';
import { postgresTarget } from './connection/target';
import { mapPostgresError } from './connection/postgres-errors';
import { postgresLedger } from './ledger/postgres-ledger';
import { postgresSmoke } from './smoke/postgres-smoke';
import { postgresLockRole } from './lock/lock-role';
import { PostgresParser, readQueryLineage } from './parse';
import {
  introspect,
  introspectRelations,
  catalogVersion,
  fingerprint,
  fingerprints,
  recordableFingerprints,
  stateFingerprints,
  stateOf,
} from './introspect';
import { safeSourceStep } from './render/safe-rewrites';
import { renderPlanSteps } from './render';
import { databaseSettings, isPresentSchema, newDatabaseModel } from './shadow/new-database';
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
} from './catalog/postgres-objects';
import { disableRoutine, findRoutines } from './catalog/postgres-disable';
import { stepOutcome } from './catalog/postgres-recover';
import { RESET_SHADOW } from './shadow/embedded-shadow';
import { openShadow, releaseKeptShadow } from './shadow/open-shadow';
import { dropStatement, quoteIdent } from './render/drop-statement';
import { postgresFacts } from './introspect/postgres-facts';
import { copySample, maintainedColumns, missingRows } from './shadow/scratch-rows';
import * as lazy from './lazy-roles';
import { postgresImport } from './import/postgres-import';

export const postgresCapabilities: EngineCapabilities = {
  transactionalDdl: true,
};

/**
 * The extractor, loaded when `extract` or `adopt` reads a database: it imports `@dbee/core`'s index (every module of
 * core), which the engine's other roles do not need, so a deployment's process does not load it.
 */
const extractor = () => import('./extract/extract');

/**
 * A role whose module loads when one of its members is first read: the engine has the role from the start (core asks
 * whether it has one, `engine.blueGreen` in every deployment's read of work in flight, without using it), and a
 * command that does not use it does not load it. `require` is synchronous, so the role's synchronous members stay so.
 */
function lazyRole<T extends object>(load: () => T): T {
  let role: T | undefined;
  const loaded = () => (role ??= load());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(loaded(), key),
    has: (_, key) => Reflect.has(loaded(), key),
    ownKeys: () => Reflect.ownKeys(loaded()),
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(loaded(), key);
      // A proxy may report a property its (empty) target lacks only as configurable.
      return d && { ...d, configurable: true };
    },
  });
}

/**
 * Blue/green's role with the router the engine drives (`routers.pgbouncer`), whose settings' schema (zod, through
 * core's index) loads only when a blue/green phase reads it: a direct deployment loads the role for
 * `ledgerTableExists` alone.
 */
function blueGreenWithRouters(): BlueGreenRole {
  const role: BlueGreenRole = { ...lazy.blueGreen().postgresBlueGreen };
  return Object.defineProperty(role, 'routers', {
    get: () => ({ pgbouncer: lazy.pgbouncerSettings().PGBOUNCER_ROUTER }),
    enumerable: true,
  });
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
    // The roles of expand-contract, blue/green, `check`, `advise`, `preview` and `audit`: loaded when a command uses them.
    expand: lazyRole(() => lazy.expandSql().postgresExpand),
    backfill: lazyRole(() => lazy.backfillSql().postgresBackfill),
    querySources: lazyRole(() => lazy.querySources().postgresQuerySources),
    advise: lazyRole(() => lazy.advise().postgresAdvise),
    lineage: { read: readQueryLineage },
    preview: lazyRole(() => lazy.preview().postgresPreview),
    blueGreen: lazyRole(blueGreenWithRouters),
    import: postgresImport,
    // A server shadow kept for the next command of this process (shadow/open-shadow.ts), dropped.
    release: releaseKeptShadow,
    // The scanner's keyword list quotes identifiers in the SQL sent (parse/names.ts): loaded while the connection opens.
    connect: async (environment, { workspaceRoot }) =>
      (
        await Promise.all([
          openPostgres(postgresTarget(environment, workspaceRoot), workspaceRoot),
          loadPostgresParser(),
        ])
      )[0],
    ...postgresLockRole,
    session: {
      setup: ({ lockTimeoutMs, statementTimeoutMs, readOnly }) => [
        ...(lockTimeoutMs !== undefined ? [`SET lock_timeout = ${lockTimeoutMs}`] : []),
        ...(statementTimeoutMs !== undefined ? [`SET statement_timeout = ${statementTimeoutMs}`] : []),
        // Every later transaction of the session is read-only: the server refuses any write (a reader's guarantee).
        ...(readOnly ? ['SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY'] : []),
      ],
      // Back to the session's defaults (the database's and role's settings included). Not application_name: it marks
      // the connection as the lock holder's working session (`attach`) for as long as it is open, whichever project
      // of a batch uses it.
      reset: () => [
        'RESET lock_timeout; RESET statement_timeout; RESET search_path; RESET synchronous_commit; RESET default_transaction_read_only',
      ],
      searchPath: (schemas) => `SET search_path TO ${schemas.map(quoteIdent).join(', ')}`,
    },
    diff: {
      introspect: (conn, scope, side) => introspect(conn, scope, side),
      introspectRelations: (conn, scope) => introspectRelations(conn, scope),
      fingerprint: (conn, scope, like) => fingerprint(conn, scope, like),
      fingerprints: (conn, scopes) => fingerprints(conn, scopes),
      recordableFingerprints: (conn, scopes) => recordableFingerprints(conn, scopes),
      stateFingerprints: (conn, scopes) => stateFingerprints(conn, scopes),
      stateOf,
      catalogVersion: (conn) => catalogVersion(conn),
      copySample: (from, to, tables, purpose) => copySample(from, to, tables, purpose),
      missingRows: (error, copy, target) => missingRows(error, copy, target),
      maintainedColumns: (conn, tables) => maintainedColumns(conn, tables),
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
      targetSettings: (target) => databaseSettings(target),
      // The extensions' module, loaded when a dry run's copy asks (a deployment does not load it).
      extensionSchemas: (target, schemas) => lazy.extensions().extensionSchemas(target, schemas),
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
      objects: async (conn, scope) => (await extractor()).extract(conn, scope),
      unwritten: async (conn, scope) => (await extractor()).unwritten(conn, scope),
      externalNames: async (conn, scope) => (await extractor()).extensionMembers(conn, scope),
      outsideUses: (conn, scope, files) => lazy.extensions().outsideUses(conn, scope, files),
    },
    audit: lazyRole(() => lazy.audit().postgresAudit),
    mapError: (error, context) => mapPostgresError(error, context),
  };
}
