import { describe, it } from 'vitest';
import { COLUMNS, TABLES, twoApps } from './two-apps';

// The Done-when scenario on a modest table; test/expand/two-apps.long.ts runs it on 100,000 rows
// (npm run test:expand-long).
describe.each([
  ['columns: added NOT NULL computed, renamed, retyped, NOT NULL added, dropped', COLUMNS],
  ['tables: a split, a merge, unique, foreign key and CHECK constraints, a table rename', TABLES],
])(
  'an old and a new application run through an expand-contract release (%s; 10,000 rows, server)',
  (_name, scenario) => {
    it('expand → backfill → complete: no error in either app, every row in both shapes', async () => {
      await twoApps(scenario, 10_000, 'complete');
    });
    it('expand → backfill → abort: no error in either app, rows the new app wrote kept in the old columns', async () => {
      await twoApps(scenario, 10_000, 'abort');
    });
  },
);
