import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { ManagedScope, SchemaScope } from '../schema/managed-scope';
import type { Connection, Engine } from '../engine/engine';
import { Ledger, type DeploymentInfo, type DeploymentSummary, type StepStatus } from '../ledger/ledger';
import { migrationVersionOf, type ObjectKey } from '../model/object-key';
import type { Plan, PlanStep } from '../plan/plan';
import { stepStatements } from '../plan/step-statements';
import { checksumStatements } from '../sources/checksum';
import { expandPlaceholders } from '../sources/placeholders';
import { executePlan, type BatchMode, type Group, type TransactionScope } from './execute';
import { StepJournal } from './journal';
import type { Reporter } from './reporter';
import { undoApplied, type AppliedStep } from './undo';

export type { TransactionScope } from './execute';
export { transactionGroups } from './execute';

/**
 * How a step's CREATE gets past an existing object that the ledger does not know, decided before the run (and
 * shown by a dry run). The statements run in the step's transaction, around the step's own.
 */
export interface StepConflict {
  strategy: 'rename' | 'drop';
  /** Where the strategy comes from, e.g. `db.yaml conflicts[0] "schema/legacy/**"`. */
  rule: string;
  /** Statements that move the existing object out of the way (rename it aside, or drop it). */
  before: string[];
  /** Statements after the step's own (copying rows from the backup). */
  after: string[];
  /** Statements that undo `before` once the new object is gone; null when impossible (a dropped table). */
  reverse: string[] | null;
  /** The renamed-aside object (strategy `rename`). */
  backup: ObjectKey | null;
  /**
   * Objects dropped at the start of `before` and created again at the end of `after` (see `SetAside.dependents`);
   * the step's reverse drops them first (they stand on the new object) and `reverse` ends by creating them again.
   */
  dependents?: { drop: string[]; create: string[] };
}

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
  /** Schemas of each project (expanded), for the fingerprint recorded at the end of its deployment (drift). */
  schemas?: ReadonlyMap<string, string[]>;
  /** The deployment kind recorded in the ledger. Default `deploy`; `clone` for `dbee clone`. */
  kind?: 'deploy' | 'clone';
  /** What each project manages in its schemas (db.yaml `manage:`), so the recorded fingerprint leaves the rest out. */
  manage?: ReadonlyMap<string, ManagedScope>;
  /**
   * Takes the reading of a project's fingerprint for later: `record` writes it into the deployment's summary. An Nx
   * batch reads them all at its end, in one query and still under its lock (operations/deploy.ts). The deployment
   * closes without one until then. Without it, the fingerprint is read before the deployment closes.
   */
  fingerprintLater?: (scope: SchemaScope, record: (fingerprint: string) => Promise<void>) => void;
  /**
   * Checks run when a project's steps have all applied, before its deployment is closed (smoke checks). A
   * failure counts as the deployment failing: with autoRollback its steps are undone, and the exit code is 3.
   */
  verify?: (project: string, deploymentId: number) => Promise<{ passed: boolean; summary: string; error?: DbeeError }>;
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

/** How far a step got while it ran, and what undoes it (filled by `runStep` before its first statement). */
interface StepProgress {
  /** Index in `statements` of the statement running (or that failed); `statements.length` once all of them ran. */
  index: number;
  statements: string[];
  /** How many of `statements` come before the step's own (a conflict moving an object aside). */
  before: number;
  /** The step's whole reverse (its own and the conflict's), as it would be recorded. */
  reverse: string[] | null;
  /** The reverse of the conflict's statements alone (renaming a backup back). */
  conflictReverse: string[] | null;
  /** The backup the conflict's statements make (qualified). */
  backup: string | null;
  /** The conflict's dependents (dropped first, created again last), when it has any. */
  dependents?: { drop: string[]; create: string[] };
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
}

/**
 * What undoes the committed part of a step that failed at `p.index`, outside a transaction. Nothing ran: null. Only
 * the conflict's statements ran (a table renamed aside, its CREATE failed): their reverse (rename it back). The
 * step's own statements started (its CREATE committed, a later COMMENT or the copy of rows failed): the step's whole
 * reverse, since undoing the object undoes what goes with it. A migration's committed statements are reported, not
 * undone: their effect is unknown.
 */
