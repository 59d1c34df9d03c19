import type { ResolvedEnvironment } from '../../../config/resolve';
import type { OperationContext } from '../../../context/operation-context';
import { DbeeError } from '../../../errors';
import type { ProjectDrift } from '../../../diffing/drift';
import { driftSince, driftStage, projectSubject, type DriftRequest } from '../../../pipeline/drift';
import type { Connection } from '../../../engine/engine';
import type { BlueGreenTarget } from './sides';

/**
 * The drift stage's request of a phase on one side: the project, judged against that side's own ledger. Every phase
 * closes its ledger row with the side's fingerprint, and the deploy phase makes green as blue's copy: a hand edit on
 * the side would become dbee's own, so it is refused (exit 1, nothing changed), the dry run alike. `refusal` words it
 * another way (see `greenRefusal`).
 */
export function sideDrift(
  ctx: OperationContext,
  t: BlueGreenTarget,
  side: ResolvedEnvironment,
  refusal?: (drift: ProjectDrift, environment: string) => DbeeError,
): DriftRequest {
  return { subjects: [projectSubject(ctx, side, t.engine, t.project.name)], ...(refusal ? { refusal } : {}) };
}

/**
 * The drift stage on one side, outside the pipeline's own (whose environment is the other side's): read on a session
 * of `side`, its refusal thrown. The deploy phase judges blue before green is made from it; the switchover judges green
 * before the application moves to it.
 */
export async function refuseSideDrift(
  ctx: OperationContext,
  t: BlueGreenTarget,
  side: ResolvedEnvironment,
  conn: Connection,
  command: string,
): Promise<void> {
  const args = { engine: t.engine, conn, side: undefined, environment: side, command };
  const request = side === t.green ? sideDrift(ctx, t, side, greenRefusal(t, command)) : sideDrift(ctx, t, side);
  const [refusal] = await (await driftStage(ctx, args, request)).refusals();
  if (refusal) throw refusal;
}

/**
 * A hand edit on green, found before a switchover: the application would move to schemas the release did not make,
 * and green's ledger would record them as the release's. Undo the edit, or give this green up and make it again.
 */
function greenRefusal(t: BlueGreenTarget, command: string) {
  return (drift: ProjectDrift, environment: string) => {
    const { project } = drift;
    const where = `${project} --env ${t.blue.name}`;
    return new DbeeError(
      `${project} on green (${environment}) was changed outside dbee since ${driftSince(drift, environment)}: ${command} would move the application to schemas the release did not make`,
      {
        code: 'DRIFT',
        hint: `see what changed with dbee status ${project} --env ${environment}; undo the edit on green, or give this green up (dbee finish ${where}) and deploy the release again; then run ${command} again; nothing was changed`,
        details: { project, since: drift.since, recorded: drift.recorded, live: drift.live },
      },
    );
  };
}
