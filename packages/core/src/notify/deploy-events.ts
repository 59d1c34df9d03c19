import type { NotifyEvent } from '../config/schema';
import type { Ledger } from '../ledger/ledger';
import type { OperationContext } from '../context/operation-context';
import type { DeployReport } from '../runner/deploy-report';
import type { Plan } from '../plan/plan';
import type { RunResult } from '../runner/runner';
import { ExitCode } from '../errors';
import { fromDeployReport } from './notification';
import { notify, type NotifyFailure } from './notifier';

/** `deploy-started`, once the gates have passed and just before the first step; the steps as planned. */
export async function notifyDeployStarted(
  ctx: OperationContext,
  report: DeployReport,
  plan: Plan,
): Promise<NotifyFailure[]> {
  if (!ctx.workspace.config.notify?.length) return [];
  const n = fromDeployReport('deploy-started', report, 'started', null);
  n.steps = plan.steps.map((s) => ({
    order: s.order,
    project: s.project,
    object: s.key,
    action: s.action,
    status: 'planned',
  }));
  return notify(ctx, n);
}

/** The events a finished run sends, and the `result` they say. */
export interface FinishedEvents {
  events: NotifyEvent[];
  result: string;
}

/**
 * A finished deployment's events: `deploy-succeeded`; or `deploy-failed`, with `smoke-failed` when smoke checks failed
 * and `rolled-back` when it was undone automatically. The `result` is the report's status.
 */
export function deployEvents(report: DeployReport, result: RunResult): FinishedEvents {
  const events: NotifyEvent[] =
    report.status === 'succeeded'
      ? ['deploy-succeeded']
      : [
          'deploy-failed',
          ...(result.exitCode === ExitCode.smokeFailed ? (['smoke-failed'] as const) : []),
          ...(report.status === 'rolled-back' ? (['rolled-back'] as const) : []),
        ];
  return { events, result: report.status };
}

/**
 * The events of a finished run, sent at once (`outcome`: a deployment's, `deployEvents`, unless the command has its
 * own, as `rollback`). Notifications that did not arrive (with those of `started`) are noted in the summary of each
 * deployment the run opened (`notifications`).
 */
export async function notifyDeployFinished(
  ctx: OperationContext,
  report: DeployReport,
  result: RunResult,
  ledger: Pick<Ledger, 'deployments'>,
  earlier: NotifyFailure[],
  outcome: FinishedEvents = deployEvents(report, result),
): Promise<void> {
  if (!ctx.workspace.config.notify?.length) return;
  const failed = result.projects.find((p) => p.error);
  const sent = await Promise.all(
    outcome.events.map((e) => {
      const n = fromDeployReport(e, report, outcome.result, result.exitCode);
      if (failed?.error) n.error = { code: failed.error.code, message: failed.error.message };
      return notify(ctx, n);
    }),
  );
  const failures = [...earlier, ...sent.flat()];
  if (!failures.length) return;
  // One request where the ledger merges summaries without reading them.
  const patches = result.projects.flatMap((p) =>
    p.deploymentId === null ? [] : [{ id: p.deploymentId, patch: { notifications: failures } }],
  );
  await ledger.deployments.updateSummaries(patches).catch(() => {});
}
