import { sourceCommit } from '../../../context/load';
import type { OperationContext } from '../../../context/operation-context';
import type { BlueGreenSide, Router } from '../../../engine/blue-green-role';
import { ExitCode } from '../../../errors';
import {
  projectFailure,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
} from '../../../pipeline/pipeline';
import { withSession, type DeploymentSession } from '../../../runner/session';
import { otherSide } from '../../../blue-green/names';
import { switchPhase } from '../../../blue-green/switchover';
import { projectScope } from '../../../schema/managed-scope';
import { blueGreenState, blueGreenTarget, refuseState, type BlueGreenOptions, type BlueGreenTarget } from './sides';
import { blueGreenSwitch, switchRefusal } from './side-phases';
import type { PhaseCommand, PhaseOptions } from '../strategy';
import { applyPhase, asProblem, phasePlan, type PhaseWork } from './phase-rows';
import { refuseSideDrift, sideDrift } from './drift';
import { blueGreenConfig, phaseOptions, type BlueGreenConfig } from './settings';

/** What `switch` and `fallback` read before the lock: both sides, the router, the bounds. */
export interface SwitchInputs extends PipelineInputs {
  t: BlueGreenTarget;
  config: BlueGreenConfig;
  bg: BlueGreenOptions;
  router: Router;
}

/** The phase's one step, and the refusals found under the lock. */
export interface SwitchRun extends PipelinePlan {
  work: PhaseWork;
}

/**
 * `switch` (`from` blue: the application moved to green) or `fallback` (`from` green: back to blue) as a command of the
 * pipeline, on blue's environment: blue's gates (ticket, maintenance window, protection, the dry run alike), under
 * blue's deployment lock (green's is taken for the phase), the refusals in the plan stage before anything changes (the
 * state, a failed or lagging subscription, the router moved by hand, a change on green replication cannot carry), a
 * ledger row of kind `switch` or `fallback` in blue's ledger with the switchover as its step, notifications, the
 * report. The switchover's own steps are in the `blue_green` record (`switchover`, blue-green/switchover.ts). A
 * switchover whose process died is settled (finished or undone) by the next run.
 */
export function switchCommand(
  ctx: OperationContext,
  options: PhaseOptions,
  from: BlueGreenSide,
): PipelineCommand<SwitchInputs, SwitchRun> {
  const phase = switchPhase(from);
  return {
    command: phase,
    phase,
    options,
    promotion: 'a switchover deploys no package: green got the release through its own deployment',
    inputs: async () => {
      const blue = ctx.workspace.environment(options.env, ctx.env);
      const config = blueGreenConfig(ctx, blue);
      const bg = phaseOptions(options, blue, config);
      const t = await blueGreenTarget(ctx, bg);
      return {
        environment: t.blue,
        pkg: null,
        planned: [t.project.name],
        session: { engine: t.engine, environment: t.blue, deploy: ctx.workspace.settings(t.project, t.blue).deploy },
        t,
        config,
        bg,
        router: config.router(t),
      };
    },
    // A switchover changes no object, but its ledger row records blue's schemas as they are: a hand edit is refused.
    drift: (input) => sideDrift(ctx, input.t, input.t.blue),
    plan: async (input, session) => {
      // The phase's ledger row is written on blue, which a switch made read-only for the application.
      for (const sql of input.t.role.writableSession()) await session.conn.execute(sql);
      const work = workOf(input.t, from);
      const problems = await refusals(ctx, input, session, from);
      return {
        plan: phasePlan(input.t.engine, work),
        problems,
        planChecksum: null,
        commit: await sourceCommit(ctx),
        work,
      };
    },
    // The refusals of the plan stage printed the switchover's steps already.
    verify: async () => {},
    settle: async () => ExitCode.ok,
    apply: (input, session, run, report) =>
      applyPhase(ctx, input.t.engine, session, report, run.work, scopeOf(input.t), async () => {
        await switchOf(ctx, input, from, session, false);
      }),
    failure: projectFailure,
  };
}

/** The switchover's step as the ledger and the gates see it. */
function workOf(t: BlueGreenTarget, from: BlueGreenSide): PhaseWork {
  const to = otherSide(from);
  const env = (side: BlueGreenSide) => (side === 'blue' ? t.blue.name : t.green.name);
  return {
    project: t.project.name,
    kind: from === 'blue' ? 'switch' : 'fallback',
    what: `switchover ${from} (${env(from)}) -> ${to} (${env(to)})`,
    statement: `-- pause the router; wait until ${to} has every change of ${from}; set ${to}'s sequences past ${from}'s; start replication ${to} -> ${from}; point the router at ${to}; resume`,
  };
}

/** The target project's schemas: the fingerprint recorded with the phase's row. */
export function scopeOf(t: BlueGreenTarget) {
  return projectScope(t.models.find((m) => m.project.name === t.project.name)!.graph);
}

/**
 * The refusals of a switchover, read under the lock and changing nothing (the switchover's dry run, which prints its
 * steps): none while a switchover whose process died waits to be settled (the run settles it first).
 */
async function refusals(ctx: OperationContext, input: SwitchInputs, session: DeploymentSession, from: BlueGreenSide) {
  const state = await blueGreenState(input.t.engine, session.conn, input.t.project.name);
  if (state?.status === 'running' && (state.phase === 'switch' || state.phase === 'fallback')) {
    ctx.reporter.warn(
      `the ${state.phase} of ${input.t.project.name} did not finish (its process ended at step ${state.step}): settled first`,
    );
    return [];
  }
  try {
    // No green made: refused as the switchover refuses it, before green's database (none) is connected to.
    if (!state?.inFlight) refuseState(state, switchPhase(from), switchRefusal(state, from), input.t);
    await switchOf(ctx, input, from, session, true);
    // The application moves to green: a hand edit there since the release would serve it, and green's ledger would
    // record it as the release's. (A fallback moves it to blue, which the pipeline's own drift stage judges.) After
    // the switchover's own refusals: green's catalog is read only once it is in sync (a lagging green's apply may
    // hold a lock its definitions' deparsers wait for).
    if (from === 'blue') await refuseGreenDrift(ctx, input.t);
    return [];
  } catch (e) {
    return [asProblem(e)];
  }
}

/** The drift stage on green, on a session of its own: its refusal thrown. */
function refuseGreenDrift(ctx: OperationContext, t: BlueGreenTarget): Promise<void> {
  const green = { engine: t.engine, environment: t.green, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter };
  return withSession(green, ({ conn }) => refuseSideDrift(ctx, t, t.green, conn, 'switch'));
}

function switchOf(
  ctx: OperationContext,
  input: SwitchInputs,
  from: BlueGreenSide,
  session: DeploymentSession,
  dryRun: boolean,
) {
  const options = { ...input.bg, dryRun, router: input.router, bounds: input.config.bounds };
  return blueGreenSwitch(ctx, options, from, { blue: session.conn });
}

/** `switch`: the application moved from blue to green. */
export const switchPhaseCommand: PhaseCommand<PhaseOptions> = (ctx, options) => switchCommand(ctx, options, 'blue');

/** `fallback`: the application moved back from green to blue. */
export const fallbackPhaseCommand: PhaseCommand<PhaseOptions> = (ctx, options) => switchCommand(ctx, options, 'green');
