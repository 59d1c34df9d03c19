import type { Connection } from '../../engine/connection';
import { recordedDrift } from '../../diffing/drift';
import type { Engine } from '../../engine/engine';
import type { DeploymentRow } from '../../ledger/ledger';
import { deploymentSummary } from '../../ledger/types';
import { scopeKey } from '../../runner/recorded-fingerprint';
import type { SchemaScope } from '../../schema/managed-scope';

/**
 * A plain rollback's convergence check (`dbee rollback <project>`, `--to <id>`; diffing/converge.ts is the deploy's):
 * the project's schemas once deployment `undone` is undone, compared by fingerprint with the state its newest earlier
 * deployment recorded, which is the state `undone` started from when nothing changed outside dbee in between.
 *
 * - Equal: said, "converged".
 * - Not equal: said, "not proven converged", not a failure. The recorded fingerprint holds each column's position,
 *   and a column put back (a dropped column re-added, a rollback of a rollback) takes a new one; nor can it tell
 *   changes outside dbee that `undone` was deployed over from an undo that missed something. `dbee diff` names what
 *   differs from the sources. (A fingerprint without positions, recorded by every deployment, would let this fail.)
 * - Nothing to compare with (`undone` was the first deployment, the earlier one recorded no fingerprint or another
 *   scope, the engine has none): said, "not compared", with why.
 */
export async function rolledBackTo(
  input: { engine: Engine; project: string; scope: SchemaScope; environment: string },
  conn: Connection,
  history: readonly DeploymentRow[],
  undone: DeploymentRow,
): Promise<{ error: null; objects: string[]; said: string }> {
  const { project } = input;
  const said = (text: string) => ({ error: null, objects: [], said: `${project}: ${text}` });
  // The ledger lists the project's deployments newest first.
  const earlier = history.find((h) => h.id < undone.id);
  if (!earlier) return said(`not compared with an earlier state: deployment #${undone.id} was its first`);
  const recordedScope = deploymentSummary(earlier).fingerprintScope;
  if (recordedScope && recordedScope !== scopeKey(input.scope))
    return said(
      `not compared with deployment #${earlier.id}: it recorded the state of other schemas or settings than the project has now`,
    );
  const drift = await recordedDrift(input.engine, conn, { project, scope: input.scope, last: earlier });
  if (drift.state === 'no')
    return said(`converged: its schemas are as deployment #${earlier.id} left them (the fingerprint it recorded)`);
  if (drift.state === 'unknown') return said(`not compared with deployment #${earlier.id}: ${drift.reason}`);
  return said(
    `not proven converged: its schemas' fingerprint differs from the one deployment #${earlier.id} recorded, as it does when ` +
      'the undo missed something, and also when a column is put back (it takes a new position) or the deployment ran over ' +
      `changes made outside dbee; dbee diff ${project} --env ${input.environment} names any difference from the sources`,
  );
}
