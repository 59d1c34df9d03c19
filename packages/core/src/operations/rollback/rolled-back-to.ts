import type { DiffRole } from '../../engine/engine';
import { DbeeError, ExitCode } from '../../errors';
import type { DeploymentRow } from '../../ledger/ledger';
import { deploymentSummary, type DeploymentSummary } from '../../ledger/types';
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
 * judged once the last deployment it undoes is undone whole (the oldest one `--to` undoes): the fingerprints the
 * rollback recorded (no read of its own), compared with the state that deployment started from (`startingState`):
 * the one it read before its steps when it started over changes made outside dbee (which its steps put back, and their
 * reverses bring back), else the one its newest earlier deployment recorded.
 *
 * - Both recorded a position-free fingerprint (`DiffRole.recordableFingerprints`: the definitions without the
 *   columns' positions, which a column put back changes): equal, "converged"; different, the rollback fails, not
 *   converged (exit 2): its steps ran and stay applied, and it is recorded failed. Different, but said, not failed:
 *   under `--force` (`forced`), which skips the drift check and accepts whatever changed outside dbee, and when a newer
 *   deployment it undid (`newer`) started over changes made outside dbee, which undoing it brought back: neither can
 *   be told from what the undo missed.
 * - Else (an earlier deployment recorded by an older dbee, an engine without it) the fingerprints: equal, "converged";
 *   different, "not proven converged", not a failure, since a column put back takes a new position.
 * - Nothing to compare with (the project's first deployment undone, an earlier one that recorded no fingerprint or
 *   the state of another scope, none recorded now, or one recorded by an earlier dbee in an earlier format of the
 *   engine's, which prints less: `pg3` against `pg4`): "not compared", with why.
 */
export function rolledBackTo(
  input: { diff: DiffRole | undefined; project: string; scope: SchemaScope; environment: string; forced: boolean },
  history: readonly DeploymentRow[],
  undone: { deployment: DeploymentRow; steps: readonly CompensatingStep[]; newer: readonly DeploymentRow[] },
  now: { id: number; fingerprint: string | null; positionFree: string | null },
): RolledBackTo {
  const { project, diff } = input;
  const said = (text: string): RolledBackTo => ({ said: `${project}: ${text}`, error: null, objects: [] });
  const ref = startingState(history, undone.deployment);
  if (!ref) return said(`not compared with an earlier state: deployment #${undone.deployment.id} was its first`);
  const { summary } = ref;
  if (summary.fingerprintScope && summary.fingerprintScope !== scopeKey(input.scope))
    return said(
      `not compared with ${ref.name}: it recorded the state of other schemas or settings than the project has now`,
    );
  const recorded = summary.fingerprint ?? null;
  if (!recorded) return said(`not compared with ${ref.name}: it recorded no fingerprint`);
  if (!now.fingerprint) return said(`not compared with ${ref.name}: no fingerprint was read after the rollback`);
  // A fingerprint's format is its text before the first colon (a position-free one's ends in `np`).
  const format = (f: string) => f.slice(0, f.indexOf(':')).replace(/np$/, '');
  if (format(recorded) !== format(now.fingerprint))
    return said(
      `not compared with ${ref.name}: it recorded its fingerprint in an earlier format (${format(recorded)}, by an earlier dbee), which the rollback's (${format(now.fingerprint)}) cannot be compared with`,
    );
  const converged = `converged: its schemas are ${ref.as}`;
  const state = (f: string) => diff?.stateOf?.(f) ?? f;
  const positionFree = summary.positionFreeFingerprint ?? null;
  if (positionFree && now.positionFree) {
    if (positionFree === now.positionFree) return said(`${converged} (${ref.read}, the columns' positions aside)`);
    const differ = `not converged: its schemas differ from ${ref.state} (${ref.read}, the columns' positions aside); `;
    if (input.forced)
      return said(
        differ +
          'not failed: --force rolled back without checking for changes made outside dbee, and they stay. ' +
          `dbee diff ${project} --env ${input.environment} names what differs from the sources`,
      );
    const over = undone.newer.filter((d) => deploymentSummary(d).startedFrom).map((d) => `#${d.id}`);
    if (over.length)
      return said(
        `not proven converged: its schemas differ from ${ref.state} (${ref.read}, the columns' positions aside); ` +
          `not failed: deployment${over.length > 1 ? 's' : ''} ${over.join(', ')} put back changes made outside dbee after deployment #${undone.deployment.id}, ` +
          'which undoing them brought back, and they cannot be told from what the undo missed. ' +
          `dbee diff ${project} --env ${input.environment} names what differs from the sources`,
      );
    return notConverged(input, ref, undone, now.id);
  }
  if (now.fingerprint === recorded || state(now.fingerprint) === state(recorded))
    return said(`${converged} (${ref.read})`);
  return said(
    `not proven converged: its schemas' fingerprint differs from ${ref.fingerprintOf}, as it does when ` +
      'the undo missed something, and also when a column is put back (it takes a new position) or the deployment ran over ' +
      `changes made outside dbee (deployment #${ref.deployment.id} recorded no fingerprint without the columns' positions); ` +
      `dbee diff ${project} --env ${input.environment} names any difference from the sources`,
  );
}

/** The state a rollback is judged against, its fingerprints and how the rollback's lines name it. */
interface StartingState {
  /** Where it is recorded: the undone deployment (`startedFrom`) or the newest earlier one. */
  deployment: DeploymentRow;
  summary: Pick<DeploymentSummary, 'fingerprint' | 'positionFreeFingerprint' | 'fingerprintScope'>;
  /** Its sources (`git_commit`), for the hint: the newest earlier deployment's, if any. */
  earlier: DeploymentRow | undefined;
  /** `deployment #1`, `the state before deployment #2`: after "not compared with". */
  name: string;
  /** `the state deployment #1 left`. */
  state: string;
  /** `as deployment #1 left them`. */
  as: string;
  /** `the fingerprint it recorded`. */
  read: string;
  /** `the one deployment #1 recorded`. */
  fingerprintOf: string;
}

/**
 * The state the undone deployment started from: the one it read before its steps (`DeploymentSummary.startedFrom`),
 * recorded when it started over changes made outside dbee since its earlier deployment; else the one its newest
 * earlier deployment recorded (the ledger lists a project's deployments newest first). Undefined: it was the first.
 */
function startingState(history: readonly DeploymentRow[], undone: DeploymentRow): StartingState | undefined {
  const earlier = history.find((h) => h.id < undone.id);
  const startedFrom = deploymentSummary(undone).startedFrom;
  if (startedFrom) {
    const before = `before deployment #${undone.id}`;
    const outside = 'changes made outside dbee included';
    return {
      deployment: undone,
      summary: startedFrom,
      earlier,
      name: `the state ${before}`,
      state: `the state ${before}, ${outside}`,
      as: `as they were ${before}, ${outside}`,
      read: 'the fingerprint it read before its steps',
      fingerprintOf: `the one deployment #${undone.id} read before its steps`,
    };
  }
  if (!earlier) return undefined;
  return {
    deployment: earlier,
    summary: deploymentSummary(earlier),
    earlier,
    name: `deployment #${earlier.id}`,
    state: `the state deployment #${earlier.id} left`,
    as: `as deployment #${earlier.id} left them`,
    read: 'the fingerprint it recorded',
    fingerprintOf: `the one deployment #${earlier.id} recorded`,
  };
}

/**
 * The failure of a rollback whose position-free fingerprint differs from the state it went back to: which object
 * differs is not in the fingerprints, so it names the steps that undid the deployment (a migration's rollback script,
 * which dbee cannot check, first) and what to run next.
 */
function notConverged(
  input: { project: string; environment: string },
  ref: StartingState,
  undone: { deployment: DeploymentRow; steps: readonly CompensatingStep[] },
  rollbackId: number,
): RolledBackTo {
  const { project, environment } = input;
  const { earlier } = ref;
  const ran = undone.steps.filter((s) => !s.skip).map((s) => s.plan.key);
  const objects = [...new Set(ran)];
  const scripts = objects.filter((k) => k.startsWith('migration:'));
  const others = objects.filter((k) => !k.startsWith('migration:'));
  const list = [
    ...scripts.map((k) => `\n  ${k}: undone by its rollback script, which dbee runs as written`),
    ...others.map((k) => `\n  ${k}: undone by the reverse the ledger recorded`),
  ].join('');
  // The sources it was made from, when they were a commit (not a tree with changes: `-dirty`).
  const commit = earlier?.git_commit && !earlier.git_commit.endsWith('-dirty') ? earlier.git_commit : null;
  const since =
    ref.deployment === earlier
      ? `since deployment #${earlier.id}`
      : `since deployment #${undone.deployment.id} started`;
  const error = new DbeeError(
    `${project}: not converged: every step of the rollback ran (deployment #${rollbackId}), but its schemas then differ ` +
      `from ${ref.state} (${ref.read}, the columns' positions aside). ` +
      `The rollback is applied and recorded as failed. The steps that undid deployment #${undone.deployment.id}:${list}`,
    {
      code: 'ROLLBACK_NOT_CONVERGED',
      exitCode: ExitCode.applyFailed,
      hint:
        `something the rollback should have undone is still there${scripts.length ? ' (a rollback script that does not undo its migration?)' : ''}, ` +
        `or was changed outside dbee ${since}. dbee diff ${project} --env ${environment} names what differs from the sources; ` +
        (commit
          ? `dbee rollback ${project} --env ${environment} --to-ref ${commit.slice(0, 12)} brings the schemas to the sources deployment #${earlier!.id} was made from (a diff, checked after it runs)`
          : `undo what is left by hand, or deploy the sources of the state you want`) +
        (scripts.length ? '; then fix the rollback script so that it undoes its migration' : ''),
      details: {
        rollback: rollbackId,
        comparedWith: ref.deployment.id,
        ...(ref.deployment === earlier ? {} : { startedFrom: true }),
        objects,
      },
    },
  );
  return { said: null, error, objects };
}
