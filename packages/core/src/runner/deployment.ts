import type { Connection, Engine } from '../engine/engine';
import type {
  DeploymentInfo,
  DeploymentStatus,
  DeploymentSummary,
  Ledger,
  RunnerLedger,
  LedgerState,
  LedgerWrite,
  StepStatus,
} from '../ledger/ledger';
import type { ObjectKey } from '../model/object-key';
import type { PlanStep } from '../plan/plan';
import { checksumStatements } from '../sources/checksum';
import { stepStatements } from '../plan/step-statements';
import { StepJournal } from './journal';
import type { StepConflict } from './step-conflict';
import type { AppliedStep } from './undo-steps';

/** Actions whose steps read the object's definition before they change it (a reverse when the plan has none). */
const CAPTURING = new Set(['replace', 'drop', 'alter', 'restore']);

/**
 * Whether preparing `step` reads the object's definition first (`Deployment.prepare`): a step that replaces, drops,
 * alters or restores an object, or moves a conflicting one aside, on an engine that can read definitions.
 */
export function capturesDefinition(
  step: PlanStep,
  engine: Pick<Engine, 'catalog'>,
  conflict: StepConflict | null = null,
): boolean {
  return !!engine.catalog && (conflict !== null || CAPTURING.has(step.action));
}

/**
 * Whether `step` replaces only its own object (`ObjectCatalog.replacesOnlyItself`) and moves no conflicting one aside: no
 * other object's definition changes when it runs, so definitions of a run of such steps are read together
 * (`Deployment.prepare`), and such steps share a request (runner.ts).
 */
export function replacesOnlyItself(
  step: PlanStep,
  engine: Pick<Engine, 'catalog'>,
  conflicts?: ReadonlyMap<number, StepConflict>,
): boolean {
  return !conflicts?.has(step.order) && !!engine.catalog?.replacesOnlyItself?.(step);
}

/** Whether `step` runs outside a transaction (its statements commit one by one): it is journaled (`PreparedStep`). */
function outsideTransaction(step: PlanStep, engine: Pick<Engine, 'capabilities'>): boolean {
  return !(step.transactional && engine.capabilities.transactionalDdl);
}

/** What a deployment needs to prepare the steps of a plan (a compensating deployment prepares none). */
export interface DeploymentPlan {
  engine: Pick<Engine, 'catalog' | 'capabilities'>;
  /** Variables for `{{name}}` in the project's step statements. */
  variables: Record<string, string>;
  /** Conflict resolutions by step order. */
  conflicts?: ReadonlyMap<number, StepConflict>;
  /**
   * The plan's steps in the order they run: the definitions of a run of steps that each replace only their own object
   * (`ObjectCatalog.replacesOnlyItself`) are read together when the first of them is prepared. Absent: one read per step.
   */
  steps?: readonly PlanStep[];
}

/** Definitions read together at most (one catalog query). */
const CAPTURES_PER_READ = 500;

/**
 * One step as its deployment sends it, computed once by `Deployment.prepare` whichever way the step is sent (in a
 * request of many with its rows inline, or statement by statement with its rows after them).
 */
export interface PreparedStep {
  step: PlanStep;
  deploymentId: number;
  /** The statements that run, in order: a conflict's `before`, the step's own (placeholders expanded), its `after`. */
  statements: string[];
  /** How many of `statements` come before the step's own (a conflict moving an object aside). */
  before: number;
  /** Checksum of the step's source statements, placeholders expanded: the object's state in `objects` once applied. */
  checksum: string;
  /** The step's whole reverse as recorded (its own and the conflict's); null when it cannot be undone automatically. */
  reverse: string[] | null;
  /** The object's definition read before the step (replace, drop, alter, restore, or a conflict), else null. */
  previousDefinition: string | null;
  /** The object's checksum in the ledger right before the step (its row's `previous_checksum`). */
  ledgerChecksum: string | null;
  /** What undoing the step sets the object's checksum back to: null for a creation or a migration. */
  previousChecksum: string | null;
  /** The renamed-aside object the conflict's statements make (qualified), else null. */
  backup: string | null;
  conflict: StepConflict | null;
  /**
   * The step runs outside a transaction (`CREATE INDEX CONCURRENTLY`; every step where DDL is not transactional, as on
   * Teradata, where each statement commits on its own): it is recorded `started` before it runs, so that the next
   * deployment can reconcile it against the catalog if this process dies while it runs (runner/reconcile.ts).
   */
  journaled: boolean;
}

