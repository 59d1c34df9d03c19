import { summaryOf, type RecordedFingerprint } from './recorded-fingerprint';
import { DbeeError, ExitCode } from '../errors';
import type { Connection, Engine } from '../engine/engine';
import type {
  BackupRow,
  DeploymentInfo,
  DeploymentSummary,
  LedgerState,
  RunnerLedger,
  StepStatus,
} from '../ledger/ledger';
import type { ObjectKey } from '../model/object-key';
import type { SchemaScope } from '../schema/managed-scope';
import { recreateWithDependents } from './recreate-dependents';
import type { Reporter } from './reporter';
import { runStatements, sendStatements } from './batch';
import { executePlan } from './execute';
import { sendStep } from './step-stages';
import { Deployment } from './deployment';
import { StepJournal } from './journal';
import type { AppliedStep, CompensatingStep, PartialUndo } from './undo-steps';

export type { AppliedStep, CompensatingStep, PartialUndo } from './undo-steps';

export interface UndoResult {
  undone: number;
  /** Why it stopped before undoing everything; null when every step was undone. */
  incomplete: string | null;
  /** Backups that were renamed back to their original names. */
  restoredBackups: string[];
}

/** A step of the compensating plan of an automatic rollback: the committed part of a failed step, or an applied step. */
type UndoStep =
  | { transactional: boolean; project: string; partial: PartialUndo; applied?: undefined }
  | { transactional: boolean; project: string; applied: AppliedStep; partial?: undefined };

/**
 * The automatic rollback of a failed deployment: a compensating plan built from what it committed (first what the
 * failed step committed before it failed, then its applied steps newest first, each by its recorded reverse), run
 * through the one executor (`executePlan`), one transaction per step where the engine allows it. Each undo commits
 * with its ledger changes: the step becomes `undone`, the object's ledger state goes back to what it was (a migration
 * is forgotten), a backup it kept is gone. Stops at the first step without a reverse or whose reverse fails: the
 * steps before it stay applied, and the ledger says so.
 */
