import { DbeeError } from '../errors';
import type { Connection, Engine } from '../engine/engine';
import type { Ledger } from '../ledger/ledger';
import type { PlanStep } from '../plan/plan';
import type { Reporter } from './reporter';

/** A step that committed during this run, with what it takes to undo it. */
export interface AppliedStep {
  step: PlanStep;
  deploymentId: number;
  /** The statements that ran (conflict statements included). */
  statements: string[];
  /** The statements recorded as its reverse; null when it cannot be undone automatically. */
  reverse: string[] | null;
  /** The object's checksum in the ledger before the step, restored when it is undone. */
  previousChecksum: string | null;
  /** Backup it kept (qualified name), renamed back when it is undone. */
  backup: string | null;
}

export interface UndoResult {
  undone: number;
  /** Why it stopped before undoing everything; null when every step was undone. */
  incomplete: string | null;
  /** Backups that were renamed back to their original names. */
  restoredBackups: string[];
}

/**
 * Undo committed steps in reverse order from their recorded reverses (automatic rollback). Each undo runs in a
 * transaction with its ledger changes: the step becomes `undone`, the object's ledger state goes back to what it
 * was (a migration is forgotten). Stops at the first step without a reverse or whose reverse fails: the steps
 * before it stay applied, and the ledger says so.
 */
export async function undoSteps(
  engine: Engine,
  ledger: Ledger,
  conn: Connection,
  applied: readonly AppliedStep[],
  reporter: Reporter,
): Promise<UndoResult> {
  let undone = 0;
  const restoredBackups: string[] = [];
  const todo = [...applied].reverse();
  for (const [i, a] of todo.entries()) {
    const left = todo.length - i - 1;
    const stay = left ? ` it and the ${left} step${left === 1 ? '' : 's'} before it stay applied` : ' it stays applied';
    if (a.reverse === null) {
      return { undone, incomplete: `step ${a.step.order} (${a.step.key}) has no recorded reverse;${stay}`, restoredBackups };
    }
    const reverse = a.reverse;
    const run = async (c: Connection) => {
      for (const sql of reverse) await c.execute(sql);
      await ledger.markStepUndone(a.deploymentId, a.step.order, c);
      if (a.step.action === 'migrate') {
        await ledger.forgetMigration(a.step.project, a.step.objectKey.name.slice(a.step.objectKey.name.lastIndexOf('/V') + 2), c);
      } else {
        await ledger.setObjectState(a.step.project, a.step.key, a.previousChecksum, a.deploymentId, c);
      }
      if (a.backup) await ledger.backupGone(a.deploymentId, a.backup, c);
    };
    try {
      if (a.step.transactional && engine.capabilities.transactionalDdl) await conn.transaction(run);
      else await run(conn);
    } catch (e) {
      const message = e instanceof DbeeError ? e.message : (engine.mapError(e, {}) as Error).message;
      return { undone, incomplete: `undoing step ${a.step.order} (${a.step.key}) failed: ${message.split('\n')[0]};${stay}`, restoredBackups };
    }
    undone++;
    if (a.backup) restoredBackups.push(a.backup);
    reporter.info(`  undone step ${a.step.order}: ${a.step.action} ${a.step.key}`);
  }
  return { undone, incomplete: null, restoredBackups };
}
