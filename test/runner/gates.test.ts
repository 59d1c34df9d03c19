import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPackage, writePackage } from '@dbee/core';
import { run } from '../support/run';
import { ENGINES, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';
import { deployedShop, SHOP_V1 } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

const WEDNESDAY_NOON = new Date('2026-11-18T12:00:00Z');
const SATURDAY_3AM = new Date('2026-11-21T03:00:00Z');

/** A package of shop v1 whose table step carries a data-loss hazard (hazards come from the diff engine). */
async function hazardousPackage(w: TestWorkspace): Promise<string> {
  const made = await run(w.root, 'plan', { project: 'shop', out: 'dist/plain' }, w.target.vars);
  expect(made.code).toBe(0);
  const plan = readPackage(join(w.root, 'dist', 'plain')).plan;
  const step = plan.steps.find((s) => s.key === 'table:shop.customers')!;
  step.hazards = [{ kind: 'data-loss', message: 'drops column shop.customers.email and its data' }];
  const dir = join(w.root, 'dist', 'shop-pkg');
  writePackage(dir, plan, {
    toolVersion: 'test',
    sources: Object.entries(SHOP_V1).map(([path, text]) => ({ path, text })),
  });
  return 'dist/shop-pkg';
}

describe.each(ENGINES)('gates and step policies [%s]', (engine) => {
  it('a protected environment refuses a non-interactive run without --assume-yes (exit 1, nothing applied), and accepts it with', async () => {
    const w = keep(
      await workspaceWith(engine, {
        ...SHOP_V1,
        'dbee.yaml': workspaceYaml(engine, { environment: 'gates:\n  protected: true\n  countdown: 0' }),
      }),
    );
    const before = await snapshot(w.target);
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('environment target is protected: a non-interactive run needs --assume-yes');
    expect((await snapshot(w.target)).hash).toBe(before.hash);
    const ok = await run(w.root, 'deploy', { project: 'shop', assumeYes: true, countdownFrom: '1' }, w.target.vars);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('starting in 1...');
  });

  it('a maintenance window refuses outside its hours and accepts inside them (clock injected)', async () => {
    const window =
      'gates:\n  maintenanceWindows:\n    - { days: [sat, sun], from: "02:00", to: "06:00", timezone: UTC }';
    const w = keep(
      await workspaceWith(engine, { ...SHOP_V1, 'dbee.yaml': workspaceYaml(engine, { environment: window }) }),
    );
    const before = await snapshot(w.target);
    const r = await run(w.root, 'deploy', { project: 'shop', now: WEDNESDAY_NOON }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'environment target only accepts deployments inside its maintenance window (sat,sun 02:00-06:00 UTC)',
    );
    expect((await snapshot(w.target)).hash).toBe(before.hash);
    const ok = await run(w.root, 'deploy', { project: 'shop', now: SATURDAY_3AM }, w.target.vars);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('requireBackup refuses the drop strategy and accepts rename', async () => {
    const w = keep(await deployedShop(engine, 'gates:\n  requireBackup: true'));
    const c = await w.target.connect();
    await c.execute('CREATE TABLE shop.orders (id int)');
    await c.close();
    w.write('shop/orders.sql', 'CREATE TABLE shop.orders (id int, total numeric);\n');
    const before = await snapshot(w.target);
    const r = await run(w.root, 'deploy', { project: 'shop', ifExists: 'drop' }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'would drop the existing table:shop.orders (conflict rule --if-exists), but environment target requires a backup',
    );
    expect(r.stderr).toContain('nothing was applied');
    expect((await snapshot(w.target)).hash).toBe(before.hash);
    const ok = await run(w.root, 'deploy', { project: 'shop', ifExists: 'rename' }, w.target.vars);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('a step whose hazard the environment does not allow is refused unless --allow-hazards or deploy.allowHazards accepts it', async () => {
    const w = keep(await workspaceWith(engine, SHOP_V1));
    const pkg = await hazardousPackage(w);
    const before = await snapshot(w.target);
    const dry = await run(w.root, 'deploy', { project: 'shop', package: pkg, dryRun: true }, w.target.vars);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('--   hazard data-loss: drops column shop.customers.email and its data');
    const r = await run(w.root, 'deploy', { project: 'shop', package: pkg }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /step \d+ \(create table:shop\.customers\) has hazards environment target does not allow: data-loss \(drops column shop\.customers\.email and its data\)/,
    );
    expect(r.stderr).toContain('--allow-hazards=data-loss');
    expect((await snapshot(w.target)).hash).toBe(before.hash);
    const wrong = await run(
      w.root,
      'deploy',
      { project: 'shop', package: pkg, allowHazards: 'table-rewrite,long-lock' },
      w.target.vars,
    );
    expect(wrong.code).toBe(1);
    const ok = await run(
      w.root,
      'deploy',
      { project: 'shop', package: pkg, allowHazards: 'table-rewrite,data-loss' },
      w.target.vars,
    );
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // The ledger identifies a package deployment by the package's plan checksum.
    expect(await w.target.query('SELECT package, plan_checksum FROM dbee.deployments')).toEqual([
      { package: join(w.root, pkg), plan_checksum: readPackage(join(w.root, pkg)).manifest.planChecksum },
    ]);
  });

  it('deploy.allowHazards accepts a hazard; requireBackup still refuses a data-loss step', async () => {
    const w = keep(await workspaceWith(engine, SHOP_V1));
    const pkg = await hazardousPackage(w);
    w.write(
      'dbee.yaml',
      workspaceYaml(engine, { environment: 'gates:\n  requireBackup: true\ndeploy:\n  allowHazards: [data-loss]' }),
    );
    const refused = await run(w.root, 'deploy', { project: 'shop', package: pkg }, w.target.vars);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'loses data (drops column shop.customers.email and its data), but environment target requires a backup',
    );
    w.write('dbee.yaml', workspaceYaml(engine, { environment: 'deploy:\n  allowHazards: [data-loss]' }));
    const ok = await run(w.root, 'deploy', { project: 'shop', package: pkg }, w.target.vars);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('an unknown hazard kind in --allow-hazards is refused with exit 1', async () => {
    const w = keep(await workspaceWith(engine, SHOP_V1));
    const r = await run(w.root, 'deploy', { project: 'shop', allowHazards: 'data-loss,everything' }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      '--allow-hazards: expected one of data-loss, table-rewrite, long-lock, backward-incompatible, index-build, rls-bypass, got "everything"',
    );
  });
});
