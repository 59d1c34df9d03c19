import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';
import { deployedShops, SHOP_V1, shopV2, writeAll } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);
// Shop v1 deployed once per environment on PGlite, copied for each case (shop.ts).
const shops = deployedShops();
afterAll(() => shops.removeAll());
const readJson = (w: TestWorkspace, rel: string) => JSON.parse(readFileSync(join(w.root, rel), 'utf8'));

describe.each(ENGINES)('progress, reports, summary and status [%s]', (engine) => {
  it('prints plain progress lines and a summary, and --report writes the deployment as JSON', async () => {
    const w = keep(await workspaceWith(engine, SHOP_V1));
    const r = await run(
      w.root,
      'deploy',
      { project: 'shop', report: 'out/deploy.json' },
      { ...w.target.vars, GITHUB_RUN_ID: '4242' },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  [1/5] create schema:shop\n  [1/5] ok ');
    expect(r.stdout).toMatch(
      /summary:\n {2}time: {8}\S+ \.\. \S+\n {2}environment: target \(\S+\)\n {2}projects: {4}shop succeeded 5\/5 steps \(deployment 1\)\n {2}source: {6}commit unknown \(not a git checkout\)\n {2}who: {9}\S+@\S+ \(CI job 4242\)\n {2}backups: {5}none\n {2}smoke: {7}shop \d+\/\d+ passed\n {2}duration: {4}.+\n {2}status: {6}succeeded \(exit 0\)\n/,
    );
    const report = readJson(w, 'out/deploy.json');
    expect(report).toMatchObject({
      formatVersion: 1,
      environment: 'target',
      planned: ['shop'],
      status: 'succeeded',
      exitCode: 0,
      transaction: 'object',
      smoke: expect.stringMatching(/^shop \d+\/\d+ passed$/),
      backups: [],
      who: { ciJob: '4242' },
      projects: [{ project: 'shop', deploymentId: 1, status: 'succeeded', stepsApplied: 5, stepsTotal: 5 }],
    });
    expect(report.steps.map((s: { key: string; status: string }) => `${s.key} ${s.status}`).sort()).toEqual([
      'function:shop.greet(text) applied',
      'migration:shop/V1 applied',
      'schema:shop applied',
      'table:shop.customers applied',
      'view:shop.names applied',
    ]);
  });

  it('a failed, rolled-back deployment and a refused one are reported with their exit codes', async () => {
    const w = keep(await shops.deployed(engine, 'deploy:\n  autoRollback: true'));
    writeAll(w, shopV2(true));
    const failed = await run(w.root, 'deploy', { project: 'shop', report: 'failed.json' }, w.target.vars);
    expect(failed.code).toBe(2);
    expect(failed.stdout).toContain('  [5/10] FAILED ');
    expect(failed.stdout).toContain('status:      rolled-back (exit 2)');
    const report = readJson(w, 'failed.json');
    expect(report).toMatchObject({
      status: 'rolled-back',
      exitCode: 2,
      error: { message: expect.stringContaining('division by zero') },
    });
    expect(report.projects[0]).toMatchObject({
      status: 'rolled-back',
      stepsApplied: 0,
      rollback: { undone: 4, incomplete: null },
    });
    expect(report.steps.map((s: { status: string }) => s.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'failed',
      'not-run',
      'not-run',
      'not-run',
      'not-run',
      'not-run',
    ]);

    w.write('dbee.yaml', workspaceYaml(engine, { environment: 'gates:\n  protected: true' }));
    const refused = await run(w.root, 'deploy', { project: 'shop', report: 'refused.json' }, w.target.vars);
    expect(refused.code).toBe(1);
    expect(refused.stdout).not.toContain('summary:');
    expect(readJson(w, 'refused.json')).toMatchObject({
      status: 'refused',
      exitCode: 1,
      error: { code: 'GATE_CONFIRMATION_REQUIRED' },
      steps: [],
    });
  });

  it('status reports drift once the schema changes outside dbee, and the mean time to rollback', async () => {
    const w = keep(await shops.deployed(engine, 'deploy:\n  autoRollback: true'));
    const status = async () => {
      const r = await run(w.root, 'status', { project: 'shop', format: 'json' }, w.target.vars);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const clean = await status();
    expect(clean.drift).toMatchObject({ state: 'no' });
    expect(clean.metrics.meanTimeToRollbackMs).toBeNull();

    const c = await w.target.connect();
    await c.execute('ALTER TABLE shop.customers ADD COLUMN note text');
    await c.close();
    expect((await status()).drift.state).toBe('yes');
    const text = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(text.stdout).toContain(
      '  drift: yes (the schemas changed outside dbee since the last deployment: table:shop.customers)',
    );
    expect(text.stdout).toContain('    alter table:shop.customers (drift: changed outside dbee)');

    writeAll(w, shopV2(true));
    // The hand-made column is drift: no deployment writes over it (the default strategy refuses it, exit 1).
    const refused = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('table:shop.customers was changed outside dbee');
    const d = await w.target.connect();
    await d.execute('ALTER TABLE shop.customers DROP COLUMN note');
    await d.close();
    expect((await run(w.root, 'deploy', { project: 'shop' }, w.target.vars)).code).toBe(2);
    const after = await status();
    expect(after.metrics.rollbacks).toBe(1);
    expect(after.metrics.meanTimeToRollbackMs).toBeGreaterThanOrEqual(0);
    expect(after.lastDeployment.status).toBe('rolled-back');
    // The rolled-back deployment recorded the schema it left: no drift.
    expect(after.drift.state).toBe('no');
  });
});
