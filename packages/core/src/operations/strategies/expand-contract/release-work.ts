import type { InFlightWork } from '../../../diffing/in-flight-work';
import { DbeeError } from '../../../errors';
import { formatInFlight, inFlightOf, notRenamedAway, releaseMakes, withoutInFlight } from '../../../expand/in-flight';
import type { ExpandRelease } from '../../../expand/phases';

/**
 * A release in flight as the strategy's work in flight, and the refusal it makes: loaded when the reader
 * (in-flight.ts) finds one, or when the expand phase refuses to run over one.
 */

/**
 * What a release holds while in flight (expanding, expanded, being completed or aborted), as the strategy's work in
 * flight (`InFlightWork`): its version schemas, shadow columns, sync triggers and additions, the old shape that `abort`
 * leaves, and what `complete` makes.
 */
export function releaseWork(r: ExpandRelease): InFlightWork {
  const held = inFlightOf(r);
  return {
    strategy: 'expand-contract',
    project: r.project,
    kind: 'release',
    name: `release ${r.release}`,
    phase: r.phase,
    key: `release:${r.id}:${r.phase}`,
    json: { ...held },
    describe: (where) => formatInFlight(held, where),
    finish: (where) => [`dbee complete${where}`, `dbee abort${where}`],
    before: (model) => withoutInFlight(model, r.plan, true),
    againstSources: (live) => ({ from: withoutInFlight(live, r.plan, false), skip: releaseMakes(r.plan, live) }),
    pendingDrops: (drops) => notRenamedAway([...drops], held),
    refusal: (what, environment) => inFlightError(r, environment, what),
  };
}

/** Why `what` cannot run while release `r` is in flight, and the command that moves the release on. */
export function inFlightError(r: ExpandRelease, env: string, what: string): DbeeError {
  const next =
    r.phase === 'contracting'
      ? `run dbee complete ${r.project} --env ${env} to finish it`
      : r.phase === 'aborting'
        ? `run dbee abort ${r.project} --env ${env} to finish it`
        : r.phase === 'expanded'
          ? `complete it (dbee complete ${r.project} --env ${env}) or abort it (dbee abort ${r.project} --env ${env}) first`
          : `finish its expand phase (dbee deploy ${r.project} --env ${env} --strategy expand-contract) or abort it`;
  return new DbeeError(`${what}: release ${r.release} of ${r.project} is in flight on ${env} (${r.phase})`, {
    code: 'EXPAND_IN_FLIGHT',
    hint: next,
    details: { release: r.release, phase: r.phase },
  });
}
