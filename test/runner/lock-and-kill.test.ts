import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, spawnDbee, workspaceWith, type TestWorkspace } from './helpers';
import { SHOP_V1 } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

/** Shop v1 plus a migration that sleeps: a deployment that is still running when another one starts. */
const slowShop = (seconds: number) => ({
  ...SHOP_V1,
  'shop/migrations/V2__slow.sql': `SELECT pg_sleep(${seconds});\n`,
  'shop/migrations/V2__slow.rollback.sql': 'SELECT 0;\n',
  'crm/db.yaml': dbYaml('crm'),
  'crm/s.sql': 'CREATE SCHEMA crm;\nCREATE TABLE crm.notes (id int);\n',
});

describe.each(ENGINES)('the deployment lock and killed deployments [%s]', (engine) => {
  it('a second deployment waits for the lock, fails after its timeout naming the holder, and never interleaves', async () => {
    const w = keep(await workspaceWith(engine, slowShop(4)));
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    await a.waitFor('migrate migration:shop/V2');

    const refused = await run(w.root, 'deploy', { project: 'crm', waitForLock: 1 }, w.target.vars);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /waiting up to 1s for the deployment lock held by \S+@\S+ \(pid \d+\) since \d{4}-\d\d-\d\dT/,
    );
    expect(refused.stdout.match(/waiting up to/g)).toHaveLength(1);
    expect(refused.stderr).toMatch(
      /^error: another deployment holds the lock on deploy: \S+@\S+ \(pid \d+\) since \d{4}-\d\d-\d\dT\S+; gave up after 1s\n/,
    );
    if (engine === 'pglite') expect(refused.stderr).toContain(`(pid ${a.child.pid})`);

    // A patient one waits until the first has finished, then runs.
    const waited = await run(w.root, 'deploy', { project: 'crm', waitForLock: 60 }, w.target.vars);
    expect(await a.exit).toBe(0);
    expect(waited.stderr).toBe('');
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain('waiting up to 60s for the deployment lock');
    const rows = await w.target.query<{ project: string; status: string; started_at: Date; finished_at: Date }>(
      'SELECT project, status, started_at, finished_at FROM dbee.deployments ORDER BY id',
    );
    expect(rows.map((r) => [r.project, r.status])).toEqual([
      ['shop', 'succeeded'],
      ['crm', 'succeeded'],
    ]);
    expect(new Date(rows[1]!.started_at).getTime()).toBeGreaterThanOrEqual(new Date(rows[0]!.finished_at).getTime());
  });

  it('a deployment killed with SIGKILL halfway leaves a consistent ledger; the next run marks it interrupted and completes', async () => {
    const w = keep(await workspaceWith(engine, slowShop(2)));
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    await a.waitFor('migrate migration:shop/V2');
    a.child.kill('SIGKILL');
    expect(await a.exit).toBeNull();

    // What the killed run left: its deployment still says running (its applied steps are counted when it is closed,
    // here by the next run); the steps before the slow one committed.
    const left = await w.target.query<{ status: string; steps_applied: number }>(
      'SELECT status, steps_applied FROM dbee.deployments',
    );
    expect(left).toEqual([{ status: 'running', steps_applied: 0 }]);
    expect(await w.target.query('SELECT status, count(*)::int AS n FROM dbee.steps GROUP BY status')).toEqual([
      { status: 'applied', n: 5 },
    ]);
    expect(await w.target.query('SELECT version FROM dbee.migrations')).toEqual([{ version: '1' }]);
    // dbee status counts the applied rows of a deployment still marked running.
    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.stdout).toContain('deploy running, 5/6 steps');

    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('warning: deployment #1 did not finish (the process ended): marked interrupted');
    // After a crash PostgreSQL may skip sequence values (they are logged ahead), so the new id is only "later".
    expect(again.stdout).toMatch(/shop: deploying 1 step \(deployment \d+\)/);
    const rows = await w.target.query<{
      id: number;
      status: string;
      steps_total: number;
      steps_applied: number;
      error: string | null;
    }>('SELECT id::int, status, steps_total, steps_applied, error FROM dbee.deployments ORDER BY id');
    expect(rows.map((r) => [r.status, r.steps_total, r.steps_applied])).toEqual([
      ['interrupted', 6, 5],
      ['succeeded', 1, 1],
    ]);
    expect(rows[0]!.id).toBe(1);
    expect(rows[0]!.error).toContain('interrupted: the process ended before the deployment finished');
    expect(await w.target.query('SELECT version FROM dbee.migrations ORDER BY version')).toEqual([
      { version: '1' },
      { version: '2' },
    ]);
    expect(await w.target.query('SELECT count(*)::int AS n FROM shop.customers')).toEqual([{ n: 2 }]);
  });
});
