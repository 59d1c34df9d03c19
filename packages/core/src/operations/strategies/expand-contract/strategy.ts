import type { ExpandKind } from '../../../expand/rules';
import type { Strategy } from '../strategy';
import { releasesInFlight } from './in-flight';

/**
 * The kinds of change with an expand rule: the keys of `EXPAND_RULES` (expand/rules/index.ts), in its order, named here
 * so that the table of strategies loads none of the rules (strategies.test.ts checks the two lists are one).
 */
export const EXPAND_KINDS = [
  'rename-table',
  'rename-column',
  'alter-column-type',
  'alter-column-nullability',
  'add-column',
  'drop-column',
  'create-table',
  'alter-column-default',
  'drop-constraint',
  'add-constraint',
] as const satisfies readonly ExpandKind[];

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
    changes: EXPAND_KINDS,
    roles: ['expand', 'diff'],
  },
  deploy: {
    command: async () => (await import('./expand')).expandDeploy,
    after: [],
    notApplicable: {
      converged:
        'a release in flight holds, by design, a shape the sources do not describe (shadow columns, version schemas): not compared with them; complete ends with the check',
    },
  },
  phases: {
    complete: {
      command: async () => (await import('./finish')).completePhase,
      after: ['deploy'],
    },
    abort: {
      command: async () => (await import('./finish')).abortPhase,
      after: ['deploy'],
      notApplicable: {
        converged: 'abort puts back the state before the release, which no sources describe: not compared',
      },
    },
  },
  inFlight: releasesInFlight,
  // What `dbee status` shows of a release: its module (the backfills, the rules) loads when status asks.
  status: { key: 'expand', read: async (...args) => (await import('./status')).EXPAND_STATUS.read(...args) },
};
