import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, snapshot, type Target, type TestWorkspace } from './helpers';
import { deployedShop, ledgerSteps, shopV2, writeAll } from './shop';
import { teradataWorkspace, type TeradataWorkspace } from '../teradata/helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

const catalog = async (t: Target) => (await snapshot(t, { withLedger: false })).catalog;
const objects = (t: Target) => t.query('SELECT object_key, checksum FROM dbee.objects ORDER BY 1');
const migrations = async (t: Target) =>
  (await t.query<{ version: string }>('SELECT version FROM dbee.migrations ORDER BY version::int')).map(
    (r) => r.version,
  );
const deployments = (t: Target) =>
  t.query<{
    id: number;
    kind: string;
    status: string;
    reverts: number | null;
    steps_total: number;
    steps_applied: number;
  }>('SELECT id::int, kind, status, reverts::int, steps_total, steps_applied FROM dbee.deployments ORDER BY id');
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
    expect(deployed.map((s) => s.action)).toEqual([
      'replace',
      'create',
      'create',
      'replace',
      ...Array(6).fill('migrate'),
    ]);

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
    expect(undo.map((s) => [s.step_order, s.reverts_step, s.status])).toEqual(
      Array.from({ length: 10 }, (_, i) => [i + 1, 10 - i, 'applied']),
    );
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
    expect(redone.map((s) => [s.reverts_step, s.action, s.status])).toEqual(
      [...undo].reverse().map((s) => [s.step_order, s.action.slice('undo-'.length), 'applied']),
    );
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

/**
 * The same scenario on the Teradata test double (packages/teradata/testing), through the same runner and commands: a
 * deployment whose step 5 of 10 fails and is undone automatically (compensating: Teradata DDL commits on its own), the
 * fixed deployment, its rollback and the rollback of that rollback, with the catalog and the ledger checked at each stop.
 */
