import { kindKeyword, qualifiedName, renderDrop } from './render/teradata-renderer';
import { teradataSmoke } from './smoke/teradata-smoke';
import { teradataStatisticsAdvice } from './advise/teradata-advise';
import { teradataExport } from './bteq/export-role';
import {
  extractTeradata,
  ownedDatabases,
  restoreDatabaseNames,
  teradataAudit,
  unwrittenTeradata,
} from './introspect/extract';
import { planChange } from './render/teradata-change';
import { authorizationPlanProblems } from './catalog/authorization';
import { stepOutcome } from './catalog/teradata-recover';
import { compareObjects } from './compare/teradata-compare';
import type { Engine, EngineCapabilities, ResolvedEnvironment } from '@dbee/core';
import type { TeradataDriver, TeradataDriverName } from './driver/driver';
import { connectTeradata } from './connection/teradata-connection';
import { mapTeradataError } from './connection/teradata-errors';
import { teradataLockRole } from './lock/lock-role';
import { teradataLedger, TERADATA_LEDGER_DATABASE } from './ledger/teradata-ledger';
import { TeradataParser } from './parse/teradata-parser';
import { CopyDuplicates } from './introspect/copy-duplicates';
import { rowsChangedSince } from './introspect/rows-since';
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
  return {
    name: 'teradata',
    capabilities: teradataCapabilities,
    // Nothing to reset: the query band and default database are set again by the next deployment's setup.
    session: { setup: () => sessionSetup(), reset: () => [], searchPath: searchPathStatement },
    catalog: {
      renderDrop: (key) => (kindKeyword(key.kind) ? renderDrop(key) : null),
      // Databases need space and are made by a DBA: owned databases must exist beforehand.
      ensureSchema: () => null,
      // An authorization's password variable unset: refused before anything is sent (authorization.ts).
      planProblems: authorizationPlanProblems,
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
      // dbee rollback's check for rows written since (#73 item 5): by key and row hash, deletes included, bounded.
      rowsChangedSince,
      // Every step commits statement by statement: what a killed one left, from its `started` row and DBC.TablesV.
      stepOutcome,
    },
    extract: {
      objects: (conn, scope) => extractTeradata(conn, scope),
      // Authorizations and function mappings whose dictionary view cannot be read here: reported, not silently left out.
      unwritten: unwrittenTeradata,
      ownedSchemas: ownedDatabases,
      restoreNames: restoreDatabaseNames,
    },
    // A changed table file: ALTER TABLE steps from its CREATE TABLE against SHOW TABLE of the target.
    inPlace: { planChange },
    // `dbee diff --env`: the sources' objects against SHOW and the catalog of the target.
    compare: { compareObjects },
    audit: teradataAudit,
    export: teradataExport(options),
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
    ...teradataLockRole(connect, options),
    mapError(error, context) {
      return mapTeradataError(error, { statement: context.statement });
    },
  };
}
