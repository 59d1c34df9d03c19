import { sourceCommit } from '../../../context/load';
import type { OperationContext } from '../../../context/operation-context';
import { DbeeError, ExitCode } from '../../../errors';
import { backupStamp } from '../../../plan/backup-stamp';
import {
  projectFailure,
  type PipelineCommand,
  type PipelineInputs,
  type PipelinePlan,
} from '../../../pipeline/pipeline';
import { withSession } from '../../../runner/session';
import { blueGreenState, blueGreenTarget, type BlueGreenOptions, type BlueGreenTarget } from './sides';
import { blueGreenFinish } from './side-phases';
import type { PhaseCommand, PhaseOptions } from '../strategy';
import { applyPhase, asProblem, phasePlan, type PhaseWork } from './phase-rows';
import { sideDrift } from './drift';
import { blueGates, blueGreenConfig, phaseOptions } from './settings';
import { scopeOf } from './switch';

/** What `finish` reads before the lock: both sides and the one that stays (the one serving). */
export interface FinishInputs extends PipelineInputs {
  t: BlueGreenTarget;
  /** With `keep` when `gates.requireBackup` asks for a backup of the side dropped. */
  bg: BlueGreenOptions & { keep?: { stamp: string } };
  stays: 'blue' | 'green';
}

/**
 * `finish` as a command of the pipeline, on the environment of the side that stays (the one serving: green after a
 * switch, blue after a fallback or when green is given up), under its lock and gates; blue's gates are asked for too
 * (its ticket, windows and protection). Its step drops replication on both sides (after copying blue's `blue_green`
 * record to green when blue goes), then the other side's database (renamed aside as a backup instead where `gates.requireBackup` asks for one, of blue or
 * of the side that stays: listed in the report's backups); the ledger row of kind `finish` is in the ledger of the side
 * that stays, as is the record of every phase.
 */
export function finishCommand(
  ctx: OperationContext,
  options: PhaseOptions,
): PipelineCommand<FinishInputs, PipelinePlan & { work: PhaseWork }> {
  return {
    command: 'finish',
    phase: 'finish',
    options,
    promotion: 'finish deploys no package: it drops the side that no longer serves',
    inputs: async () => {
      const blue = ctx.workspace.environment(options.env, ctx.env);
      const config = blueGreenConfig(ctx, blue);
      const bg = phaseOptions(options, blue, config);
      const t = await blueGreenTarget(ctx, bg);
      const state = await withSession(
        { engine: t.engine, environment: t.blue, workspaceRoot: ctx.workspace.root, reporter: ctx.reporter },
        ({ conn }) => blueGreenState(t.engine, conn, t.project.name),
      );
      if (!state?.inFlight)
        throw new DbeeError(
          `finish refused: no blue/green deployment of ${t.project.name} is in flight on ${t.blue.name}`,
          {
            code: 'BLUE_GREEN_STATE',
            hint: `deploy one first: dbee deploy ${t.project.name} --env ${t.blue.name} --strategy blue-green; nothing was changed`,
          },
        );
      const stays = state.live;
      const environment = stays === 'green' ? t.green : t.blue;
      // The gates the pipeline checks are the environment's that stays; blue's are asked for too.
      if (stays === 'green') blueGates(ctx, t.blue, options, 'finish');
      // The side dropped is kept as a backup where blue's gates or those of the side that stays ask for one.
      const keep = t.blue.gates.requireBackup || environment.gates.requireBackup;
      return {
        environment,
        pkg: null,
        planned: [t.project.name],
        session: { engine: t.engine, environment, deploy: ctx.workspace.settings(t.project, environment).deploy },
        t,
        bg: keep ? { ...bg, keep: { stamp: backupStamp(new Date()) } } : bg,
        stays,
      };
    },
    // Finish changes no object of the side that stays, but its ledger row records that side's schemas as they are.
    drift: (input) => sideDrift(ctx, input.t, input.environment),
    plan: async (input, session) => {
      const { t, stays } = input;
      const gone = stays === 'green' ? t.blue : t.green;
      const work: PhaseWork = {
        project: t.project.name,
        kind: 'finish',
        what: `finish: drop replication and ${stays === 'green' ? 'blue' : 'green'} (${gone.name})`,
        statement: `-- drop the subscriptions, slots and publications of both sides; ${input.bg.keep ? `keep the database of ${gone.name} as a backup (gates.requireBackup): renamed aside` : `drop the database of ${gone.name}`}`,
      };
      const problems = [];
      try {
        await blueGreenFinish(ctx, { ...input.bg, dryRun: true }, { [stays]: session.conn });
      } catch (e) {
        problems.push(asProblem(e));
      }
      return { plan: phasePlan(t.engine, work), problems, planChecksum: null, commit: await sourceCommit(ctx), work };
    },
    verify: async () => {},
    settle: async () => ExitCode.ok,
    apply: (input, session, run, report) =>
      applyPhase(ctx, input.t.engine, session, report, run.work, scopeOf(input.t), async () => {
        const { backup } = await blueGreenFinish(ctx, input.bg, { [input.stays]: session.conn });
        return backup ? [backup] : [];
      }),
    failure: projectFailure,
  };
}

/** `finish`: replication and the side that no longer serves dropped. */
export const finishPhaseCommand: PhaseCommand<PhaseOptions> = (ctx, options) => finishCommand(ctx, options);
