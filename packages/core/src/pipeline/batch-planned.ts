import type { DeploymentRow, Ledger } from '../ledger/ledger';
import { batchShared } from '../context/load';
import type { OperationContext } from '../context/operation-context';

/**
 * The projects planned by the tasks of this Nx batch so far, on `environment` (empty outside a batch): a read shared by
 * the batch (operations/batch-reads.ts) reads them again, live, since the batch itself wrote their ledger rows.
 */
export function plannedInBatch(ctx: OperationContext, environment: string): Set<string> {
  return batchShared(ctx, `planned-in-batch\0${environment}`, () => new Set<string>());
}

/**
 * Records that a task of the batch planned `projects` (a superset is fine: a project recorded is only read live),
 * once the task is over. Nothing outside a batch.
 */
export function notePlannedInBatch(ctx: OperationContext, environment: string, projects: readonly string[]): void {
  if (!ctx.sessions) return;
  const planned = plannedInBatch(ctx, environment);
  for (const p of projects) planned.add(p);
}

/**
 * The newest deployment of `project` recorded in the target's own ledger, whatever environment name it was made under
 * (the drift stage: a restored or renamed database is judged by what it holds). In a batch, the newest of every
 * project read once for the batch (operations/batch-reads.ts), a project planned by an earlier task read again.
 */
export async function lastRecordedDeployment(
  ctx: OperationContext,
  ledger: Pick<Ledger, 'deployments'>,
  project: string,
  environment: string,
): Promise<DeploymentRow | undefined> {
  if (!ctx.sessions || plannedInBatch(ctx, environment).has(project)) return ledger.deployments.lastRecorded(project);
  const all = await batchShared(ctx, `last-recorded\0${environment}`, () => ledger.deployments.lastDeployments());
  return all.get(project);
}
