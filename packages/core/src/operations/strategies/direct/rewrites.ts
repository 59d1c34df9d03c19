import type { Connection } from '../../../engine/engine';
import type { OperationContext } from '../../../context/operation-context';
import { openLedger } from '../../../ledger/open-ledger';
import type { DeployReport } from '../../../runner/deploy-report';
import type { RunOptions } from '../../../runner/runner';
import {
  rewrittenBy,
  tellRewritten,
  watchDependents,
  type DependentsWatch,
} from '../../../pipeline/rewritten-elsewhere';
import type { DeployInputs, DeployRun } from './deploy-run';

/**
 * The objects of other projects the plan's steps may change in place, read on the target before anything runs
 * (`watchDependents`): null when there are none to look at (no request when the plan changes nothing in place or no
 * project depends on a planned one).
 */
export function watchRewrites(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  run: DeployRun,
): Promise<DependentsWatch | null> {
  const { engine, environment } = input;
  const ledger = run.ledger ?? openLedger(conn, engine.ledger);
  const deployed = (project: string) => run.deployed.get(project)?.objects.keys() ?? [];
  return watchDependents(ctx, { engine, conn, environment, plan: run.plan, deployed, ledger });
}

/**
 * The real run's `RunOptions.afterSteps`: once a project's steps applied, the watched objects its steps reach, read
 * again on the target; those that changed are said and recorded with its deployment (`rewrote`), with the states it
 * carries forward (`carried`).
 */
export function recordRewrites(
  ctx: OperationContext,
  input: DeployInputs,
  conn: Connection,
  watch: DependentsWatch,
  report: DeployReport,
): NonNullable<RunOptions['afterSteps']> {
  return async (project) => {
    const candidates = watch.candidates.filter((c) => c.by === project);
    if (!candidates.length) return null;
    const found = (await rewrittenBy(input.engine, conn, { ...watch, candidates }, true)).get(project);
    if (!found) return null;
    tellRewritten(ctx, report, project, found, false);
    return { rewrote: found.rewrote, ...(Object.keys(found.carried).length ? { carried: found.carried } : {}) };
  };
}