/**
 * One deployment's ledger lifecycle, owned in one place: `open` writes its row (`running`, the project's ledger state
 * read once and kept as `ledger_before`), `prepare` computes each step's statements, rows, reverse, previous checksum
 * and captured definition from the in-memory state (no ledger read per step), `applied` / `outcome` record what each
 * step did, and `close` writes the closing row with its summary. Deploy, clone, the compensating deployments of
 * rollback, disable and enable, adopt and cleanup open and close their deployments through it.
 */
export class Deployment {
  private readonly journal: StepJournal;
  /** The ledger's object checksums as the committed steps left them. */
  private readonly objects: Map<string, string>;
  /**
   * Checksums set by steps prepared but not yet known to have committed: with `objects`, the ledger's `objects` as
   * each later step will find it. An entry goes when its step commits; all go when a transaction fails.
   */
  private readonly pending = new Map<string, { checksum: string | null; step: PlanStep }>();
  private closed = false;
  /** Definitions read ahead with an earlier step's (`capture`), by step, until the step is prepared. */
  private readonly captured = new Map<PlanStep, string | null>();
  /** Each of the plan's steps by its place in `DeploymentPlan.steps`, made when a run is first read. */
  private places: Map<PlanStep, number> | null = null;
  /**
   * Its steps write no `objects` rows (a deployment of a plan, on a ledger that folds them: `Ledger.fold`); `fold`
   * brings `objects` up to date from its applied steps, once, before anything of it reads them.
   */
  private readonly defers: boolean;
  private folded = false;

  private constructor(
    private readonly ledger: RunnerLedger,
    /** The deployment's id in the ledger. */
    readonly id: number,
    /** The project it deploys. */
    readonly project: string,
    /** The project's ledger state when the deployment started; null when not known (`DeploymentInfo.before`). */
    readonly before: LedgerState | null,
    private readonly plan: DeploymentPlan | null,
  ) {
    this.journal = new StepJournal(ledger);
    this.objects = new Map(Object.entries(before?.objects ?? {}));
    this.defers = plan !== null && ledger.objects.folds;
  }

  /**
   * Open a deployment: read the project's ledger state once (unless `info.before` has it, or says it cannot be known)
   * and write the deployment's row, `running`. The caller holds the deployment lock. `plan` is what `prepare` needs. A
   * deployment of the same project that died before its steps were folded into `objects` is folded first.
   */
  static async open(
    ledger: RunnerLedger,
    info: DeploymentInfo,
    plan: DeploymentPlan | null = null,
  ): Promise<Deployment> {
    let before = info.before;
    if (before === undefined) {
      const read = await ledger.objects.stateAndUnfolded(info.project);
      before = read.state;
      // A deployment of the project whose process died before it folded its steps (the caller holds the lock): its
      // steps reach `objects` now, before this one writes there (`before` has them already).
      for (const id of read.unfolded) await ledger.objects.fold(id);
    }
    const id = await ledger.deployments.startDeployment({ ...info, before });
    return new Deployment(ledger, id, info.project, before, plan);
  }

  /**
   * Deployment `id` of `project`, whose row is open already, to record and close it: nothing is read or written. A BTEQ
   * script, written over a recording connection before it runs, closes its deployment on each of its exits (each failed
   * step's, its end), each a run of its own, one of which runs: each exit closes through a handle of its own.
   */
  static of(ledger: RunnerLedger, id: number, project: string): Deployment {
    return new Deployment(ledger, id, project, null, null);
  }

  /** The keys of the objects the ledger records for the project as the committed steps left them. */
  objectKeys(): string[] {
    return [...this.objects.keys()];
  }

