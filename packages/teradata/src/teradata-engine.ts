import { kindKeyword, qualifiedName, renderDrop } from './render/teradata-renderer';
import { teradataSmoke } from './teradata-smoke';
import { teradataStatisticsAdvice } from './teradata-advise';
import { toBteq, toBteqRollback } from './bteq/bteq';
import { captureForRollback } from './bteq/bteq-capture';
import { extractTeradata, ownedDatabases, restoreDatabaseNames, teradataAudit } from './introspect/extract';
import { planChange } from './teradata-change';
import { compareObjects } from './teradata-compare';
import type { Engine, EngineCapabilities, Plan, ResolvedEnvironment } from '@dbee/core';
import type { TeradataDriver, TeradataDriverName } from './driver/driver';
import { connectTeradata } from './teradata-connection';
import { mapTeradataError } from './teradata-errors';
import { acquireTeradataLock, clearTeradataLock, teradataLockHolder } from './teradata-lock';
import { ledgerDatabaseFor, teradataLedger, TERADATA_LEDGER_DATABASE } from './teradata-ledger';
import { TeradataParser } from './parse/teradata-parser';
import { CopyDuplicates } from './introspect/copy-duplicates';
import {
  captureDefinition,
  existingObjects,
  renderCopyData,
  rowCount,
  searchPathStatement,
  sessionSetup,
  setAside,
} from './introspect/teradata-objects';

/**
 * What Teradata can do, as data.
 *
 * - `transactionalDdl: false`: a DDL statement must be the last statement of its transaction (errors 3932/3722),
 *   so several DDL statements never form one atomic unit; rollback is compensating (see `planObjectChange`).
 *   No Teradata statement has to run *outside* a transaction (there is no `CREATE INDEX CONCURRENTLY`); each DDL
 *   runs as its own request in auto-commit, which is a transaction of its own. A runner that sees
 *   `transactionalDdl: false` must not put a DDL anywhere but last in a transaction.
 * - The lock is a row in the ledger (`teradata-lock.ts`); no `diff` role (there is no shadow database).
 * - `replaceConflicts: true`: an object the ledger does not know is a conflict whether the source says CREATE or
 *   REPLACE; `rename` moves it aside (RENAME VIEW/MACRO/PROCEDURE...), `drop` drops it, and the step's reverse
 *   brings it back (the SHOW text it replaced, or the rename back).
 */
export const teradataCapabilities: EngineCapabilities = {
  transactionalDdl: false,
  // A REPLACE VIEW/MACRO/PROCEDURE over an object the ledger does not know would overwrite it without a trace.
  replaceConflicts: true,
  // Names are case-insensitive, even quoted: object keys hold them upper case (parse/teradata-identifiers.ts).
  keyNames: { unquoted: 'upper', quoted: 'upper' },
};

export interface TeradataEngineOptions {
  /** Ledger database of `engine.ledger` (per environment: `connection.ledgerDatabase`). Default `DBEE_LEDGER`. */
  ledgerDatabase?: string;
  /** Replace how drivers are loaded (tests). */
  loadDriver?: (name: TeradataDriverName, options: { workspaceRoot?: string }) => TeradataDriver;
  /** Lock polling interval in ms. Default 1000. */
  lockPollMs?: number;
}

function lockTtlOf(environment: ResolvedEnvironment): number | undefined {
  const v = environment.connection.lockTtlMinutes;
  return v === undefined ? undefined : Number(v);
}

/**
 * The Teradata engine: connection, parser, ledger, lock, session, error mapping, and the roles: `catalog` (what
 * the core runner calls around steps: `existingObjects`, `captureDefinition`, `setAside`, `renderCopyData`),
 * `inPlace` (a deployed table's file changed: `planChange`), `smoke`, `extract`, `audit` and `export` (BTEQ), so
 * `dbee deploy`, `status` and `rollback` run through the same runner as on PostgreSQL, and `compare` (`dbee diff
 * --env`: each source object against the target). No `diff` role (no shadow database).
 */
