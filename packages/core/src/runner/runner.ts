import {
  readCatalogVersion,
  readFingerprint,
  readRecordable,
  summaryOf,
  type RecordedFingerprint,
} from './recorded-fingerprint';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import { runBatchedUpdate } from '../expand/batched-migration';
import type { ManagedScope, SchemaScope } from '../schema/managed-scope';
import { requireRole, type Connection, type Engine } from '../engine/engine';
import type { DeploymentInfo, DeploymentSummary, Ledger, RunnerLedger, StepStatus } from '../ledger/ledger';
import { openLedger } from '../ledger/open-ledger';
import { migrationVersionOf, type ObjectKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import { expandedSearchPath } from '../sources/key-name';
import {
  executePlan,
  type BatchMode,
  type Group,
  type PlanHooks,
  type StepEffect,
  type TransactionScope,
} from './execute';
import { sendStatements } from './batch';
import { capturesDefinition, Deployment, replacesOnlyItself, type PreparedStep } from './deployment';
import type { Reporter } from './reporter';
import type { StepConflict } from './step-conflict';
import { sendStep } from './step-stages';
import { undoApplied } from './undo';
import type { AppliedStep } from './undo-steps';

export type { TransactionScope } from './execute';
export { transactionGroups } from './execute';

export type { StepConflict } from './step-conflict';

export interface RunOptions {
  engine: Engine;
  conn: Connection;
  plan: Plan;
  environment: string;
  /** Variables per project for `{{name}}` in step statements. */
  variables: ReadonlyMap<string, Record<string, string>>;
  /** Identity recorded in the ledger (minus plan checksum, project and step count, filled per project). */
  identity: Omit<DeploymentInfo, 'project' | 'environment' | 'kind' | 'stepsTotal' | 'planChecksum'>;
  planChecksum: string;
  reporter: Reporter;
  session?: { lockTimeoutMs?: number; statementTimeoutMs?: number };
  /**
   * Called before every step (and before a transaction opens): throws `LOCK_LOST` when the deployment lock is gone.
   * The run then stops before the step, runs nothing more (no automatic rollback, no checks), records its open
   * deployments `aborted` with the reason, and exits 2. See `DeploymentSession.assertLock`.
   */
  beforeStep?: () => Promise<void>;
  /**
   * The deployment lock's guard (`LockHandle.guard`): evaluated inside each step's transaction right before it commits
   * (by the step's ledger row in a request, by a statement of its own otherwise), so that no transaction commits once
   * the lock is lost, even in the middle of a request of many steps. The run then stops as after a failed
   * `beforeStep`.
   */
  lockGuard?: string | null;
  /**
   * A second session of the lock's holder for read-only catalog queries (`LockHandle.session`): the fingerprint each
   * deployment records is read there while its smoke baseline runs on `conn`. Absent: read on `conn` after the checks.
   */
  side?: Connection;
  /** Default `object`. */
  transaction?: TransactionScope;
  /** Conflict resolutions by step order. */
  conflicts?: ReadonlyMap<number, StepConflict>;
  /**
   * Keep going after a failed step with the steps whose dependencies all succeeded. Needs `dependencies`;
   * without them every later step counts as dependent.
   */
  continueOnError?: boolean;
  /** Step order → orders of the steps it depends on. */
  dependencies?: ReadonlyMap<number, ReadonlySet<number>>;
  /** Projects whose failed deployments are undone automatically (`deploy.autoRollback`). */
  autoRollback?: (project: string) => boolean;
  /**
   * Where objects that stand on a project's objects may live (every schema of the environment's projects): an
   * automatic rollback that must drop a view to put back its narrower version drops and creates again the views of
   * other projects over it (`recreateWithDependents`), as `dbee rollback` does.
   */
  dependentsScope?: SchemaScope;
  /** Schemas of each project (expanded), for the fingerprint recorded at the end of its deployment (drift). */
  schemas?: ReadonlyMap<string, string[]>;
  /** The deployment kind recorded in the ledger. Default `deploy`; `clone` for `dbee clone`. */
  kind?: 'deploy' | 'clone';
  /** What each project manages in its schemas (db.yaml `manage:`), so the recorded fingerprint leaves the rest out. */
  manage?: ReadonlyMap<string, ManagedScope>;
  /**
   * The state a project's deployment starts from, recorded in its summary (`DeploymentSummary.startedFrom`): given for
   * a project whose schemas were changed outside dbee since its last deployment, which its steps put back.
   */
  startedFrom?: ReadonlyMap<string, NonNullable<DeploymentSummary['startedFrom']>>;
  /**
   * Takes the reading of a project's fingerprint for later, to be merged into the summary of deployment
   * `deploymentId`. An Nx batch reads them all at its end, in one query, and writes them in one request, still under
   * its lock (operations/deploy.ts). The deployment closes without one until then. Without it, the fingerprint is read
   * before the deployment closes.
   */
  fingerprintLater?: (scope: SchemaScope, deploymentId: number) => void;
  /**
   * Checks run when a project's steps have all applied, before its deployment is closed (smoke checks). A
   * failure counts as the deployment failing: with autoRollback its steps are undone, and the exit code is 3.
   * `objects`: the keys of the objects the ledger records for the project now, as the deployment knows them (its
   * state at the start with its applied steps, or the object states it synced): the checks need not read them.
   */
  verify?: (
    project: string,
    deploymentId: number,
    objects: readonly string[],
  ) => Promise<{ passed: boolean; summary: string; error?: DbeeError }>;
  /**
   * The convergence check of a project once its steps have all applied, before its smoke checks: the objects they
   * touched, read from the target by name, compared with the sources (`convergence` in diffing/converge.ts). `error`
   * (`NOT_CONVERGED`) fails the deployment (exit 2; with autoRollback its steps are undone), recorded with the
   * objects in `summary.notConverged`; `said`: what the run tells of it. Absent: not compared.
   */
  /**
   * Once a project's steps have all applied and its checks passed, before its deployment closes: summary fields
   * recorded with its closing row (the objects of other projects its steps rewrote in place, and the states it carried
   * forward: diffing/rewritten-elsewhere.ts). A reading that fails records nothing (the deployment is done all the
   * same). Absent, or null: nothing.
   */
  afterSteps?: (project: string) => Promise<DeploymentSummary | null>;
  converge?: (
    project: string,
    steps: readonly PlanStep[],
    side?: Promise<Connection | undefined>,
  ) => Promise<{ error: DbeeError | null; objects: string[]; said: string | null }>;
  /**
   * Called once, as the run's first steps go out (`PlanHooks.sent`): right after the first request of steps is sent,
   * before its answer is read, so that what this thread does then (the convergence check's model, read and parsed)
   * overlaps the server's work on the steps instead of holding back the first of them; or right before the first
   * step that goes statement by statement. On a connection that sends no requests of many statements (an embedded
   * database, whose statements run in this thread: nothing to overlap), at once, as the run starts. Not called when
   * no step goes out on a server (the lock was lost before the first).
   */
  onStepsSent?: () => void;
}

export interface StepResult {
  order: number;
  project: string;
  key: string;
  action: string;
  status: StepStatus | 'not-run';
  durationMs: number;
  error?: string;
  conflict?: { strategy: string; rule: string; backup: string | null };
}

export interface ProjectRunResult {
  project: string;
  deploymentId: number | null;
  /** `not-run`: an earlier project failed, so this one was never started (no ledger row). */
  status: 'succeeded' | 'failed' | 'rolled-back' | 'aborted' | 'unchanged' | 'not-run';
  stepsApplied: number;
  stepsTotal: number;
  durationMs: number;
  error?: DbeeError;
  failedStatement?: string | null;
  /** Renamed-aside objects kept by this deployment, qualified (`sales.orders_bak_20261121t103000`). */
  backups: string[];
  /** The automatic rollback, when it ran: how many steps it undid, and why it stopped early if it did. */
  rollback?: { undone: number; incomplete: string | null };
}

export interface RunResult {
  exitCode: ExitCodeValue;
  projects: ProjectRunResult[];
  steps: StepResult[];
}

interface ProjectState {
  project: string;
  steps: PlanStep[];
  deployment: Deployment | null;
  deploymentId: number | null;
  started: number;
  applied: AppliedStep[];
  failure: { error: DbeeError; statement: string | null; at: Date } | null;
  /** A step outside a transaction that failed after some of its statements committed (see `partialUndo`). */
  partial: PartialStep | null;
  backups: string[];
  finished: boolean;
  result?: ProjectRunResult;
}

/** How far a step got while it ran, statement by statement (`index` is set before each statement runs). */
interface StepProgress {
  /** Index in the step's statements of the statement running (or that failed); their count once all of them ran. */
  index: number;
  prepared: PreparedStep;
}

/**
 * A step that ran outside a transaction and failed at statement `ran + 1`: its first `ran` statements committed
 * (Teradata runs each DDL as its own transaction; PostgreSQL, statements that cannot run in one). `reverse` undoes
 * exactly them, or is null when that is unknown.
 */
interface PartialStep {
  step: PlanStep;
  ran: number;
  total: number;
  reverse: string[] | null;
  /** The backup that exists because the part that ran renamed the object aside. */
  backup: string | null;
  /** False for a migration: dbee cannot tell what its committed statements did; it says so and leaves them. */
  undoable: boolean;
  /** Undone as soon as the step fails, not by autoRollback (a table built aside: `SetAside.buildAside`). */
  now?: boolean;
}

/**
 * What undoes the committed part of a step that failed at `p.index`, outside a transaction. Nothing ran (or, but in a
 * migration, only `SET`s of the session): null. Only the conflict's statements ran (a table renamed aside, its CREATE
 * failed): their reverse (rename it back). The step's own statements started (its CREATE committed, a later COMMENT or the copy of rows failed): the step's whole
 * reverse, since undoing the object undoes what goes with it. A migration's committed statements are reported, not
 * undone: their effect is unknown.
 */
function partialUndo(progress: StepProgress): PartialStep | null {
  const { index, prepared: p } = progress;
  const step = p.step;
  if (index <= 0) return null;
  // Session settings (the lock timeout a safe plan starts each step with) leave nothing to undo.
  const settingsOnly = p.statements.slice(0, index).every((sql) => /^\s*(SET|RESET)\s/i.test(sql));
  if (settingsOnly && step.action !== 'migrate') return null;
  const base = { step, ran: index, total: p.statements.length };
  // Build aside: what was built is dropped and the old object put back under its name, at once (`recordFailed`).
  if (p.conflict?.build)
    return { ...base, reverse: p.conflict.build.undoAt(p.statements, index), backup: null, undoable: true, now: true };
  const deps = p.conflict?.dependents;
  if (deps && index <= deps.drop.length) {
    // Only dependents were dropped: create those again.
    return { ...base, reverse: deps.create.slice(0, index), backup: null, undoable: true };
  }
  if (index <= p.before) {
    return {
      ...base,
      reverse: index === p.before ? (p.conflict?.reverse ?? null) : null,
      backup: index === p.before ? p.backup : null,
      undoable: true,
    };
  }
  if (step.action === 'migrate') return { ...base, reverse: null, backup: null, undoable: false };
  if (deps && p.reverse) {
    // The step's reverse starts by dropping the dependents created again at its end: only those that were.
    const created = Math.max(0, index - (p.statements.length - deps.create.length));
    return {
      ...base,
      reverse: [...deps.drop.slice(0, created), ...p.reverse.slice(deps.drop.length)],
      backup: p.backup,
      undoable: true,
    };
  }
  return { ...base, reverse: p.reverse, backup: p.backup, undoable: true };
}

/**
 * What the stages of one `runPlan` share, in one object each stage takes explicitly: the run's inputs, and the state
 * the stages change (each field says who sets it). No stage keeps state of its own in a closure.
 */
interface RunContext {
  options: RunOptions;
  engine: Engine;
  conn: Connection;
  plan: Plan;
  reporter: Reporter;
  ledger: RunnerLedger;
  scope: TransactionScope;
  /** The lock's guard (`RunOptions.lockGuard`), evaluated before each transaction commits; null: none. */
  guard: string | null;
  /** Per project: its steps, its deployment, what it applied and how it failed. */
  states: Map<string, ProjectState>;
  /** A step's place in its project (1-based) and the project's step count, as shown. */
  positions: Map<PlanStep, { index: number; total: number }>;
  /** Every step prepared (`Deployment.prepare`), whichever way it was sent: what it ran and what undoes it. */
  prepared: Map<PlanStep, PreparedStep>;
  stepResults: Map<number, StepResult>;
  /** Orders of the steps that did not apply: a step that depends on one is skipped. */
  notApplied: Set<number>;
  /** The search-path statement the session has now; null: unknown (a reset connection), set before the next step. */
  currentPath: string | null;
  /** A project failed its checks (without `continueOnError`): nothing more starts. */
  stopped: boolean;
  /** Set when the lock is gone: nothing more runs, every open deployment ends `aborted`. */
  lockLost: DbeeError | null;
  /** The step running statement by statement, and how far it got (what a failure outside a transaction left). */
  progress: StepProgress | null;
  /** The transaction a request opens has not selected its marks yet (`LedgerInlining.asyncCommit` goes with the first). */
  firstOfTransaction: boolean;
}

/**
 * Apply a plan. Per project, one deployment row in the ledger. Transactional steps run in transactions (one per
 * object, per project or for the whole plan) together with their ledger rows, so a step and its record commit or
 * vanish together; the others run alone and are recorded after they ran. Stops at the first failing step, or with
 * `continueOnError` goes on with the steps that do not depend on a failed one. A failed project with
 * `autoRollback` has its committed steps undone in reverse order. The caller holds the deployment lock. Per project, a
 * `Deployment` opens and closes the ledger row and prepares every step once (statements, rows, reverse, previous
 * checksum, captured definition); the one executor (`executePlan`) sends the prepared steps in requests of many with
 * their rows inline where the engine's ledger can write rows as SQL text (`batchMode`), else statement by statement
 * with the rows after them (`runStep`). Its stages, in order: `openRun` (session settings, ledger, per-project state),
 * `executePlan` with this run's `stepEffect` and `planHooks` (each project finished by `finishProject` as soon as its
 * steps are behind), `closeProjects`, and `runResult`; `closeAfterError` when something outside a step failed.
 */
export async function runPlan(options: RunOptions): Promise<RunResult> {
  // An embedded database runs every statement in this thread: nothing to overlap, so at once.
  if (!options.conn.executeBatch) options.onStepsSent?.();
  const ctx = await openRun(options);
  try {
    await executePlan<PlanStep>(ctx.conn, ctx.plan.steps, stepEffect(ctx), planHooks(ctx), ctx.reporter);
    await closeProjects(ctx);
  } catch (e) {
    throw await closeAfterError(ctx, e);
  }
  return runResult(ctx);
}

/** Stage one: the session's settings, the ledger's tables (when there are steps), and each project's state. */
async function openRun(options: RunOptions): Promise<RunContext> {
  const { engine, conn, plan } = options;
  const ledger = openLedger(conn, engine.ledger);
  for (const sql of engine.session.setup(options.session ?? {})) await conn.execute(sql);
  const states = new Map<string, ProjectState>();
  const positions = new Map<PlanStep, { index: number; total: number }>();
  for (const project of plan.projects) {
    const steps = plan.steps.filter((s) => s.project === project);
    states.set(project, {
      project,
      steps,
      deployment: null,
      deploymentId: null,
      started: 0,
      applied: [],
      failure: null,
      partial: null,
      backups: [],
      finished: false,
    });
    steps.forEach((s, i) => positions.set(s, { index: i + 1, total: steps.length }));
  }
  // A new ledger goes with the first deployment row, which `admitSteps` opens before any other ledger request.
  if (plan.steps.length) await ledger.tables.ensure({ withFirstDeployment: true });
  return {
    options,
    engine,
    conn,
    plan,
    reporter: options.reporter,
    ledger,
    scope: options.transaction ?? 'object',
    guard: options.lockGuard ?? null,
    states,
    positions,
    prepared: new Map(),
    stepResults: new Map(),
    notApplied: new Set(),
    currentPath: null,
    stopped: false,
    lockLost: null,
    progress: null,
    firstOfTransaction: false,
  };
}

function stateOf(ctx: RunContext, step: PlanStep): ProjectState {
  return ctx.states.get(step.project)!;
}

function position(ctx: RunContext, step: PlanStep): { index: number; total: number } {
  return ctx.positions.get(step) ?? { index: 0, total: stateOf(ctx, step).steps.length };
}

/** The statement that sets `project`'s search path, when the session has another one (null: it has that one). */
function searchPathChange(ctx: RunContext, project: string): string | null {
  const variables = ctx.options.variables.get(project) ?? {};
  const searchPath = expandedSearchPath(
    ctx.plan.searchPaths?.[project],
    variables,
    ctx.engine.capabilities.keyNames,
    `search path of ${project}`,
  );
  const sql = searchPath.length ? ctx.engine.session.searchPath(searchPath) : null;
  return sql && sql !== ctx.currentPath ? sql : null;
}

/** Open `state`'s deployment in the ledger, once, as its first step is admitted. */
async function startProject(ctx: RunContext, state: ProjectState): Promise<void> {
  if (state.deployment !== null) return;
  const { options } = ctx;
  state.started = Date.now();
  state.deployment = await Deployment.open(
    ctx.ledger,
    {
      ...options.identity,
      project: state.project,
      environment: options.environment,
      kind: options.kind ?? 'deploy',
      planChecksum: options.planChecksum,
      stepsTotal: state.steps.length,
    },
    {
      engine: ctx.engine,
      variables: options.variables.get(state.project) ?? {},
      conflicts: options.conflicts,
      steps: ctx.plan.steps,
    },
  );
  state.deploymentId = state.deployment.id;
  ctx.reporter.info(
    `${state.project}: deploying ${state.steps.length} step${state.steps.length === 1 ? '' : 's'} (deployment ${state.deploymentId})`,
  );
}

/** Record a step that did not apply; its project's deployment then fails (with the first reason). */
async function recordNotApplied(
  ctx: RunContext,
  step: PlanStep,
  status: Exclude<StepStatus, 'applied' | 'undone' | 'started'>,
  fields: { durationMs: number; error: string | null; startedAt?: Date; reverse?: string[] | null },
): Promise<void> {
  const state = stateOf(ctx, step);
  await state.deployment!.outcome(step, status, fields, ctx.prepared.get(step));
  ctx.stepResults.set(step.order, {
    ...resultOf(step, ctx.options.conflicts),
    status,
    durationMs: fields.durationMs,
    ...(fields.error ? { error: fields.error } : {}),
  });
  ctx.notApplied.add(step.order);
  state.failure ??= {
    error: new DbeeError(`step ${step.order} (${step.key}): ${fields.error ?? status}`, {
      code: 'STEP_NOT_APPLIED',
      exitCode: ExitCode.applyFailed,
    }),
    statement: null,
    at: new Date(),
  };
}

/** Applied steps: in the project's state (what undoes them), the run's results and its deployment's in-memory state. */
function markApplied(ctx: RunContext, step: PlanStep, durationMs: number): void {
  const state = stateOf(ctx, step);
  const a = state.deployment!.applied(ctx.prepared.get(step)!);
  state.applied.push(a);
  if (a.backup) state.backups.push(a.backup);
  ctx.stepResults.set(step.order, { ...resultOf(step, ctx.options.conflicts), status: 'applied', durationMs });
}

/** The step that did not apply and that `step` depends on, or null. */
function blockedBy(ctx: RunContext, step: PlanStep): number | null {
  const deps = ctx.options.dependencies?.get(step.order);
  if (!deps) {
    // Without dependency data, a step depends on every earlier step.
    for (const o of ctx.notApplied) if (o < step.order) return o;
    return null;
  }
  for (const d of deps) if (ctx.notApplied.has(d)) return d;
  return null;
}

/** `RunOptions.beforeStep`, noting a lost lock in `ctx.lockLost` (and rethrowing). */
async function checkLock(ctx: RunContext): Promise<void> {
  try {
    await ctx.options.beforeStep?.();
  } catch (e) {
    if (e instanceof DbeeError && e.code === 'LOCK_LOST') ctx.lockLost = e;
    throw e;
  }
}

/**
 * Whether `e` stops the run because the lock is lost: lost before (`beforeStep`), or, with a guard in the requests,
 * an error that the lock itself says came from its loss (one round trip on the lock session, on failures only).
 */
async function interrupted(ctx: RunContext, e: unknown): Promise<boolean> {
  if (ctx.lockLost !== null) return true;
  if (ctx.guard === null || (e instanceof DbeeError && e.code === 'LOCK_LOST')) return false;
  await checkLock(ctx).catch(() => {});
  return ctx.lockLost !== null;
}

/** How `executePlan` runs, reports and records this run's steps (the ledger effect of a deployment). */
function stepEffect(ctx: RunContext): StepEffect<PlanStep> {
  return {
    shown: (step) => ({ ...position(ctx, step), step }),
    show: { applied: true, skipped: true },
    // Inside a transaction too: a step that follows a lost lock must not run (the transaction rolls back).
    before: async (i) => {
      if (ctx.options.beforeStep && i > 0) await checkLock(ctx);
    },
    interrupts: (e) => interrupted(ctx, e),
    run: (c, step, onStatement) => runStep(ctx, c, step, onStatement),
    error: (e, step, statement) => {
      for (const st of ctx.states.values()) st.deployment?.discard();
      const error = withSource(toDbeeError(ctx.engine, e, statement), step);
      stateOf(ctx, step).failure ??= { error, statement, at: new Date() };
      return error;
    },
    record: (step, status, fields) =>
      status === 'failed' ? recordFailed(ctx, step, fields) : recordNotApplied(ctx, step, status, fields),
    applied: (step, durationMs) => markApplied(ctx, step, durationMs),
    // The connection may have been reset with the transaction; the search path is set again before the next step.
    reset: () => {
      ctx.currentPath = null;
    },
  };
}

/**
 * Send one step statement by statement (no request takes it): the same prepared step as in a request, its rows after
 * its statements, each of a batched migration in keyset batches: the step's one statement loop, its one ledger row. The
 * stages go in the order every transport follows (`sendStep`, step-stages.ts): the BTEQ export renders the same ones.
 */
async function runStep(
  ctx: RunContext,
  c: Connection,
  step: PlanStep,
  onStatement: (sql: string) => void,
): Promise<void> {
  const deployment = stateOf(ctx, step).deployment!;
  const t0 = Date.now();
  let p: PreparedStep | null = null;
  let running: StepProgress | null = null;
  await sendStep({
    path: async () => {
      const path = searchPathChange(ctx, step.project);
      if (!path) return;
      await c.execute(path);
      ctx.currentPath = path;
    },
    prepare: async () => {
      ctx.progress = null;
      p = await deployment.prepare(step, c);
      ctx.prepared.set(step, p);
      running = ctx.progress = { index: -1, prepared: p };
    },
    // A step that cannot run in a transaction is journaled first: if the process dies while it runs, the next
    // deployment finds it `started` and reconciles it against the catalog (runner/reconcile.ts).
    started: async () => {
      if (p!.journaled) await deployment.started(p!, new Date(t0), c);
    },
    statements: () => runStatements(ctx, c, step, running!, onStatement),
    applied: async () => {
      await deployment.writeApplied(p!, { startedAt: new Date(t0), durationMs: Date.now() - t0 }, c);
      // In its transaction, the step commits only while the lock is held.
      if (ctx.guard && step.transactional && ctx.engine.capabilities.transactionalDdl)
        await c.query(`SELECT ${ctx.guard}`);
    },
  });
}

/**
 * The one statement loop: a statement goes as it is, an UPDATE of a batched migration in keyset batches of one
 * transaction each (resumed where an interrupted run left it, its cursor in the ledger's `backfills`).
 */
async function runStatements(
  ctx: RunContext,
  c: Connection,
  step: PlanStep,
  running: StepProgress,
  onStatement: (sql: string) => void,
): Promise<void> {
  const p = running.prepared;
  const batched = step.batched
    ? {
        role: requireRole(ctx.engine, 'backfill', 'run a batched migration'),
        idPrefix: step.key,
        project: step.project,
        location: step.source ?? { file: step.key, line: 1 },
        options: step.batched,
        // Each batch waits for its row locks at most the deployment's lock timeout (default 500 ms), retried.
        lockTimeoutMs: ctx.options.session?.lockTimeoutMs,
        ledger: ctx.engine.ledger,
        reporter: { info: (m: string) => ctx.reporter.info(m) },
      }
    : null;
  await sendStatements(c, p.statements, {
    onStatement: (sql, i) => {
      running.index = i;
      onStatement(sql);
    },
    ...(batched ? { send: (sql: string, i: number) => runBatchedUpdate(batched.role, c, batched, i, sql) } : {}),
  });
  // Every statement ran: a failure from here on (writing the ledger) leaves all of them committed.
  running.index = p.statements.length;
}

/**
 * Undo what a step built aside before it failed (see `SetAside.buildAside`), right away: the step then left nothing.
 * False when a statement of the undo fails: the step is recorded with what it committed and what undoes it.
 */
async function undoNow(ctx: RunContext, step: PlanStep, undo: string[]): Promise<boolean> {
  try {
    for (const sql of undo) await ctx.conn.query(sql);
  } catch (error) {
    ctx.reporter.warn(`step ${step.order} (${step.key}): undoing what it built failed: ${(error as Error).message}`);
    return false;
  }
  if (undo.length)
    ctx.reporter.warn(`step ${step.order} (${step.key}) failed; what it built is undone: ${undo.join('; ')}`);
  return true;
}

/**
 * Record a failed step. Outside a transaction, the statements of the failed step before the failing one committed:
 * the ledger says which, and what undoes them (the automatic rollback runs it first).
 */
async function recordFailed(
  ctx: RunContext,
  step: PlanStep,
  fields: { durationMs: number; error: string; startedAt: Date },
): Promise<void> {
  const running = ctx.progress;
  const partial =
    !(step.transactional && ctx.engine.capabilities.transactionalDdl) && running?.prepared.step === step
      ? partialUndo(running)
      : null;
  if (!partial) return recordNotApplied(ctx, step, 'failed', fields);
  if (partial.now && partial.reverse && (await undoNow(ctx, step, partial.reverse)))
    return recordNotApplied(ctx, step, 'failed', fields);
  const state = stateOf(ctx, step);
  state.partial = partial;
  const what = `statement${partial.ran === 1 ? '' : 's'} 1${partial.ran > 1 ? `-${partial.ran}` : ''} of ${partial.total} committed before the failure`;
  ctx.reporter.warn(
    `step ${step.order} (${step.key}): ${what}` +
      (partial.reverse
        ? `; they are undone by: ${partial.reverse.join('; ')}`
        : partial.undoable
          ? '; dbee knows no reverse for them'
          : '; a migration is not undone statement by statement: check them'),
  );
  if (partial.backup) {
    await state.deployment!.backupLeft(step, partial.backup);
    state.backups.push(partial.backup);
  }
  await recordNotApplied(ctx, step, 'failed', {
    ...fields,
    error: `${fields.error}\n(${what})`,
    reverse: partial.reverse,
  });
}

/**
 * Transactional steps whose ledger rows can be written as SQL text go to the server in requests of many statements:
 * each step's statements followed by its ledger rows, inside its transaction (the executor's batched mode). Null
 * where the engine's ledger cannot write its rows as text.
 */
function batchMode(ctx: RunContext): BatchMode<PlanStep> | null {
  const { engine, options } = ctx;
  const inline = engine.ledger.inline;
  if (!inline) return null;
  const conflict = (step: PlanStep) => options.conflicts?.get(step.order);
  const onlyItself = (step: PlanStep) => replacesOnlyItself(step, engine, options.conflicts);
  return {
    // A step that keeps a backup (a conflict's, a dropped column's) records it with its own round trip.
    eligible: (group) => group.transactional && group.steps.every((st) => !conflict(st) && !st.backup),
    joins: (first, next) => first.steps[0]!.project === next.steps[0]!.project,
    // A step that captures a definition (read first, after what came before) and a migration (a data move takes
    // time: it is shown as it starts, and the lock is proven right before it) start a request; a migration ends it.
    // A step that replaces only its own object joins one that holds only such steps: its definition was read with
    // theirs before the first of them (`Deployment.prepare`), and none of them changes what it reads.
    alone: (step, before) =>
      step.action === 'migrate' ||
      (capturesDefinition(step, engine) && !(onlyItself(step) && before.every(onlyItself))),
    // A step that may drop the session's named statements ends its request: the next one defines them again.
    ends: (step) => step.action === 'migrate' || step.statements.some((sql) => DROPS_NAMED.test(sql)),
    begin: ['BEGIN'],
    opened: () => {
      ctx.firstOfTransaction = true;
    },
    size: REQUEST_STEPS,
    prepare: (step) => requestStatements(ctx, inline, step),
    beforeCommit: ctx.guard ? `SELECT ${ctx.guard}` : null,
  };
}

/** What a step sends in a request: its search path when it changes, the clock mark, its statements, its ledger rows. */
async function requestStatements(
  ctx: RunContext,
  inline: NonNullable<Engine['ledger']['inline']>,
  step: PlanStep,
): Promise<string[]> {
  const { conn, ledger, engine } = ctx;
  const deployment = stateOf(ctx, step).deployment!;
  const request: string[] = [];
  let p: PreparedStep | null = null;
  // The step's stages in the one order (`sendStep`), written into the request rather than sent one by one.
  await sendStep({
    // The object's definition before the step (its reverse when the plan has none) is read after what came before,
    // under the project's search path (names print as its statements see them): a new path is set first then.
    path: async () => {
      const path = searchPathChange(ctx, step.project);
      if (!path) return;
      ctx.currentPath = path;
      if (capturesDefinition(step, engine)) await conn.execute(path);
      else request.push(path);
    },
    prepare: async () => {
      p = await deployment.prepare(step, conn);
      ctx.prepared.set(step, p);
    },
    // A step in a request runs in its transaction: nothing commits apart, no `started` row.
    started: async () => {},
    statements: async () => {
      // Only on a connection that batches (a server): an embedded database (PGlite, in this process) has no WAL
      // writer, so its asynchronous commits would wait for a checkpoint, and a killed process would lose them.
      const asyncCommit = inline.asyncCommit && conn.executeBatch ? inline.asyncCommit : null;
      const marks = ctx.firstOfTransaction && asyncCommit ? [asyncCommit, inline.markStart] : [inline.markStart];
      ctx.firstOfTransaction = false;
      request.push(`SELECT ${marks.join(', ')}`, ...p!.statements);
    },
    // The lock's guard goes with the step's row (written last, right before the COMMIT): a transaction that would
    // commit after the lock is lost raises instead. The row is a statement the session keeps (`inlineNamed`),
    // unless the step's own statements may drop such statements.
    applied: async () => {
      const rows = deployment.rows(p!, null, ctx.guard);
      const drops = p!.statements.some((sql) => DROPS_NAMED.test(sql));
      if (drops) ledger.batch.forgetNamed(conn);
      request.push(...(drops ? ledger.batch.inlineAll(rows) : await ledger.batch.inlineNamed(rows, conn)));
    },
  });
  return request;
}

/** How `executePlan` groups, admits, holds back and stops this run's steps. */
function planHooks(ctx: RunContext): PlanHooks<PlanStep> {
  const { options } = ctx;
  return {
    scope: ctx.scope,
    transactionalDdl: ctx.engine.capabilities.transactionalDdl,
    // A lost lock stops the run before the group (the executor's `interrupted`); any other error propagates.
    beforeGroup: options.beforeStep ? () => checkLock(ctx) : undefined,
    held: (step) => blockedBy(ctx, step) !== null,
    admit: (runnable, held) => admitSteps(ctx, runnable, held),
    continueOnError: options.continueOnError,
    stop: () => ctx.stopped,
    after: (next, groups) => finishBehind(ctx, next, groups),
    batch: batchMode(ctx),
    // Without requests of many statements it was called as the run started (`runPlan`).
    sent: ctx.conn.executeBatch ? options.onStepsSent : undefined,
  };
}

/** Open the deployments of the steps about to run; the held ones (a dependency did not apply) are recorded skipped. */
async function admitSteps(ctx: RunContext, runnable: readonly PlanStep[], held: readonly PlanStep[]): Promise<void> {
  for (const step of held) {
    const blocker = blockedBy(ctx, step);
    await startProject(ctx, stateOf(ctx, step));
    const { index, total } = position(ctx, step);
    ctx.reporter.stepDone?.(index, total, step, { status: 'skipped', durationMs: 0 });
    await recordNotApplied(ctx, step, 'skipped', {
      durationMs: 0,
      error: `not run: it depends on step ${blocker}, which did not apply`,
    });
  }
  for (const step of runnable) await startProject(ctx, stateOf(ctx, step));
}

/** A project whose steps are all behind `groups[next]` is finished now, so its record is complete before the next starts. */
async function finishBehind(ctx: RunContext, next: number, groups: readonly Group<PlanStep>[]): Promise<void> {
  const remaining = new Set(groups.slice(next).flatMap((x) => x.steps.map((s) => s.project)));
  for (const state of ctx.states.values()) {
    if (state.deploymentId !== null && !state.finished && !remaining.has(state.project)) {
      await finishProject(ctx, state);
      // A project that failed its checks stops the run like a failed step (its dependents must not deploy).
      if (state.failure && !ctx.options.continueOnError) ctx.stopped = true;
    }
  }
}

/** After the executor: every deployment still open is finished, or aborted when the lock was lost. */
async function closeProjects(ctx: RunContext): Promise<void> {
  for (const state of ctx.states.values()) {
    if (state.deploymentId === null || state.finished) continue;
    if (ctx.lockLost) await abortProject(state, ctx.lockLost, ctx.scope);
    else await finishProject(ctx, state);
  }
}

/**
 * Something failed outside a step's statements: a ledger write (the connection is gone) or a bug. Every open
 * deployment is still closed where the ledger can be written; returns the error to throw (the step's own error, when
 * there is one, says more than the ledger write that failed after it).
 */
async function closeAfterError(ctx: RunContext, e: unknown): Promise<unknown> {
  const stepError = [...ctx.states.values()].find((st) => st.failure)?.failure?.error;
  const message = (stepError ?? (e instanceof Error ? e : new Error(String(e)))).message;
  let open = 0;
  for (const state of ctx.states.values()) {
    // `result` is set when a project's record is complete; finishProject may have thrown half-way.
    if (state.deploymentId === null || state.result) continue;
    state.finished = true;
    open++;
    await state
      .deployment!.close(
        'failed',
        { transaction: ctx.scope, failedAt: new Date().toISOString() },
        { error: message, statement: null },
      )
      .catch(() => {});
  }
  const applied = [...ctx.states.values()].reduce((n, st) => n + st.applied.length, 0);
  if (!(e instanceof DbeeError) && applied > 0) {
    // A bug after steps committed: still exit 2 (something was applied), with the stack to report.
    return new DbeeError(
      `internal error (a bug in dbee, please report it) after ${applied} step${applied === 1 ? '' : 's'} applied: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      {
        code: 'INTERNAL_ERROR',
        exitCode: ExitCode.applyFailed,
        hint: `the ledger records what ran${open ? ` (the deployment is closed as failed)` : ''}; deploy again to resume`,
        cause: e,
      },
    );
  }
  if (stepError && e !== stepError) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return DbeeError.carrying(stepError.code, stepError.message, {
      location: stepError.location,
      exitCode: ExitCode.applyFailed,
      hint: `the ledger could not record the failure (${why}); the next deployment marks this one interrupted and settles its steps`,
      cause: e,
    });
  }
  return e;
}

/** The last stage: each project's result, each step's, and the exit code. */
function runResult(ctx: RunContext): RunResult {
  const { reporter, plan } = ctx;
  const projects: ProjectRunResult[] = [...ctx.states.values()].map(
    (state) =>
      state.result ?? {
        project: state.project,
        deploymentId: null,
        status: state.steps.length ? 'not-run' : 'unchanged',
        stepsApplied: 0,
        stepsTotal: state.steps.length,
        durationMs: 0,
        backups: [],
      },
  );
  for (const p of projects)
    if (p.status === 'unchanged') reporter.info(`${p.project}: nothing to deploy, the database is up to date`);
  const steps = plan.steps.map(
    (s) =>
      ctx.stepResults.get(s.order) ?? {
        ...resultOf(s, ctx.options.conflicts),
        status: 'not-run' as const,
        durationMs: 0,
      },
  );
  if (ctx.lockLost) reporter.warn(ctx.lockLost.message);
  const failures = projects.filter(
    (p) => p.status === 'failed' || p.status === 'rolled-back' || p.status === 'aborted',
  );
  // Smoke failures exit 3, unless a step also failed (2 says more: something did not even apply).
  const exitCode = !failures.length
    ? ExitCode.ok
    : failures.every((p) => p.error?.exitCode === ExitCode.smokeFailed)
      ? ExitCode.smokeFailed
      : ExitCode.applyFailed;
  return { exitCode, projects, steps };
}

/**
 * Close a project whose steps are all behind it: its object states synced (a diff-based deployment), its smoke checks
 * (`smokeChecks`), on a failure its automatic rollback (`settleFailure`), the fingerprint it records
 * (`recordFingerprint`), then its closing row and result.
 */
async function finishProject(ctx: RunContext, state: ProjectState): Promise<void> {
  state.finished = true;
  const { options } = ctx;
  const startedFrom = options.startedFrom?.get(state.project);
  const summary: DeploymentSummary = {
    transaction: ctx.scope,
    smoke: 'not run',
    ...(startedFrom ? { startedFrom } : {}),
  };
  // A diff-based deployment's object states are synced before the checks read them (the smoke baseline checks the
  // objects the ledger holds: a dropped table's indexes must be gone from it first). A failed run restores them
  // from the deployment's ledger_before when it is undone.
  const objectStates = options.plan.objectStates?.[state.project];
  const covered = fingerprintScope(options, state.project);
  const batched = Boolean(options.fingerprintLater && state.deploymentId !== null);
  // The deployment's steps have all committed (its transactions are behind it): the fingerprint it records is read on
  // the side session while the checks below run on this one. Both only read; an automatic rollback after a failed
  // check changes the schemas again, and the fingerprint is then read after it. A side session that fails leaves the
  // reading to this one, after the checks (never between their requests). On the side session, in this order: the
  // catalog version recorded with the fingerprint, the convergence check's share of its read, then the fingerprint,
  // while this session runs the smoke checks: read first, the fingerprint put the check's share on this session after
  // its own, and every smoke check behind both (issue 90).
  const sideFirst = covered && !batched && options.side && !state.failure ? options.side : null;
  const version = sideFirst && options.engine.diff ? readCatalogVersion(options.engine.diff, sideFirst) : null;
  // Where the ledger folds the steps' object states into `objects` (`Ledger.fold`), they reach it here when something
  // below writes `objects` after them (the synced object states, an automatic rollback's undone steps); otherwise the
  // fold goes in the closing row's request (`Deployment.close`): the readers before it (the smoke checks) lay the
  // unfolded steps over `objects` themselves, and a new fleet target saves a round trip.
  if (objectStates || state.failure) await state.deployment!.fold();
  if (objectStates && !state.failure)
    await syncObjectStates(ctx.ledger, state.project, objectStates, state.deploymentId!);
  const migrationStates = ctx.options.plan.migrationStates?.[state.project];
  if (migrationStates && !state.failure)
    await recordMigrationStates(ctx.ledger, state.project, migrationStates, state.deploymentId!);
  // The check's read shares the side session once the catalog version above is read there (never two requests at
  // once); the fingerprint is read there after the check (a failed check's automatic rollback makes it stale: read
  // after the rollback instead, by `recordFingerprint`).
  const side =
    options.side && !batched
      ? (version ?? Promise.resolve()).then(
          () => options.side,
          () => undefined,
        )
      : undefined;
  await convergeCheck(ctx, state, summary, side);
  const early = sideFirst ? fingerprintOf(options.engine, sideFirst, covered!, true, version ?? undefined) : null;
  await smokeChecks(ctx, state, objectStates, summary);
  const conflicts = state.steps.flatMap((s) => {
    const c = options.conflicts?.get(s.order);
    return c
      ? [{ object: s.key, strategy: c.strategy, rule: c.rule, backup: c.backup ? qualifiedName(c.backup) : null }]
      : [];
  });
  if (conflicts.length) summary.conflicts = conflicts;
  const error = state.failure?.error;
  const { status, rollback } = state.failure
    ? await settleFailure(ctx, state, summary)
    : { status: 'succeeded' as const, rollback: undefined };
  if (status === 'succeeded' && options.afterSteps)
    Object.assign(summary, await options.afterSteps(state.project).catch(() => null));
  await recordFingerprint(ctx, state, { covered, early, rolledBack: Boolean(rollback) }, summary);
  const message = error
    ? error.message + (rollback?.incomplete ? `\nautomatic rollback incomplete: ${rollback.incomplete}` : '')
    : null;
  await state.deployment!.close(
    status,
    summary,
    message === null ? null : { error: message, statement: state.failure?.statement ?? null },
  );
  state.result = {
    project: state.project,
    deploymentId: state.deploymentId,
    status,
    stepsApplied: state.applied.length - (rollback?.undone ?? 0),
    stepsTotal: state.steps.length,
    durationMs: Date.now() - state.started,
    backups: state.backups,
    ...(error ? { error, failedStatement: state.failure?.statement ?? null } : {}),
    ...(rollback ? { rollback } : {}),
  };
}

/**
 * Verified means converged (`RunOptions.converge`): the objects the project's steps touched, compared with its sources
 * once they all applied. A difference is the deployment's failure, with the objects in the ledger's summary.
 */
async function convergeCheck(
  ctx: RunContext,
  state: ProjectState,
  summary: DeploymentSummary,
  side: Promise<Connection | undefined> | undefined,
): Promise<void> {
  if (state.failure || !ctx.options.converge || state.deploymentId === null || !state.applied.length) return;
  const verdict = await ctx.options.converge(state.project, state.steps, side);
  if (verdict.said) ctx.reporter.info(verdict.said);
  if (!verdict.error) return;
  summary.notConverged = verdict.objects;
  state.failure = { error: verdict.error, statement: null, at: new Date() };
}

/**
 * The checks run when a project's steps have all applied (`RunOptions.verify`): a failure counts as the deployment
 * failing (exit 3), which the automatic rollback then undoes.
 */
async function smokeChecks(
  ctx: RunContext,
  state: ProjectState,
  objectStates: Record<string, string> | undefined,
  summary: DeploymentSummary,
): Promise<void> {
  if (state.failure || !ctx.options.verify || state.deploymentId === null) return;
  const objects = objectStates ? Object.keys(objectStates) : state.deployment!.objectKeys();
  const verdict = await ctx.options.verify(state.project, state.deploymentId, objects);
  summary.smoke = verdict.summary;
  if (verdict.passed) return;
  state.failure = {
    error:
      verdict.error ??
      new DbeeError(`${state.project}: smoke checks failed (${verdict.summary})`, {
        code: 'SMOKE_FAILED',
        exitCode: ExitCode.smokeFailed,
      }),
    statement: null,
    at: new Date(),
  };
}

/** A failed project: `failed`, or `rolled-back` once `autoRollback` undid what it committed. */
async function settleFailure(
  ctx: RunContext,
  state: ProjectState,
  summary: DeploymentSummary,
): Promise<{ status: 'failed' | 'rolled-back'; rollback?: ProjectRunResult['rollback'] }> {
  const { options, reporter } = ctx;
  summary.failedAt = state.failure!.at.toISOString();
  if (!options.autoRollback?.(state.project)) return { status: 'failed' };
  const partial = state.partial?.undoable ? state.partial : null;
  if (!state.applied.length && !partial) {
    summary.rolledBackAt = new Date().toISOString();
    return { status: 'rolled-back', rollback: { undone: 0, incomplete: null } };
  }
  reporter.info(
    `${state.project}: rolling back ${state.applied.length} applied step${state.applied.length === 1 ? '' : 's'}${partial ? ` and what step ${partial.step.order} committed before it failed` : ''} (autoRollback)`,
  );
  // A compensating plan from what the deployment committed, run through the one executor.
  const undo = await undoApplied({
    engine: options.engine,
    ledger: ctx.ledger,
    conn: options.conn,
    reporter,
    scope: options.dependentsScope,
    applied: state.applied,
    partial: partial
      ? {
          step: partial.step,
          deploymentId: state.deploymentId!,
          ran: partial.ran,
          reverse: partial.reverse,
          backup: partial.backup,
        }
      : null,
  });
  state.backups = state.backups.filter((b) => !undo.restoredBackups.includes(b));
  const rollback = { undone: undo.undone, incomplete: undo.incomplete };
  if (undo.incomplete) {
    summary.rollbackIncomplete = undo.incomplete;
    reporter.warn(`${state.project}: automatic rollback incomplete: ${undo.incomplete}`);
    return { status: 'failed', rollback };
  }
  summary.rolledBackAt = new Date().toISOString();
  return { status: 'rolled-back', rollback };
}

/**
 * The fingerprint the deployment records (drift), into `summary`: taken for later in an Nx batch
 * (`fingerprintLater`), else the early reading of the side session unless an automatic rollback ran since, else read now.
 */
async function recordFingerprint(
  ctx: RunContext,
  state: ProjectState,
  reading: { covered: SchemaScope | null; early: Promise<RecordedFingerprint | null> | null; rolledBack: boolean },
  summary: DeploymentSummary,
): Promise<void> {
  const { options } = ctx;
  const { covered } = reading;
  if (covered && options.fingerprintLater && state.deploymentId !== null) {
    // In a batch, every CREATE SCHEMA resets the session's plan cache (PostgreSQL's NAMESPACEOID invalidation), so a
    // fingerprint read here is planned afresh for each project: ~8 ms each on the 200-project first deploy, against
    // ~75 ms for all 200 in one query at the end of the batch. The lock is still held then, so the schemas are as
    // this deployment, and the batch's later ones, left them.
    options.fingerprintLater(covered, state.deploymentId);
  } else if (covered) {
    // After an automatic rollback the early reading is stale: it ends first, then the schemas are read again.
    const ahead = await reading.early;
    Object.assign(
      summary,
      summaryOf(
        (!reading.rolledBack && ahead) ||
          (await fingerprintOf(options.engine, options.conn, covered, Boolean(options.side))),
      ),
    );
  } else summary.fingerprint = null;
}

/**
 * Close a deployment whose lock was lost: `aborted`, with the reason, and nothing else run (no automatic rollback,
 * no checks, no fingerprint). Its committed steps stay applied, as its steps say; the next deployment resumes.
 */
async function abortProject(state: ProjectState, error: DbeeError, scope: TransactionScope): Promise<void> {
  state.finished = true;
  const message = error.message;
  await state
    .deployment!.close(
      'aborted',
      { transaction: scope, failedAt: new Date().toISOString(), smoke: 'not run' },
      { error: message, statement: null },
    )
    .catch(() => {});
  state.result = {
    project: state.project,
    deploymentId: state.deploymentId,
    status: 'aborted',
    stepsApplied: state.applied.length,
    stepsTotal: state.steps.length,
    durationMs: Date.now() - state.started,
    backups: state.backups,
    error,
    failedStatement: null,
  };
}

/** What a project's recorded fingerprint covers, or null when there is none to record (no schemas, no diff role). */
function fingerprintScope(options: RunOptions, project: string): SchemaScope | null {
  const schemas = options.schemas?.get(project);
  if (!schemas?.length || !options.engine.diff) return null;
  return { schemas, manage: options.manage?.get(project) };
}

/**
 * The fingerprint a deployment records, with the catalog version read before it (`readRecordable`) when `withVersion`:
 * not for a fleet's targets (no side session), whose databases are small, where reading the version would cost about
 * as much server time as the fingerprint it spares a later drift check (~12 ms on a new session of an empty database).
 */
async function fingerprintOf(
  engine: Engine,
  conn: Connection,
  scope: SchemaScope,
  withVersion: boolean,
  /** The catalog version already read on `conn` (`readCatalogVersion`). */
  version?: Promise<string | undefined>,
): Promise<RecordedFingerprint | null> {
  try {
    const diff = requireRole(engine, 'diff', 'read a fingerprint');
    return withVersion ? await readRecordable(diff, conn, scope, version) : await readFingerprint(diff, conn, scope);
  } catch {
    // Drift detection is a convenience; a fingerprint that cannot be read must not fail a finished deployment.
    return null;
  }
}

function resultOf(
  step: PlanStep,
  conflicts: ReadonlyMap<number, StepConflict> | undefined,
): Omit<StepResult, 'status' | 'durationMs'> {
  const c = conflicts?.get(step.order);
  return {
    order: step.order,
    project: step.project,
    key: step.key,
    action: step.action,
    ...(c
      ? { conflict: { strategy: c.strategy, rule: c.rule, backup: c.backup ? qualifiedName(c.backup) : null } }
      : {}),
  };
}

/** Steps per request at most (the executor's batched mode): enough to make round trips rare, few enough to stop soon. */
const REQUEST_STEPS = 100;

/** Statements that can drop what a session keeps by name (`Ledger.inlineNamed`): `DEALLOCATE`, `DISCARD`. */
const DROPS_NAMED = /\b(DEALLOCATE|DISCARD)\b/i;

/** `1.2` from a migration key `migration:sales/V1.2`. */
export function migrationVersion(step: PlanStep): string {
  return migrationVersionOf(step.objectKey.name);
}

function qualifiedName(key: ObjectKey): string {
  return key.schema ? `${key.schema}.${key.name}` : key.name;
}

function toDbeeError(engine: Engine, e: unknown, statement: string | null): DbeeError {
  const mapped = e instanceof DbeeError ? e : engine.mapError(e, { statement: statement ?? undefined });
  if (mapped instanceof DbeeError) return mapped.exitCode === ExitCode.applyFailed ? mapped : rewrap(mapped);
  return new DbeeError((mapped as Error).message ?? String(e), {
    code: 'STATEMENT_FAILED',
    exitCode: ExitCode.applyFailed,
    cause: e,
  });
}

/** A step's error located at the step's source file and line (where it came from a file), unless it has a location. */
function withSource(e: DbeeError, step: PlanStep): DbeeError {
  if (e.location || !step.source) return e;
  return DbeeError.carrying(e.code, e.message, {
    hint: e.hint,
    location: { file: step.source.file, line: step.source.line },
    details: e.details,
    exitCode: e.exitCode,
    cause: e,
  });
}

/** A failure while applying is exit 2, whatever category the error had. */
function rewrap(e: DbeeError): DbeeError {
  return DbeeError.carrying(e.code, e.message, {
    hint: e.hint,
    location: e.location,
    details: e.details,
    exitCode: ExitCode.applyFailed,
    cause: e,
  });
}

/** A clone's migrations (`Plan.migrationStates`) that the target's ledger does not record yet, recorded as run. */
async function recordMigrationStates(
  ledger: Pick<Ledger, 'tables' | 'batch' | 'objects'>,
  project: string,
  migrations: NonNullable<Plan['migrationStates']>[string],
  deploymentId: number,
): Promise<void> {
  const recorded = (await ledger.objects.state(project)).migrations;
  await ledger.batch.runTogether(
    Object.entries(migrations)
      .filter(([version]) => !Object.hasOwn(recorded, version))
      .flatMap(([version, m]) =>
        ledger.objects.migrationWrites(project, version, m.description, m.checksum, deploymentId),
      ),
  );
}

/**
 * After a diff-based deployment the ledger must say what the sources say: every object at its source checksum,
 * and objects that are no longer in the sources forgotten.
 */
async function syncObjectStates(
  ledger: Pick<Ledger, 'tables' | 'batch' | 'objects'>,
  project: string,
  states: Record<string, string>,
  deploymentId: number,
): Promise<void> {
  const current = await ledger.objects.deployedState(project);
  // In requests of many where the ledger writes SQL text (a project planned by a diff syncs every object it changed).
  await ledger.batch.runTogether(ledger.objects.objectStatesWrites(project, current.objects, states, deploymentId));
}
