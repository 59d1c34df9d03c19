import type { ResolvedEnvironment } from '../config/resolve';
import type { OperationContext } from '../context/operation-context';
import type { DbeeError } from '../errors';
import type { Plan } from '../plan/plan';
import { confirmAndCount, dryRunGates } from './gates';

/**
 * Stage `gates` on the plan of a command that undoes deployments (`rollback`), as the pipeline's stages run it for a
 * deployment: the plan's `problems` and the environment's gates (`dryRunGates`: maintenance windows, protection) make
 * one list, which a dry run reports and a real run refuses with (`refuse`, the command's wording); then a real run asks
 * protection's question and counts down. `emergency`: maintenance windows bypassed and no countdown (recorded by the
 * command); protection still applies. Returns normally when the run may go on.
 */
export async function gateCompensation(
  ctx: OperationContext,
  environment: ResolvedEnvironment,
  plan: Plan,
  problems: readonly DbeeError[],
  options: {
    dryRun: boolean;
    assumeYes: boolean;
    now?: Date;
    countdownFrom?: number;
    emergency: boolean;
    refuse: (problems: DbeeError[], dryRun: boolean) => never;
  },
): Promise<void> {
  const gated: ResolvedEnvironment = options.emergency
    ? { ...environment, gates: { ...environment.gates, maintenanceWindows: undefined } }
    : environment;
  const all = [...problems, ...dryRunGates(ctx, gated, { assumeYes: options.assumeYes, now: options.now })];
  if (all.length) options.refuse(all, options.dryRun);
  if (options.dryRun) return;
  await confirmAndCount(ctx, gated, plan.steps.length, {
    assumeYes: options.assumeYes,
    countdownFrom: options.countdownFrom,
    skipCountdown: options.emergency,
  });
}
