import type { Connection } from '../engine/engine';
import type { BackupRow, Ledger, LedgerWrite, StepStatus } from '../ledger/ledger';
import { migrationVersionOf } from '../model/object-key';
import type { PlanStep } from '../plan/plan';
import { checksumStatements } from '../sources/checksum';
import type { AppliedStep, CompensatingStep, PartialUndo } from './undo-steps';

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
  /** The object's checksum in `objects` before the step, when the runner knows it; otherwise the row reads it. */
  previousChecksum?: string | null;
  /** The deployment lock's guard, evaluated by the step's row (server-timed rows only: `timing` null). */
  guard?: string | null;
  /**
   * The object's checksum the step leaves in `objects`, when it is not `checksum`: the last of a BTEQ script's steps of
   * an object planned in place at export records the sources' checksum. Default `checksum`.
   */
  stateChecksum?: string;
  /**
   * Whether the step writes its object's `objects` row (default true); false where its deployment folds its steps
   * into `objects` when it ends (`Ledger.fold`): its `steps` row says the same.
   */
  objectRow?: boolean;
}

/** What the row of a compensating step records beyond the step itself (`StepJournal.compensation`). */
interface CompensationFields {
  durationMs: number;
  error: string | null;
  startedAt: Date;
  previousChecksum?: string | null;
  previousDefinition?: string | null;
  statements?: string[];
  /**
   * The row goes in the same request as the step's statements, after them: timed by the server's clock, and evaluating
   * the deployment lock's guard (`LockHandle.guard`) when there is one (`Ledger.stepWrites`).
   */
  inline?: { guard: string | null };
}

/** Actions whose steps change who may call a routine, not what the ledger says is deployed. */
const ACCESS_ACTIONS = new Set(['disable', 'enable']);

/**
 * The step journal: the one place that says which ledger rows record a step, in every direction. A deploy step that
 * applied writes its row (`steps`; its deployment counts them when it closes) and the state it leaves: the object's
 * checksum in `objects` (forgotten for a drop; where the ledger folds them, its deployment writes them all at once
 * from its steps' rows instead: `Ledger.fold`) or the migration in `migrations`. A backup it kept is recorded by
 * `recordBackup`, which needs an id read first. Rows are returned as writes so that the runner can send them in the
 * step's own request. The undo of a step (automatic rollback: `undone`, `partlyUndone`) and the steps of a
 * compensating deployment (rollback, enable: `compensated`, `compensation`) are recorded here too.
 */
export class StepJournal {
  constructor(private readonly ledger: Pick<Ledger, 'tables' | 'batch' | 'steps' | 'objects' | 'backups'>) {}

  /** The writes that record `r` applied, in order. */
  applied(r: AppliedRecord): LedgerWrite[] {
    const { step, deploymentId } = r;
    const writes = this.ledger.steps.stepWrites(deploymentId, {
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
      guard: r.guard,
      status: 'applied',
      error: null,
      // Kept so that a rollback can tell a step whose undo cannot bring its data back.
      hazards: step.hazards,
      replacesStarted: r.replacesStarted,
      previousChecksum: r.previousChecksum,
    });
    if (step.action === 'migrate') {
      writes.push(
        ...this.ledger.objects.migrationWrites(
          step.project,
          migrationVersionOf(step.objectKey.name),
          step.source?.file ?? '',
          step.checksum,
          deploymentId,
        ),
      );
    } else if (r.objectRow !== false) {
      writes.push(
        ...this.ledger.objects.objectStateWrites(
          step.project,
          step.key,
          step.action === 'drop' ? null : (r.stateChecksum ?? r.checksum),
          deploymentId,
        ),
      );
    }
    return writes;
  }

  /** Write `r` applied on `conn` (one round trip per row), with the backup it kept. */
  async writeApplied(r: AppliedRecord, backup: string | null, conn: Connection): Promise<void> {
    await this.ledger.batch.run(this.applied(r), conn);
    if (backup) await this.ledger.backups.recordBackup(r.deploymentId, r.step.key, backup, conn);
  }

