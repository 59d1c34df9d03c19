import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, snapshot, type Target, type TestWorkspace } from './helpers';
import { deployedShop, ledgerSteps, shopV2, writeAll } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

const catalog = async (t: Target) => (await snapshot(t, { withLedger: false })).catalog;
const objects = (t: Target) => t.query('SELECT object_key, checksum FROM dbee.objects ORDER BY 1');
const migrations = async (t: Target) => (await t.query<{ version: string }>('SELECT version FROM dbee.migrations ORDER BY version::int')).map((r) => r.version);
const deployments = (t: Target) =>
  t.query<{ id: number; kind: string; status: string; reverts: number | null; steps_total: number; steps_applied: number }>(
    'SELECT id::int, kind, status, reverts::int, steps_total, steps_applied FROM dbee.deployments ORDER BY id',
  );
const customers = (t: Target) => t.query('SELECT id, name FROM shop.customers ORDER BY id');

/**
 * Every direction of the runner in one scenario: a deployment that fails and is undone automatically, a deployment,
 * its rollback and the rollback of that rollback. Each leaves the schema and the ledger as the one before it says.
 */
describe.each(ENGINES)('one executor for deploy, automatic rollback and rollback [%s]', (engine) => {
  it('fail at step 5 of 10 with autoRollback, then deploy, roll back, and roll back the rollback', async () => {
    const w = keep(await deployedShop(engine, 'deploy:\n  autoRollback: true'));
    const v1 = await catalog(w.target);
    const v1Objects = await objects(w.target);

    // 1. Ten steps, the fifth fails: the four before it are undone, the ledger says so, the schema is v1 again.
    writeAll(w, shopV2(true));
    const failed = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('division by zero');
    expect(failed.stdout).toContain('shop: deploying 10 steps (deployment 2)');
    expect(failed.stdout).toContain('shop: rolling back 4 applied steps (autoRollback)');
    expect(await catalog(w.target)).toEqual(v1);
    expect(await objects(w.target)).toEqual(v1Objects);
    expect(await migrations(w.target)).toEqual(['1']);
    expect(await customers(w.target)).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'bob' },
    ]);
    expect((await ledgerSteps(w.target, 2)).map((s) => [s.step_order, s.action, s.status])).toEqual([
      [1, 'replace', 'undone'],
      [2, 'create', 'undone'],
      [3, 'create', 'undone'],
      [4, 'replace', 'undone'],
      [5, 'migrate', 'failed'],
    ]);
    expect(await deployments(w.target)).toEqual([
      { id: 1, kind: 'deploy', status: 'succeeded', reverts: null, steps_total: 5, steps_applied: 5 },
      { id: 2, kind: 'deploy', status: 'rolled-back', reverts: null, steps_total: 10, steps_applied: 0 },
    ]);

    // 2. Fixed, the ten steps deploy.
    writeAll(w, shopV2(false));
    const good = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('shop: deploying 10 steps (deployment 3)');
    const v2 = await catalog(w.target);
    const v2Objects = await objects(w.target);
    expect(v2).not.toEqual(v1);
    expect(await migrations(w.target)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    const deployed = await ledgerSteps(w.target, 3);
    expect(deployed.map((s) => s.status)).toEqual(Array(10).fill('applied'));
    expect(deployed.map((s) => s.action)).toEqual(['replace', 'create', 'create', 'replace', ...Array(6).fill('migrate')]);

    // 3. Its rollback: ten compensating steps, newest first; the schema, the data and the ledger's state are v1's.
    const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('shop: undoing deployment #3 (deploy, succeeded');
    expect(await catalog(w.target)).toEqual(v1);
    expect(await objects(w.target)).toEqual(v1Objects);
    expect(await migrations(w.target)).toEqual(['1']);
    expect(await customers(w.target)).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'bob' },
    ]);
    expect((await ledgerSteps(w.target, 3)).map((s) => s.status)).toEqual(Array(10).fill('undone'));
    const undo = await w.target.query<{ step_order: number; action: string; status: string; reverts_step: number }>(
      'SELECT step_order, action, status, reverts_step FROM dbee.steps WHERE deployment_id = 4 ORDER BY step_order',
    );
    expect(undo.map((s) => [s.step_order, s.reverts_step, s.status])).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, 10 - i, 'applied']));
    expect(undo.map((s) => s.action)).toEqual(deployed.map((s) => `undo-${s.action}`).reverse());

    // 4. The rollback of the rollback: the ten steps again, the schema and the ledger's state are v2's.
    const redo = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(redo.stderr).toBe('');
    expect(redo.code).toBe(0);
    expect(redo.stdout).toContain('shop: undoing deployment #4 (rollback, succeeded');
    expect(await catalog(w.target)).toEqual(v2);
    expect(await objects(w.target)).toEqual(v2Objects);
    expect(await migrations(w.target)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(await customers(w.target)).toEqual([
      { id: 1, name: 'ada!' },
      { id: 2, name: 'bob!' },
    ]);
    expect((await ledgerSteps(w.target, 3)).map((s) => s.status)).toEqual(Array(10).fill('applied'));
    expect((await ledgerSteps(w.target, 4)).map((s) => s.status)).toEqual(Array(10).fill('undone'));
    const redone = await w.target.query<{ action: string; status: string; reverts_step: number }>(
      'SELECT action, status, reverts_step FROM dbee.steps WHERE deployment_id = 5 ORDER BY step_order',
    );
    // Newest first again: step 1 undoes the rollback's step 10 (which undid step 1 of deployment 3).
    expect(redone.map((s) => [s.reverts_step, s.action, s.status])).toEqual([...undo].reverse().map((s) => [s.step_order, s.action.slice('undo-'.length), 'applied']));
    expect(await deployments(w.target)).toEqual([
      { id: 1, kind: 'deploy', status: 'succeeded', reverts: null, steps_total: 5, steps_applied: 5 },
      { id: 2, kind: 'deploy', status: 'rolled-back', reverts: null, steps_total: 10, steps_applied: 0 },
      // Its steps applied again by the rollback of its rollback.
      { id: 3, kind: 'deploy', status: 'succeeded', reverts: null, steps_total: 10, steps_applied: 10 },
      { id: 4, kind: 'rollback', status: 'succeeded', reverts: 3, steps_total: 10, steps_applied: 0 },
      { id: 5, kind: 'rollback', status: 'succeeded', reverts: 4, steps_total: 10, steps_applied: 10 },
    ]);
  });
});