export async function undoApplied(options: {
  engine: Engine;
  ledger: RunnerLedger;
  conn: Connection;
  reporter: Reporter;
  applied: readonly AppliedStep[];
  partial: PartialUndo | null;
  /** The project's schemas: a view dropped to be put back takes its dependents there with it (`recreateWithDependents`). */
  scope?: SchemaScope;
}): Promise<UndoResult> {
  const { engine, ledger, conn, reporter, partial, scope } = options;
  const todo = [...options.applied].reverse();
  const stayAfter = (i: number) => {
    const left = todo.length - i - 1;
    return left ? ` it and the ${left} step${left === 1 ? '' : 's'} before it stay applied` : ' it stays applied';
  };
  const stayPartial = todo.length
    ? `; the ${todo.length} step${todo.length === 1 ? '' : 's'} before it stay applied`
    : '';
  if (partial && !partial.reverse) {
    return {
      undone: 0,
      incomplete: `step ${partial.step.order} (${partial.step.key}) failed after ${partial.ran} of its statements committed, and dbee knows no reverse for them${stayPartial}`,
      restoredBackups: [],
    };
  }
  const stop = todo.findIndex((a) => a.reverse === null);
  const plan: UndoStep[] = [
    ...(partial ? [{ transactional: false, project: partial.step.project, partial }] : []),
    ...todo
      .slice(0, stop < 0 ? todo.length : stop)
      .map((a) => ({ transactional: a.step.transactional, project: a.step.project, applied: a })),
  ];
  const message = (e: unknown) => (e instanceof DbeeError ? e.message : (engine.mapError(e, {}) as Error).message);
  const journal = new StepJournal(ledger);
  const transactionalDdl = engine.capabilities.transactionalDdl;
  let undone = 0;
  const restoredBackups: string[] = [];
  const outcome = await executePlan(
    conn,
    plan,
    {
      shown: null,
      show: { applied: false, skipped: false },
      record: null,
      error: (e) => new DbeeError(message(e), { code: 'STATEMENT_FAILED', exitCode: ExitCode.applyFailed, cause: e }),
      run: async (c, x) => {
        if (x.partial) {
          await sendStatements(c, x.partial.reverse!);
          await journal.partlyUndone(x.partial, c);
          return;
        }
        const a = x.applied;
        const reverse = a.reverse!;
        const fallback = viewFallback(engine, a.step.objectKey, reverse);
        const around =
          scope && fallback
            ? (run: (list: readonly string[]) => Promise<void>) =>
                recreateWithDependents(c, engine, scope, a.step.objectKey, fallback, run)
            : undefined;
        if (fallback && x.transactional && transactionalDdl)
          await withFallback(c, reverse, fallback, undefined, around);
        else await sendStatements(c, reverse);
        await journal.undone(a, c);
      },
      applied: (u) => {
        if (u.partial) {
          if (u.partial.backup) restoredBackups.push(u.partial.backup);
          reporter.info(
            `  undone what step ${u.partial.step.order} committed: ${u.partial.step.action} ${u.partial.step.key}`,
          );
          return;
        }
        undone++;
        if (u.applied.backup) restoredBackups.push(u.applied.backup);
        reporter.info(`  undone step ${u.applied.step.order}: ${u.applied.step.action} ${u.applied.step.key}`);
      },
    },
    { scope: 'object', transactionalDdl },
    reporter,
  );
  const failed = outcome.failures[0];
  if (failed) {
    const u = failed.step;
    const why = failed.error.message.split('\n')[0];
    if (u.partial)
      return {
        undone,
        incomplete: `undoing what step ${u.partial.step.order} (${u.partial.step.key}) committed before it failed failed: ${why}${stayPartial}`,
        restoredBackups,
      };
    return {
      undone,
      incomplete: `undoing step ${u.applied.step.order} (${u.applied.step.key}) failed: ${why};${stayAfter(todo.indexOf(u.applied))}`,
      restoredBackups,
    };
  }
  if (stop >= 0) {
    const a = todo[stop]!;
    return {
      undone,
      incomplete: `step ${a.step.order} (${a.step.key}) has no recorded reverse;${stayAfter(stop)}`,
      restoredBackups,
    };
  }
  return { undone, incomplete: null, restoredBackups };
}

/**
 * The statements that undo a view's replacement when replacing it back is refused (the replacement added columns,
 * which `CREATE OR REPLACE VIEW` cannot take away): drop it, then create it from the same reverse. Null when the
 * reverse is not a plain replacement of a view.
 */
export function viewFallback(engine: Engine, key: ObjectKey, reverse: readonly string[]): string[] | null {
  if (key.kind !== 'view' || !reverse.length) return null;
  if (
    !reverse.every((sql) =>
      /^CREATE\s+OR\s+REPLACE\s+VIEW\b/i.test(sql.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, '')),
    )
  )
    return null;
  const drop = engine.catalog?.renderDrop(key);
  return drop ? [drop, ...reverse] : null;
}

/**
 * Run `statements` inside the transaction open on `c`, in one round trip where the connection batches (a view put back
 * with the views over it is hundreds of statements). `onStatement` hears of the one that failed (or, when none did,
 * the last), as when they run one by one.
 */
async function runAll(
  c: Connection,
  statements: readonly string[],
  onStatement?: (sql: string) => void,
): Promise<void> {
  const r = await runStatements(c, statements);
  if (r.error) {
    onStatement?.(statements[r.completed]!);
    throw r.error;
  }
  if (statements.length) onStatement?.(statements[statements.length - 1]!);
}

/**
 * Run `statements` under a savepoint; when they fail, go back to it and run `fallback` instead (through `runFallback`
 * when given, which runs it with what else must move). Returns what ran.
 */
