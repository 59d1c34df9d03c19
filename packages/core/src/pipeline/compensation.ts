import type { Ledger } from '../ledger/ledger';
import type { DbeeError } from '../errors';
import { ExitCode } from '../errors';
import type { RunResult, StepResult } from '../runner/runner';
import type { CompensatingStep, CompensationResult } from '../runner/undo';

/** One compensating deployment a command ran (`runCompensation`): its project, its steps, and how it ended. */
export interface CompensationRun {
  project: string;
  steps: readonly CompensatingStep[];
  result: CompensationResult;
  /** What it failed with (exit 2 for a step, 3 for its smoke checks); absent: it succeeded. */
  error?: DbeeError;
}

/**
 * The compensating deployments of a command (`disable`, `enable`, `rollback`) as the pipeline reports and notifies a
 * run (`PipelineApplied.result`): one project entry per deployment, its steps numbered in the order they ran, the exit
 * code of the first that failed.
 */
export function compensationRunResult(runs: readonly CompensationRun[]): RunResult {
  const steps: StepResult[] = [];
  for (const { project, steps: planned, result: r } of runs) {
    let ran = 0;
    for (const s of planned) {
      const base = { order: steps.length + 1, project, key: s.plan.key, action: s.ledgerAction, durationMs: 0 };
      if (s.skip) {
        steps.push({ ...base, status: 'skipped' });
        continue;
      }
      const i = ran++;
      if (i < r.applied) steps.push({ ...base, status: 'applied' });
      else if (i === r.applied && r.status === 'failed')
        steps.push({ ...base, status: 'failed', ...(r.error ? { error: r.error.message } : {}) });
      else steps.push({ ...base, status: 'not-run' });
    }
  }
  const failed = runs.find((r) => r.error);
  return {
    exitCode: failed?.error?.exitCode ?? ExitCode.ok,
    projects: runs.map(({ project, steps: planned, result: r, error }) => ({
      project,
      deploymentId: r.deploymentId,
      status: error ? 'failed' : 'succeeded',
      stepsApplied: r.applied,
      stepsTotal: planned.length,
      durationMs: r.durationMs,
      backups: [],
      ...(error ? { error, failedStatement: r.failedStatement ?? null } : {}),
    })),
    steps,
  };
}

/**
 * What the pipeline gets back from a command whose deployment is one step sent outside `executePlan` (a blue/green
 * phase, `audit`): the project's outcome, the step rows its ledger recorded, and the smoke checks' line.
 */
export async function oneStepApplied(
  ledger: Pick<Ledger, 'steps'>,
  run: {
    project: string;
    deploymentId: number;
    error: DbeeError | null;
    durationMs: number;
    backups: string[];
    smoke: ReadonlyMap<string, string>;
  },
): Promise<{ result: RunResult; smoke: ReadonlyMap<string, string> }> {
  const { project, deploymentId, error } = run;
  return {
    result: {
      exitCode: error ? error.exitCode : ExitCode.ok,
      projects: [
        {
          project,
          deploymentId,
          status: error ? 'failed' : 'succeeded',
          stepsApplied: error ? 0 : 1,
          stepsTotal: 1,
          durationMs: run.durationMs,
          backups: run.backups,
          ...(error ? { error } : {}),
        },
      ],
      steps: await recordedSteps(ledger, deploymentId, project),
    },
    smoke: run.smoke,
  };
}

/**
 * The step rows a deployment recorded, as a run's results (what the report, the summary and the notifications count):
 * for a command whose steps are sent outside `executePlan`'s bookkeeping (the expand-contract phases, `audit`).
 */
export async function recordedSteps(
  ledger: Pick<Ledger, 'steps'>,
  deploymentId: number,
  project: string,
): Promise<StepResult[]> {
  return (await ledger.steps.of(deploymentId)).map((s) => ({
    order: s.order,
    project,
    key: s.objectKey,
    action: s.action,
    status: s.status,
    durationMs: 0,
  }));
}
