import type { DiffRole } from '../../engine/engine';
import { DbeeError, ExitCode } from '../../errors';
import type { DeploymentRow } from '../../ledger/ledger';
import { deploymentSummary } from '../../ledger/types';
import { scopeKey } from '../../runner/recorded-fingerprint';
import type { CompensatingStep } from '../../runner/undo';
import type { SchemaScope } from '../../schema/managed-scope';

/** What a rollback reached (`rolledBackTo`): the line it says, or why it failed. */
export interface RolledBackTo {
  /** Said when it did not fail: `converged`, `not proven converged` or `not compared`, with why. */
  said: string | null;
  /** `ROLLBACK_NOT_CONVERGED` (exit 2): its schemas differ from the state it went back to. */
  error: DbeeError | null;
  /** With `error`: the objects its steps undid (recorded as `notConverged`; which of them differs is not known). */
  objects: string[];
}

/**
 * What a plain rollback reached (`dbee rollback <project>`, `--to <id>`; diffing/converge.ts is the deploy's check),
 * judged once the last deployment it undoes is undone whole: the fingerprints the rollback recorded (no read of its
 * own), compared with those its newest earlier deployment recorded, which is the state the undone deployment started
 * from when nothing changed outside dbee in between.
 *
 * - Both recorded a position-free fingerprint (`DiffRole.recordableFingerprints`: the definitions without the
 *   columns' positions, which a column put back changes): equal, "converged"; different, the rollback fails, not
 *   converged (exit 2): its steps ran and stay applied, and it is recorded failed. Under `--force` (`forced`), which
 *   skips the drift check and accepts whatever changed outside dbee, a difference is said, not failed: what it
 *   accepted cannot be told from what the undo missed.
 * - Else (an earlier deployment recorded by an older dbee, an engine without it) the fingerprints: equal, "converged";
 *   different, "not proven converged", not a failure, since a column put back takes a new position.
 * - Nothing to compare with (the project's first deployment undone, an earlier one that recorded no fingerprint or
 *   the state of another scope, none recorded now, or one recorded by an earlier dbee in an earlier format of the
 *   engine's, which prints less: `pg3` against `pg4`): "not compared", with why.
 */
export function rolledBackTo(
  input: { diff: DiffRole | undefined; project: string; scope: SchemaScope; environment: string; forced: boolean },
  history: readonly DeploymentRow[],
  undone: { deployment: DeploymentRow; steps: readonly CompensatingStep[] },
  now: { id: number; fingerprint: string | null; positionFree: string | null },
): RolledBackTo {
  const { project, diff } = input;
  const said = (text: string): RolledBackTo => ({ said: `${project}: ${text}`, error: null, objects: [] });
  // The ledger lists the project's deployments newest first.
  const earlier = history.find((h) => h.id < undone.deployment.id);
  if (!earlier) return said(`not compared with an earlier state: deployment #${undone.deployment.id} was its first`);
  const summary = deploymentSummary(earlier);
  if (summary.fingerprintScope && summary.fingerprintScope !== scopeKey(input.scope))
    return said(
      `not compared with deployment #${earlier.id}: it recorded the state of other schemas or settings than the project has now`,
    );
  const recorded = summary.fingerprint ?? null;
  if (!recorded) return said(`not compared with deployment #${earlier.id}: it recorded no fingerprint`);
  if (!now.fingerprint)
    return said(`not compared with deployment #${earlier.id}: no fingerprint was read after the rollback`);
  // A fingerprint's format is its text before the first colon (a position-free one's ends in `np`).
  const format = (f: string) => f.slice(0, f.indexOf(':')).replace(/np$/, '');
  if (format(recorded) !== format(now.fingerprint))
    return said(
      `not compared with deployment #${earlier.id}: it recorded its fingerprint in an earlier format (${format(recorded)}, by an earlier dbee), which the rollback's (${format(now.fingerprint)}) cannot be compared with`,
    );
  const leftThem = `converged: its schemas are as deployment #${earlier.id} left them`;
  const state = (f: string) => diff?.stateOf?.(f) ?? f;
  const positionFree = summary.positionFreeFingerprint ?? null;
  if (positionFree && now.positionFree) {
    if (positionFree === now.positionFree)
      return said(`${leftThem} (the fingerprint it recorded, the columns' positions aside)`);
    if (input.forced)
      return said(
        `not converged: its schemas differ from the state deployment #${earlier.id} left (the fingerprint it recorded, the columns' positions aside); ` +
          'not failed: --force rolled back without checking for changes made outside dbee, and they stay. ' +
          `dbee diff ${project} --env ${input.environment} names what differs from the sources`,
      );
    return notConverged(input, earlier, undone, now.id);
  }
  if (now.fingerprint === recorded || state(now.fingerprint) === state(recorded))
    return said(`${leftThem} (the fingerprint it recorded)`);
  return said(
    `not proven converged: its schemas' fingerprint differs from the one deployment #${earlier.id} recorded, as it does when ` +
      'the undo missed something, and also when a column is put back (it takes a new position) or the deployment ran over ' +
      `changes made outside dbee (deployment #${earlier.id} recorded no fingerprint without the columns' positions); ` +
      `dbee diff ${project} --env ${input.environment} names any difference from the sources`,
  );
}

/**
 * The failure of a rollback whose position-free fingerprint differs from the earlier deployment's: which object
 * differs is not in the fingerprints, so it names the steps that undid the deployment (a migration's rollback script,
 * which dbee cannot check, first) and what to run next.
 */
function notConverged(
  input: { project: string; environment: string },
  earlier: DeploymentRow,
  undone: { deployment: DeploymentRow; steps: readonly CompensatingStep[] },
  rollbackId: number,
): RolledBackTo {
  const { project, environment } = input;
  const ran = undone.steps.filter((s) => !s.skip).map((s) => s.plan.key);
  const objects = [...new Set(ran)];
  const scripts = objects.filter((k) => k.startsWith('migration:'));
  const others = objects.filter((k) => !k.startsWith('migration:'));
  const list = [
    ...scripts.map((k) => `\n  ${k}: undone by its rollback script, which dbee runs as written`),
    ...others.map((k) => `\n  ${k}: undone by the reverse the ledger recorded`),
  ].join('');
  // The sources it was made from, when they were a commit (not a tree with changes: `-dirty`).
  const commit = earlier.git_commit && !earlier.git_commit.endsWith('-dirty') ? earlier.git_commit : null;
  const error = new DbeeError(
    `${project}: not converged: every step of the rollback ran (deployment #${rollbackId}), but its schemas then differ ` +
      `from the state deployment #${earlier.id} left (the fingerprint it recorded, the columns' positions aside). ` +
      `The rollback is applied and recorded as failed. The steps that undid deployment #${undone.deployment.id}:${list}`,
    {
      code: 'ROLLBACK_NOT_CONVERGED',
      exitCode: ExitCode.applyFailed,
      hint:
        `something the rollback should have undone is still there${scripts.length ? ' (a rollback script that does not undo its migration?)' : ''}, ` +
        `or was changed outside dbee since deployment #${earlier.id}. dbee diff ${project} --env ${environment} names what differs from the sources; ` +
        (commit
          ? `dbee rollback ${project} --env ${environment} --to-ref ${commit.slice(0, 12)} brings the schemas to the sources deployment #${earlier.id} was made from (a diff, checked after it runs)`
          : `undo what is left by hand, or deploy the sources of the state you want`) +
        (scripts.length ? '; then fix the rollback script so that it undoes its migration' : ''),
      details: { rollback: rollbackId, comparedWith: earlier.id, objects },
    },
  );
  return { said: null, error, objects };
}