  /** Whether `close` ran. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Everything that sends and records `step`, computed once: its statements (a conflict's around the step's own,
   * placeholders expanded), the definition it replaces (read on `c`, after what ran before it), its reverse, and
   * the object's checksum before it. The step's checksum counts as the object's from here until its transaction
   * fails (`discard`) or it commits (`applied`).
   */
  async prepare(step: PlanStep, c: Connection): Promise<PreparedStep> {
    const plan = this.plan;
    if (!plan) throw new Error(`deployment ${this.id} prepares no steps (opened without a plan)`);
    const conflict = plan.conflicts?.get(step.order) ?? null;
    const catalog = plan.engine.catalog;
    // `ignore` read the definition when it decided the conflict (nothing of the plan has touched the object since).
    const previousDefinition =
      conflict?.definition !== undefined
        ? conflict.definition
        : catalog && capturesDefinition(step, plan.engine, conflict)
          ? await this.capture(step, c)
          : null;
    // What the dry run prints and verifies for this step (the same function: plan/step-statements.ts).
    const statements = stepStatements(step, plan.variables, conflict);
    const checksum = checksumStatements(step.statements, plan.variables);
    // A replaced object comes back from its captured definition when the plan knows no reverse.
    let reverse = step.reverse ?? (step.action === 'replace' && previousDefinition ? [previousDefinition] : null);
    // Dependents the conflict created again stand on the new object: they go first.
    if (conflict)
      reverse =
        reverse && conflict.reverse ? [...(conflict.dependents?.drop ?? []), ...reverse, ...conflict.reverse] : null;
    const ledgerChecksum = this.checksumBefore(step);
    if (step.action !== 'migrate')
      this.pending.set(step.key, { checksum: step.action === 'drop' ? null : checksum, step });
    return {
      step,
      deploymentId: this.id,
      statements,
      before: conflict?.before.length ?? 0,
      checksum,
      reverse,
      previousDefinition,
      ledgerChecksum,
      previousChecksum: step.action === 'migrate' || step.action === 'create' ? null : ledgerChecksum,
      backup: conflict?.backup ? qualifiedName(conflict.backup) : (step.backup ?? null),
      conflict,
      journaled: outsideTransaction(step, plan.engine),
    };
  }

  /**
   * The definition of `step`'s object as it is now (after every step before it ran). When the step replaces only its own
   * object, the definitions of the steps right after it that do too are read with it: none of those steps changes
   * what another reads, so each read is what it would be right before its own step ran.
   */
  private async capture(step: PlanStep, c: Connection): Promise<string | null> {
    if (this.captured.has(step)) {
      const def = this.captured.get(step)!;
      this.captured.delete(step);
      return def;
    }
    const plan = this.plan!;
    const catalog = plan.engine.catalog!;
    const together = (s: PlanStep) => s.project === step.project && replacesOnlyItself(s, plan.engine, plan.conflicts);
    const steps = plan.steps ?? [];
    this.places ??= new Map(steps.map((s, i) => [s, i]));
    const at = this.places.get(step);
    if (!catalog.captureDefinitions || at === undefined || !together(step))
      return catalog.captureDefinition(c, step.objectKey);
    const run = [step];
    // A second step on one object reads what the first left: the run stops before it.
    const keys = new Set([step.key]);
    for (let i = at + 1; i < steps.length && run.length < CAPTURES_PER_READ; i++) {
      const next = steps[i]!;
      if (!together(next) || keys.has(next.key)) break;
      keys.add(next.key);
      run.push(next);
    }
    const defs = await catalog.captureDefinitions(
      c,
      run.map((s) => s.objectKey),
    );
    for (let i = 1; i < run.length; i++) this.captured.set(run[i]!, defs[i] ?? null);
    return defs[0] ?? null;
  }

  /** The object's checksum in the ledger right before `step` runs, from the in-memory state. */
  private checksumBefore(step: PlanStep): string | null {
    if (step.action === 'migrate') return null;
    const p = this.pending.get(step.key);
    if (p) return p.checksum;
    return this.objects.get(step.key) ?? null;
  }

  /**
   * The writes that record `p` applied, to send after its statements in its transaction: timed by the server's clock
   * (`timing` null, rows in the same request as the statements) or by the client's. `guard` is the deployment lock's
   * guard, evaluated by the step's row (server-timed rows only).
   */
  rows(
    p: PreparedStep,
    timing: { startedAt: Date; durationMs: number } | null,
    guard: string | null = null,
  ): LedgerWrite[] {
    return this.journal.applied({
      deploymentId: this.id,
      step: p.step,
      checksum: p.checksum,
      statements: p.statements,
      reverse: p.reverse,
      previousDefinition: p.previousDefinition,
      replacesStarted: p.journaled,
      timing,
      previousChecksum: p.ledgerChecksum,
      guard,
      objectRow: !this.defers,
    });
  }

  /** Record `p` `started` on `c` before it runs (a journaled step, see `PreparedStep.journaled`). */
  async started(p: PreparedStep, startedAt: Date, c: Connection): Promise<void> {
    await this.journal.started(
      this.id,
      p.step,
      {
        checksum: p.checksum,
        statements: p.statements,
        reverse: p.reverse,
        previousDefinition: p.previousDefinition,
        startedAt,
        previousChecksum: p.ledgerChecksum,
      },
      c,
    );
  }

