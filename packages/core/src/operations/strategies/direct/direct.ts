import type { DeployOptions } from '../../../options';
import { projectScope } from '../../../schema/managed-scope';
import type { RunResult } from '../../../runner/runner';
import { sideSession } from '../../../runner/session';
import type { PipelineCommand } from '../../../pipeline/pipeline';
import { planPolicyProblems } from '../../policy-judgment';
import type { PhaseCommand } from '../strategy';
import { apply, applyInput, failureOf } from './apply';
import type { DeployInputs, DeployRun } from './deploy-run';
import { deployInputs } from './inputs';
import { planUnderLock, settleUnchanged } from './plan';
import { dryRun } from './verify';
import { recordRewrites, watchRewrites } from './rewrites';

export type { DeployOptions };

/** The policies' exceptions the change was judged with, in each project's deployment row (docs/policies.md). */
async function recordPolicyExceptions(run: DeployRun, result: RunResult): Promise<void> {
  for (const p of result.projects) {
    const own = run.policyExceptions?.get(p.project);
    if (own?.length && p.deploymentId !== null)
      await run.ledger?.deployments.updateSummary(p.deploymentId, { policyExceptions: own });
  }
}

/**
 * The direct strategy's `deploy` phase, one deployment as the pipeline's command, top-down: the inputs (before the
 * lock), then under the lock: recover what a dead process left, refuse over another strategy's work in flight, plan,
 * decide conflicts, collect the problems and the smoke checks; then the dry run (verify on a scratch copy) or the run;
 * a package already at its state settles its smoke checks and promotion record.
 */
export const directDeploy: PhaseCommand<DeployOptions> = (ctx, options, { inFlight, hooks }) => {
  const command: PipelineCommand<DeployInputs, DeployRun> = {
    command: 'deploy',
    options: { ...options, ticket: hooks.skipGates ? undefined : options.ticket },
    skipGates: hooks.skipGates,
    inputs: async (report) => {
      const input = await deployInputs(ctx, options, report, inFlight);
      if (input && hooks.reader) input.session.reader = true;
      return input;
    },
    drift: (input) => ({
      decides: true,
      subjects: input.models
        .filter((m) => input.planned.includes(m.project.name))
        .map((m) => ({ project: m.project.name, scope: projectScope(m.graph) })),
    }),
    plan: async (input, session, report, drift) => {
      const run = await planUnderLock(ctx, input, session, report, drift);
      // The schema review policies (docs/policies.md) refuse before anything runs, in the dry run and the run alike;
      // `check` asks for the plan only (it judges them itself with --policies). A package was judged when planned:
      // the exceptions it was judged with are in its plan.
      if (!hooks.skipGates && !input.pkg) {
        const judged = await planPolicyProblems(ctx, input, run.plan);
        run.problems.push(...judged.problems);
        run.policyExceptions = judged.exceptions;
      } else if (input.pkg?.plan.policyExceptions)
        run.policyExceptions = new Map(Object.entries(input.pkg.plan.policyExceptions));
      return run;
    },
    verify: (input, session, run, report) => dryRun(ctx, input, session.conn, run, report, hooks),
    settle: (input, session, run, report) => settleUnchanged(ctx, input, session, run, report),
    apply: async (input, session, run, report) => {
      // Other projects' objects the steps may rewrite in place, read before them; compared once each project's applied.
      const watch = await watchRewrites(ctx, input, session.conn, run);
      const result = await apply(ctx, {
        ...applyInput(ctx, input, session, run, report, sideSession(ctx, session)),
        ...(watch ? { afterSteps: recordRewrites(ctx, input, session.conn, watch, report) } : {}),
      });
      await recordPolicyExceptions(run, result);
      return { result, smoke: run.smoke?.outcomes ?? new Map<string, string>() };
    },
    failure: ({ result }, report) => failureOf(result, report),
  };
  return command;
};

/** Stage `plan` of a deployment: recover, plan, decide conflicts, collect the problems and the smoke checks. */

/** Moved to package/package-deploy.ts (with the checks a package passes first); kept here for importers. */
export { pendingSteps } from '../../../package/package-deploy';
