import { describe, it } from 'vitest';
import { COLUMNS, TABLES, twoApps } from './two-apps';

// The Done-when scenario at the size (npm run test:expand-long): 100,000 rows.
describe.each([
  ['columns', COLUMNS],
  ['tables', TABLES],
])(
  'an old and a new application run through an expand-contract release (%s; 100,000 rows, server)',
  (_name, scenario) => {
    it('expand → backfill → complete', async () => {
      await twoApps(scenario, 100_000, 'complete');
    });
    it('expand → backfill → abort', async () => {
      await twoApps(scenario, 100_000, 'abort');
    });
  },
);
