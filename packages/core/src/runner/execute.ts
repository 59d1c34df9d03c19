import type { DbeeError } from '../errors';
import type { Connection } from '../engine/engine';
import type { PlanStep } from '../plan/plan';
import type { Reporter } from './reporter';

/** Transaction scope of transactional steps: one per object (default), per project, or one for the whole plan. */
export type TransactionScope = 'object' | 'project' | 'plan';

/** Consecutive steps that run in one transaction (`transactional`), or one step that runs outside of one. */
export interface Group<T = PlanStep> {
  transactional: boolean;
  steps: T[];
}

/**
 * The one transaction-grouping rule (deploy, and the compensating deployments of rollback, disable and enable):
 * consecutive transactional steps share a transaction under `scope` (`project`: of the same project; `plan`: all of
 * them); every other step is a group of its own. A `passive` step (recorded, never run: a step a rollback leaves as
 * it is) is a group of its own that does not split the transaction around it.
 */
export function transactionGroups<T extends { transactional: boolean; project: string }>(
  steps: readonly T[],
  scope: TransactionScope,
  transactionalDdl: boolean,
  passive: (step: T) => boolean = () => false,
): Group<T>[] {
  const groups: Group<T>[] = [];
  for (const step of steps) {
    const still = passive(step);
    const transactional = step.transactional && transactionalDdl && !still;
    const last = groups.findLast((g) => !passive(g.steps[0]!));
    if (transactional && scope !== 'object' && last?.transactional && (scope === 'plan' || last.steps[0]!.project === step.project)) last.steps.push(step);
    else groups.push({ transactional, steps: [step] });
  }
  return groups;
}

/** How the executor runs the steps of one kind of deployment, and writes their ledger rows (the ledger effect). */
export interface StepEffect<T> {
  /** The step as the reporter shows it (`[index/total] action key`); null: the steps are not shown (an undo). */
  shown: ((step: T) => { index: number; total: number; step: PlanStep }) | null;
  /** Which outcomes the reporter shows when a step is done (`shown` set). */
  show: { applied: boolean; skipped: boolean };
  /**
   * Run the step on `c` (inside its group's transaction when it has one): its statements, each announced to
   * `onStatement` before it runs, then the rows that record it applied.
   */
  run(c: Connection, step: T, onStatement: (sql: string) => void): Promise<void>;
  /**
   * Called before step `i` of the group runs, inside its transaction (a lost lock must stop the group). A throw that
   * `interrupts` is rethrown once the transaction rolled back; any other counts as a failure of the group.
   */
  before?(i: number): Promise<void>;
  interrupts?(e: unknown): boolean;
  /** The error a failure of `step` at `statement` (null: before any; `COMMIT`: the commit) is reported with. */
  error(e: unknown, step: T, statement: string | null): DbeeError;
  /** The statement blamed when the group failed before any step ran (default null). */
  idleStatement?: string | null;
  /**
   * Record a step that did not apply: `rolled-back` (with its transaction), `failed`, or `skipped` (not run: its
   * transaction was rolled back). Null writes no row (the undo of an automatic rollback records none).
   */
  record: ((step: T, status: 'rolled-back' | 'failed' | 'skipped', fields: { durationMs: number; error: string; startedAt: Date }) => Promise<void>) | null;
}

/** What a group did: the steps that applied (committed, or left committed by a failure outside a transaction). */
export interface GroupOutcome<T> {
  applied: { step: T; durationMs: number }[];
  failure: {
    step: T;
    /** The statement that failed: `COMMIT` when the commit did, null when no statement ran. */
    statement: string | null;
    /** Whether a statement of `step` was running (false: the COMMIT failed, or before its first statement). */
    running: boolean;
    error: DbeeError;
    startedAt: number;
    durationMs: number;
  } | null;
  /** What interrupted the group (`StepEffect.interrupts`): nothing more runs. */
  interrupted?: unknown;
}

/**
 * The one step executor: runs a group of steps (see `transactionGroups`) through `effect`, in its transaction when it
 * has one. Every direction goes through it: deploy, the compensating deployments of rollback, disable and enable, and
 * the automatic rollback of a failed deployment (a compensating plan built from what the deployment applied). On a
 * failure it keeps the one bookkeeping: in a transaction the steps before the failing one are `rolled-back` with it,
 * the failing one is `failed`, the rest of the group `skipped`; outside a transaction the steps before it stay
 * applied. A failure is returned, not thrown.
 */