async function withFallback(
  c: Connection,
  statements: readonly string[],
  fallback: readonly string[],
  onStatement?: (sql: string) => void,
  runFallback?: (exec: (list: readonly string[]) => Promise<void>) => Promise<readonly string[]>,
): Promise<readonly string[]> {
  const exec = (list: readonly string[]) => runAll(c, list, onStatement);
  await c.execute('SAVEPOINT dbee_undo');
  try {
    await exec(statements);
    await c.execute('RELEASE SAVEPOINT dbee_undo');
    return statements;
  } catch {
    await c.execute('ROLLBACK TO SAVEPOINT dbee_undo');
    return fallBack(exec, fallback, runFallback);
  }
}

/** Run `fallback` through `runFallback` when given (with what else must move), else as it is. Returns what ran. */
async function fallBack(
  exec: (list: readonly string[]) => Promise<void>,
  fallback: readonly string[],
  runFallback?: (exec: (list: readonly string[]) => Promise<void>) => Promise<readonly string[]>,
): Promise<readonly string[]> {
  if (runFallback) return runFallback(exec);
  await exec(fallback);
  return fallback;
}

/**
 * Send one compensating step's statements on `c`, as `runCompensation` sends them (and a rollback's dry run on its
 * scratch copy: operations/rollback/verify-undo.ts): inside the step's transaction when `inTransaction` (the caller
 * opens and ends it), a step with a fallback under a savepoint, its fallback run when they fail (with what stands on
 * the view in `scope` dropped before and created after); `fellBack`: they failed already, only the fallback runs.
 * `onStatement` hears of the statement that failed. Returns what ran; throws the statement's error.
 */
export async function sendCompensating(
  c: Connection,
  engine: Engine,
  s: CompensatingStep,
  how: { inTransaction: boolean; scope?: SchemaScope; onStatement: (sql: string) => void; fellBack?: boolean },
): Promise<string[]> {
  const { inTransaction, scope, onStatement } = how;
  const exec = (list: readonly string[]) => runAll(c, list, onStatement);
  const around =
    scope && s.fallback
      ? (run: (list: readonly string[]) => Promise<void>) =>
          recreateWithDependents(c, engine, scope, s.plan.objectKey, s.fallback!, run)
      : undefined;
  if (how.fellBack) return [...(await fallBack(exec, s.fallback!, around))];
  if (s.fallback && inTransaction)
    return [...(await withFallback(c, s.plan.statements, s.fallback, onStatement, around))];
  if (inTransaction) await exec(s.plan.statements);
  else await sendStatements(c, s.plan.statements, { onStatement: (sql) => onStatement(sql) });
  return s.plan.statements;
}

export interface CompensationOptions {
  engine: Engine;
  conn: Connection;
  ledger: RunnerLedger;
  /** The deployment row to open (kind `rollback` or `enable`, `reverts`, identity...). */
  deployment: DeploymentInfo;
  steps: CompensatingStep[];
  reporter: Reporter;
  /** `object` (default): one transaction per step; `project` / `plan`: one around consecutive transactional steps. */
  transaction?: TransactionScopeName;
  /**
   * The project's whole ledger state to set once every step has run (the state before the undone deployment, or
   * the sources at a git ref); null leaves it to the steps.
   */
  finalState?: LedgerState | null;
  /** Recorded in the deployment's summary, next to the transaction scope and the fingerprint. */
  summary?: DeploymentSummary;
  /** The fingerprint of the project's schemas, recorded when the deployment ends (drift detection). */
  fingerprint?: () => Promise<RecordedFingerprint | null>;
  /**
   * Takes the reading of the fingerprint for later when every step ran (`RunOptions.fingerprintLater`): the deployment
   * closes without one and the caller records it (a rollback, with its smoke result, read while the checks run).
   */
  fingerprintLater?: (deploymentId: number) => void;
  /** Throws `LOCK_LOST` when the deployment lock is gone: the step does not run, and the rest is skipped. */
  beforeStep?: () => Promise<void>;
  /**
   * The deployment lock's guard (`LockHandle.guard`): where a step's ledger rows can go in the request of its statements
   * (a server), each row evaluates it right after the step's statements, in their transaction, and the lock need not be
   * checked in a round trip of its own before the next step (see `RunOptions.lockGuard`).
   */
  lockGuard?: string | null;
  /**
   * The project's schemas: a view that must be dropped to be put back takes the objects that depend on it there
   * with it, and creates them again (`recreateWithDependents`). Without it, only the view is dropped and created.
   */
  scope?: SchemaScope;
  /**
   * The convergence check once every step ran (diffing/converge.ts, as `RunOptions.converge`): an error fails the
   * deployment (exit 2, its objects in `summary.notConverged`); `said` is told. Absent: not compared.
   */
  converge?: () => Promise<{ error: DbeeError | null; objects: string[]; said: string | null }>;
}

