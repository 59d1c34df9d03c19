import { DbeeError, ExitCode, type ExitCodeValue } from '../errors';
import type { OperationContext } from '../context/operation-context';
import { FleetPlans } from '../context/fleet-plans';
import { runWaves } from './scheduler';
import { fleetTargetName, selectTargets } from './selection';
import { runOnTarget, type SingleOperation, type TargetRun } from './run-target';
import { fleetReport, saveFleetReport, targetReport } from './fleet-report';

/** The fleet options of `rollback`, `diff` and `smoke-test`. */
interface EachTargetOptions {
  env?: string;
  project: string;
  labels?: string;
  shard?: string;
  concurrency?: number;
  maxFailures?: number;
  /** `diff --fail-on-diff`: a target whose exit code 1 comes with no error differs from the sources. */
  failOnDiff?: boolean;
  /** `rollback --report`: the fleet's report (`fleet-report.ts`, as `deploy --report` on a fleet writes it). */
  report?: string;
}

/** How one target of `rollback`, `diff` or `smoke-test` on a fleet ended. */
export type EachTargetResult = 'succeeded' | 'differs' | 'refused' | 'failed' | 'not-run';

/** One target's line of the summary. */
export interface EachTargetLine {
  target: string;
  result: EachTargetResult;
  exitCode: number | null;
  error: { code: string; message: string } | null;
}

/**
 * Run `rollback`, `diff` or `smoke-test` on every target of a fleet that `--labels` and `--shard` select, each as on an
 * environment of its own, `--concurrency` at once. `rollback` stops starting targets after `--max-failures` failures
 * (default 1: a rollback that fails on one database is looked at before the next); `diff` and `smoke-test` only read,
 * and read every target (`diff` the first one alone, then the others). Then one summary: the count per result, and each target that did not succeed.
 *
 * Exit code, as for `deploy`: 0 when every target succeeded; 1 when none did and every one was refused before
 * anything ran (or, with `diff --fail-on-diff`, differs); 2 when some failed while others succeeded, or one failed
 * while running (a rollback step, a smoke check).
 */
export async function eachTarget<O extends EachTargetOptions>(
  command: 'rollback' | 'diff' | 'smoke-test',
  ctx: OperationContext,
  options: O,
  fleet: string,
  single: SingleOperation<O>,
): Promise<ExitCodeValue> {
  const startedAt = new Date();
  const t0 = Date.now();
  const rollback = command === 'rollback';
  if (options.report && !rollback) {
    throw new DbeeError(`--report ${options.report}: a ${command} on fleet ${fleet} writes no report file`, {
      code: 'OPTIONS_INVALID',
      hint: 'leave --report out: the fleet prints its summary',
    });
  }
  const { mine, shard } = await selectTargets(ctx, fleet, { labels: options.labels, shard: options.shard });
  // The sources are parsed once for every target.
  const shared = { ...ctx, plans: new FleetPlans() };
  const outcome = await runWaves(
    mine,
    {
      // `diff` compares the first target alone: it builds the sources' model, which the others read from the cache
      // instead of each building it at once.
      canary: command === 'diff' && (options.concurrency ?? 1) > 1 ? 1 : 0,
      concurrency: options.concurrency ?? 1,
      maxFailures: rollback ? (options.maxFailures ?? 1) : Number.MAX_SAFE_INTEGER,
    },
    (t) =>
      runOnTarget(
        shared,
        t.name,
        fleetTargetName(fleet, t),
        single,
        {
          ...options,
          labels: undefined,
          shard: undefined,
          concurrency: undefined,
          maxFailures: undefined,
          report: undefined,
        },
        { withReport: options.report !== undefined },
      ),
    // Only a rollback stops starting targets: `diff` and `smoke-test` read every target whatever the others said.
    (run: TargetRun) => rollback && run.exitCode !== 0,
  );
  const lines: EachTargetLine[] = outcome.targets.map(({ target, result: run }) => ({
    target,
    result: !run
      ? 'not-run'
      : run.exitCode === 0
        ? 'succeeded'
        : run.exitCode === ExitCode.invalid
          ? options.failOnDiff && !run.error
            ? 'differs'
            : 'refused'
          : 'failed',
    exitCode: run?.exitCode ?? null,
    error: run?.error ?? null,
  }));
  const exitCode = fleetExitCode(lines);
  const counts = new Map<EachTargetResult, number>();
  for (const l of lines) counts.set(l.result, (counts.get(l.result) ?? 0) + 1);
  const where = `fleet ${fleet}${shard ? ` shard ${shard.index}/${shard.count}` : ''}`;
  ctx.stdout.write(
    `${where}: ${command} on ${lines.length} target${lines.length === 1 ? '' : 's'}: ${[...counts].map(([r, n]) => `${n} ${r}`).join(', ')}\n`,
  );
  for (const l of lines)
    if (l.result !== 'succeeded' && l.result !== 'not-run')
      ctx.stdout.write(
        `  ${l.result}: ${l.target} (exit ${l.exitCode})${l.error ? `: ${l.error.message.split('\n')[0]}` : ''}\n`,
      );
  if (outcome.stopped)
    ctx.stdout.write(
      `  stopped: ${outcome.stopped}; ${counts.get('not-run') ?? 0} target${counts.get('not-run') === 1 ? '' : 's'} not started\n`,
    );
  ctx.stdout.write(`  exit ${exitCode}\n`);
  if (options.report) {
    // Every target's rollback as the single environment's report says it (one wave: a rollback has no canary).
    const labelsOf = new Map(mine.map((t) => [t.name, t.labels]));
    const report = fleetReport({
      command: 'rollback',
      fleet,
      project: options.project,
      shard,
      policy: {
        canary: 0,
        concurrency: options.concurrency ?? 1,
        maxFailures: options.maxFailures ?? 1,
        labels: options.labels ?? null,
      },
      startedAt,
      durationMs: Date.now() - t0,
      stopped: outcome.stopped,
      exitCode,
      targets: outcome.targets.map(({ target, result }) =>
        targetReport(target, labelsOf.get(target) ?? {}, 2, result, undefined),
      ),
    });
    saveFleetReport(ctx, options.report, report);
  }
  return exitCode;
}

/** 0: every target succeeded; 1: none did, and each was refused (exit 1); 2: otherwise. */
function fleetExitCode(lines: readonly EachTargetLine[]): ExitCodeValue {
  const ended = lines.filter((l) => l.exitCode !== null);
  if (ended.every((l) => l.exitCode === 0)) return ExitCode.ok;
  if (ended.every((l) => l.exitCode === ExitCode.invalid)) return ExitCode.invalid;
  return ExitCode.applyFailed;
}
