import { describe, it } from 'vitest';
import { twoApps } from './two-apps';

// The Done-when scenario on a modest table; test/expand/two-apps.long.ts runs it on 100,000 rows
// (npm run test:expand-long).
describe('an old and a new application run through an expand-contract release (10,000 rows, server)', () => {
  it('expand → backfill → complete: no error in either app, every row in both shapes', async () => {
    await twoApps(10_000, 'complete');
  });
  it('expand → backfill → abort: no error in either app, rows the new app wrote kept in the old columns', async () => {
    await twoApps(10_000, 'abort');
  });
});