type TransactionScopeName = 'object' | 'project' | 'plan';

export interface CompensationResult {
  deploymentId: number;
  status: 'succeeded' | 'failed';
  /** Steps that ran. */
  applied: number;
  /** Steps left as they were (`skip`). */
  skipped: number;
  durationMs: number;
  /** The transaction scope the steps ran in (`transaction`, `object` by default). */
  transaction: TransactionScopeName;
  error?: DbeeError;
  failedStatement?: string | null;
  /** The fingerprint recorded with it, when read as it closed (not for later: `fingerprintLater`). */
  fingerprint?: string | null;
  /** The position-free fingerprint recorded with it (`DeploymentSummary.positionFreeFingerprint`), read with that one. */
  positionFreeFingerprint?: string | null;
}

/** The ledger action of the step that undoes a step recorded with `action`: `create` ↔ `undo-create`, `disable` ↔ `enable`. */
export function inverseAction(action: string): string {
  if (action === 'disable') return 'enable';
  if (action === 'enable') return 'disable';
  return action.startsWith('undo-') ? action.slice('undo-'.length) : `undo-${action}`;
}

/**
 * Run a compensating deployment: open its ledger row, run each step's statements in a transaction (per step, or
 * per group of transactional steps) together with its ledger changes, and close the row. For a step that undoes a
 * recorded one: that step becomes `undone` (and when it was itself the undo of an earlier step, that earlier step
 * is `applied` again), the object's ledger state goes back to what it was before it (a migration is forgotten, or
 * recorded again), a backup it renamed back is marked gone (or present again). The new step records the statements
 * that ran and, as its reverse, the statements of the step it undid, so undoing it redoes that step. Stops at the
 * first failing step: its transaction rolls back, and the ledger says which steps ran (the rest `skipped`). The steps
 * run through the one executor (`executePlan`); their rows are written by the step journal (`StepJournal.compensated`).
 */
