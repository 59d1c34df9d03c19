import type { DbeeError } from '../errors';
import type { Connection } from '../engine/engine';
import type { PlanStep } from '../plan/plan';
import { runStatements } from './batch';
import type { Reporter } from './reporter';

/** Transaction scope of transactional steps: one per object (default), per project, or one for the whole plan. */
export type TransactionScope = 'object' | 'project' | 'plan';

/** Consecutive steps that run in one transaction (`transactional`), or one step that runs outside of one. */
export interface Group<T = PlanStep> {
  transactional: boolean;
  steps: T[];
}

/**
 * The one transaction-grouping rule (`executePlan`: deploy, the compensating deployments of rollback, disable and
 * enable, and the automatic rollback): consecutive transactional steps share a transaction under `scope` (`project`:
 * of the same project; `plan`: all of them); every other step is a group of its own. A `passive` step (recorded, never run: a step a rollback leaves as
 * it is) is a group of its own that does not split the transaction around it. Whatever the scope, the steps from the
 * first step of a re-creation (`recreates`) to its last share one transaction when they are transactional: a re-created
 * table's old tables renamed aside, the new ones, the copy of the rows and the dependents made again commit together
 * or not at all.
 */
export function transactionGroups<T extends { transactional: boolean; project: string; recreates?: string }>(
  steps: readonly T[],
  scope: TransactionScope,
  transactionalDdl: boolean,
  passive: (step: T) => boolean = () => false,
): Group<T>[] {
  const groups: Group<T>[] = [];
  const together = recreationSpans(steps, passive);
  for (const [i, step] of steps.entries()) {
    const still = passive(step);
    const transactional = step.transactional && transactionalDdl && !still;
    const last = groups.findLast((g) => !passive(g.steps[0]!));
    if (
      transactional &&
      last?.transactional &&
      (together[i] || (scope !== 'object' && (scope === 'plan' || last.steps[0]!.project === step.project)))
    )
      last.steps.push(step);
    else groups.push({ transactional, steps: [step] });
  }
  return groups;
}

/**
 * For each step, whether it joins the transaction of the step before it as part of re-creations: the steps of a
 * re-creation span from its first step to its last (the cause's own change between them), and spans that overlap are
 * one. A step that cannot run in a transaction still splits a span (nothing can join it).
 */
