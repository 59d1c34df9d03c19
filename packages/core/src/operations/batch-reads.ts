import type { Connection, Engine } from '../engine/engine';
import type { DeploymentRow, Ledger } from '../ledger/ledger';
import { batchShared } from '../context/load';
import type { OperationContext } from '../context/operation-context';
import type { InFlightReader } from '../diffing/in-flight-work';
import { plannedInBatch } from '../pipeline/batch-planned';

export { notePlannedInBatch } from '../pipeline/batch-planned';

/**
 * What a deployment reads from the ledger before it plans, read once for a whole Nx batch (every project of the
 * environment in one query) instead of once per task: a no-op deployment of a batch then sends no request of its own.
 * The batch holds the environment's deployment lock from its first task to its last, so only the batch itself writes
 * the ledger meanwhile, and only for the projects its tasks plan: a project that an earlier task of the batch planned
 * (deployed, or started a strategy's work in flight for) is read again, live. Outside a batch, each read is live.
 */

/**
 * Refuses a deployment of `projects` with `strategy` while one of them has another strategy's work in flight (read by
 * `inFlight`, the one reader of every strategy's). In a batch: one query when the batch starts says whether any project
 * of the workspace has such work; when none has, only projects planned by an earlier task of the batch are read again.
 */
export async function refuseInFlight(
  ctx: OperationContext,
  inFlight: InFlightReader,
  conn: Connection,
  engine: Engine,
  projects: readonly string[],
  environment: string,
  strategy = 'direct',
): Promise<void> {
  const refuse = async (live: readonly string[]) => {
    const work = await inFlight(conn, engine, live);
    if (work) throw work.refusal(`${work.project} cannot be deployed with the ${strategy} strategy`, environment);
  };
  if (!ctx.sessions) return refuse(projects);
  const atStart = await batchShared(ctx, `in-flight\0${environment}`, () =>
    inFlight(conn, engine, [...ctx.workspace.projects.keys()]),
  );
  const planned = plannedInBatch(ctx, environment);
  const live = atStart ? projects : projects.filter((p) => planned.has(p));
  if (live.length) await refuse(live);
}

/** The newest deployment of `project` on `environment` in the ledger, if any (in a batch, see the top of this file). */
export async function lastDeployment(
  ctx: OperationContext,
  ledger: Pick<Ledger, 'deployments'>,
  project: string,
  environment: string,
): Promise<DeploymentRow | undefined> {
  if (!ctx.sessions || plannedInBatch(ctx, environment).has(project))
    return (await ledger.deployments.list(project, environment, 1))[0];
  const all = await batchShared(ctx, `last-deployments\0${environment}`, () =>
    ledger.deployments.lastDeployments(environment),
  );
  return all.get(project);
}