  /** The writes that record a step that did not apply (`failed`, `rolled-back`, `skipped`) or `started`. */
  outcome(
    deploymentId: number,
    step: PlanStep,
    status: Exclude<StepStatus, 'applied' | 'undone'>,
    fields: {
      checksum: string;
      statements: string[];
      reverse: string[] | null;
      previousDefinition?: string | null;
      startedAt: Date;
      durationMs: number;
      error: string | null;
      replacesStarted: boolean;
      /** The object's checksum before the step; default: read from `objects` as the row is written. */
      previousChecksum?: string | null;
    },
  ): LedgerWrite[] {
    return this.ledger.steps.stepWrites(deploymentId, {
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
      previousChecksum: fields.previousChecksum,
    });
  }

  /** Write the outcome of a deploy step that did not apply (see `outcome`). */
  async writeOutcome(...args: [...Parameters<StepJournal['outcome']>, Connection?]): Promise<void> {
    const [deploymentId, step, status, fields, conn] = args;
    await this.ledger.batch.run(this.outcome(deploymentId, step, status, fields), conn);
  }

  /**
   * Record a step that runs outside a transaction `started` before it runs: if the process dies while it runs, the
   * next deployment finds the row and reconciles it against the catalog (runner/reconcile.ts).
   */
  async started(
    deploymentId: number,
    step: PlanStep,
    fields: {
      checksum: string;
      statements: string[];
      reverse: string[] | null;
      previousDefinition: string | null;
      startedAt: Date;
      previousChecksum?: string | null;
      /** The row replaces the `started` row an earlier run of the same deployment left (a BTEQ script run again). */
      replacesStarted?: boolean;
    },
    conn: Connection,
  ): Promise<void> {
    await this.ledger.steps.recordStep(
      deploymentId,
      {
        order: step.order,
        objectKey: step.key,
        action: step.action,
        ...fields,
        transactional: false,
        durationMs: 0,
        status: 'started',
        error: null,
        hazards: step.hazards,
      },
      conn,
    );
  }

  /**
   * Record the backup a step left behind: an object it renamed aside (a step that failed after renaming it; a BTEQ
   * script's step, in the transaction of its RENAME, so that no backup is made without its row).
   */
  async backupLeft(deploymentId: number, step: PlanStep, backup: string, conn?: Connection): Promise<void> {
    await this.ledger.backups.recordBackup(deploymentId, step.key, backup, conn);
  }

  /**
   * Record `a` undone by an automatic rollback, on `c` (in the undo's transaction): the step becomes `undone`, the
   * object's state goes back to what it was before it (a migration is forgotten), a backup it kept is gone.
   */
  async undone(a: AppliedStep, c: Connection): Promise<void> {
    const undone = this.ledger.steps.stepStatusWrites(a.deploymentId, a.step.order, 'applied', 'undone');
    if (a.step.action === 'migrate') {
      await this.ledger.batch.runTogether(undone, c);
      await this.ledger.objects.forgetMigration(a.step.project, migrationVersionOf(a.step.objectKey.name), c);
    } else {
      // One request: the step undone and its object's state put back.
      const state = this.ledger.objects.objectStateWrites(
        a.step.project,
        a.step.key,
        a.previousChecksum,
        a.deploymentId,
      );
      await this.ledger.batch.runTogether([...undone, ...state], c);
    }
    if (a.backup) await this.ledger.backups.backupGone(a.deploymentId, a.backup, c);
  }

  /** Record what a step committed before it failed undone: the backup it made is gone (the reverse renamed it back). */
  async partlyUndone(p: PartialUndo, c: Connection): Promise<void> {
    if (p.backup) await this.ledger.backups.backupGone(p.deploymentId, p.backup, c);
  }

