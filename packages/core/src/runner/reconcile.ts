import type { Connection, Engine } from '../engine/engine';
import { backfillStates } from '../expand/backfill';
import type { Ledger } from '../ledger/ledger';
import { parseKey } from '../model/object-key';
import type { Reporter } from './reporter';

/**
 * Steps left `started` by a process that died while they ran outside a transaction (`CREATE INDEX CONCURRENTLY`; on
 * Teradata every step), settled against the catalog and the step's recorded statements before anything is planned,
 * under the deployment lock: an object that is there and usable is recorded applied (with its object state and the
 * backup it kept), after the statements that finish it if the engine names any; what a step half made (an INVALID
 * index, a table it created or was building aside) is dropped (said in the output) and the step recorded failed, so
 * the plan makes it again; nothing left behind: recorded failed. With `dryRun`, only says what a real run will do.
 * Returns one line per step.
 */
export async function reconcileStarted(input: {
  engine: Engine;
  conn: Connection;
  ledger: Pick<Ledger, 'steps' | 'objects' | 'backups'>;
  reporter: Reporter;
  dryRun: boolean;
}): Promise<string[]> {
  const { engine, conn, ledger, reporter, dryRun } = input;
  const lines: string[] = [];
  const started = await ledger.steps.startedSteps();
  // Batched migrations record their batches in the ledger: read once, for every interrupted step.
  const batches =
    engine.backfill && started.some((s) => s.action === 'migrate')
      ? await backfillStates(engine.backfill, conn, undefined, { ledgerSchema: engine.ledger.schema })
      : [];
  for (const step of started) {
    const what = `step ${step.order} of deployment #${step.deploymentId} (${step.action} ${step.objectKey})`;
    // A batched migration that had started its batches: the ledger, not the catalog, says where it stopped.
    const backfills = step.action === 'migrate' ? batches.filter((b) => b.id.startsWith(`${step.objectKey}#`)) : [];
    if (backfills.length) {
      const where = backfills.map((b) => `${b.table.schema}.${b.table.name} ${b.done}/${b.total} rows`).join(', ');
      const line = `${what} was interrupted in its batches (${where}): ${dryRun ? 'a real run records it failed; the next deployment' : 'recorded failed; the next deployment'} resumes its backfills where they stopped`;
      if (!dryRun)
        await ledger.steps.resolveStarted(
          step.deploymentId,
          step.order,
          'failed',
          'interrupted: its process ended in its batches; the next deployment resumes them',
        );
      reporter.info(line);
      lines.push(line);
      continue;
    }
    const outcome = engine.catalog
      ? await engine.catalog.stepOutcome(conn, parseKey(step.objectKey), step.action, step)
      : { state: 'unknown' as const };
    let line: string;
    if (outcome.state === 'done') {
      const finish = outcome.finish ?? [];
      const finished = finish.length
        ? `, once ${dryRun ? 'a real run finishes' : 'finished by'} ${finish.join('; ')}`
        : '';
      line = `${what} was running outside a transaction when its process ended, and completed${finished}: ${dryRun ? 'a real run records it applied' : 'recorded applied'}${outcome.backup ? ` with its backup ${outcome.backup}` : ''}`;
      if (!dryRun) {
        for (const sql of finish) await conn.execute(sql);
        await conn.transaction(async (tx) => {
          await ledger.steps.resolveStarted(step.deploymentId, step.order, 'applied', null, tx);
          if (step.action !== 'migrate')
            await ledger.objects.setObjectState(
              step.project,
              step.objectKey,
              step.action === 'drop' ? null : step.checksum,
              step.deploymentId,
              tx,
            );
          if (outcome.backup) await ledger.backups.recordBackup(step.deploymentId, step.objectKey, outcome.backup, tx);
        });
      }
      reporter.info(line);
    } else if (outcome.state === 'invalid') {
      const left = outcome.left ?? 'an INVALID index';
      line = `${what} was interrupted and left ${left}: ${dryRun ? 'a real run drops it' : 'dropped'} (${outcome.clear.join('; ')})${step.action === 'drop' ? '' : ' and builds it again'}`;
      if (!dryRun) {
        for (const sql of outcome.clear) await conn.execute(sql);
        if (step.action === 'drop') {
          await conn.transaction(async (tx) => {
            await ledger.steps.resolveStarted(step.deploymentId, step.order, 'applied', null, tx);
            await ledger.objects.setObjectState(step.project, step.objectKey, null, step.deploymentId, tx);
          });
        } else {
          await ledger.steps.resolveStarted(
            step.deploymentId,
            step.order,
            'failed',
            'interrupted: its process ended while it ran and left an INVALID index, dropped by the next deployment',
          );
        }
      }
      reporter.warn(line);
    } else if (outcome.state === 'not-done') {
      line = `${what} was interrupted before it changed anything: ${dryRun ? 'a real run records it failed and plans it again' : 'recorded failed, planned again'}`;
      if (!dryRun)
        await ledger.steps.resolveStarted(
          step.deploymentId,
          step.order,
          'failed',
          'interrupted: its process ended while it ran; it left nothing behind',
        );
      reporter.info(line);
    } else {
      line = `${what} was running outside a transaction when its process ended; dbee cannot tell from the catalog whether it completed: check ${step.objectKey} (statements: ${step.statements.join('; ')})`;
      if (!dryRun)
        await ledger.steps.resolveStarted(
          step.deploymentId,
          step.order,
          'failed',
          'interrupted: its process ended while it ran; outcome unknown',
        );
      reporter.warn(line);
    }
    lines.push(line);
  }
  return lines;
}
