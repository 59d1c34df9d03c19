import type { Strategy } from '../strategy';

/**
 * The direct strategy: the plan's steps, sent by the runner in transactions with their ledger rows, the smoke checks
 * after (direct.ts). Nothing outlives its run: it has no phase after `deploy` and nothing in flight.
 */
export const DIRECT: Strategy = {
  name: 'direct',
  summary: "the plan's steps",
  accepts: {
    options: {
      objects: 'deploys a selection of the plan',
      objectsFrom: 'deploys a selection of the plan',
    },
    changes: 'every',
    roles: [],
  },
  deploy: { command: async () => (await import('./direct')).directDeploy, after: [] },
};
