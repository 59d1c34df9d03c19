import type { OperationContext } from '../../../context/operation-context';
import type { InFlightReader } from '../../../diffing/in-flight-work';
import { DbeeError } from '../../../errors';
import type { DeployOptions } from '../../../options';
import type { PipelineCommand, PipelineInputs, PipelinePlan } from '../../../pipeline/pipeline';
import { checkStepPolicies } from '../../../pipeline/gates';
import type { StepConflict } from '../../../runner/step-conflict';
import { withSession } from '../../../runner/session';
import { formatState } from '../../../blue-green/record';
import { migrationsOnGreen, refuseUncarried } from '../../../blue-green/refusals';
import {
  blueGreenState,
  blueGreenTarget,
  uncarriedRelease,
  type BlueGreenOptions,
  type BlueGreenTarget,
} from './sides';
import { databaseExists, makeGreen, recordOn } from './green';
import { directDeploy } from '../direct/direct';
import type { PhaseCommand } from '../strategy';
import { refuseSideDrift } from './drift';
import { blueGates, blueGreenConfig, phaseOptions } from './settings';

/**
 * The strategy's `deploy` phase (`dbee deploy <project> --env <blue> --strategy blue-green`), two parts:
 * 1. green made and kept in sync, unless it is already (`makeGreen`, green.ts: the refusals on blue's
 *    server and what replication cannot carry, green's database made, each project cloned from blue through the
 *    pipeline, blue's publication and green's subscription, its initial copy waited for): blue's gates first (its
 *    change ticket, maintenance windows and protection: `blueGates`);
 * 2. the release deployed to green as the direct strategy deploys it, through the pipeline, on green's environment
 *    (its gates, drift, plan, ledger rows in green's ledger, smoke checks against green, notifications, report), while
 *    blue serves; its outcome recorded in blue's `blue_green` record.
 * Run again once green is in sync (after a failed release, or after a fallback), it deploys the release to green
 * again without making green anew. A dry run makes every refusal and prints what part 1 would do; the release's plan is
 * then green's, or blue's while green does not exist yet (green is made as blue's copy: the same plan).
 */
export const blueGreenDeploy: PhaseCommand<DeployOptions> = (ctx, options, run) => {
  let inner: PipelineCommand<PipelineInputs, PipelinePlan> | undefined;
  let target: { t: BlueGreenTarget; bg: BlueGreenOptions } | undefined;
  const direct = () => inner!;
  /** The release's row in blue's `blue_green` record (never in a dry run). */
  const release = async (status: 'started' | 'done' | 'failed', detail: Record<string, unknown>) => {
    if (options.dryRun || !target) return;
    const { t, bg } = target;
    await recordOn(ctx, t, bg, {
      step: 'release',
      status,
      live: 'blue',
      detail: { environment: t.green.name, ...detail },
    });
  };
  const refused = (why: string[]) => release('failed', { refused: why });
  /** The environment the release is planned on: green's, or blue's in a dry run while green does not exist. */
  let releaseEnv: string | undefined;
  const command: PipelineCommand<PipelineInputs, PipelinePlan> = {
    command: 'deploy',
    options,
    inputs: async (report) => {
      const blue = ctx.workspace.environment(options.env, ctx.env);
      const config = blueGreenConfig(ctx, blue);
      const bg = phaseOptions(options, blue, config);
      blueGates(ctx, blue, options, 'deploy');
      const t = await blueGreenTarget(ctx, bg);
      target = { t, bg };
      const env = await greenInSync(ctx, t, { ...bg, copyTimeoutMs: config.copyTimeoutMs, inFlight: run.inFlight });
      releaseEnv = env;
      inner = directDeploy(ctx, { ...options, env, strategy: 'direct' }, run);
      // Written before anything of the release is judged: a refusal of green's gates, or a process ended, leaves it
      // `started`, which no switch goes past (the plan's refusals and the outcome write `failed` or `done`).
      if (env === t.green.name) await release('started', { stage: 'plan' });
      return inner.inputs(report);
    },
    drift: (input, conn) => direct().drift(input, conn),
    // A release refused on green (a hazard its environment does not allow, a policy, a lock timeout while planning) is
    // recorded as failed: no switch goes to a green without it (a deploy phase without a release done is not done).
    plan: async (input, session, report, drift) => {
      let planned: PipelinePlan;
      try {
        planned = await direct().plan(input, session, report, drift);
      } catch (e) {
        await refused([(e as Error).message]);
        throw e;
      }
      if (options.dryRun && releaseEnv === target?.t.blue.name) judgeByGreen(ctx, options, target!.t.green, planned);
      const migrations = migrationsOnGreen(planned.plan.steps);
      if (migrations) ctx.reporter.warn(migrations);
      const problems = [...planned.problems, ...(await drift.refusals())];
      if (problems.length) await refused(problems.map((p) => p.message));
      return planned;
    },
    verify: (input, session, planned, report) => direct().verify(input, session, planned, report),
    settle: async (input, session, planned, report) => {
      const settled = await direct().settle(input, session, planned, report);
      const code = typeof settled === 'number' ? settled : settled.result.exitCode;
      // Nothing to apply: green has the release already (a deploy phase run again after it was done).
      if (!options.dryRun) await release(code === 0 ? 'done' : 'failed', { exitCode: code, unchanged: true });
      return settled;
    },
    apply: async (input, session, planned, report) => {
      // Written first: a release whose process dies leaves it `started`, which no switch goes past.
      await release('started', {});
      const applied = await direct().apply(input, session, planned, report);
      const p = applied.result.projects.find((x) => x.project === target!.t.project.name);
      await release(applied.result.exitCode === 0 ? 'done' : 'failed', {
        deployment: p?.deploymentId ?? null,
        exitCode: applied.result.exitCode,
      });
      return applied;
    },
    failure: (applied, report) => direct().failure(applied, report),
  };
  return command;
};