export async function executeGroup<T>(conn: Connection, group: Group<T>, effect: StepEffect<T>, reporter: Reporter): Promise<GroupOutcome<T>> {
  const done: { step: T; durationMs: number }[] = [];
  let current: { step: T; statement: string | null; t0: number } | null = null;
  const runAll = async (c: Connection) => {
    for (const [i, step] of group.steps.entries()) {
      await effect.before?.(i);
      const shown = effect.shown?.(step);
      if (shown) reporter.step(shown.index, shown.total, shown.step);
      current = { step, statement: null, t0: Date.now() };
      await effect.run(c, step, (sql) => (current!.statement = sql));
      const durationMs = Date.now() - current.t0;
      done.push({ step, durationMs });
      if (shown && !group.transactional && effect.show.applied) reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'applied', durationMs });
    }
    current = null;
  };
  try {
    if (group.transactional) await conn.transaction(runAll);
    else await runAll(conn);
  } catch (e) {
    // The group's steps rolled back with its transaction; outside one, what ran before committed.
    if (effect.interrupts?.(e)) return { applied: group.transactional ? [] : done, failure: null, interrupted: e };
    // No statement in progress: the COMMIT itself failed (a deferred constraint, say); blame the group's last step.
    const running = current as { step: T; statement: string | null; t0: number } | null;
    const last = done[done.length - 1];
    const failed = running ?? (last ? { step: last.step, statement: 'COMMIT', t0: Date.now() - last.durationMs } : { step: group.steps[0]!, statement: effect.idleStatement ?? null, t0: Date.now() });
    if (last?.step === failed.step) done.pop();
    const error = effect.error(e, failed.step, failed.statement);
    const durationMs = Date.now() - failed.t0;
    await recordFailure(effect, reporter, {
      rolledBack: group.transactional ? done : [],
      failed: { step: failed.step, durationMs, startedAt: new Date(failed.t0), error },
      skipped: group.steps.slice(group.steps.indexOf(failed.step) + 1),
    });
    return { applied: group.transactional ? [] : done, failure: { step: failed.step, statement: failed.statement, running: running !== null, error, startedAt: failed.t0, durationMs } };
  }
  if (group.transactional && effect.show.applied) {
    for (const d of done) {
      const shown = effect.shown?.(d.step);
      if (shown) reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'applied', durationMs: d.durationMs });
    }
  }
  return { applied: done, failure: null };
}

/**
 * The one failure bookkeeping of a group (`executeGroup`, and the requests of many steps of `runPlan`): the steps
 * that ran before the failing one in its transaction are `rolled-back` with it, the failing one is `failed`, the
 * steps after it in the group are `skipped`; each is shown, and recorded through `effect.record`.
 */
export async function recordFailure<T>(
  effect: Pick<StepEffect<T>, 'shown' | 'show' | 'record'>,
  reporter: Reporter,
  f: { rolledBack: readonly { step: T; durationMs: number }[]; failed: { step: T; durationMs: number; startedAt: Date; error: DbeeError }; skipped: readonly T[] },
): Promise<void> {
  const failed = effect.shown?.(f.failed.step);
  const which = failed ? `step ${failed.step.order} (${failed.step.key})` : 'a step';
  for (const d of f.rolledBack) {
    const shown = effect.shown?.(d.step);
    if (shown) reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'rolled-back', durationMs: d.durationMs });
    await effect.record?.(d.step, 'rolled-back', { durationMs: d.durationMs, error: `rolled back with the transaction: ${which} failed`, startedAt: new Date() });
  }
  if (failed) reporter.stepDone?.(failed.index, failed.total, failed.step, { status: 'failed', durationMs: f.failed.durationMs, error: f.failed.error.message });
  await effect.record?.(f.failed.step, 'failed', { durationMs: f.failed.durationMs, error: f.failed.error.message, startedAt: f.failed.startedAt });
  for (const step of f.skipped) {
    const shown = effect.shown?.(step);
    if (shown && effect.show.skipped) reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'skipped', durationMs: 0 });
    await effect.record?.(step, 'skipped', { durationMs: 0, error: `not run: its transaction was rolled back when step ${failed?.step.order} failed`, startedAt: new Date() });
  }
}
