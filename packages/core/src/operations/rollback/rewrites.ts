import type { ResolvedEnvironment } from '../../config/resolve';
import type { OperationContext } from '../../context/operation-context';
import type { Connection, Engine } from '../../engine/engine';
import type { Ledger } from '../../ledger/ledger';
import type { Plan } from '../../plan/plan';
import { rewrittenBy, tellRewritten, watchDependents } from '../../pipeline/rewritten-elsewhere';
import type { DeployReport } from '../../runner/deploy-report';

/**
 * A rollback's steps can make the database rewrite a dependent project's view in place as a deployment's can (a
 * column renamed back, a type put back): the same watch as a deployment's (pipeline/rewritten-elsewhere.ts), read on
 * the target before the compensating steps. The function returned reads the watched objects again once every step
 * applied; those that changed are said (`dbee rollback core`: "its rollback's steps rewrote sales's view:sales.v ...;
 * deploy sales after this rollback"), put in the report and recorded with the rollback's last deployment (`rewrote`,
 * and `carried`: the state of each such project that had not drifted before), so that the dependent's status and next
 * deployment take the change as dbee's work and make the object again from its sources, instead of refusing it as a
 * change made outside dbee. Null, without a request, when the rollback changes nothing in place that another
 * project's view stands on.
 */
export async function watchRollbackRewrites(
  ctx: OperationContext,
  input: {
    engine: Engine;
    environment: ResolvedEnvironment;
    conn: Connection;
    ledger: Ledger;
    project: string;
    plan: Plan;
  },
): Promise<((deploymentId: number, report: DeployReport) => Promise<void>) | null> {
  const { engine, environment, conn, ledger, project, plan } = input;
  // A rollback runs from a broken working tree too (a dependent's sources that do not load): the watch is then not
  // kept, and said, never the rollback's failure.
  const unwatched = (e: unknown) => {
    ctx.reporter.warn(
      `${project}: the views of dependent projects its rollback may rewrite in place were not looked at (${errorMessage(e)}); dbee status of those projects names any such change as drift`,
    );
    return null;
  };
  const watch = await ledger.objects
    .deployedState(project)
    .then((state) =>
      watchDependents(ctx, { engine, conn, environment, plan, deployed: new Map([[project, state]]), ledger }),
    )
    .catch(unwatched);
  if (!watch) return null;
  return async (deploymentId, report) => {
    const found = await rewrittenBy(engine, conn, watch, true).then(
      (all) => all.get(project),
      (e: unknown) => void unwatched(e),
    );
    if (!found) return;
    tellRewritten(ctx, report, project, found, false, 'rollback');
    await ledger.deployments.updateSummary(deploymentId, {
      rewrote: found.rewrote,
      ...(Object.keys(found.carried).length ? { carried: found.carried } : {}),
    });
  };
}

const errorMessage = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0] : String(e));
