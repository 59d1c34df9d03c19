import { EXPAND_RULES } from '../../../expand/rules';
import type { ChangeKind } from '../../../schema/change';
import type { Strategy } from '../strategy';
import { releasesInFlight } from './in-flight';
import { EXPAND_STATUS } from './status';

/**
 * The expand-contract strategy (docs/zero-downtime.md): `deploy` expands a release (additive DDL, sync triggers, a
 * backfill in keyset batches, a version schema of views for the old shape and one for the new), so the old and the new
 * application run at once; `complete` contracts it to the new shape, `abort` takes the expand back. What a release
 * holds meanwhile is its work in flight.
 */
export const EXPAND_CONTRACT: Strategy = {
  name: 'expand-contract',
  summary: 'additive changes, a backfill and a version schema per release, then complete or abort',
  accepts: {
    options: { release: 'names the release (its version schemas)' },
    // The kinds with an expand rule (one module each): the rest are refused, each named, when a release is planned.
    changes: Object.keys(EXPAND_RULES) as ChangeKind[],
    roles: ['expand', 'diff'],
  },
  deploy: { command: async () => (await import('./expand')).expandDeploy, after: [] },
  phases: {
    complete: { command: async () => (await import('./finish')).completePhase, after: ['deploy'] },
    abort: { command: async () => (await import('./finish')).abortPhase, after: ['deploy'] },
  },
  inFlight: releasesInFlight,
  status: EXPAND_STATUS,
};
