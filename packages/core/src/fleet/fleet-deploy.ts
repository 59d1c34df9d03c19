import { durationMs } from '../config/units';
import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { FleetTarget } from '../config/resolve';
import type { OperationContext } from '../context/operation-context';
import type { DeployOptions } from '../options';
import { fleetReport, printFleetSummary, saveFleetReport, targetReport, type FleetTargetReport } from './fleet-report';
import { runWaves } from './scheduler';
import { fleetTargetName, selectTargets, withoutFleetOptions } from './selection';
import { runOnTarget, type SingleOperation, type TargetRun } from './run-target';
import { waitForCanaries } from './canary-wait';
import { FleetPlans } from '../context/fleet-plans';

/**
 * `deploy` on a fleet environment: the selected targets (labels, shard) deployed by the single-environment `deploy`,
 * each with its own lock, ledger, smoke checks and automatic rollback; the canary wave first, then the rest, at most
 * `--concurrency` at once, no new target after `--max-failures` failures. A target already at the release deploys
 * nothing (`unchanged`), so a re-run resumes. Exit code: 0 when every target is at the release, 1 when nothing was
 * applied and every failure was a refusal before anything ran, 2 otherwise (some failed; 3 from a target's smoke
 * checks counts as a failure).
 */
export async function fleetDeploy(
  ctx: OperationContext,
  options: DeployOptions,
  fleet: string,
  single: SingleOperation<DeployOptions>,
): Promise<ExitCodeValue> {
  const startedAt = options.now ?? new Date();
  const t0 = Date.now();
  const config = ctx.workspace.config.environments[fleet]!;
  if (config.gates?.protected && !options.dryRun && !options.assumeYes) {
    throw new DbeeError(`fleet ${fleet} is protected: deploying to it needs --assume-yes`, {
      code: 'GATE_CONFIRMATION_REQUIRED',
      location: ctx.workspace.file.locate(['environments', fleet, 'gates', 'protected']),
      hint: `a fleet deployment confirms once for all its targets: review the plan with --dry-run, then run again with --assume-yes`,
    });
  }
  const policy = {
    canary: options.canary ?? 0,
    concurrency: options.concurrency ?? 1,
    maxFailures: options.maxFailures ?? 1,
  };
  const { selected, canaries, mine, shard } = await selectTargets(ctx, fleet, {
    labels: options.labels,
    shard: options.shard,
    canary: policy.canary,
  });
  const labelsOf = new Map(selected.map((t) => [t.name, t.labels]));
  const slice = `${mine.length} of ${selected.length} target${selected.length === 1 ? '' : 's'}${shard ? ` (shard ${shard.index}/${shard.count})` : ''}`;
  const limits = `canary ${canaries.length}, concurrency ${policy.concurrency}, max failures ${policy.maxFailures}`;
  ctx.reporter.info(
    `dbee deploy ${options.project} -> fleet ${fleet}: ${slice}, ${limits}${options.dryRun ? ' [dry run]' : ''}`,
  );
  // The other shards start only once the canary (deployed by shard 1) is at the release.
  const canaryHere = !shard || shard.index === 1;
  if (!canaryHere && canaries.length && !options.dryRun) {
    const timeoutMs = config.fleet!.canaryTimeout !== undefined ? durationMs(config.fleet!.canaryTimeout) : 3_600_000;
    await waitForCanaries(ctx, options, fleet, canaries, single, timeoutMs);
  }
  // The targets in one live state share one plan.
  const plans = new FleetPlans();
  const outcome = await runWaves(
    mine,
    { ...policy, canary: canaryHere ? canaries.length : 0 },
    (t) =>
      runOnTarget({ ...ctx, plans }, t.name, fleetTargetName(fleet, t), single, withoutFleetOptions(options), {
        withReport: true,
      }),
    (run: TargetRun) => run.exitCode !== 0,
  );
  const targets: FleetTargetReport[] = outcome.targets.map(({ target, wave, result }) =>
    targetReport(target, labelsOf.get(target) ?? {}, wave, result, plans.of(fleetTargetName(fleet, { name: target }))),
  );
  const failed = targets.filter((t) => t.exitCode !== null && t.exitCode !== 0);
  const applied = targets.some((t) => t.result === 'succeeded' || (t.exitCode !== null && t.exitCode >= 2));
  const exitCode: ExitCodeValue =
    failed.length === 0
      ? ExitCode.ok
      : !applied && failed.every((t) => t.exitCode === ExitCode.invalid)
        ? ExitCode.invalid
        : ExitCode.applyFailed;
  const report = fleetReport({
    command: 'deploy',
    fleet,
    project: options.project,
    shard,
    policy: { ...policy, labels: options.labels ?? null },
    startedAt,
    durationMs: Date.now() - t0,
    stopped: outcome.stopped,
    exitCode,
    targets,
  });
  printFleetSummary(ctx.stdout, report);
  if (options.report) saveFleetReport(ctx, options.report, report);
  return exitCode;
}

export type { FleetTarget };
