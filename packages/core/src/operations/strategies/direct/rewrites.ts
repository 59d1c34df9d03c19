import type { Connection } from '../../../engine/engine';
import type { OperationContext } from '../../../context/operation-context';
import { openLedger } from '../../../ledger/open-ledger';
import type { DeployReport } from '../../../runner/deploy-report';
import type { RunOptions } from '../../../runner/runner';
import type { VerifyProbe } from '../../../check/verify-result';
import {
  rewrittenBy,
  tellRewritten,
  viewsOf,
  watchDependents,
  type DependentsWatch,
  type RewrittenBy,
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
  return watchDependents(ctx, { engine, conn, environment, plan: run.plan, deployed: run.deployed, ledger });
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

/**
 * The dry run's look at the watched objects on its scratch copy: read there before the plan's steps and after them
 * (a probe of `verifyPlan`); `tell` then says what changed, as the real run would record it.
 */
export function rewritesOnCopy(
  ctx: OperationContext,
  input: DeployInputs,
  watch: DependentsWatch,
): { probe: VerifyProbe; tell: (report: DeployReport) => void } {
  let found = new Map<string, RewrittenBy>();
  return {
    probe: {
      async before(copy) {
        watch.before = await viewsOf(input.engine, copy, watch.scope);
      },
      async after(copy) {
        found = await rewrittenBy(input.engine, copy, watch, false);
      },
    },
    tell: (report) => {
      for (const [by, f] of found) tellRewritten(ctx, report, by, f, true);
    },
  };
}
