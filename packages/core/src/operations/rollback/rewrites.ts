import type { ResolvedEnvironment } from '../../config/resolve';
import type { OperationContext } from '../../context/operation-context';
import type { Connection, Engine } from '../../engine/engine';
import type { Ledger } from '../../ledger/ledger';
import type { Plan } from '../../plan/plan';
import type { VerifyProbe } from '../../check/verify-result';
import {
  rewrittenBy,
  rewritesOnCopy,
  tellRewritten,
  watchDependents,
  type DependentsWatch,
} from '../../pipeline/rewritten-elsewhere';
import type { DeployReport } from '../../runner/deploy-report';

/**
 * A rollback's steps can make the database rewrite a dependent project's view in place as a deployment's can (a
 * column renamed back, a type put back): the same watch as a deployment's (pipeline/rewritten-elsewhere.ts), read on
 * the target before the compensating steps. The function returned reads the watched objects again once every step
 * applied; those that changed are said (`dbee rollback core`: "its rollback's steps rewrote sales's view:sales.v ...;
 * deploy sales after this rollback"), put in the report and recorded with the rollback's last deployment (`rewrote`,
 * and `carried`: the state of each such project that had not drifted before), so that the dependent's status and next
 * deployment take the change as dbee's work and make the object again from its sources, instead of refusing it as a
 * change made outside dbee. Null, without a request, when no project of the workspace depends on the one undone;
 * else after the ledger's object keys and the engine's lookup, when nothing of theirs stands on what it changes.
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
  const { engine, conn, ledger, project } = input;
  const watch = await watchUndos(ctx, input, [input], (p) => ledger.objects.objectKeys(p));
  if (!watch) return null;
  return async (deploymentId, report) => {
    const found = await rewrittenBy(engine, conn, watch, true).then(
      (all) => all.get(project),
      (e: unknown) => void unwatched(ctx, project, e),
    );
    if (!found) return;
    tellRewritten(ctx, report, project, found, false, 'rollback');
    await ledger.deployments.updateSummary(deploymentId, {
      rewrote: found.rewrote,
      ...(Object.keys(found.carried).length ? { carried: found.carried } : {}),
    });
  };
}

/**
 * The same watch for a rollback's dry run, over every project it undoes (their steps in the real run's order): the
 * watched views' schemas go on the scratch copy too (`widen`), they are read there before the steps and after them
 * (`probe`), and `tell` says and reports what changed as the real run would record it. Null when there is nothing to
 * watch, or the look cannot be made (said).
 */
export async function watchRollbackOnCopy(
  ctx: OperationContext,
  target: { engine: Engine; environment: ResolvedEnvironment; conn: Connection },
  undos: readonly { project: string; ledger: Ledger; plan: Plan; deployed: readonly string[] }[],
): Promise<{ probe: VerifyProbe; widen: string[]; tell: (report: DeployReport) => void } | null> {
  const watch = await watchUndos(ctx, target, undos, (p) => undos.find((u) => u.project === p)?.deployed ?? []);
  if (!watch) return null;
  return { ...rewritesOnCopy(ctx, target.engine, watch, 'rollback'), widen: watch.scope.schemas };
}

/**
 * `watchDependents` of the undos' steps, in the order they run (`deployed`: the object keys each project's ledger
 * records). A rollback runs from a broken working tree too (a dependent's sources that do not load): the look is then
 * not made, and said, never the rollback's failure.
 */
async function watchUndos(
  ctx: OperationContext,
  target: { engine: Engine; environment: ResolvedEnvironment; conn: Connection },
  undos: readonly { project: string; ledger: Ledger; plan: Plan }[],
  deployed: (project: string) => Iterable<string> | Promise<Iterable<string>>,
): Promise<DependentsWatch | null> {
  const { engine, environment, conn } = target;
  const first = undos[0];
  if (!first) return null;
  try {
    const steps = undos.flatMap((u) => u.plan.steps).map((s, i) => ({ ...s, order: i + 1 }));
    const plan = { ...first.plan, steps };
    return await watchDependents(ctx, { engine, conn, environment, plan, deployed, ledger: first.ledger });
  } catch (e) {
    return unwatched(ctx, first.project, e);
  }
}

function unwatched(ctx: OperationContext, project: string, e: unknown): null {
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  ctx.reporter.warn(
    `${project}: the views of dependent projects its rollback may rewrite in place were not looked at (${message}); dbee status of those projects names any such change as drift`,
  );
  return null;
}
