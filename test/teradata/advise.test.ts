import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installHelpStats, type HelpStats } from '../../packages/teradata/testing';
import { run } from '../support/run';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * `dbee advise` on Teradata (the `statisticsAdvice` role of @dbee/teradata), on the fake system with the optimizer's
 * recommendations added (`installHelpStats`, after the manuals): the example project deployed (it collects statistics
 * on orders.customer_id and orders.order_date), the application's queries from a file; a statistic the optimizer asks
 * for is missing, one collected long ago is stale, both written as `COLLECT STATISTICS ... USING THRESHOLD`; `--write`
 * makes a migration that `dbee deploy` runs, after which nothing is missing. Nothing here has run on a live system.
 */

const QUERIES = `SELECT order_id, amount FROM DEV_EDW.orders WHERE status = 'C';
SELECT order_id FROM DEV_EDW.orders WHERE customer_id = 42;
`;

let w: TeradataWorkspace;
let stats: HelpStats;
const advise = (options: Record<string, unknown> = {}) =>
  run(
    w.root,
    'advise',
    { project: 'edw', env: 'td-dev', queries: 'app/queries.txt', format: 'json', ...options },
    { TD_PASSWORD: 'td-test-secret' },
  );

interface StatisticsJson {
  collect: { table: string; columns: string[]; reason: string; statement: string; queries: string[] }[];
}

beforeAll(async () => {
  w = teradataWorkspace();
  stats = installHelpStats(w.session);
  const r = await w.dbee('deploy', { assumeYes: true });
  expect(r.code, r.stderr).toBe(0);
  // Not .sql: the example project's folder is the workspace's root, and every .sql file under it is a source.
  mkdirSync(join(w.root, 'app'));
  w.write('app/queries.txt', QUERIES);
  // order_date's statistic was collected 30 days ago.
  stats.collectedAt('DEV_EDW.ORDERS', ['ORDER_DATE'], new Date(Date.now() - 30 * 86_400_000));
});
afterAll(() => w?.dispose());

describe('dbee advise on Teradata (fake system)', () => {
  it('reports the statistic the optimizer asks for as missing and an old one as stale, as COLLECT ... USING THRESHOLD', async () => {
    const r = await advise();
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as StatisticsJson;
    expect(report.collect.map((c) => [c.table, c.columns.join(','), c.reason])).toEqual([
      ['ORDERS', 'STATUS', 'missing'],
      ['ORDERS', 'ORDER_DATE', 'stale'],
    ]);
    expect(report.collect[0]!.statement).toBe(
      'COLLECT STATISTICS USING THRESHOLD 10 PERCENT AND THRESHOLD 7 DAYS COLUMN (STATUS) ON DEV_EDW.ORDERS',
    );
    expect(report.collect[0]!.queries).toEqual(['app/queries.txt:1']);
    const text = await advise({ format: 'text' });
    expect(text.stdout).toMatch(/Indexes: not advised on this engine/);
  });

  it('--write: a migration that dbee deploy runs, after which nothing is missing', async () => {
    const r = await advise({ write: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote migrations\/V1__collect_statistics\.sql/);
    expect(readFileSync(join(w.root, 'migrations/V1__collect_statistics.sql'), 'utf8')).toMatch(
      /COLLECT STATISTICS USING THRESHOLD 10 PERCENT AND THRESHOLD 7 DAYS COLUMN \(STATUS\) ON DEV_EDW\.ORDERS;/,
    );
    const deployed = await w.dbee('deploy', { assumeYes: true });
    expect(deployed.code, deployed.stderr).toBe(0);
    const after = JSON.parse((await advise()).stdout) as StatisticsJson;
    expect(after.collect).toEqual([]);
  });
});