/**
 * A dry run planned on blue (green not made yet) judges the release's steps as the real run will, by green's
 * environment: its hazards allowed and its backup gate, not blue's.
 */
function judgeByGreen(
  ctx: OperationContext,
  options: DeployOptions,
  green: BlueGreenTarget['green'],
  planned: PipelinePlan,
): void {
  const policies = new Set(['GATE_HAZARD_REFUSED', 'GATE_BACKUP_REQUIRED']);
  const conflicts = (planned as PipelinePlan & { conflicts?: ReadonlyMap<number, StepConflict> }).conflicts;
  const judged = checkStepPolicies(green, planned.plan, {
    conflicts: conflicts ?? new Map(),
    settings: (project) => ctx.workspace.settings(ctx.workspace.project(project), green).deploy,
    allowHazards: options.allowHazards ?? [],
  });
  planned.problems.splice(
    0,
    planned.problems.length,
    ...planned.problems.filter((p) => !policies.has(p.code)),
    ...judged,
  );
}

/**
 * Green made and in sync (or, in a dry run, the refusals made and what would be done printed); returns the
 * environment the release is deployed to: green's, or blue's in a dry run while green does not exist.
 */
async function greenInSync(
  ctx: OperationContext,
  t: BlueGreenTarget,
  bg: BlueGreenOptions & { copyTimeoutMs: number; inFlight: InFlightReader },
): Promise<string> {
  const state = await withSession(
    { engine: t.engine, environment: t.blue, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
    async ({ conn }) => {
      // Green is made as blue's copy: a hand edit on blue would be cloned into green's ledger as dbee's own.
      await refuseSideDrift(ctx, t, t.blue, conn, 'deploy');
      return blueGreenState(t.engine, conn, t.project.name);
    },
  );
  const where = ` ${t.project.name} --env ${t.blue.name}`;
  if (state?.inFlight && state.status === 'running' && state.phase !== 'deploy')
    throw new DbeeError(`the ${state.phase} of ${t.project.name} did not finish: ${formatState(state)}`, {
      code: 'BLUE_GREEN_STATE',
      hint: `run dbee ${state.phase}${where} again to settle it first; nothing was changed`,
    });
  if (state?.inFlight && state.live === 'green')
    throw new DbeeError(`green (${t.green.name}) serves ${t.project.name}: a release goes to a green made from it`, {
      code: 'BLUE_GREEN_STATE',
      hint: `run dbee finish${where} (blue is dropped, green becomes the environment to deploy), or dbee fallback${where} to deploy to green again; nothing was changed`,
    });
  const inSync = state?.inFlight && state.status === 'done' && state.phase !== 'finish';
  if (inSync) {
    refuseUncarried(await uncarriedRelease(ctx, t), t.project.name, 'the release cannot be deployed to green');
    ctx.reporter.info(`green (${t.green.name}) is in sync with blue (${t.blue.name}): deploying the release to it`);
    return t.green.name;
  }
  await makeGreen(ctx, bg);
  if (bg.dryRun && !(await databaseExists(ctx, t))) {
    ctx.reporter.info(
      `then the release is deployed to green (${t.green.name}); its plan, made against blue (green is blue's copy):`,
    );
    return t.blue.name;
  }
  return t.green.name;
}
