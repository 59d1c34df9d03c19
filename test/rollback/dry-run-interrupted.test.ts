import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, spawnDbee, type TestWorkspace } from '../runner/helpers';
import { deployedShop } from '../runner/shop';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** shop v1 deployed, then a deployment of v2 (a table, then a slow migration) killed while its migration runs. */
async function killedDuringMigration(engine: (typeof ENGINES)[number]): Promise<TestWorkspace> {
  const w = workspaces[workspaces.push(await deployedShop(engine)) - 1]!;
  w.write('shop/orders.sql', 'CREATE TABLE shop.orders (id int PRIMARY KEY);\n');
  w.write('shop/migrations/V2__slow.sql', 'SELECT pg_sleep(3);\n');
  w.write('shop/migrations/V2__slow.rollback.sql', 'SELECT 0;\n');
  const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
  await a.waitFor('migrate migration:shop/V2');
  a.child.kill('SIGKILL');
  expect(await a.exit).toBeNull();
  return w;
}

describe.each(ENGINES)('rollback --dry-run plans what the real rollback does [%s]', (engine) => {
  // Without --force the two runs judged drift against different deployments: the dry run against the last finished
  // one (#1, whose fingerprint the killed deployment's own step changed) and refused; the real run, after marking #2
  // interrupted, against #2, which recorded no fingerprint, and went ahead. Both now judge against #2. With --force (no
  // drift check) the dry run plans the same undo. Dry runs change nothing, so both are asked of one killed deployment
  // before the real run (one killed deployment per engine, not one per case).
  it('with a killed deployment still marked running, with or without --force: the dry run answers as the real run, and both undo that deployment', async () => {
    const w = await killedDuringMigration(engine);
    expect(await w.target.query('SELECT id::int, status FROM dbee.deployments ORDER BY id')).toEqual([
      { id: 1, status: 'succeeded' },
      { id: 2, status: 'running' },
    ]);

    const dry = await run(w.root, 'rollback', { project: 'shop', dryRun: true }, w.target.vars);
    expect(dry.stderr).not.toContain('changed outside dbee');
    expect(dry.stderr).toContain(
      'warning: deployment #2 did not finish (the process ended); a real run marks it interrupted, and so does this plan',
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/-- undo deployment #2 \(deploy interrupted/);
    expect(dry.stdout).not.toContain('undo deployment #1');

    const forced = await run(w.root, 'rollback', { project: 'shop', dryRun: true, force: true }, w.target.vars);
    expect(forced.stderr).toContain(
      'warning: deployment #2 did not finish (the process ended); a real run marks it interrupted, and so does this plan',
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/-- undo deployment #2 \(deploy interrupted/);
    expect(forced.stdout).not.toContain('undo deployment #1');
    // Neither dry run marked the deployment.
    expect(await w.target.query('SELECT id::int, status FROM dbee.deployments ORDER BY id')).toEqual([
      { id: 1, status: 'succeeded' },
      { id: 2, status: 'running' },
    ]);

    const real = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/undoing deployment #2 \(deploy, interrupted, 1 step\)/);
    expect(real.stdout).not.toContain('undoing deployment #1');
    expect(
      await w.target.query(
        "SELECT to_regclass('shop.orders') IS NULL AS gone, to_regclass('shop.customers') IS NOT NULL AS kept",
      ),
    ).toEqual([{ gone: true, kept: true }]);
  });
});