describe('one executor for deploy, automatic rollback and rollback [teradata double]', () => {
  const V1: Record<string, string> = {
    'schema/edw/tables/customers.sql':
      'CREATE MULTISET TABLE {{env}}_EDW.customers (id INTEGER NOT NULL, name VARCHAR(50)) PRIMARY INDEX (id);\n',
    'schema/edw/tables/orders.sql':
      'CREATE MULTISET TABLE {{env}}_EDW.orders (id INTEGER NOT NULL, customer_id INTEGER) PRIMARY INDEX (id);\n',
    'schema/edw/tables/regions.sql':
      'CREATE MULTISET TABLE {{env}}_EDW.regions (id INTEGER NOT NULL, label VARCHAR(20)) PRIMARY INDEX (id);\n',
    'schema/edw/views/v_customers.sql':
      'REPLACE VIEW {{env}}_EDW.v_customers AS SELECT id, name FROM {{env}}_EDW.customers;\n',
    'schema/edw/macros/m_count.sql':
      'REPLACE MACRO {{env}}_EDW.m_count AS (SELECT COUNT(*) FROM {{env}}_EDW.customers;);\n',
  };
  /** Two objects replaced, eight created: ten steps. */
  const V2: Record<string, string> = {
    ...V1,
    'schema/edw/views/v_customers.sql':
      'REPLACE VIEW {{env}}_EDW.v_customers AS SELECT id, name, id AS customer_no FROM {{env}}_EDW.customers;\n',
    'schema/edw/macros/m_count.sql':
      'REPLACE MACRO {{env}}_EDW.m_count AS (SELECT COUNT(*) AS n FROM {{env}}_EDW.customers;);\n',
    'schema/edw/tables/t_a.sql': 'CREATE MULTISET TABLE {{env}}_EDW.t_a (id INTEGER NOT NULL) PRIMARY INDEX (id);\n',
    'schema/edw/tables/t_b.sql': 'CREATE MULTISET TABLE {{env}}_EDW.t_b (id INTEGER NOT NULL) PRIMARY INDEX (id);\n',
    'schema/edw/tables/t_c.sql': 'CREATE MULTISET TABLE {{env}}_EDW.t_c (id INTEGER NOT NULL) PRIMARY INDEX (id);\n',
    'schema/edw/tables/t_d.sql': 'CREATE MULTISET TABLE {{env}}_EDW.t_d (id INTEGER NOT NULL) PRIMARY INDEX (id);\n',
    'schema/edw/views/v_a.sql': 'REPLACE VIEW {{env}}_EDW.v_a AS SELECT id FROM {{env}}_EDW.t_a;\n',
    'schema/edw/views/v_b.sql': 'REPLACE VIEW {{env}}_EDW.v_b AS SELECT id FROM {{env}}_EDW.t_b;\n',
    'schema/edw/macros/m_a.sql': 'REPLACE MACRO {{env}}_EDW.m_a AS (SELECT id FROM {{env}}_EDW.t_c;);\n',
    'schema/edw/macros/m_b.sql': 'REPLACE MACRO {{env}}_EDW.m_b AS (SELECT id FROM {{env}}_EDW.t_d;);\n',
  };

  let td: TeradataWorkspace | null = null;
  afterEach(() => {
    td?.dispose();
    td = null;
  });

  const tdCatalog = (t: TeradataWorkspace) =>
    [...t.session.catalog.entries()]
      .filter(([k]) => k.startsWith('DEV_EDW.'))
      .map(([k, o]) => `${k} ${o.tableKind} ${o.show}`)
      .sort();
  const tdObjects = (t: TeradataWorkspace) =>
    t
      .ledger('objects')
      .map((o) => [o.OBJECT_KEY, o.CHECKSUM])
      .sort();
  const tdDeployments = (t: TeradataWorkspace) =>
    t.ledger('deployments').map((d) => ({
      id: Number(d.ID),
      kind: d.KIND,
      status: d.STATUS,
      reverts: d.REVERTS === null ? null : Number(d.REVERTS),
      steps_total: Number(d.STEPS_TOTAL),
      steps_applied: Number(d.STEPS_APPLIED),
    }));
  const tdSteps = (t: TeradataWorkspace, deployment: number) =>
    t
      .ledger('steps')
      .filter((s) => Number(s.DEPLOYMENT_ID) === deployment)
      .sort((a, b) => Number(a.STEP_ORDER) - Number(b.STEP_ORDER))
      .map((s) => ({
        order: Number(s.STEP_ORDER),
        key: String(s.OBJECT_KEY),
        action: String(s.ACTION),
        status: String(s.STATUS),
        reverts: s.REVERTS_STEP === null ? null : Number(s.REVERTS_STEP),
      }));
  const writeProject = (t: TeradataWorkspace, files: Record<string, string>) => {
    rmSync(join(t.root, 'schema'), { recursive: true, force: true });
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(t.root, path)), { recursive: true });
      t.write(path, text);
    }
  };

  it('fail at step 5 of 10 with autoRollback, then deploy, roll back, and roll back the rollback', async () => {
    const t = (td = teradataWorkspace());
    t.write(
      'db.yaml',
      "version: 1\nname: edw\nengine: teradata\nschemas: ['{{env}}_EDW']\nsearchPath: ['{{env}}_EDW']\ndeploy:\n  autoRollback: true\n",
    );
    writeProject(t, V1);
    const first = await t.dbee('deploy', { assumeYes: true });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const v1 = tdCatalog(t);
    const v1Objects = tdObjects(t);
    expect(v1Objects).toHaveLength(5);

    // 1. Ten steps; the fifth fails (the system refuses its statement once): the four before it are undone.
    writeProject(t, V2);
    // Teradata has no scratch database to verify a dry run on: unverified on purpose (a verified one is refused).
    const plan = await t.dbee('deploy', { dryRun: true, verify: false });
    expect(plan.code, plan.stderr).toBe(0);
    const fifth = /-- step 5\/10: \S+ (\S+)/.exec(plan.stdout)?.[1];
    expect(fifth, plan.stdout).toBeTruthy();
    const name = fifth!.split('.').pop()!.replace(/\(.*$/, '');
    t.session.on(
      new RegExp(`^\\S+ (?:MULTISET TABLE |VIEW |MACRO )?DEV_EDW\\.${name}\\b`, 'i'),
      { error: { code: 3706, text: 'Syntax error: injected failure.' } },
      { times: 1 },
    );
    const failed = await t.dbee('deploy', { assumeYes: true });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('injected failure');
    expect(failed.stdout).toContain('edw: deploying 10 steps (deployment 2)');
    expect(failed.stdout).toContain('edw: rolling back 4 applied steps (autoRollback)');
    expect(tdCatalog(t)).toEqual(v1);
    expect(tdObjects(t)).toEqual(v1Objects);
    expect(tdSteps(t, 2).map((s) => [s.order, s.status])).toEqual([
      [1, 'undone'],
      [2, 'undone'],
      [3, 'undone'],
      [4, 'undone'],
      [5, 'failed'],
    ]);
    expect(tdDeployments(t)).toEqual([
      { id: 1, kind: 'deploy', status: 'succeeded', reverts: null, steps_total: 5, steps_applied: 5 },
      { id: 2, kind: 'deploy', status: 'rolled-back', reverts: null, steps_total: 10, steps_applied: 0 },
    ]);

    // 2. The same ten steps deploy.
    const good = await t.dbee('deploy', { assumeYes: true });
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('edw: deploying 10 steps (deployment 3)');
    const v2 = tdCatalog(t);
    const v2Objects = tdObjects(t);
    expect(v2).not.toEqual(v1);
    expect(v2Objects).toHaveLength(13);
    const deployed = tdSteps(t, 3);
    expect(deployed.map((s) => s.status)).toEqual(Array(10).fill('applied'));
    expect(
      deployed
        .filter((s) => s.action === 'replace')
        .map((s) => s.key)
        .sort(),
    ).toEqual(['macro:DEV_EDW.M_COUNT', 'view:DEV_EDW.V_CUSTOMERS']);

    // 3. Its rollback: ten compensating steps, newest first; the catalog and the ledger's state are v1's.
    const back = await t.dbee('rollback', { assumeYes: true });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('edw: undoing deployment #3 (deploy, succeeded');
    expect(tdCatalog(t)).toEqual(v1);
    expect(tdObjects(t)).toEqual(v1Objects);
    expect(tdSteps(t, 3).map((s) => s.status)).toEqual(Array(10).fill('undone'));
    const undo = tdSteps(t, 4);
    expect(undo.map((s) => [s.order, s.reverts, s.status])).toEqual(
      Array.from({ length: 10 }, (_, i) => [i + 1, 10 - i, 'applied']),
    );
    expect(undo.map((s) => s.action)).toEqual(deployed.map((s) => `undo-${s.action}`).reverse());

    // 4. The rollback of the rollback: the ten steps again; the catalog and the ledger's state are v2's.
    const redo = await t.dbee('rollback', { assumeYes: true });
    expect(redo.stderr).toBe('');
    expect(redo.code).toBe(0);
    expect(redo.stdout).toContain('edw: undoing deployment #4 (rollback, succeeded');
    expect(tdCatalog(t)).toEqual(v2);
    expect(tdObjects(t)).toEqual(v2Objects);
    expect(tdSteps(t, 3).map((s) => s.status)).toEqual(Array(10).fill('applied'));
    expect(tdSteps(t, 4).map((s) => s.status)).toEqual(Array(10).fill('undone'));
    expect(tdSteps(t, 5).map((s) => [s.reverts, s.action, s.status])).toEqual(
      [...undo].reverse().map((s) => [s.order, s.action.slice('undo-'.length), 'applied']),
    );
    expect(tdDeployments(t)).toEqual([
      { id: 1, kind: 'deploy', status: 'succeeded', reverts: null, steps_total: 5, steps_applied: 5 },
      { id: 2, kind: 'deploy', status: 'rolled-back', reverts: null, steps_total: 10, steps_applied: 0 },
      { id: 3, kind: 'deploy', status: 'succeeded', reverts: null, steps_total: 10, steps_applied: 10 },
      { id: 4, kind: 'rollback', status: 'succeeded', reverts: 3, steps_total: 10, steps_applied: 0 },
      { id: 5, kind: 'rollback', status: 'succeeded', reverts: 4, steps_total: 10, steps_applied: 10 },
    ]);
  });
});
