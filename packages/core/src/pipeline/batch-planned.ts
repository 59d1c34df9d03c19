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
 * A value of the live catalog of `environment` read once for the tasks of this Nx batch (the catalog version, the live
 * fingerprints of the drift stage), read again once a task of the batch has applied steps there since
 * (`noteCatalogChanging`), then shared again by the tasks after: a value read before dbee changed the catalog never
 * vouches for the catalog after. Outside a batch, computed every time (never shared by a fleet's targets, which are
 * other databases).
 */
export function catalogShared<T>(ctx: OperationContext, environment: string, key: string, compute: () => T): T {
  if (!ctx.sessions) return compute();
  return batchShared(ctx, `${key}\0${environment}\0${catalogGeneration(ctx, environment).changes}`, compute);
}

/**
 * Records that a task of the batch is about to apply steps to `environment` (the pipeline's apply stage, not a dry
 * run): the values `catalogShared` read until then describe the catalog before them, and the tasks after read them
 * again. Whatever the steps' outcome: a failed step may have changed the catalog too. Nothing outside a batch.
 */
export function noteCatalogChanging(ctx: OperationContext, environment: string): void {
  if (ctx.sessions) catalogGeneration(ctx, environment).changes++;
}

/** Whether a task of this batch has applied steps to `environment` (`noteCatalogChanging`); false outside a batch. */
export function catalogChangedInBatch(ctx: OperationContext, environment: string): boolean {
  return !!ctx.sessions && catalogGeneration(ctx, environment).changes > 0;
}

/** How many tasks of the batch have applied steps to `environment` so far. */
function catalogGeneration(ctx: OperationContext, environment: string): { changes: number } {
  return batchShared(ctx, `catalog-changes\0${environment}`, () => ({ changes: 0 }));
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