function partialUndo(step: PlanStep, p: StepProgress): PartialStep | null {
  if (p.index <= 0) return null;
  const base = { step, ran: p.index, total: p.statements.length };
  const deps = p.dependents;
  if (deps && p.index <= deps.drop.length) {
    // Only dependents were dropped: create those again.
    return { ...base, reverse: deps.create.slice(0, p.index), backup: null, undoable: true };
  }
  if (p.index <= p.before) {
    return { ...base, reverse: p.index === p.before ? p.conflictReverse : null, backup: p.index === p.before ? p.backup : null, undoable: true };
  }
  if (step.action === 'migrate') return { ...base, reverse: null, backup: null, undoable: false };
  if (deps && p.reverse) {
    // The step's reverse starts by dropping the dependents created again at its end: only those that were.
    const created = Math.max(0, p.index - (p.statements.length - deps.create.length));
    return { ...base, reverse: [...deps.drop.slice(0, created), ...p.reverse.slice(deps.drop.length)], backup: p.backup, undoable: true };
  }
  return { ...base, reverse: p.reverse, backup: p.backup, undoable: true };
}

/**
 * Apply a plan. Per project, one deployment row in the ledger. Transactional steps run in transactions (one per
 * object, per project or for the whole plan) together with their ledger rows, so a step and its record commit or
 * vanish together; the others run alone and are recorded after they ran. Stops at the first failing step, or with
 * `continueOnError` goes on with the steps that do not depend on a failed one. A failed project with
 * `autoRollback` has its committed steps undone in reverse order. The caller holds the deployment lock. The steps
 * run through the one executor (`executePlan`): this function opens and closes the deployments, says how a step runs
 * (`runStep`) or is sent in a request (`batch.prepare`, on a server), and what its ledger rows are (`StepJournal`).
 */