export function createTeradataEngine(options: TeradataEngineOptions = {}): Engine {
  const connect = (environment: ResolvedEnvironment, context: { workspaceRoot: string }) =>
    connectTeradata(environment, { workspaceRoot: context.workspaceRoot, loadDriver: options.loadDriver });
  // Columns of the tables `setAside` renamed, by backup name: `renderCopyData` lists them (Teradata cannot read
  // the catalog inside a statement, as PostgreSQL's DO block does).
  const renamedColumns = new Map<string, string[]>();
  // copyData into a SET table from a table holding duplicate rows: refused before the rename (#64).
  const duplicates = new CopyDuplicates();
  const parser = new TeradataParser();
  // The export still writes both scripts when the target cannot be reached from where it runs: rollback.btq then
  // says so in its header, and stops before undoing a changed object (as it did before it could restore them).
  const capturedFrom = async (environment: ResolvedEnvironment, plan: Plan, variables: Record<string, string>) => {
    const conn = await connectTeradata(environment, { loadDriver: options.loadDriver }).catch(() => null);
    if (!conn) return undefined;
    try {
      return await captureForRollback(conn, plan, { variables, ledgerDatabase: ledgerDatabaseFor(environment) });
    } finally {
      await conn.close();
    }
  };
  return {
    name: 'teradata',
    capabilities: teradataCapabilities,
    // Nothing to reset: the query band and default database are set again by the next deployment's setup.
    session: { setup: () => sessionSetup(), reset: () => [], searchPath: searchPathStatement },
    catalog: {
      renderDrop: (key) => (kindKeyword(key.kind) ? renderDrop(key) : null),
      // Databases need space and are made by a DBA: owned databases must exist beforehand.
      ensureSchema: () => null,
      existingObjects,
      captureDefinition,
      async setAside(conn, key, strategy, stamp) {
        const aside = await setAside(conn, key, strategy, stamp, renamedColumns);
        if (aside?.backup && key.kind === 'table')
          await duplicates.check(conn, key, aside.backup, renamedColumns.get(qualifiedName(aside.backup)));
        const build = aside?.buildAside;
        if (!aside?.backup || !build) return aside;
        const backup = aside.backup;
        // A copy into a SET table from a table holding duplicates is refused there too, before anything runs.
        return {
          ...aside,
          buildAside: {
            ...build,
            check: (copyData) => {
              if (copyData) duplicates.refuse(backup);
              build.check?.(copyData);
            },
          },
        };
      },
      renderCopyData(backup, table) {
        duplicates.refuse(backup);
        return renderCopyData(backup, table, renamedColumns);
      },
      rowCount,
      // No Teradata statement runs outside a transaction, so no step is ever left half-made by a dead process.
      stepOutcome: async () => ({ state: 'unknown' }),
    },
    extract: {
      objects: (conn, scope) => extractTeradata(conn, scope),
      ownedSchemas: ownedDatabases,
      restoreNames: restoreDatabaseNames,
    },
    // A changed table file: ALTER TABLE steps from its CREATE TABLE against SHOW TABLE of the target.
    inPlace: { planChange },
    // `dbee diff --env`: the sources' objects against SHOW and the catalog of the target.
    compare: { compareObjects },
    audit: teradataAudit,
    export: {
      formats: ['bteq'],
      async exportPlan(plan, _format, { variables, environment, conflictStrategy, copyData, recorded }) {
        // The environment's tmode decides the session's transaction mode (ANSI needs COMMIT after every DDL); its
        // ledger database, where the script records the deployment; both scripts share one deployment id.
        const now = new Date();
        const ledger = {
          dialect: teradataLedger(
            environment ? ledgerDatabaseFor(environment) : (options.ledgerDatabase ?? TERADATA_LEDGER_DATABASE),
          ),
          environment: environment?.name ?? 'unknown',
          ticket: recorded?.ticket ?? null,
          package: recorded?.package ?? null,
          ...(recorded?.planChecksum ? { planChecksum: recorded.planChecksum } : {}),
        };
        const transactionMode =
          String(environment?.connection.tmode ?? '').toUpperCase() === 'ANSI' ? ('ANSI' as const) : ('BTET' as const);
        const common = { variables, now, ledger, transactionMode, conflictStrategy, copyData };
        // The definitions rollback.btq puts back (changed views, macros, procedures; hand-made join indexes the
        // release drops), read from the target now: the script cannot read them at run time (#64 S4).
        const previous = environment ? await capturedFrom(environment, plan, variables) : undefined;
        return {
          'deploy.btq': await toBteq(plan, common),
          // Steps whose reverse is only known against the live system are left out of the rollback script, and say so.
          'rollback.btq': await toBteqRollback(plan, { ...common, skipUnknownReverse: true, previous }),
        };
      },
    },
    parser: {
      async parse(text, file, parseOptions) {
        const statements = await parser.parse(text, file, parseOptions);
        duplicates.parsed(statements);
        return statements;
      },
      // Statements read back from the parse cache (not parsed again) are seen too.
      async revive(statements) {
        duplicates.parsed(statements);
        return statements;
      },
    },
    smoke: teradataSmoke,
    statisticsAdvice: teradataStatisticsAdvice,
    ledger: teradataLedger(options.ledgerDatabase ?? TERADATA_LEDGER_DATABASE),
    connect,
    // `dbee unlock`: the lock row's holder, and its row deleted (by its token) once the DBA confirmed.
    locks: {
      async holder(environment, context, key) {
        const conn = await connect(environment, context);
        try {
          return await teradataLockHolder(conn, ledgerDatabaseFor(environment), key);
        } finally {
          await conn.close();
        }
      },
      async clear(environment, context, key, holder) {
        if (!holder.token) return false;
        const conn = await connect(environment, context);
        try {
          return await clearTeradataLock(conn, ledgerDatabaseFor(environment), key, holder.token);
        } finally {
          await conn.close();
        }
      },
    },
    async lock(environment, context, key, lockOptions) {
      // The lock lives on a session of its own, so its heartbeat never interleaves with deployment requests.
      const conn = await connect(environment, context);
      try {
        const handle = await acquireTeradataLock(conn, key, {
          ...lockOptions,
          database: ledgerDatabaseFor(environment),
          ttlMinutes: lockTtlOf(environment),
          pollMs: options.lockPollMs,
        });
        let released = false;
        return {
          async release() {
            if (released) return;
            released = true;
            try {
              await handle.release();
            } finally {
              await conn.close().catch(() => undefined);
            }
          },
        };
      } catch (error) {
        await conn.close().catch(() => undefined);
        throw error;
      }
    },
    mapError(error, context) {
      return mapTeradataError(error, { statement: context.statement });
    },
  };
}
