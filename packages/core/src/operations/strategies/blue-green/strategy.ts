import type { Strategy } from '../strategy';
import { blueGreenInFlight } from './in-flight';

/** Why the guarantee matrix's shared workspace cannot run the strategy's phases, and the test that runs their rows. */
const OWN_STAGE =
  'needs a server with wal_level = logical, a green environment and a router: test/blue-green/matrix.test.ts runs its row on a cluster of its own';

/**
 * Why the phases after `deploy` end with no convergence check (issue 88): `deploy` deploys the release to green through
 * the direct strategy's run, which ends with it (green's objects the steps touched equal the sources).
 */
const NO_OBJECTS =
  'changes no object of the sources: it moves the application between the sides (writes paused, replication, the router), or drops the side that no longer serves';

/**
 * The blue/green strategy (docs/blue-green.md): `deploy` makes green, a copy of blue's database kept in sync by the
 * engine's logical replication, and deploys the release to it through the pipeline while blue serves; `switch` moves
 * the application to green with its writes paused for a moment (replication then runs back to blue), `fallback` moves
 * it back, `finish` drops replication and the side that no longer serves. What it holds meanwhile (replication, the
 * router's side) is its work in flight, read from the `blue_green` record of blue's ledger.
 */
export const BLUE_GREEN: Strategy = {
  name: 'blue-green',
  summary: 'the release deployed to a green copy kept in sync, then switch, fallback or finish',
  accepts: { options: {}, changes: 'every', roles: ['blueGreen', 'diff'] },
  deploy: {
    command: async () => (await import('./deploy')).blueGreenDeploy,
    after: [],
    ownStage: OWN_STAGE,
  },
  phases: {
    switch: {
      command: async () => (await import('./switch')).switchPhaseCommand,
      after: ['deploy'],
      ownStage: OWN_STAGE,
      notApplicable: { converged: NO_OBJECTS },
    },
    fallback: {
      command: async () => (await import('./switch')).fallbackPhaseCommand,
      after: ['deploy', 'switch'],
      ownStage: OWN_STAGE,
      notApplicable: { converged: NO_OBJECTS },
    },
    finish: {
      command: async () => (await import('./finish')).finishPhaseCommand,
      after: ['deploy'],
      ownStage: OWN_STAGE,
      notApplicable: { converged: NO_OBJECTS },
    },
  },
  inFlight: blueGreenInFlight,
  // What `dbee status` shows of it: its module loads when status asks.
  status: { key: 'blueGreen', read: async (...args) => (await import('./status')).BLUE_GREEN_STATUS.read(...args) },
};
