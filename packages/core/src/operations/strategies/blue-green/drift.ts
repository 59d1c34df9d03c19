import type { ResolvedEnvironment } from '../../../config/resolve';
import type { OperationContext } from '../../../context/operation-context';
import { driftStage, projectSubject, type DriftRequest } from '../../../pipeline/drift';
import type { Connection } from '../../../engine/engine';
import type { BlueGreenTarget } from '../../blue-green';

/**
 * The drift stage's request of a phase on one side: the project, judged against that side's own ledger. Every phase
 * closes its ledger row with the side's fingerprint, and the deploy phase makes green as blue's copy: a hand edit on
 * the side would become dbee's own, so it is refused (exit 1, nothing changed), the dry run alike.
 */
export function sideDrift(ctx: OperationContext, t: BlueGreenTarget, side: ResolvedEnvironment): DriftRequest {
  return { subjects: [projectSubject(ctx, side, t.engine, t.project.name)] };
}

/**
 * The drift stage on blue for the deploy phase, whose pipeline runs on green's environment: read on a session of
 * blue's before green is made (through the pipeline's own stage), its refusal thrown.
 */
export async function refuseBlueDrift(
  ctx: OperationContext,
  t: BlueGreenTarget,
  conn: Connection,
  command: string,
): Promise<void> {
  const args = { engine: t.engine, conn, side: undefined, environment: t.blue, command };
  const [refusal] = await (await driftStage(ctx, args, sideDrift(ctx, t, t.blue))).refusals();
  if (refusal) throw refusal;
}