function recreationSpans<T extends { recreates?: string }>(
  steps: readonly T[],
  passive: (step: T) => boolean,
): boolean[] {
  const bounds = new Map<string, [number, number]>();
  for (const [i, step] of steps.entries()) {
    if (!step.recreates || passive(step)) continue;
    const b = bounds.get(step.recreates);
    if (b) b[1] = i;
    else bounds.set(step.recreates, [i, i]);
  }
  const joins = steps.map(() => false);
  for (const [first, last] of bounds.values()) for (let i = first + 1; i <= last; i++) joins[i] = true;
  return joins;
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
  interrupts?(e: unknown): boolean | Promise<boolean>;
  /** The error a failure of `step` at `statement` (null: before any; `COMMIT`: the commit) is reported with. */
  error(e: unknown, step: T, statement: string | null): DbeeError;
  /** The statement blamed when the group failed before any step ran (default null). */
  idleStatement?: string | null;
  /**
   * Record a step that did not apply: `rolled-back` (with its transaction), `failed`, or `skipped` (not run: its
   * transaction was rolled back). Null writes no row (the undo of an automatic rollback records none).
   */
  record:
    | ((
        step: T,
        status: 'rolled-back' | 'failed' | 'skipped',
        fields: { durationMs: number; error: string; startedAt: Date },
      ) => Promise<void>)
    | null;
  /** Called by `executePlan` for each step that applied (its transaction committed, or it ran outside one). */
  applied?(step: T, durationMs: number): void | Promise<void>;
  /** Called by `executePlan` when a group failed or was interrupted: the session may have been reset with it. */
  reset?(): void;
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
 * Run one group of steps (see `transactionGroups`) through `effect`, one statement at a time, in its transaction when
 * it has one: the executor's (`executePlan`) way of sending a group unless its batched mode takes it. On a failure it
 * keeps the one bookkeeping: in a transaction the steps before the failing one are `rolled-back` with it,
 * the failing one is `failed`, the rest of the group `skipped`; outside a transaction the steps before it stay
 * applied. A failure is returned, not thrown.
 */
export async function executeGroup<T>(
  conn: Connection,
  group: Group<T>,
  effect: StepEffect<T>,
  reporter: Reporter,
): Promise<GroupOutcome<T>> {
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
      if (shown && !group.transactional && effect.show.applied)
        reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'applied', durationMs });
    }
    current = null;
  };
  try {
    if (group.transactional) await conn.transaction(runAll);
    else await runAll(conn);
  } catch (e) {
    // The group's steps rolled back with its transaction; outside one, what ran before committed.
    if (await effect.interrupts?.(e))
      return { applied: group.transactional ? [] : done, failure: null, interrupted: e };
    // No statement in progress: the COMMIT itself failed (a deferred constraint, say); blame the group's last step.
    const running = current as { step: T; statement: string | null; t0: number } | null;
    const last = done[done.length - 1];
    const failed =
      running ??
      (last
        ? { step: last.step, statement: 'COMMIT', t0: Date.now() - last.durationMs }
        : { step: group.steps[0]!, statement: effect.idleStatement ?? null, t0: Date.now() });
    if (last?.step === failed.step) done.pop();
    const error = effect.error(e, failed.step, failed.statement);
    const durationMs = Date.now() - failed.t0;
    await recordFailure(effect, reporter, {
      rolledBack: group.transactional ? done : [],
      failed: { step: failed.step, durationMs, startedAt: new Date(failed.t0), error },
      skipped: group.steps.slice(group.steps.indexOf(failed.step) + 1),
    });
    return {
      applied: group.transactional ? [] : done,
      failure: {
        step: failed.step,
        statement: failed.statement,
        running: running !== null,
        error,
        startedAt: failed.t0,
        durationMs,
      },
    };
  }
  if (group.transactional && effect.show.applied) {
    for (const d of done) {
      const shown = effect.shown?.(d.step);
      if (shown)
        reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'applied', durationMs: d.durationMs });
    }
  }
  return { applied: done, failure: null };
}

/**
 * The one failure bookkeeping of a group (`executeGroup`, and the batched mode `sendInRequests`): the steps
 * that ran before the failing one in its transaction are `rolled-back` with it, the failing one is `failed`, the
 * steps after it in the group are `skipped`; each is shown, and recorded through `effect.record`.
 */
export async function recordFailure<T>(
  effect: Pick<StepEffect<T>, 'shown' | 'show' | 'record'>,
  reporter: Reporter,
  f: {
    rolledBack: readonly { step: T; durationMs: number }[];
    failed: { step: T; durationMs: number; startedAt: Date; error: DbeeError };
    skipped: readonly T[];
  },
): Promise<void> {
  const failed = effect.shown?.(f.failed.step);
  const which = failed ? `step ${failed.step.order} (${failed.step.key})` : 'a step';
  for (const d of f.rolledBack) {
    const shown = effect.shown?.(d.step);
    if (shown)
      reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'rolled-back', durationMs: d.durationMs });
    await effect.record?.(d.step, 'rolled-back', {
      durationMs: d.durationMs,
      error: `rolled back with the transaction: ${which} failed`,
      startedAt: new Date(),
    });
  }
  if (failed)
    reporter.stepDone?.(failed.index, failed.total, failed.step, {
      status: 'failed',
      durationMs: f.failed.durationMs,
      error: f.failed.error.message,
    });
  await effect.record?.(f.failed.step, 'failed', {
    durationMs: f.failed.durationMs,
    error: f.failed.error.message,
    startedAt: f.failed.startedAt,
  });
  for (const step of f.skipped) {
    const shown = effect.shown?.(step);
    if (shown && effect.show.skipped)
      reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'skipped', durationMs: 0 });
    await effect.record?.(step, 'skipped', {
      durationMs: 0,
      error: `not run: its transaction was rolled back when step ${failed?.step.order} failed`,
      startedAt: new Date(),
    });
  }
}