  /**
   * The row of step `s` of compensating deployment `deploymentId` (a rollback or an enable): its ledger action, the
   * statements that ran, as its reverse the statements of the step it undid, and the step it reverts.
   */
  async compensation(
    deploymentId: number,
    s: CompensatingStep,
    status: StepStatus,
    fields: CompensationFields,
    c?: Connection,
  ): Promise<void> {
    await this.ledger.batch.run(this.compensationWrites(deploymentId, s, status, fields), c);
  }

  /** The writes of `compensation`. */
  private compensationWrites(
    deploymentId: number,
    s: CompensatingStep,
    status: StepStatus,
    fields: CompensationFields,
  ): LedgerWrite[] {
    const statements = fields.statements ?? s.plan.statements;
    return this.ledger.steps.stepWrites(deploymentId, {
      order: s.plan.order,
      objectKey: s.plan.key,
      action: s.ledgerAction,
      checksum: checksumStatements(statements),
      statements,
      reverse: s.plan.reverse,
      previousDefinition: fields.previousDefinition ?? null,
      previousChecksum:
        fields.previousChecksum === undefined
          ? s.undoes && !ACCESS_ACTIONS.has(s.undoes.step.action)
            ? undefined
            : null
          : fields.previousChecksum,
      revertsStep: s.undoes?.step.order ?? null,
      transactional: s.plan.transactional,
      startedAt: fields.startedAt,
      durationMs: fields.durationMs,
      status,
      error: fields.error,
      hazards: s.plan.hazards,
      ...(fields.inline ? { serverClock: true, guard: fields.inline.guard } : {}),
    });
  }

  /**
   * The writes of `compensated`, for a row sent in the same request as the step's statements (`inline`), when they are
   * writes alone: null when recording the step reads the ledger first (the undo of a migration) or changes a backup's
   * row (then `compensated` records it after its statements ran).
   */
  async compensatedWrites(
    deploymentId: number,
    project: string,
    s: CompensatingStep,
    ran: string[],
    backupsOf: (id: number) => Promise<BackupRow[]>,
    inline: { guard: string | null },
  ): Promise<LedgerWrite[] | null> {
    if (s.undoes) {
      const { gone, back } = await this.backupChanges(s.undoes, backupsOf);
      if (gone.length || back.length) return null;
    }
    const fields = { durationMs: 0, error: null, startedAt: new Date(0), statements: ran, inline };
    return this.recordWrites(deploymentId, project, s, fields);
  }

  /**
   * The writes that record compensating step `s` applied (`compensated`): its row, and for a step that undoes a recorded
   * one, that step's status and its object's state put back, in one chain (the row's previous checksum is read from the
   * object's state before it changes: a chained write sees the ledger as it was before it). Null for the undo of a
   * migration, whose record reads the ledger first.
   */
  private recordWrites(
    deploymentId: number,
    project: string,
    s: CompensatingStep,
    fields: CompensationFields,
  ): LedgerWrite[] | null {
    const u = s.undoes;
    if (!u) return this.compensationWrites(deploymentId, s, 'applied', { ...fields, previousChecksum: null });
    const { step } = u;
    if (step.objectKey.startsWith('migration:')) return null;
    return [
      ...this.undoneStatuses(u),
      ...this.compensationWrites(deploymentId, s, 'applied', fields),
      ...(ACCESS_ACTIONS.has(step.action) ? [] : this.stateBefore(project, u, deploymentId)),
    ];
  }

  /** The writes that put the object of undone step `u.step` back to its state before it. */
  private stateBefore(
    project: string,
    u: NonNullable<CompensatingStep['undoes']>,
    deploymentId: number,
  ): LedgerWrite[] {
    const { step } = u;
    return u.previousFromRow
      ? this.ledger.objects.stateBeforeStepWrites(project, step.objectKey, deploymentId, {
          deploymentId: u.deployment.id,
          order: step.order,
        })
      : this.ledger.objects.objectStateWrites(project, step.objectKey, step.previousChecksum, deploymentId);
  }

