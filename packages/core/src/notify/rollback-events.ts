import { ExitCode } from '../errors';
import type { DeployReport } from '../runner/deploy-report';
import type { RunResult } from '../runner/runner';
import type { FinishedEvents } from './deploy-events';

/**
 * The events of a finished `dbee rollback` (the pipeline's `notify` stage, `PipelineCommand.notify`): `rolled-back`
 * (with `smoke-failed` when its smoke checks failed after it), or `deploy-failed` when a step of it failed. It starts
 * with `deploy-started`, as a deployment does.
 */
export function rollbackEvents(_report: DeployReport, result: RunResult): FinishedEvents {
  if (result.exitCode === ExitCode.applyFailed) return { events: ['deploy-failed'], result: 'failed' };
  return {
    events: ['rolled-back', ...(result.exitCode === ExitCode.smokeFailed ? (['smoke-failed'] as const) : [])],
    result: 'rolled-back',
  };
}
