import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, workspaceYaml, type TestWorkspace } from './helpers';
import { deployedShops, ledgerSteps, shopV2, writeAll } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);
// Shop v1 deployed once per environment on PGlite, copied for each case (shop.ts).
const shops = deployedShops();
afterAll(() => shops.removeAll());

describe.each(ENGINES)('failures, automatic rollback and resuming [%s]', (engine) => {
  it('a failing statement in step 5 of 10 with autoRollback: the catalog is as before, the ledger records the failure and the undo', async () => {
    const w = keep(await shops.deployed(engine, 'deploy:\n  autoRollback: true'));
    const before = await snapshot(w.target, { withLedger: false });
    const objectsBefore = await w.target.query('SELECT object_key, checksum FROM dbee.objects ORDER BY 1');
    writeAll(w, shopV2(true));

    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('division by zero');
    expect(r.stderr).toContain('were undone');
    expect(r.stdout).toContain('shop: rolling back 4 applied steps (autoRollback)');

    const after = await snapshot(w.target, { withLedger: false });
    expect(after.catalog).toEqual(before.catalog);
    expect(await w.target.query('SELECT id, name FROM shop.customers ORDER BY id')).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'bob' },
    ]);
    const deployments = await w.target.query<{
      id: number;
      status: string;
      steps_total: number;
      steps_applied: number;
      error: string;
      failed_statement: string;
      summary: Record<string, unknown>;
    }>(
      'SELECT id::int, status, steps_total, steps_applied, error, failed_statement, summary FROM dbee.deployments ORDER BY id',
    );
    expect(deployments.map((d) => [d.id, d.status, d.steps_total, d.steps_applied])).toEqual([
      [1, 'succeeded', 5, 5],
      [2, 'rolled-back', 10, 0],
    ]);
    expect(deployments[1]!.error).toContain('division by zero');
    expect(deployments[1]!.failed_statement).toBe('SELECT 1/0');
    expect(deployments[1]!.summary).toMatchObject({
      transaction: 'object',
      failedAt: expect.any(String),
      rolledBackAt: expect.any(String),
    });
    const steps = await ledgerSteps(w.target, 2);
    expect(steps.map((s) => [s.step_order, s.status])).toEqual([
      [1, 'undone'],
      [2, 'undone'],
      [3, 'undone'],
      [4, 'undone'],
      [5, 'failed'],
    ]);
    expect(
      steps
        .slice(0, 4)
        .map((s) => s.action)
        .sort(),
    ).toEqual(['create', 'create', 'replace', 'replace']);
    expect(steps[4]).toMatchObject({ object_key: 'migration:shop/V2', action: 'migrate' });
    // The replaced view's previous definition was captured before the step, and is its recorded reverse.
    const view = await w.target.query<{ previous_definition: string; reverse_statements: string[] }>(
      "SELECT previous_definition, reverse_statements FROM dbee.steps WHERE deployment_id = 2 AND object_key = 'view:shop.names'",
    );
    expect(view[0]!.previous_definition).toMatch(/^CREATE OR REPLACE VIEW shop\.names AS\n/);
    expect(view[0]!.previous_definition).not.toContain('upper');
    expect(view[0]!.reverse_statements).toEqual([view[0]!.previous_definition]);
    expect(await w.target.query('SELECT object_key, checksum FROM dbee.objects ORDER BY 1')).toEqual(objectsBefore);
    expect(await w.target.query('SELECT version FROM dbee.migrations')).toEqual([{ version: '1' }]);

    // Fixed, the same deployment goes through.
    writeAll(w, shopV2(false));
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('shop: deploying 10 steps (deployment 3)');
  });

  it('without autoRollback a failed deployment stops at the failing step, and a re-run resumes after the steps that applied', async () => {
    const w = keep(await shops.deployed(engine));
    writeAll(w, shopV2(true));
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('fix the cause and deploy again to resume');
    expect((await ledgerSteps(w.target, 2)).map((s) => s.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'failed',
    ]);
    expect(await w.target.query("SELECT shop.greet('x') AS g")).toEqual([{ g: 'hi x' }]);
    expect(await w.target.query('SELECT count(*)::int AS n FROM shop.orders')).toEqual([{ n: 0 }]);

    writeAll(w, shopV2(false));
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('shop: deploying 6 steps (deployment 3)');
    expect(again.stdout).toContain('[1/6] migrate migration:shop/V2');
    expect(
      await w.target.query('SELECT id::int, status, steps_total, steps_applied FROM dbee.deployments ORDER BY id'),
    ).toEqual([
      { id: 1, status: 'succeeded', steps_total: 5, steps_applied: 5 },
      { id: 2, status: 'failed', steps_total: 10, steps_applied: 4 },
      { id: 3, status: 'succeeded', steps_total: 6, steps_applied: 6 },
    ]);
    expect(await w.target.query('SELECT name FROM shop.customers ORDER BY id')).toEqual([
      { name: 'ada!' },
      { name: 'bob!' },
    ]);
  });

  it('transaction: project puts the project in one transaction: a failure rolls back every step before it', async () => {
    const w = keep(await shops.deployed(engine, 'deploy:\n  transaction: project'));
    const before = await snapshot(w.target, { withLedger: false });
    writeAll(w, shopV2(true));
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(before.catalog);
    expect((await ledgerSteps(w.target, 2)).map((s) => s.status)).toEqual([
      'rolled-back',
      'rolled-back',
      'rolled-back',
      'rolled-back',
      'failed',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
    ]);
    expect(await w.target.query('SELECT status, steps_applied FROM dbee.deployments WHERE id = 2')).toEqual([
      { status: 'failed', steps_applied: 0 },
    ]);
  });

  it('a non-transactional statement runs alone, is recorded as such, and stays applied when a later transaction fails', async () => {
    const w = keep(await shops.deployed(engine, 'deploy:\n  transaction: project'));
    writeAll(w, {
      ...shopV2(false),
      'shop/migrations/V3__step.sql': 'CREATE INDEX CONCURRENTLY customers_name_idx ON shop.customers (name);\n',
      'shop/migrations/V3__step.rollback.sql': 'DROP INDEX CONCURRENTLY shop.customers_name_idx;\n',
      'shop/migrations/V4__step.sql': 'SELECT 1/0;\n',
    });
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    const steps = await w.target.query<{ step_order: number; status: string; transactional: boolean }>(
      'SELECT step_order, status, transactional FROM dbee.steps WHERE deployment_id = 2 ORDER BY step_order',
    );
    expect(steps.map((s) => [s.step_order, s.status, s.transactional])).toEqual([
      [1, 'applied', true],
      [2, 'applied', true],
      [3, 'applied', true],
      [4, 'applied', true],
      [5, 'applied', true],
      [6, 'applied', false],
      [7, 'failed', true],
      [8, 'skipped', true],
      [9, 'skipped', true],
      [10, 'skipped', true],
    ]);
    expect(await w.target.query("SELECT indexname FROM pg_indexes WHERE indexname = 'customers_name_idx'")).toEqual([
      { indexname: 'customers_name_idx' },
    ]);
  });

  it('a transaction that fails at COMMIT (a deferred constraint) is recorded as a failure of its last step', async () => {
    const w = keep(await shops.deployed(engine, 'deploy:\n  transaction: project'));
    writeAll(w, {
      'shop/zz.sql': 'CREATE TABLE shop.zz (id int);\n',
      'shop/migrations/V2__deferred.sql':
        'CREATE TABLE shop.refs (id int PRIMARY KEY, customer int REFERENCES shop.customers (id) DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO shop.refs VALUES (1, 999);\n',
      'shop/migrations/V2__deferred.rollback.sql': 'DROP TABLE shop.refs;\n',
    });
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('foreign key');
    expect((await ledgerSteps(w.target, 2)).map((s) => [s.object_key, s.status])).toEqual([
      ['table:shop.zz', 'rolled-back'],
      ['migration:shop/V2', 'failed'],
    ]);
    expect(await w.target.query('SELECT failed_statement FROM dbee.deployments WHERE id = 2')).toEqual([
      { failed_statement: 'COMMIT' },
    ]);
    expect(await w.target.query("SELECT to_regclass('shop.zz') IS NULL AS gone")).toEqual([{ gone: true }]);
  });

  it('--continue-on-error goes on with independent steps and skips the ones that depend on the failure', async () => {
    const w = keep(await shops.deployed(engine));
    writeAll(w, {
      'shop/abad.sql': 'CREATE TABLE shop.abad (id int, CHECK (nosuch > 0));\n',
      'shop/uses_bad.sql': 'CREATE VIEW shop.uses_bad AS SELECT id FROM shop.abad;\n',
      'shop/zfine.sql': 'CREATE TABLE shop.zfine (id int);\n',
      'shop/migrations/V2__after.sql': 'SELECT 2;\n',
      'shop/migrations/V2__after.rollback.sql': 'SELECT 0;\n',
    });
    const r = await run(w.root, 'deploy', { project: 'shop', continueOnError: true }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('column "nosuch" does not exist');
    const steps = await ledgerSteps(w.target, 2);
    expect(steps.map((s) => [s.object_key, s.status])).toEqual([
      ['table:shop.abad', 'failed'],
      ['table:shop.zfine', 'applied'],
      ['view:shop.uses_bad', 'skipped'],
      ['migration:shop/V2', 'skipped'],
    ]);
    expect(await w.target.query('SELECT count(*)::int AS n FROM shop.zfine')).toEqual([{ n: 0 }]);
    expect(await w.target.query('SELECT status, steps_applied FROM dbee.deployments WHERE id = 2')).toEqual([
      { status: 'failed', steps_applied: 1 },
    ]);
  });

  it('transaction: plan spans projects: a failure in the second project rolls back the first one too', async () => {
    const w = keep(await shops.deployed(engine));
    w.write('dbee.yaml', workspaceYaml(engine, { environment: 'deploy:\n  transaction: plan' }));
    w.write('crm/db.yaml', dbYaml('crm', 'dependsOn: [shop]\n'));
    w.write('crm/s.sql', 'CREATE SCHEMA crm;\nCREATE TABLE crm.notes (id int);\n');
    w.write('crm/v.sql', 'CREATE VIEW crm.broken AS SELECT nosuch FROM shop.customers;\n');
    writeAll(w, { 'shop/zz.sql': 'CREATE TABLE shop.zz (id int);\n' });
    const before = await snapshot(w.target, { withLedger: false });
    const r = await run(w.root, 'deploy', { project: 'crm' }, w.target.vars);
    expect(r.code).toBe(2);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(before.catalog);
    const rows = await w.target.query<{ project: string; status: string; steps: string[] }>(
      `SELECT d.project, d.status, array_agg(s.status ORDER BY s.step_order) AS steps FROM dbee.deployments d JOIN dbee.steps s ON s.deployment_id = d.id
        WHERE d.id > 1 GROUP BY d.id, d.project, d.status ORDER BY d.id`,
    );
    expect(rows).toEqual([
      { project: 'shop', status: 'failed', steps: ['rolled-back'] },
      { project: 'crm', status: 'failed', steps: ['rolled-back', 'rolled-back', 'failed'] },
    ]);
  });
});