/**
 * How groups are sent in requests of many statements (the batched mode, on a server whose ledger rows can be written
 * as SQL text): `BEGIN` per transaction, per step its statements followed by its ledger rows, `COMMIT` per
 * transaction, up to `size` steps per request. Without it (or for a group it does not take) the executor sends one
 * statement at a time (`executeGroup`).
 */
export interface BatchMode<T> {
  /** Whether `group` is sent in requests. */
  eligible(group: Group<T>): boolean;
  /** Whether `next` may follow `first` in the same run of requests (one project's groups). */
  joins(first: Group<T>, next: Group<T>): boolean;
  /**
   * A step that starts a request of its own (read something first, or shown as it starts: it may take a while), when it
   * would follow `before`, the steps already in the request.
   */
  alone(step: T, before: readonly T[]): boolean;
  /** A step that ends its request. */
  ends(step: T): boolean;
  /** The statements that open a transaction (`BEGIN`, and what else the dialect sets for it). */
  begin: readonly string[];
  /**
   * A statement sent with a `COMMIT` that goes in a round trip of its own (a step alone in its request): the
   * deployment lock's guard (`LockHandle.guard`), so that what it proves holds until the COMMIT. When it fails, the
   * transaction rolls back as if its step had failed, or the run is interrupted (`StepEffect.interrupts`). The steps of
   * a request of many carry the guard in their own statements (`prepare`), at no extra statement.
   */
  beforeCommit?: string | null;
  /** Called when a transaction opens, before its first step is prepared. */
  opened?(): void;
  /** The statements that run `step` and record it applied, in order (called when the step joins a request). */
  prepare(step: T): Promise<string[]>;
  /** Steps per request at most. */
  size: number;
}

/** What a plan's steps go through besides running (`executePlan`); every hook is optional. */
export interface PlanHooks<T> {
  scope?: TransactionScope;
  transactionalDdl: boolean;
  /** A step recorded, never run (see `transactionGroups`): handed to `pass` instead. */
  passive?: (step: T) => boolean;
  pass?(step: T): Promise<void>;
  /**
   * Called before every group and between requests (the deployment lock): a throw that `effect.interrupts` stops the
   * run (`interrupted`), any other propagates.
   */
  beforeGroup?(): Promise<void>;
  /** A step that must not run (a step it depends on did not apply). */
  held?(step: T): boolean;
  /** Called with a group's steps that are about to run and those held, before they run. */
  admit?(run: readonly T[], held: readonly T[]): Promise<void>;
  /** Keep going after a failed group (default: stop). */
  continueOnError?: boolean;
  /** Stop before the next group (besides a failure). */
  stop?(): boolean;
  /** Called after groups ran, with the index of the next one (`groups` as built from the steps). */
  after?(next: number, groups: readonly Group<T>[]): Promise<void>;
  /** The steps of the groups never reached once the run stopped (a failure or `stop`; not an interruption). */
  leftOver?(steps: readonly T[]): Promise<void>;
  /** Send the groups it takes in requests of many steps. */
  batch?: BatchMode<T> | null;
  /**
   * Called once, as the plan's first steps go out: right after the request that carries them is sent, before its
   * answer is read (what this thread does then overlaps the server's work on them), or right before the first group
   * that runs statement by statement. Not called when no step goes out (the run stopped before its first group).
   */
  sent?(): void;
}

/** What a plan did: its applied steps, its failed groups (in order) and what interrupted it. */
export interface PlanOutcome<T> {
  applied: { step: T; durationMs: number }[];
  failures: NonNullable<GroupOutcome<T>['failure']>[];
  interrupted?: unknown;
}