export async function runCompensation(options: CompensationOptions): Promise<CompensationResult> {
  const { engine, conn, ledger, reporter, steps } = options;
  const t0 = Date.now();
  const deployment = await Deployment.open(ledger, { ...options.deployment, stepsTotal: steps.length });
  const deploymentId = deployment.id;
  const project = options.deployment.project;
  const backups = new Map<number, BackupRow[]>();
  const backupsOf = async (id: number) => {
    if (!backups.has(id)) backups.set(id, await ledger.backups.of(id));
    return backups.get(id)!;
  };
  for (const s of steps) {
    const d = s.undoes?.deployment;
    if (!d) continue;
    await backupsOf(d.id);
    if (d.reverts !== null) await backupsOf(d.reverts);
  }

  const journal = new StepJournal(ledger);
  const transactionalDdl = engine.capabilities.transactionalDdl;
  const recordRow = (s: CompensatingStep, status: StepStatus, fields: Parameters<StepJournal['compensation']>[3]) =>
    journal.compensation(deploymentId, s, status, fields, conn);

  // A step's statements and its ledger rows in one request, the rows timed by the server's clock and evaluating the lock's
  // guard, where the ledger writes SQL text and the connection batches (a server): one round trip instead of three.
  const inline = engine.ledger.inline && conn.executeBatch ? engine.ledger.inline : null;
  const guard = options.lockGuard ?? null;
  /** Whether the last step that ran proved the lock with its rows (its guard): the next needs no check of its own. */
  let guarded = false;
  /**
   * Run a step's statements and the writes that record it, on `c` inside its transaction, in one request: `null` when
   * its rows are not writes alone (`StepJournal.compensatedWrites`). A step with a fallback runs under a savepoint in
   * that request: when its statements fail, the savepoint is rolled back to and `fallback` is returned (the caller runs
   * the fallback). A failure after its statements (its rows) is the lock's guard, or the ledger: when the lock is gone,
   * that is the error.
   */
  const runInline = async (
    s: CompensatingStep,
    c: Connection,
    onStatement: (sql: string) => void,
  ): Promise<'done' | 'fallback' | null> => {
    if (!inline || !c.executeBatch) return null;
    const writes = await journal.compensatedWrites(deploymentId, project, s, s.plan.statements, backupsOf, { guard });
    if (!writes) return null;
    const savepoint = s.fallback ? 1 : 0;
    const statements = [
      ...(savepoint ? ['SAVEPOINT dbee_undo'] : []),
      `SELECT ${inline.markStart}`,
      ...s.plan.statements,
      ...(savepoint ? ['RELEASE SAVEPOINT dbee_undo'] : []),
    ];
    const r = await runStatements(c, [...statements, ...ledger.batch.inlineAll(writes)]);
    guarded = !r.error && guard !== null;
    if (!r.error) return 'done';
    if (r.completed < statements.length) {
      if (savepoint && r.completed > savepoint) {
        await c.execute('ROLLBACK TO SAVEPOINT dbee_undo');
        return 'fallback';
      }
      onStatement(statements[r.completed]!);
      throw r.error;
    }
    if (s.plan.statements.length) onStatement(s.plan.statements[s.plan.statements.length - 1]!);
    await options.beforeStep?.();
    throw r.error;
  };

  /**
   * Run one step's statements on `c` (inside the step's transaction when it has one), then record it applied: the
   * stages of a step in the one order (`sendStep`), as `rollback.btq` writes them. An undo has no `started` row: what
   * it undoes is in the ledger already, and the next rollback reads the catalog for it.
   */
  const runOne = async (s: CompensatingStep, c: Connection, onStatement: (sql: string) => void) => {
    const started = Date.now();
    const inTransaction = s.plan.transactional && transactionalDdl;
    let inlined: 'done' | 'fallback' | null = null;
    let ran = s.plan.statements;
    const nothing = async () => {};
    await sendStep({
      path: nothing,
      prepare: nothing,
      started: nothing,
      statements: async () => {
        inlined = inTransaction ? await runInline(s, c, onStatement) : null;
        if (inlined === 'done') return;
        guarded = false;
        ran = await compensate(c, s, inlined, inTransaction, onStatement);
      },
      // Sent inline, the rows went in the statements' request, after them (as BTEQ sends a step's last request with
      // its rows): nothing is left to send.
      applied: async () => {
        if (inlined !== 'done') await journal.compensated(deploymentId, project, s, ran, started, backupsOf, c);
      },
    });
  };

  /** A step's statements run outside a request of its rows: its fallback when they fail; what ran is returned. */
  const compensate = (
    c: Connection,
    s: CompensatingStep,
    inlined: 'fallback' | null,
    inTransaction: boolean,
    onStatement: (sql: string) => void,
  ): Promise<string[]> =>
    sendCompensating(c, engine, s, {
      inTransaction,
      scope: options.scope,
      onStatement,
      fellBack: inlined === 'fallback',
    });

  // The runner's grouping rule; a step left as it is (`skip`) runs nothing and does not split the transaction.
  const scope = options.transaction ?? 'object';
  const total = steps.length;
  let skipped = 0;
  const outcome = await executePlan(
    conn,
    steps.map((s) => ({ s, transactional: s.plan.transactional, project })),
    {
      shown: (x) => ({ index: x.s.plan.order, total, step: x.s.plan }),
      show: { applied: true, skipped: false },
      // Inside a transaction, the step before proved the lock right before this one when its rows carried the guard.
      before: async (i) => {
        if (i === 0 || !guarded) await options.beforeStep?.();
      },
      idleStatement: 'COMMIT',
      run: (c, x, onStatement) => runOne(x.s, c, onStatement),
      error: (e, _s, statement) => {
        const mapped = e instanceof DbeeError ? e : engine.mapError(e, { statement: statement ?? undefined });
        return mapped instanceof DbeeError
          ? DbeeError.carrying(mapped.code, mapped.message, {
              hint: mapped.hint,
              details: mapped.details,
              exitCode: ExitCode.applyFailed,
              cause: e,
            })
          : new DbeeError((mapped as Error).message ?? String(e), {
              code: 'STATEMENT_FAILED',
              exitCode: ExitCode.applyFailed,
              cause: e,
            });
      },
      record: (x, status, fields) => recordRow(x.s, status, { ...fields, previousChecksum: null }),
    },
    {
      scope,
      transactionalDdl,
      passive: (x) => !!x.s.skip,
      pass: async ({ s }) => {
        reporter.step(s.plan.order, total, s.plan);
        reporter.stepDone?.(s.plan.order, total, s.plan, { status: 'skipped', durationMs: 0 });
        reporter.warn(`step ${s.plan.order} (${s.plan.key}) left as it is: ${s.skip}`);
        await recordRow(s, 'skipped', { durationMs: 0, error: s.skip!, startedAt: new Date(), previousChecksum: null });
        skipped++;
      },
      // After a failure, every step not reached is recorded as not run.
      leftOver: async (rest) => {
        for (const { s } of rest)
          await recordRow(s, 'skipped', {
            durationMs: 0,
            error: 'not run: an earlier step of the rollback failed',
            startedAt: new Date(),
            previousChecksum: null,
          });
      },
    },
    reporter,
  );
  const applied = outcome.applied.length;
  let failure: { error: DbeeError; statement: string | null } | null = outcome.failures[0]
    ? { error: outcome.failures[0].error, statement: outcome.failures[0].statement }
    : null;
  const verdict = !failure && options.converge ? await options.converge() : null;
  if (verdict?.said) reporter.info(verdict.said);
  // Every step ran: the ledger's state is theirs, converged or not.
  if (!failure && options.finalState) {
    const state = options.finalState;
    await conn.transaction((c) => ledger.objects.replaceState(project, state, deploymentId, c));
  }
  if (verdict?.error) failure = { error: verdict.error, statement: null };
  const summary: DeploymentSummary = { transaction: scope, ...options.summary };
  if (failure) summary.failedAt = new Date().toISOString();
  if (verdict?.error) summary.notConverged = verdict.objects;
  if (!failure && options.fingerprintLater) options.fingerprintLater(deploymentId);
  else {
    try {
      Object.assign(summary, summaryOf((await options.fingerprint?.()) ?? null));
    } catch {
      summary.fingerprint = null;
    }
  }
  const recorded =
    'fingerprint' in summary
      ? { fingerprint: summary.fingerprint ?? null, positionFreeFingerprint: summary.positionFreeFingerprint ?? null }
      : {};
  await deployment.close(
    failure ? 'failed' : 'succeeded',
    summary,
    failure ? { error: failure.error.message, statement: failure.statement } : null,
  );
  return {
    deploymentId,
    status: failure ? 'failed' : 'succeeded',
    applied,
    skipped,
    durationMs: Date.now() - t0,
    transaction: scope,
    ...(failure ? { error: failure.error, failedStatement: failure.statement } : {}),
    ...recorded,
  };
}
