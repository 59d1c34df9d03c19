import { backupStamp, type Engine, type Plan, type ResolvedEnvironment } from '@dbee/core';
import { refuseSecretsInBteq } from '../catalog/authorization';
import { rollbackCheckMaxBytesOf, connectTeradata } from '../connection/teradata-connection';
import type { TeradataDriver, TeradataDriverName } from '../driver/driver';
import { ledgerDatabaseFor, teradataLedger, TERADATA_LEDGER_DATABASE } from '../ledger/teradata-ledger';
import { toBteq, toBteqRollback } from './bteq';
import { planAgainstTarget, type ChangedInPlace } from './bteq-alters';
import { captureForRollback } from './bteq-capture';

/**
 * The `export` role: a plan as BTEQ scripts (`deploy.btq`, `rollback.btq`), the changed tables' ALTERs planned against
 * the target first (`prepare`), the definitions rollback.btq puts back read from it.
 */
export function teradataExport(options: {
  loadDriver?: (name: TeradataDriverName, options: { workspaceRoot?: string }) => TeradataDriver;
  ledgerDatabase?: string;
}): NonNullable<Engine['export']> {
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
  // What `export.prepare` planned against the target, for the `exportPlan` of the same plan: the objects it planned in
  // place and the time that names their backups (both scripts and the ALTERs share it).
  const prepared = new WeakMap<Plan, { now: Date; changed: Map<string, ChangedInPlace> }>();
  return {
    formats: ['bteq'],
    // A table file changed since its deployment: the ALTER TABLE steps dbee deploy plans, planned now (#73 item 4).
    async prepare(plan, _format, { variables, environment, renames }) {
      const now = new Date();
      const conn = await connectTeradata(environment, { loadDriver: options.loadDriver }).catch(() => null);
      if (!conn) return plan;
      try {
        const planned = await planAgainstTarget(conn, plan, {
          variables,
          ledgerDatabase: ledgerDatabaseFor(environment),
          renames,
          stamp: backupStamp(now),
        });
        prepared.set(planned.plan, { now, changed: planned.changed });
        return planned.plan;
      } finally {
        await conn.close();
      }
    },
    async exportPlan(plan, _format, { variables, environment, conflictStrategy, copyData, recorded }) {
      // An authorization's password has no place in a script (authorization.ts): refused before anything is written.
      refuseSecretsInBteq(plan, environment?.name);
      // The environment's tmode decides the session's transaction mode (ANSI needs COMMIT after every DDL); its
      // ledger database, where the script records the deployment; both scripts share one deployment id.
      const before = prepared.get(plan);
      const now = before?.now ?? new Date();
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
      const common = {
        variables,
        now,
        ledger,
        transactionMode,
        conflictStrategy,
        copyData,
        ...(before ? { changedInPlace: before.changed } : {}),
      };
      // The definitions rollback.btq puts back (changed views, macros, procedures; hand-made join indexes the
      // release drops), read from the target now: the script cannot read them at run time (#64 S4).
      const previous = environment ? await capturedFrom(environment, plan, variables) : undefined;
      return {
        'deploy.btq': await toBteq(plan, common),
        // Steps whose reverse is only known against the live system are left out of the rollback script, and say so.
        'rollback.btq': await toBteqRollback(plan, {
          ...common,
          skipUnknownReverse: true,
          previous,
          ...(environment ? { rollbackCheckMaxBytes: rollbackCheckMaxBytesOf(environment) } : {}),
        }),
      };
    },
  };
}
