import type { DeploymentRow } from '../ledger/ledger';
import type { OperationContext } from '../context/operation-context';
import { lockOwner } from '../runner/session';
import { ciJob } from '../context/origin';
import { notify } from './notifier';

/**
 * `drift-found`, when `dbee status` finds a project's schemas changed outside dbee since its last deployment. `who`
 * is who ran `status`; the package, commit and ticket are the last deployment's, and `deployments` its id.
 */
export async function notifyDrift(
  ctx: OperationContext,
  input: { project: string; environment: string; database: string; last: DeploymentRow },
): Promise<void> {
  if (!ctx.workspace.config.notify?.length) return;
  const owner = lockOwner();
  await notify(ctx, {
    event: 'drift-found',
    projects: [input.project],
    environment: input.environment,
    database: input.database,
    package: input.last.package,
    planChecksum: input.last.plan_checksum,
    commit: input.last.git_commit,
    ticket: input.last.ticket ?? null,
    who: { osUser: owner.user, host: owner.host, ciJob: ciJob(ctx.env) },
    result: 'drift',
    exitCode: null,
    steps: [],
    smoke: 'not run',
    deployments: [input.last.id],
    error: null,
    at: new Date().toISOString(),
  });
}
