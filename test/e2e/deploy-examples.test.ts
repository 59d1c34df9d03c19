import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteConnection } from '@dbee/postgres';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';

const REPO = join(__dirname, '..', '..');

/** A copy of the repository's examples and dbee.yaml in a temporary folder. */
function copyExamples(): string {
  const root = mkdtempSync(join(tmpdir(), 'dbee-e2e-'));
  cpSync(join(REPO, 'examples', 'core'), join(root, 'examples', 'core'), { recursive: true });
  cpSync(join(REPO, 'examples', 'sales'), join(root, 'examples', 'sales'), { recursive: true });
  cpSync(join(REPO, 'dbee.yaml'), join(root, 'dbee.yaml'));
  return root;
}

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

const engines: [
  string,
  () => Promise<{ env: string; vars: NodeJS.ProcessEnv; query: Query; done(): Promise<void> }>,
][] = [
  [
    'pglite',
    async () => {
      const root = current.root;
      return {
        env: 'local',
        vars: {},
        // Open the embedded database only between commands: PGlite allows one opener at a time.
        query: async (sql) => {
          const c = await PgliteConnection.open(join(root, '.dbee', 'local'), 'test');
          try {
            return (await c.query(sql)).rows;
          } finally {
            await c.close();
          }
        },
        done: async () => {},
      };
    },
  ],
  [
    'postgres',
    async () => {
      const db = await scratchDatabase();
      return { env: 'test', vars: { DBEE_TEST_URL: db.url }, query: (sql) => queryUrl(db.url, sql), done: db.drop };
    },
  ],
];

const current = { root: '' };

describe.each(engines)('deploy the examples [%s]', (_name, setup) => {
  let target: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    current.root = copyExamples();
    target = await setup();
  });
  afterAll(async () => {
    await target?.done();
    rmSync(current.root, { recursive: true, force: true });
  });

  it('deploys core then sales, in dependency order, and records both in the ledger', async () => {
    const r = await run(current.root, 'deploy', { project: 'sales', env: target.env }, target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.indexOf('core: deploying')).toBeLessThan(r.stdout.indexOf('sales: deploying'));
    const deployments = await target.query(
      'SELECT project, status, steps_total = steps_applied AS complete FROM dbee.deployments ORDER BY id',
    );
    expect(deployments).toEqual([
      { project: 'core', status: 'succeeded', complete: true },
      { project: 'sales', status: 'succeeded', complete: true },
    ]);
    const rows = await target.query("SELECT count(*)::int AS n FROM core.products WHERE sku LIKE 'TEA-%'");
    expect(rows).toEqual([{ n: 2 }]);
    const revenue = await target.query('SELECT * FROM sales.customer_revenue');
    expect(revenue).toEqual([]);
  });

  it('applies nothing on a second run', async () => {
    const r = await run(current.root, 'deploy', { project: 'sales', env: target.env }, target.vars);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('core: nothing to deploy');
    expect(r.stdout).toContain('sales: nothing to deploy');
    const n = await target.query('SELECT count(*)::int AS n FROM dbee.deployments');
    expect(n).toEqual([{ n: 2 }]);
  });

  it('status reports the last deployment and nothing pending', async () => {
    const r = await run(current.root, 'status', { project: 'sales', env: target.env, format: 'json' }, target.vars);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.lastDeployment.status).toBe('succeeded');
    expect(report.pendingSteps).toEqual([]);
    expect(report.metrics.deployments).toBe(1);
  });
});