  /**
   * Write `p`'s rows on `c` after its statements ran (one round trip per row), with the backup it kept. The rows of a
   * journaled step are written in one transaction of their own, so that a crash leaves either its `started` row or
   * all of them: never a step recorded applied without its object state.
   */
  async writeApplied(p: PreparedStep, timing: { startedAt: Date; durationMs: number }, c: Connection): Promise<void> {
    const write = async (w: Connection) => {
      await this.ledger.batch.run(this.rows(p, timing), w);
      if (p.backup) await this.ledger.backups.recordBackup(this.id, p.step.key, p.backup, w);
    };
    if (p.journaled) await c.transaction(write);
    else await write(c);
  }

  /** `p` committed: the in-memory state moves on, and what undoes it is returned. */
  applied(p: PreparedStep): AppliedStep {
    const { step } = p;
    if (step.action !== 'migrate') {
      if (step.action === 'drop') this.objects.delete(step.key);
      else this.objects.set(step.key, p.checksum);
    }
    if (this.pending.get(step.key)?.step === step) this.pending.delete(step.key);
    return {
      step,
      deploymentId: this.id,
      statements: p.statements,
      reverse: p.reverse,
      previousChecksum: p.previousChecksum,
      backup: p.backup,
    };
  }

  /** A transaction failed: what its prepared steps would have set never happened. */
  discard(): void {
    this.pending.clear();
  }

  /**
   * Record a step that did not apply (`failed`, `rolled-back`, `skipped`), with the statements it would have run and
   * the reverse it would have been recorded with (`p`, when it was prepared).
   */
  async outcome(
    step: PlanStep,
    status: Exclude<StepStatus, 'applied' | 'undone' | 'started'>,
    fields: { durationMs: number; error: string | null; startedAt?: Date; reverse?: string[] | null },
    p?: PreparedStep,
  ): Promise<void> {
    const plan = this.plan;
    const variables = plan?.variables ?? {};
    const conflict = p?.conflict ?? plan?.conflicts?.get(step.order);
    await this.journal.writeOutcome(this.id, step, status, {
      checksum: checksumStatements(step.statements, variables),
      replacesStarted: !!plan && outsideTransaction(step, plan.engine),
      statements: p?.statements ?? stepStatements(step, variables, conflict),
      reverse: fields.reverse !== undefined ? fields.reverse : p ? p.reverse : step.reverse,
      startedAt: fields.startedAt ?? new Date(),
      durationMs: fields.durationMs,
      error: fields.error,
      // `objects` does not have this deployment's steps yet: the state the committed ones left, from memory.
      ...(this.defers
        ? { previousChecksum: step.action === 'migrate' ? null : (this.objects.get(step.key) ?? null) }
        : {}),
    });
  }

  /**
   * Bring `objects` up to date with the steps this deployment applied (`Ledger.fold`), once: before anything reads
   * the project's objects at its end (its object states synced, its automatic rollback); otherwise `close` sends the
   * fold with the closing row. Nothing where its steps wrote their `objects` rows themselves.
   */
  async fold(): Promise<void> {
    if (!this.defers || this.folded) return;
    await this.ledger.objects.fold(this.id);
    this.folded = true;
  }

  /** Record the backup a step left behind (a step that failed after renaming an object aside). */
  async backupLeft(step: PlanStep, backup: string): Promise<void> {
    await this.journal.backupLeft(this.id, step, backup);
  }

  /** Write the closing row: the final status, the error and failed statement if any, the summary. Once. */
  async close(
    status: Exclude<DeploymentStatus, 'running' | 'interrupted'>,
    summary: DeploymentSummary,
    failure: { error: string; statement: string | null } | null = null,
  ): Promise<void> {
    if (this.closed) return;
    // Not folded yet: the fold's writes go first in the closing row's request (one transaction where it batches).
    const fold = this.defers && !this.folded ? this.ledger.objects.foldWrites(this.id) : [];
    await this.ledger.deployments.finishDeployment(
      this.id,
      status,
      failure?.error ?? null,
      failure?.statement ?? null,
      summary,
      fold,
    );
    this.folded ||= fold.length > 0;
    this.closed = true;
  }
}

function qualifiedName(key: ObjectKey): string {
  return key.schema ? `${key.schema}.${key.name}` : key.name;
}