export async function runPlan(options: RunOptions): Promise<RunResult> {
  const { engine, conn, plan, reporter } = options;
  const ledger = new Ledger(conn, engine.ledger);
  const journal = new StepJournal(ledger);
  const scope = options.transaction ?? 'object';
  const setup = engine.session.setup(options.session ?? {});
  for (const sql of setup) await conn.execute(sql);

  const states = new Map<string, ProjectState>();
  for (const project of plan.projects) {
    states.set(project, { project, steps: plan.steps.filter((s) => s.project === project), deploymentId: null, started: 0, applied: [], failure: null, partial: null, backups: [], finished: false });
  }
  const stepResults = new Map<number, StepResult>();
  const notApplied = new Set<number>();
  if (plan.steps.length) await ledger.ensure();
  let currentPath: string | null = null;
  let stopped = false;

  /** The statement that sets `project`'s search path when the session has another one (and notes it as set). */
  const pathStatement = (project: string): string | null => {
    const variables = options.variables.get(project) ?? {};
    const searchPath = (plan.searchPaths?.[project] ?? []).map((s) => expandPlaceholders(s, variables, `search path of ${project}`).expanded);
    const sql = searchPath.length ? engine.session.searchPath(searchPath) : null;
    if (!sql || sql === currentPath) return null;
    currentPath = sql;
    return sql;
  };

  const setPathFor = async (c: Connection, project: string) => {
    const variables = options.variables.get(project) ?? {};
    const searchPath = (plan.searchPaths?.[project] ?? []).map((s) => expandPlaceholders(s, variables, `search path of ${project}`).expanded);
    const sql = searchPath.length ? engine.session.searchPath(searchPath) : null;
    if (sql && sql !== currentPath) {
      await c.execute(sql);
      currentPath = sql;
    }
  };

  /** Per project, the ledger's object checksums as the committed steps left them (a step's previous checksum). */
  const checksums = new Map<string, Map<string, string>>();
  const startProject = async (state: ProjectState) => {
    if (state.deploymentId !== null) return;
    state.started = Date.now();
    const before = await ledger.state(state.project);
    checksums.set(state.project, new Map(Object.entries(before.objects)));
    state.deploymentId = await ledger.startDeployment({
      ...options.identity,
      before,
      project: state.project,
      environment: options.environment,
      kind: options.kind ?? 'deploy',
      planChecksum: options.planChecksum,
      stepsTotal: state.steps.length,
    });
    reporter.info(`${state.project}: deploying ${state.steps.length} step${state.steps.length === 1 ? '' : 's'} (deployment ${state.deploymentId})`);
  };

  /** A step's place in its project (1-based) and the project's step count, as shown. */
  const positions = new Map<PlanStep, { index: number; total: number }>();
  for (const state of states.values()) state.steps.forEach((s, i) => positions.set(s, { index: i + 1, total: state.steps.length }));
  const position = (step: PlanStep) => positions.get(step) ?? { index: 0, total: states.get(step.project)!.steps.length };

  const conflict = (step: PlanStep) => options.conflicts?.get(step.order);
  const record = async (step: PlanStep, status: StepStatus, fields: { durationMs: number; error: string | null; statements?: string[]; startedAt?: Date; reverse?: string[] | null }) => {
    const state = states.get(step.project)!;
    const variables = options.variables.get(step.project) ?? {};
    await journal.writeOutcome(state.deploymentId!, step, status as Exclude<StepStatus, 'applied' | 'undone'>, {
      checksum: checksumStatements(step.statements, variables),
      replacesStarted: !step.transactional && engine.capabilities.transactionalDdl,
      statements: fields.statements ?? stepStatements(step, variables, conflict(step)),
      reverse: fields.reverse === undefined ? step.reverse : fields.reverse,
      startedAt: fields.startedAt ?? new Date(),
      durationMs: fields.durationMs,
      error: fields.error,
    });
    stepResults.set(step.order, { ...resultOf(step, options.conflicts), status, durationMs: fields.durationMs, ...(fields.error ? { error: fields.error } : {}) });
    if (status !== 'applied') {
      notApplied.add(step.order);
      // A project with a step that did not apply is incomplete: its deployment fails, with the first reason.
      state.failure ??= { error: new DbeeError(`step ${step.order} (${step.key}): ${fields.error ?? status}`, { code: 'STEP_NOT_APPLIED', exitCode: ExitCode.applyFailed }), statement: null, at: new Date() };
    }
  };

  const blockedBy = (step: PlanStep): number | null => {
    const deps = options.dependencies?.get(step.order);
    if (!deps) {
      // Without dependency data, a step depends on every earlier step.
      for (const o of notApplied) if (o < step.order) return o;
      return null;
    }
    for (const d of deps) if (notApplied.has(d)) return d;
    return null;
  };

  /** Set when the lock is gone: nothing more runs, every open deployment ends `aborted`. */
  let lockLost: DbeeError | null = null;
  const checkLock = async () => {
    try {
      await options.beforeStep?.();
    } catch (e) {
      if (e instanceof DbeeError && e.code === 'LOCK_LOST') lockLost = e;
      throw e;
    }
  };
  /** A project whose steps are all behind `groups[next]` is finished now, so its record is complete before the next starts. */
  const finishBehind = async (next: number, groups: readonly Group[]) => {
    const remaining = new Set(groups.slice(next).flatMap((x) => x.steps.map((s) => s.project)));
    for (const state of states.values()) {
      if (state.deploymentId !== null && !state.finished && !remaining.has(state.project)) {
        await finishProject(options, ledger, state, scope);
        // A project that failed its checks stops the run like a failed step (its dependents must not deploy).
        if (state.failure && !options.continueOnError) stopped = true;
      }
    }
  };

  /** What each step that ran did (`runStep`), or will do once its request commits (`prepare`): what undoes it. */
  const ran = new Map<PlanStep, AppliedStep>();
  /** Steps sent in requests: the failed one is recorded with the reverse it would have been recorded with. */
  const sent = new Set<PlanStep>();
  /** Applied steps: in the project's state, the run's results and the ledger checksums later steps start from. */
  const applied = (step: PlanStep, durationMs: number) => {
    const state = states.get(step.project)!;
    const a = ran.get(step)!;
    state.applied.push(a);
    if (a.backup) state.backups.push(a.backup);
    stepResults.set(step.order, { ...resultOf(step, options.conflicts), status: 'applied', durationMs });
    const sums = checksums.get(step.project);
    const checksum = checksumStatements(step.statements, options.variables.get(step.project) ?? {});
    if (sums && step.action !== 'migrate') {
      if (step.action === 'drop') sums.delete(step.key);
      else sums.set(step.key, checksum);
    }
    if (pending.get(pendingKey(step))?.step === step) pending.delete(pendingKey(step));
  };

  // Transactional steps whose ledger rows can be written as SQL text go to the server in requests of many statements:
  // each step's statements followed by its ledger rows, inside its transaction (the executor's batched mode).
  const inline = engine.ledger.inline;
  const captures = (step: PlanStep) => !!engine.catalog && ['replace', 'drop', 'alter', 'restore'].includes(step.action);
  /**
   * Checksums set by steps sent but not yet known to have committed (their requests are being built or run): with
   * `checksums`, the ledger's `objects` as each later step will find it. An entry goes when its step commits (then
   * `checksums` has it, `applied`); all go when a request fails: what did not commit never happened.
   */
  const pending = new Map<string, { checksum: string | null; step: PlanStep }>();
  const pendingKey = (step: PlanStep) => `${step.project}\u0000${step.key}`;
  /** The object's checksum in the ledger right before `step` runs (its row's `previous_checksum`). */
  const ledgerChecksum = (step: PlanStep) => {
    if (step.action === 'migrate') return null;
    const p = pending.get(pendingKey(step));
    if (p) return p.checksum;
    return checksums.get(step.project)?.get(step.key) ?? null;
  };
  /** What undoing `step` sets the object's checksum back to (nothing for a creation or a migration). */
  const previousChecksum = (step: PlanStep) => (step.action === 'migrate' || step.action === 'create' ? null : ledgerChecksum(step));
  /** The transaction a request opens has not selected its marks yet (`LedgerInlining.asyncCommit` goes with the first). */
  let firstOfTransaction = false;
  const asyncCommit = inline?.asyncCommit && conn.executeBatch ? inline.asyncCommit : null;
  const batch: BatchMode<PlanStep> | null = inline
    ? {
        eligible: (group) => group.transactional && group.steps.every((st) => !conflict(st)),
        joins: (first, next) => first.steps[0]!.project === next.steps[0]!.project,
        // A step that captures a definition (read first, after what came before) and a migration (a data move takes
        // time: it is shown as it starts, and the lock is proven right before it) start a request; a migration ends it.
        alone: (step) => captures(step) || step.action === 'migrate',
        ends: (step) => step.action === 'migrate',
        // Only on a connection that batches (a server): an embedded database (PGlite, in this process) has no WAL
        // writer, so its asynchronous commits would wait for a checkpoint, and a killed process would lose them.
        begin: ['BEGIN'],
        opened: () => {
          firstOfTransaction = true;
        },
        size: REQUEST_STEPS,
        // Per step: its search path when it changes, the clock mark, its statements and its ledger rows (`StepJournal.applied`).
        prepare: async (step) => {
          const state = states.get(step.project)!;
          const variables = options.variables.get(step.project) ?? {};
          // The object's definition before the step (its reverse when the plan has none), read after what came before.
          const previousDefinition = captures(step) ? await engine.catalog!.captureDefinition(conn, step.objectKey) : null;
          const expanded = stepStatements(step, variables);
          const checksum = checksumStatements(step.statements, variables);
          const reverse = step.reverse ?? (step.action === 'replace' && previousDefinition ? [previousDefinition] : null);
          ran.set(step, { step, deploymentId: state.deploymentId!, statements: expanded, reverse, previousChecksum: previousChecksum(step), backup: null });
          sent.add(step);
          // Known here, so written as a literal rather than read from `objects` by the row's INSERT.
          const ledgerPrevious = ledgerChecksum(step);
          if (step.action !== 'migrate') pending.set(pendingKey(step), { checksum: step.action === 'drop' ? null : checksum, step });
          const path = pathStatement(step.project);
          const writes = journal.applied({ deploymentId: state.deploymentId!, step, checksum, statements: expanded, reverse, previousDefinition, replacesStarted: false, timing: null, previousChecksum: ledgerPrevious });
          const marks = firstOfTransaction && asyncCommit ? [asyncCommit, inline.markStart] : [inline.markStart];
          firstOfTransaction = false;
          return [...(path ? [path] : []), `SELECT ${marks.join(', ')}`, ...expanded, ...ledger.inlineAll(writes)];
        },
      }
    : null;
  let progress: { step: PlanStep; p: StepProgress } | null = null;
  const transactionalDdl = engine.capabilities.transactionalDdl;
  try {
    await executePlan<PlanStep>(
      conn,
      plan.steps,
      {
        shown: (step) => ({ ...position(step), step }),
        show: { applied: true, skipped: true },
        // Inside a transaction too: a step that follows a lost lock must not run (the transaction rolls back).
        before: async (i) => {
          if (options.beforeStep && i > 0) await checkLock();
        },
        interrupts: () => lockLost !== null,
        run: async (c, step, onStatement) => {
          await setPathFor(c, step.project);
          progress = { step, p: { index: -1, statements: [], before: 0, reverse: null, conflictReverse: null, backup: null } };
          ran.set(step, await runStep(options, ledger, journal, c, step, states.get(step.project)!.deploymentId!, onStatement, progress.p));
        },
        error: (e, step, statement) => {
          pending.clear();
          const error = withSource(toDbeeError(engine, e, statement), step);
          states.get(step.project)!.failure ??= { error, statement, at: new Date() };
          return error;
        },
        record: async (step, status, fields) => {
          if (status !== 'failed') return record(step, status, fields);
          // A step sent in a request: the reverse it would have been recorded with (a captured definition).
          if (sent.has(step)) return record(step, 'failed', { ...fields, reverse: ran.get(step)?.reverse });
          // Outside a transaction, the statements of the failed step before the failing one committed: the ledger
          // says which, and what undoes them (the automatic rollback runs it first).
          const running = progress as { step: PlanStep; p: StepProgress } | null;
          const partial = !(step.transactional && transactionalDdl) && running?.step === step ? partialUndo(step, running.p) : null;
          if (!partial) return record(step, 'failed', fields);
          const state = states.get(step.project)!;
          state.partial = partial;
          const what = `statement${partial.ran === 1 ? '' : 's'} 1${partial.ran > 1 ? `-${partial.ran}` : ''} of ${partial.total} committed before the failure`;
          reporter.warn(
            `step ${step.order} (${step.key}): ${what}` +
              (partial.reverse ? `; they are undone by: ${partial.reverse.join('; ')}` : partial.undoable ? '; dbee knows no reverse for them' : '; a migration is not undone statement by statement: check them'),
          );
          if (partial.backup) {
            await journal.backupLeft(state.deploymentId!, step, partial.backup);
            state.backups.push(partial.backup);
          }
          await record(step, 'failed', { ...fields, error: `${fields.error}\n(${what})`, reverse: partial.reverse });
        },
        applied,
        // The connection may have been reset with the transaction; the search path is set again before the next step.
        reset: () => {
          currentPath = null;
        },
      },
      {
        scope,
        transactionalDdl,
        // A lost lock stops the run before the group (the executor's `interrupted`); any other error propagates.
        beforeGroup: options.beforeStep ? checkLock : undefined,
        held: (step) => blockedBy(step) !== null,
        admit: async (runnable, held) => {
          for (const step of held) {
            const blocker = blockedBy(step);
            await startProject(states.get(step.project)!);
            const { index, total } = position(step);
            reporter.stepDone?.(index, total, step, { status: 'skipped', durationMs: 0 });
            await record(step, 'skipped', { durationMs: 0, error: `not run: it depends on step ${blocker}, which did not apply` });
          }
          for (const step of runnable) await startProject(states.get(step.project)!);
        },
        continueOnError: options.continueOnError,
        stop: () => stopped,
        after: finishBehind,
        batch,
      },
      reporter,
    );

    for (const state of states.values()) {
      if (state.deploymentId === null || state.finished) continue;
      if (lockLost) await abortProject(ledger, state, lockLost, scope);
      else await finishProject(options, ledger, state, scope);
    }
  } catch (e) {
    // Something failed outside a step's statements: a ledger write (the connection is gone) or a bug. Every open
    // deployment is still closed where the ledger can be written; the step's own error, when there is one, says more
    // than the ledger write that failed after it.
    const stepError = [...states.values()].find((st) => st.failure)?.failure?.error;
    const message = (stepError ?? (e instanceof Error ? e : new Error(String(e)))).message;
    let open = 0;
    for (const state of states.values()) {
      // `result` is set when a project's record is complete; finishProject may have thrown half-way.
      if (state.deploymentId === null || state.result) continue;
      state.finished = true;
      open++;
      await ledger.finishDeployment(state.deploymentId, 'failed', message, null, { transaction: scope, failedAt: new Date().toISOString() }).catch(() => {});
    }
    const applied = [...states.values()].reduce((n, st) => n + st.applied.length, 0);
    if (!(e instanceof DbeeError) && applied > 0) {
      // A bug after steps committed: still exit 2 (something was applied), with the stack to report.
      throw new DbeeError(`internal error (a bug in dbee, please report it) after ${applied} step${applied === 1 ? '' : 's'} applied: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, {
        code: 'INTERNAL_ERROR',
        exitCode: ExitCode.applyFailed,
        hint: `the ledger records what ran${open ? ` (the deployment is closed as failed)` : ''}; deploy again to resume`,
        cause: e,
      });
    }
    if (stepError && e !== stepError) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      throw new DbeeError(stepError.message, {
        code: stepError.code,
        location: stepError.location,
        exitCode: ExitCode.applyFailed,
        hint: `the ledger could not record the failure (${why}); the next deployment marks this one interrupted and settles its steps`,
        cause: e,
      });
    }
    throw e;
  }
  const projects: ProjectRunResult[] = [...states.values()].map(
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
  for (const p of projects) if (p.status === 'unchanged') reporter.info(`${p.project}: nothing to deploy, the database is up to date`);
  const steps = plan.steps.map((s) => stepResults.get(s.order) ?? { ...resultOf(s, options.conflicts), status: 'not-run' as const, durationMs: 0 });
  if (lockLost) reporter.warn((lockLost as DbeeError).message);
  const failures = projects.filter((p) => p.status === 'failed' || p.status === 'rolled-back' || p.status === 'aborted');
  // Smoke failures exit 3, unless a step also failed (2 says more: something did not even apply).
  const exitCode = !failures.length ? ExitCode.ok : failures.every((p) => p.error?.exitCode === ExitCode.smokeFailed) ? ExitCode.smokeFailed : ExitCode.applyFailed;
  return { exitCode, projects, steps };
}

/**
 * Run one step on `c` (inside its transaction when it has one): capture the object's definition before it
 * changes, move a conflicting object aside, run the statements, and record the step, its object state, its
 * migration and its backup in the ledger on the same connection.
 */
async function runStep(
  options: RunOptions,
  ledger: Ledger,
  journal: StepJournal,
  c: Connection,
  step: PlanStep,
  deploymentId: number,
  onStatement: (sql: string) => void,
  progress: StepProgress,
): Promise<AppliedStep> {
  const { engine } = options;
  const variables = options.variables.get(step.project) ?? {};
  const conflict = options.conflicts?.get(step.order);
  const t0 = Date.now();
  const captures = conflict !== undefined || ['replace', 'drop', 'alter', 'restore'].includes(step.action);
  const previousDefinition = captures && engine.catalog ? await engine.catalog.captureDefinition(c, step.objectKey) : null;
  const previousChecksum = step.action === 'migrate' || step.action === 'create' ? null : await ledger.objectChecksum(step.project, step.key, c);
  const statements = stepStatements(step, variables, conflict);
  // A replaced object comes back from its captured definition when the plan knows no reverse.
  let reverse = step.reverse ?? (step.action === 'replace' && previousDefinition ? [previousDefinition] : null);
  // Dependents the conflict created again stand on the new object: they go first.
  if (conflict) reverse = reverse && conflict.reverse ? [...(conflict.dependents?.drop ?? []), ...reverse, ...conflict.reverse] : null;
  Object.assign(progress, {
    statements,
    before: conflict?.before.length ?? 0,
    reverse,
    conflictReverse: conflict?.reverse ?? null,
    backup: conflict?.backup ? qualifiedName(conflict.backup) : null,
    dependents: conflict?.dependents,
  });
  const checksum = checksumStatements(step.statements, variables);
  // A step that cannot run in a transaction is journaled first: if the process dies while it runs, the next
  // deployment finds it `started` and reconciles it against the catalog (runner/reconcile.ts).
  const journaled = !step.transactional && engine.capabilities.transactionalDdl;
  if (journaled) await journal.started(deploymentId, step, { checksum, statements, reverse, previousDefinition, startedAt: new Date(t0) }, c);
  for (const [i, sql] of statements.entries()) {
    progress.index = i;
    onStatement(sql);
    await c.execute(sql);
  }
  // Every statement ran: a failure from here on (writing the ledger) leaves all of them committed.
  progress.index = statements.length;
  // The records of a journaled step are written together (one transaction), so a crash leaves either the `started`
  // row or all of them: never a step recorded applied without its object state.
  const backup = conflict?.backup ? qualifiedName(conflict.backup) : null;
  const write = (w: Connection) =>
    journal.writeApplied({ deploymentId, step, checksum, statements, reverse, previousDefinition, replacesStarted: journaled, timing: { startedAt: new Date(t0), durationMs: Date.now() - t0 } }, backup, w);
  if (journaled) await c.transaction(write);
  else await write(c);
  return { step, deploymentId, statements, reverse, previousChecksum, backup };
}

async function finishProject(options: RunOptions, ledger: Ledger, state: ProjectState, scope: TransactionScope): Promise<void> {
  state.finished = true;
  const { reporter } = options;
  const summary: DeploymentSummary = { transaction: scope, smoke: 'not run' };
  // A diff-based deployment's object states are synced before the checks read them (the smoke baseline checks the
  // objects the ledger holds: a dropped table's indexes must be gone from it first). A failed run restores them
  // from the deployment's ledger_before when it is undone.
  const objectStates = options.plan.objectStates?.[state.project];
  if (objectStates && !state.failure) await syncObjectStates(ledger, state.project, objectStates, state.deploymentId!);
  if (!state.failure && options.verify && state.deploymentId !== null) {
    const verdict = await options.verify(state.project, state.deploymentId);
    summary.smoke = verdict.summary;
    if (!verdict.passed) {
      state.failure = {
        error: verdict.error ?? new DbeeError(`${state.project}: smoke checks failed (${verdict.summary})`, { code: 'SMOKE_FAILED', exitCode: ExitCode.smokeFailed }),
        statement: null,
        at: new Date(),
      };
    }
  }
  const conflicts = state.steps.flatMap((s) => {
    const c = options.conflicts?.get(s.order);
    return c ? [{ object: s.key, strategy: c.strategy, rule: c.rule, backup: c.backup ? qualifiedName(c.backup) : null }] : [];
  });
  if (conflicts.length) summary.conflicts = conflicts;
  let status: ProjectRunResult['status'] = 'succeeded';
  let rollback: ProjectRunResult['rollback'];
  const error = state.failure?.error;
  if (state.failure) {
    status = 'failed';
    summary.failedAt = state.failure.at.toISOString();
    const partial = state.partial?.undoable ? state.partial : null;
    if (options.autoRollback?.(state.project) && (state.applied.length || partial)) {
      reporter.info(`${state.project}: rolling back ${state.applied.length} applied step${state.applied.length === 1 ? '' : 's'}${partial ? ` and what step ${partial.step.order} committed before it failed` : ''} (autoRollback)`);
      // A compensating plan from what the deployment committed, run through the one executor.
      const undo = await undoApplied({
        engine: options.engine,
        ledger,
        conn: options.conn,
        reporter,
        applied: state.applied,
        partial: partial ? { step: partial.step, deploymentId: state.deploymentId!, ran: partial.ran, reverse: partial.reverse, backup: partial.backup } : null,
      });
      rollback = { undone: undo.undone, incomplete: undo.incomplete };
      if (undo.incomplete) {
        summary.rollbackIncomplete = undo.incomplete;
        reporter.warn(`${state.project}: automatic rollback incomplete: ${undo.incomplete}`);
      } else {
        status = 'rolled-back';
        summary.rolledBackAt = new Date().toISOString();
      }
      state.backups = state.backups.filter((b) => !undo.restoredBackups.includes(b));
    } else if (options.autoRollback?.(state.project)) {
      status = 'rolled-back';
      rollback = { undone: 0, incomplete: null };
      summary.rolledBackAt = new Date().toISOString();
    }
  }
  const covered = fingerprintScope(options, state.project);
  if (covered && options.fingerprintLater && state.deploymentId !== null) {
    // In a batch, every CREATE SCHEMA resets the session's plan cache (PostgreSQL's NAMESPACEOID invalidation), so a
    // fingerprint read here is planned afresh for each project: ~8 ms each on the 200-project first deploy, against
    // ~75 ms for all 200 in one query at the end of the batch. The lock is still held then, so the schemas are as
    // this deployment, and the batch's later ones, left them.
    const id = state.deploymentId;
    options.fingerprintLater(covered, (fingerprint) => ledger.updateSummary(id, { fingerprint }));
  } else summary.fingerprint = covered ? await fingerprintOf(options, covered) : null;
  const message = error ? error.message + (rollback?.incomplete ? `\nautomatic rollback incomplete: ${rollback.incomplete}` : '') : null;
  await ledger.finishDeployment(state.deploymentId!, status === 'rolled-back' ? 'rolled-back' : status === 'failed' ? 'failed' : 'succeeded', message, state.failure?.statement ?? null, summary);
  const stepsApplied = state.applied.length - (rollback?.undone ?? 0);
  state.result = {
    project: state.project,
    deploymentId: state.deploymentId,
    status,
    stepsApplied,
    stepsTotal: state.steps.length,
    durationMs: Date.now() - state.started,
    backups: state.backups,
    ...(error ? { error, failedStatement: state.failure?.statement ?? null } : {}),
    ...(rollback ? { rollback } : {}),
  };
}

/**
 * Close a deployment whose lock was lost: `aborted`, with the reason, and nothing else run (no automatic rollback,
 * no checks, no fingerprint). Its committed steps stay applied, as its steps say; the next deployment resumes.
 */
async function abortProject(ledger: Ledger, state: ProjectState, error: DbeeError, scope: TransactionScope): Promise<void> {
  state.finished = true;
  const message = error.message;
  await ledger.finishDeployment(state.deploymentId!, 'aborted', message, null, { transaction: scope, failedAt: new Date().toISOString(), smoke: 'not run' }).catch(() => {});
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

async function fingerprintOf(options: RunOptions, scope: SchemaScope): Promise<string | null> {
  try {
    return await options.engine.diff!.fingerprint(options.conn, scope);
  } catch {
    // Drift detection is a convenience; a fingerprint that cannot be read must not fail a finished deployment.
    return null;
  }
}

function resultOf(step: PlanStep, conflicts: ReadonlyMap<number, StepConflict> | undefined): Omit<StepResult, 'status' | 'durationMs'> {
  const c = conflicts?.get(step.order);
  return {
    order: step.order,
    project: step.project,
    key: step.key,
    action: step.action,
    ...(c ? { conflict: { strategy: c.strategy, rule: c.rule, backup: c.backup ? qualifiedName(c.backup) : null } } : {}),
  };
}

/** Steps per request at most (the executor's batched mode): enough to make round trips rare, few enough to stop soon. */
const REQUEST_STEPS = 100;

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
  return new DbeeError((mapped as Error).message ?? String(e), { code: 'STATEMENT_FAILED', exitCode: ExitCode.applyFailed, cause: e });
}

/** A step's error located at the step's source file and line (where it came from a file), unless it has a location. */
function withSource(e: DbeeError, step: PlanStep): DbeeError {
  if (e.location || !step.source) return e;
  return new DbeeError(e.message, { code: e.code, hint: e.hint, location: { file: step.source.file, line: step.source.line }, details: e.details, exitCode: e.exitCode, cause: e });
}

/** A failure while applying is exit 2, whatever category the error had. */
function rewrap(e: DbeeError): DbeeError {
  return new DbeeError(e.message, { code: e.code, hint: e.hint, location: e.location, details: e.details, exitCode: ExitCode.applyFailed, cause: e });
}

/**
 * After a diff-based deployment the ledger must say what the sources say: every object at its source checksum,
 * and objects that are no longer in the sources forgotten.
 */
async function syncObjectStates(ledger: Ledger, project: string, states: Record<string, string>, deploymentId: number): Promise<void> {
  const current = await ledger.deployedState(project);
  for (const key of current.objects.keys()) if (!(key in states)) await ledger.setObjectState(project, key, null, deploymentId);
  for (const [key, checksum] of Object.entries(states)) if (current.objects.get(key) !== checksum) await ledger.setObjectState(project, key, checksum, deploymentId);
}
