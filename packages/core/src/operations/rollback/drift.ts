import type { ProjectDrift } from '../../diffing/drift';
import { DbeeError } from '../../errors';
import { driftSince } from '../../pipeline/drift';

/**
 * How a rollback words the drift stage's refusal (pipeline/drift.ts): the schemas changed outside dbee since the last
 * deployment recorded them, so the recorded reverses may no longer apply.
 */
export function rollbackDriftRefusal(drift: ProjectDrift, environment: string): DbeeError {
  return new DbeeError(
    `the schemas of ${drift.project} changed outside dbee since ${driftSince(drift, environment)}: the recorded reverses may no longer apply`,
    {
      code: 'ROLLBACK_DRIFT',
      hint: 'see what changed with dbee diff; roll back to the sources of a git ref with --to-ref, or pass --force to roll back anyway',
      details: { recorded: drift.recorded, live: drift.live },
    },
  );
}
