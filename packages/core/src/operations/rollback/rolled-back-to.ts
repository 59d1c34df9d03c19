import type { DiffRole } from '../../engine/engine';
import type { DeploymentRow } from '../../ledger/ledger';
import { deploymentSummary } from '../../ledger/types';
import { scopeKey } from '../../runner/recorded-fingerprint';
import type { SchemaScope } from '../../schema/managed-scope';

/**
 * What a plain rollback reached (`dbee rollback <project>`, `--to <id>`; diffing/converge.ts is the deploy's check),
 * said once the last deployment it undoes is undone: the fingerprint the rollback recorded (no read of its own),
 * compared with the one its newest earlier deployment recorded, which is the state the undone deployment started from
 * when nothing changed outside dbee in between.
 *
 * - Equal: "converged".
 * - Not equal: "not proven converged", not a failure. The recorded fingerprint holds each column's position, and a
 *   column put back (a dropped column re-added, a rollback of a rollback) takes a new one; nor can it tell changes
 *   outside dbee that the undone deployment was deployed over from an undo that missed something. `dbee diff` names
 *   what differs from the sources. (A fingerprint without positions, recorded by every deployment, would let this
 *   fail.)
 * - Nothing to compare with (the project's first deployment undone, an earlier one that recorded no fingerprint or
 *   the state of another scope, none recorded now): "not compared", with why.
 */
export function rolledBackTo(
  input: { diff: DiffRole | undefined; project: string; scope: SchemaScope; environment: string },
  history: readonly DeploymentRow[],
  undone: DeploymentRow,
  now: string | null,
): string {
  const { project, diff } = input;
  const said = (text: string) => `${project}: ${text}`;
  // The ledger lists the project's deployments newest first.
  const earlier = history.find((h) => h.id < undone.id);
  if (!earlier) return said(`not compared with an earlier state: deployment #${undone.id} was its first`);
  const summary = deploymentSummary(earlier);
  if (summary.fingerprintScope && summary.fingerprintScope !== scopeKey(input.scope))
    return said(
      `not compared with deployment #${earlier.id}: it recorded the state of other schemas or settings than the project has now`,
    );
  const recorded = summary.fingerprint ?? null;
  if (!recorded) return said(`not compared with deployment #${earlier.id}: it recorded no fingerprint`);
  if (!now) return said(`not compared with deployment #${earlier.id}: no fingerprint was read after the rollback`);
  const state = (f: string) => diff?.stateOf?.(f) ?? f;
  if (now === recorded || state(now) === state(recorded))
    return said(`converged: its schemas are as deployment #${earlier.id} left them (the fingerprint it recorded)`);
  return said(
    `not proven converged: its schemas' fingerprint differs from the one deployment #${earlier.id} recorded, as it does when ` +
      'the undo missed something, and also when a column is put back (it takes a new position) or the deployment ran over ' +
      `changes made outside dbee; dbee diff ${project} --env ${input.environment} names any difference from the sources`,
  );
}
