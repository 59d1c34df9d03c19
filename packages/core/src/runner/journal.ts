import type { Connection } from '../engine/engine';
import type { Ledger, LedgerWrite, StepStatus } from '../ledger/ledger';
import { migrationVersionOf } from '../model/object-key';
import type { PlanStep } from '../plan/plan';

/** A step that applied, as its ledger rows record it. */
export interface AppliedRecord {
  deploymentId: number;
  step: PlanStep;
  /** Checksum of the step's source statements (placeholders expanded): the object's new state in `objects`. */
  checksum: string;
  /** The statements that ran (a conflict's included). */
  statements: string[];
  reverse: string[] | null;
  previousDefinition: string | null;
  /** The row replaces the `started` row written before a step outside a transaction ran. */
  replacesStarted: boolean;
  /**
   * When and for how long it ran, as the client timed it; null: by the server's clock, for rows that travel in the
   * same request as the step's statements, after them (`LedgerInlining`).
   */
  timing: { startedAt: Date; durationMs: number } | null;
}

/**
 * The step journal: the one place that says which ledger rows record a step. A step that applied writes its row
 * (`steps`, counted in its deployment's `steps_applied`) and the state it leaves: the object's checksum in `objects`
 * (forgotten for a drop) or the migration in `migrations`. A backup it kept is recorded by `recordBackup`, which
 * needs an id read first. Rows are returned as writes so that the runner can send them in the step's own request.
 */
export class StepJournal {
  constructor(private readonly ledger: Ledger) {}

  /** The writes that record `r` applied, in order. */
  applied(r: AppliedRecord): LedgerWrite[] {
    const { step, deploymentId } = r;
    const writes = this.ledger.stepWrites(deploymentId, {
      order: step.order,
      objectKey: step.key,
      action: step.action,
      checksum: r.checksum,
      statements: r.statements,
      reverse: r.reverse,
      previousDefinition: r.previousDefinition,
      transactional: step.transactional,
      startedAt: r.timing?.startedAt ?? new Date(0),
      durationMs: r.timing?.durationMs ?? 0,
      serverClock: r.timing === null,
      status: 'applied',
      error: null,
      // Kept so that a rollback can tell a step whose undo cannot bring its data back.
      hazards: step.hazards,
      replacesStarted: r.replacesStarted,
    });
    if (step.action === 'migrate') {
      writes.push(...this.ledger.migrationWrites(step.project, migrationVersionOf(step.objectKey.name), step.source?.file ?? '', step.checksum, deploymentId));
    } else {
      writes.push(...this.ledger.objectStateWrites(step.project, step.key, step.action === 'drop' ? null : r.checksum, deploymentId));
    }
    return writes;
  }

  /** Write `r` applied on `conn` (one round trip per row), with the backup it kept. */
  async writeApplied(r: AppliedRecord, backup: string | null, conn: Connection): Promise<void> {
    await this.ledger.run(this.applied(r), conn);
    if (backup) await this.ledger.recordBackup(r.deploymentId, r.step.key, backup, conn);
  }

  /** The writes that record a step that did not apply (`failed`, `rolled-back`, `skipped`) or `started`. */
  outcome(
    deploymentId: number,
    step: PlanStep,
    status: Exclude<StepStatus, 'applied' | 'undone'>,
    fields: { checksum: string; statements: string[]; reverse: string[] | null; previousDefinition?: string | null; startedAt: Date; durationMs: number; error: string | null; replacesStarted: boolean },
  ): LedgerWrite[] {
    return this.ledger.stepWrites(deploymentId, {
      order: step.order,
      objectKey: step.key,
      action: step.action,
      checksum: fields.checksum,
      statements: fields.statements,
      reverse: fields.reverse,
      previousDefinition: fields.previousDefinition ?? null,
      transactional: step.transactional,
      startedAt: fields.startedAt,
      durationMs: fields.durationMs,
      status,
      error: fields.error,
      hazards: step.hazards,
      replacesStarted: fields.replacesStarted,
    });
  }
}