  /**
   * The backups undoing `u` changes: those its deployment kept of the object (gone now), and those the deployment it
   * reverted had dropped (present again). `backupsOf` gives them as they were before this deployment started.
   */
  private async backupChanges(
    u: NonNullable<CompensatingStep['undoes']>,
    backupsOf: (id: number) => Promise<BackupRow[]>,
  ): Promise<{ gone: BackupRow[]; back: BackupRow[] }> {
    const { step, deployment } = u;
    const gone =
      deployment.kind === 'deploy'
        ? (await backupsOf(deployment.id)).filter((b) => b.object_key === step.objectKey && b.dropped_at === null)
        : [];
    const back =
      deployment.reverts !== null
        ? (await backupsOf(deployment.reverts)).filter((b) => b.object_key === step.objectKey && b.dropped_at !== null)
        : [];
    return { gone, back };
  }

  /** The undone step's status, and the step it undid when it was itself an undo (`compensated`). */
  private undoneStatuses(u: NonNullable<CompensatingStep['undoes']>): LedgerWrite[] {
    const { step, deployment } = u;
    return [
      ...this.ledger.steps.stepStatusWrites(deployment.id, step.order, 'applied', 'undone'),
      ...(deployment.reverts !== null && step.revertsStep !== null
        ? this.ledger.steps.stepStatusWrites(deployment.reverts, step.revertsStep, 'undone', 'applied')
        : []),
    ];
  }

  /**
   * Record step `s` of compensating deployment `deploymentId` applied, on `c` (in its transaction), having run `ran`
   * since `started`. For a step that undoes a recorded one: that step becomes `undone` (and when it was itself the
   * undo of an earlier step, that earlier step is `applied` again), the object's ledger state goes back to what it was
   * before it (a migration is forgotten, or recorded again), a backup it renamed back is marked gone (or present
   * again). `backupsOf` gives a deployment's backups as they were before this deployment started. `started`: when the
   * step started (ms, the client's clock; its duration is measured now), or its row's timing as given (a BTEQ script:
   * the server's clock when the row is written).
   */
  async compensated(
    deploymentId: number,
    project: string,
    s: CompensatingStep,
    ran: string[],
    started: number | { startedAt: Date; durationMs: number },
    backupsOf: (id: number) => Promise<BackupRow[]>,
    c: Connection,
  ): Promise<void> {
    const timing =
      typeof started === 'number' ? { startedAt: new Date(started), durationMs: Date.now() - started } : started;
    const fields = (more: { previousChecksum?: string | null; previousDefinition?: string | null }) => ({
      ...timing,
      error: null,
      statements: ran,
      ...more,
    });
    const u = s.undoes;
    const writes = this.recordWrites(deploymentId, project, s, fields({}));
    if (writes) await this.ledger.batch.runTogether(writes, c);
    if (!u) return;
    const { step, deployment } = u;
    if (!writes) {
      // The undo of a migration: the undone step's status, then the migration forgotten or recorded again as it was.
      await this.ledger.batch.runTogether(this.undoneStatuses(u), c);
      const version = migrationVersionOf(step.objectKey);
      const now = await this.ledger.objects.migration(project, version, c);
      await this.ledger.objects.forgetMigration(project, version, c);
      if (step.previousChecksum !== null)
        await this.ledger.objects.recordMigration(
          project,
          version,
          step.previousDefinition ?? '',
          step.previousChecksum,
          deploymentId,
          c,
        );
      // The migration's description travels in previous_definition, so that undoing this step records it again.
      await this.compensation(
        deploymentId,
        s,
        'applied',
        fields({ previousChecksum: now?.checksum ?? null, previousDefinition: now?.description ?? null }),
        c,
      );
    }
    const { gone, back } = await this.backupChanges(u, backupsOf);
    for (const b of gone) await this.ledger.backups.backupGone(deployment.id, b.backup_name, c);
    for (const b of back) await this.ledger.backups.backupBack(deployment.reverts!, b.backup_name, c);
  }
}