/**
 * The one step executor: applies a plan of steps of any direction (deploy, rollback, disable and enable, the
 * automatic rollback of a failed deployment and of a partly applied step) through `effect`. Steps are grouped by the
 * one rule (`transactionGroups`); each group runs one statement at a time (`executeGroup`) or, where `hooks.batch`
 * takes it, in requests of many steps (`sendInRequests`). Both keep the same bookkeeping (`recordFailure`), and
 * report every applied step to `effect.applied`. Stops at the first failed group unless `continueOnError`.
 */
export async function executePlan<T extends { transactional: boolean; project: string; recreates?: string }>(
  conn: Connection,
  steps: readonly T[],
  effect: StepEffect<T>,
  given: PlanHooks<T>,
  reporter: Reporter,
): Promise<PlanOutcome<T>> {
  const hooks: PlanHooks<T> = { ...given, sent: once(given.sent) };
  const passive = hooks.passive ?? (() => false);
  const groups = transactionGroups(steps, hooks.scope ?? 'object', hooks.transactionalDdl, passive);
  const outcome: PlanOutcome<T> = { applied: [], failures: [] };
  const stopped = () => (outcome.failures.length > 0 && !hooks.continueOnError) || !!hooks.stop?.();
  let g = 0;
  while (g < groups.length && !stopped()) {
    const group = groups[g]!;
    if (passive(group.steps[0]!)) {
      await hooks.pass?.(group.steps[0]!);
      g++;
      continue;
    }
    try {
      await hooks.beforeGroup?.();
    } catch (e) {
      if (!(await effect.interrupts?.(e))) throw e;
      outcome.interrupted = e;
      break;
    }
    if (hooks.batch?.eligible(group)) {
      g = await sendInRequests(conn, groups, g, effect, hooks, reporter, outcome);
      if (outcome.interrupted) break;
      await hooks.after?.(g, groups);
      continue;
    }
    const held = hooks.held ? group.steps.filter((s) => hooks.held!(s)) : [];
    const run = held.length ? group.steps.filter((s) => !held.includes(s)) : group.steps;
    await hooks.admit?.(run, held);
    g++;
    if (!run.length) continue;
    hooks.sent?.();
    const o = await executeGroup(conn, { transactional: group.transactional, steps: run }, effect, reporter);
    for (const d of o.applied) {
      outcome.applied.push(d);
      await effect.applied?.(d.step, d.durationMs);
    }
    // The connection may have been reset with the transaction.
    if (o.failure || o.interrupted) effect.reset?.();
    if (o.interrupted) {
      outcome.interrupted = o.interrupted;
      break;
    }
    if (o.failure) outcome.failures.push(o.failure);
    await hooks.after?.(g, groups);
  }
  if (!outcome.interrupted && g < groups.length && hooks.leftOver)
    await hooks.leftOver(groups.slice(g).flatMap((x) => x.steps));
  return outcome;
}

/** `f` on its first call only (`PlanHooks.sent`); undefined without `f`. */
function once(f: (() => void) | undefined): (() => void) | undefined {
  if (!f) return undefined;
  let called = false;
  return () => {
    if (called) return;
    called = true;
    f();
  };
}

/**
 * The batched mode of `executePlan`: run consecutive groups that `batch` takes and `joins` from `groups[g0]`, in
 * requests of up to `batch.size` steps: `batch.begin` per transaction, each step's statements (`batch.prepare`),
 * `COMMIT` per transaction. Under scope `object` one request carries many one-step transactions; under
 * `project`/`plan` one transaction spans requests. A step that is `alone` starts a request and one that `ends` ends
 * it. A step alone in its request is shown when it starts, the others when their request returns. A failing
 * statement stops the request: the transactions before it committed, its own rolls back (its steps `rolled-back`,
 * the failing one `failed`, the rest of it `skipped`), and the transactions after it were never sent. Returns the
 * index of the first group not run.
 */
