import { describe, it } from 'vitest';
import { twoApps } from './two-apps';

// The Done-when scenario at the size (npm run test:expand-long): 100,000 rows.
describe('an old and a new application run through an expand-contract release (100,000 rows, server)', () => {
  it('expand → backfill → complete', async () => {
    await twoApps(100_000, 'complete');
  });
  it('expand → backfill → abort', async () => {
    await twoApps(100_000, 'abort');
  });
});
