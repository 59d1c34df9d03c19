import type { NotifyEvent } from '../config/schema';
import { ExitCode } from '../errors';
import type { Ledger } from '../ledger/ledger';
import type { OperationContext } from '../context/operation-context';
import type { PlanStep } from '../plan/plan';
import type { CompensationResult } from '../runner/undo';
import type { Notification } from './notification';
import { notify, type NotifyFailure } from './notifier';

/** What `dbee rollback` knows when it ends. */
export interface RollbackOutcome {
  project: string;
  environment: string;
  database: string;
  package: string | null;
  commit: string | null;
  ticket: string | null;
  who: Notification['who'];
  steps: PlanStep[];
  results: CompensationResult[];
  smoke: string;
  exitCode: number;
}

/** What `dbee rollback` knows once its gates passed, before its first step. */
export type RollbackStart = Omit<RollbackOutcome, 'results' | 'smoke' | 'exitCode'>;

/**
 * `deploy-started` of a `dbee rollback`, as a deployment sends it (the pipeline's `notify` stage): once the gates have
 * passed, just before the first step, with the steps as planned. Returns the notifications that did not arrive, noted
 * with the outcome's (`notifyRollback`).
 */
export async function notifyRollbackStarted(ctx: OperationContext, o: RollbackStart): Promise<NotifyFailure[]> {
  if (!ctx.workspace.config.notify?.length) return [];
  return notify(ctx, {
    event: 'deploy-started',
    projects: [o.project],
    environment: o.environment,
    database: o.database,
    package: o.package,
    planChecksum: null,
    commit: o.commit,
    ticket: o.ticket,
    who: o.who,
    result: 'started',
    exitCode: null,
    steps: o.steps.map((s, i) => ({
      order: i + 1,
      project: o.project,
      object: s.key,
      action: s.action,
      status: 'planned',
    })),
    smoke: 'not run',
    deployments: [],
    error: null,
    at: new Date().toISOString(),
  });
}

/**
 * A finished `dbee rollback`: `rolled-back` (with `smoke-failed` when its smoke checks failed after it), or
 * `deploy-failed` when a step of it failed. Notifications that did not arrive are noted in its deployments' summaries.
 */
export async function notifyRollback(
  ctx: OperationContext,
  ledger: Ledger,
  o: RollbackOutcome,
  earlier: readonly NotifyFailure[] = [],
): Promise<void> {
  if (!ctx.workspace.config.notify?.length) return;
  const failed = o.results.find((r) => r.status === 'failed');
  const events: NotifyEvent[] = failed
    ? ['deploy-failed']
    : ['rolled-back', ...(o.exitCode === ExitCode.smokeFailed ? (['smoke-failed'] as const) : [])];
  const base: Omit<Notification, 'event'> = {
    projects: [o.project],
    environment: o.environment,
    database: o.database,
    package: o.package,
    planChecksum: null,
    commit: o.commit,
    ticket: o.ticket,
    who: o.who,
    result: failed ? 'failed' : 'rolled-back',
    exitCode: o.exitCode,
    // The rollback's steps; which ran is in the ledger (`dbee log`).
    steps: o.steps.map((s, i) => ({
      order: i + 1,
      project: o.project,
      object: s.key,
      action: s.action,
      status: failed ? 'see ledger' : 'applied',
    })),
    smoke: o.smoke,
    deployments: o.results.map((r) => r.deploymentId),
    error: failed?.error ? { code: failed.error.code, message: failed.error.message } : null,
    at: new Date().toISOString(),
  };
  const failures = [...earlier, ...(await Promise.all(events.map((event) => notify(ctx, { event, ...base })))).flat()];
  if (!failures.length) return;
  // One request where the ledger merges summaries without reading them.
  await ledger
    .updateSummaries(o.results.map((r) => ({ id: r.deploymentId, patch: { notifications: failures } })))
    .catch(() => {});
}