async function sendInRequests<T extends { transactional: boolean; project: string }>(
  conn: Connection,
  groups: readonly Group<T>[],
  g0: number,
  effect: StepEffect<T>,
  hooks: PlanHooks<T>,
  reporter: Reporter,
  outcome: PlanOutcome<T>,
): Promise<number> {
  const batch = hooks.batch!;
  type Sent = { step: T; durationMs: number };
  /** The transaction open across requests: its group, its runnable steps, and those sent. */
  let open: { g: number; runnable: T[]; next: number; sent: Sent[] } | null = null;
  let g = g0;
  let firstRequest = true;
  const takes = (x: number) =>
    x < groups.length && batch.eligible(groups[x]!) && (x === g0 || batch.joins(groups[g0]!, groups[x]!));
  for (;;) {
    if (!open && (!takes(g) || hooks.stop?.())) return g;
    if (!firstRequest && hooks.beforeGroup) {
      try {
        await hooks.beforeGroup();
      } catch (e) {
        if (open) await conn.execute('ROLLBACK').catch(() => {});
        if (!(await effect.interrupts?.(e))) throw e;
        // The open transaction rolled back: its steps are not recorded as run.
        outcome.interrupted = e;
        return open ? open.g + 1 : g;
      }
    }
    firstRequest = false;
    const statements: string[] = [];
    type Meta = { kind: 'begin' | 'guard' | 'commit'; g: number } | { kind: 'step'; g: number; p: Sent };
    const metas: Meta[] = [];
    const push = (sql: string, meta: Meta) => {
      statements.push(sql);
      metas.push(meta);
    };
    /** Transactions of this request, in order, with their steps (earlier requests' included). */
    const txs: { g: number; runnable: T[]; sent: Sent[]; now: Sent[] }[] = [];
    let count = 0;
    let full = false;
    /** The steps of this request so far, in order (those of every `txs` entry's `now`). */
    const inRequest: T[] = [];
    while (!full) {
      if (!open) {
        // A full request opens no transaction: it would be sent as a lone `BEGIN`.
        if (!takes(g) || count >= batch.size) break;
        const group = groups[g]!;
        const held = hooks.held ? group.steps.filter((s) => hooks.held!(s)) : [];
        // Held steps are recorded before the request: only for the first transaction of a request, which surely runs.
        if (held.length && count > 0) break;
        const runnable = group.steps.filter((s) => !held.includes(s));
        await hooks.admit?.(runnable, held);
        if (!runnable.length) {
          g++;
          continue;
        }
        if (count > 0 && batch.alone(runnable[0]!, inRequest)) break;
        open = { g, runnable, next: 0, sent: [] };
        g++;
        batch.opened?.();
        txs.push({ g: open.g, runnable, sent: open.sent, now: [] });
        for (const sql of batch.begin) push(sql, { kind: 'begin', g: open.g });
      } else if (!txs.some((t) => t.g === open!.g)) {
        txs.push({ g: open.g, runnable: open.runnable, sent: open.sent, now: [] });
      }
      const tx = txs[txs.length - 1]!;
      while (open.next < open.runnable.length) {
        const step = open.runnable[open.next]!;
        if (count >= batch.size || (count > 0 && batch.alone(step, inRequest))) {
          full = true;
          break;
        }
        const p: Sent = { step, durationMs: 0 };
        for (const sql of await batch.prepare(step)) push(sql, { kind: 'step', g: open.g, p });
        open.sent.push(p);
        tx.now.push(p);
        inRequest.push(step);
        open.next++;
        count++;
        if (batch.ends(step)) {
          full = true;
          break;
        }
      }
      if (open.next >= open.runnable.length) {
        push('COMMIT', { kind: 'commit', g: open.g });
        open = null;
      }
    }
    if (!statements.length) continue;
    // A step alone in its request (a migration, a captured one) is shown as it starts: it may take a while.
    const solo = count === 1 ? txs.flatMap((t) => t.now)[0] : undefined;
    const soloShown = solo && effect.shown?.(solo.step);
    if (soloShown) reporter.step(soloShown.index, soloShown.total, soloShown.step);
    const t0 = Date.now();
    // A step alone in its request commits in a round trip of its own: a process killed while the step runs (a long
    // migration) leaves its transaction open, and the server rolls it back when it finds the connection gone,
    // instead of committing work nobody is watching. The deployment lock (same session) is held until then.
    let commitAfter = solo && metas[metas.length - 1]!.kind === 'commit' ? 1 : 0;
    if (commitAfter && batch.beforeCommit) {
      // The guard goes with the COMMIT: what it proves holds until the COMMIT.
      statements.splice(statements.length - 1, 0, batch.beforeCommit);
      metas.splice(metas.length - 1, 0, { kind: 'guard', g: metas[metas.length - 1]!.g });
      commitAfter = 2;
    }
    const request = runStatements(conn, statements.slice(0, statements.length - commitAfter));
    // Written to the connection by now (`executeBatch` sends before it waits): the server runs it meanwhile.
    hooks.sent?.();
    let result = await request;
    if (commitAfter && !result.error) {
      const last = await runStatements(conn, statements.slice(-commitAfter));
      result = { completed: result.completed + last.completed, error: last.error };
    }
    const each = (Date.now() - t0) / Math.max(1, count);
    for (const m of metas.slice(0, result.completed))
      if (m.kind === 'step' && m.p.durationMs === 0) m.p.durationMs = Math.round(each);
    const failedAt = result.error ? metas[result.completed] : undefined;
    // Steps are shown as they are known to have started (the request ran them, or the failing one), each
    // transaction's outcome after its steps, as when they run one by one.
    const started = new Set(
      metas.slice(0, result.completed + (failedAt ? 1 : 0)).flatMap((m) => (m.kind === 'step' ? [m.p] : [])),
    );
    const commits = new Set(metas.slice(0, result.completed).flatMap((m) => (m.kind === 'commit' ? [m.g] : [])));
    for (const tx of txs) {
      for (const p of tx.now) {
        if (!started.has(p) || p === solo) continue;
        const shown = effect.shown?.(p.step);
        if (shown) reporter.step(shown.index, shown.total, shown.step);
      }
      if (commits.has(tx.g)) {
        for (const p of tx.sent) {
          outcome.applied.push(p);
          await effect.applied?.(p.step, p.durationMs);
          const shown = effect.shown?.(p.step);
          if (shown && effect.show.applied)
            reporter.stepDone?.(shown.index, shown.total, shown.step, { status: 'applied', durationMs: p.durationMs });
        }
        continue;
      }
      if (!failedAt || failedAt.g !== tx.g) continue;
      // This transaction failed: it rolls back with what it ran, in this request and the earlier ones.
      await conn.execute('ROLLBACK').catch(() => {});
      effect.reset?.();
      open = null;
      if (await effect.interrupts?.(result.error)) {
        // The lock's guard stopped it (the lock is lost): none of its steps ran, nothing more runs.
        outcome.interrupted = result.error;
        return tx.g + 1;
      }
      const culprit =
        failedAt.kind === 'step'
          ? failedAt.p
          : failedAt.kind === 'commit' || failedAt.kind === 'guard'
            ? tx.sent[tx.sent.length - 1]!
            : (tx.sent[0] ?? null);
      const failedStep = culprit?.step ?? tx.runnable[0]!;
      const statement = statements[result.completed]!;
      const error = effect.error(result.error, failedStep, statement);
      const durationMs = culprit?.durationMs || Math.round(each);
      outcome.failures.push({
        step: failedStep,
        statement,
        running: failedAt.kind === 'step',
        error,
        startedAt: t0,
        durationMs,
      });
      // The steps sent before the failing one rolled back with it.
      const upTo = tx.sent.findIndex((p) => p.step === failedStep);
      await recordFailure(effect, reporter, {
        rolledBack: upTo < 0 ? tx.sent : tx.sent.slice(0, upTo),
        failed: { step: failedStep, durationMs, startedAt: new Date(t0), error },
        skipped: tx.runnable.slice(tx.runnable.indexOf(failedStep) + 1),
      });
      // The transactions after it in this request were never sent: they run next (or not at all, when stopped).
      return tx.g + 1;
    }
    if (result.error) throw result.error;
  }
}
