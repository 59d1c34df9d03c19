import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TARGETS, type Target } from './targets';

const REPO = join(__dirname, '..', '..');

/** A copy of the repository's examples and dbee.yaml in a temporary folder. */
function copyExamples(): string {
  const root = mkdtempSync(join(tmpdir(), 'dbee-smoke-'));
  cpSync(join(REPO, 'examples', 'core'), join(root, 'examples', 'core'), { recursive: true });
  cpSync(join(REPO, 'examples', 'sales'), join(root, 'examples', 'sales'), { recursive: true });
  cpSync(join(REPO, 'dbee.yaml'), join(root, 'dbee.yaml'));
  return root;
}

describe.each(TARGETS)('smoke-test the deployed examples [%s]', (_name, setup) => {
  let root = '';
  let target: Target;
  beforeAll(async () => {
    root = copyExamples();
    target = await setup(() => root);
    const r = await run(root, 'deploy', { project: 'sales', env: target.env }, target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await target?.done();
    rmSync(root, { recursive: true, force: true });
  });

  it('passes every check of sales, baseline and files, printing each with its time', async () => {
    const r = await run(root, 'smoke-test', { project: 'sales', env: target.env }, target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^sales: smoke checks on (local|test) \(.*\), after deployment #2 \(succeeded\)$/);
    expect(lines.slice(1, -2).map((l) => l.replace(/\(\d+ ms\)$/, '(t)'))).toEqual([
      '  pass  baseline: deployed objects exist (t)',
      '  pass  baseline: view sales.customer_revenue compiles (t)',
      '  pass  baseline: view sales.order_totals compiles (t)',
      '  pass  cancelling stale orders runs without warnings (rolled back afterwards) (t)',
      '  pass  revenue view has its columns (t)',
      '  pass  order total of a missing order is zero (t)',
    ]);
    expect(lines.at(-2)).toBe('sales: 6 passed, 0 failed');
  });

  it('passes the checks of core too, and reports them as JSON', async () => {
    const r = await run(root, 'smoke-test', { project: 'core', env: target.env, format: 'json' }, target.vars);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ project: 'core', environment: target.env, deploymentId: 1, passed: true });
    expect(
      report.results.map((x: { name: string; status: string; source: string }) => [x.name, x.status, x.source]),
    ).toEqual([
      ['baseline: deployed objects exist', 'passed', 'baseline'],
      ['baseline: view core.active_customers compiles', 'passed', 'baseline'],
      ['active customers view answers with its columns', 'passed', 'examples/core/smoke/core.yaml:3'],
      ['e-mail normalisation', 'passed', 'examples/core/smoke/core.yaml:6'],
    ]);
    expect(report.results.every((x: { durationMs: unknown }) => typeof x.durationMs === 'number')).toBe(true);
  });

  it("stores every result in dbee.smoke_results against the project's last deployment", async () => {
    const rows = await target.query(
      `SELECT project, environment, deployment_id::int AS deployment, count(*)::int AS checks, count(*) FILTER (WHERE status = 'passed')::int AS passed
         FROM dbee.smoke_results GROUP BY 1, 2, 3 ORDER BY 1`,
    );
    // Each check ran twice against the same deployment: once by deploy right after applying, once by smoke-test.
    expect(rows).toEqual([
      { project: 'core', environment: target.env, deployment: 1, checks: 8, passed: 8 },
      { project: 'sales', environment: target.env, deployment: 2, checks: 12, passed: 12 },
    ]);
  });

  it('changes no data: the stale-order procedure ran inside a transaction that was rolled back', async () => {
    const before = await target.query(`SELECT count(*)::int AS n FROM sales.orders WHERE status = 'cancelled'`);
    await target.query(
      `INSERT INTO core.customers (email, full_name, status, country) VALUES ('a@b.c', 'Ada', 'active', 'GB')`,
    );
    await target.query(
      `INSERT INTO sales.orders (customer_id, ordered_at) SELECT id, now() - interval '1 year' FROM core.customers`,
    );
    const r = await run(root, 'smoke-test', { project: 'sales', env: target.env }, target.vars);
    expect(r.code).toBe(0);
    const after = await target.query(`SELECT status FROM sales.orders`);
    expect(before).toEqual([{ n: 0 }]);
    expect(after).toEqual([{ status: 'open' }]);
  });
});
