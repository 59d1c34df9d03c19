import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, snapshot, workspaceYaml, type TestWorkspace } from '../runner/helpers';
import { catalog, deployments, deployOk, shopAtV1, shopsAtV1, V2, writeAll } from './fixture';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);
/** Shop v1 deployed once per file, a copy per case, for the three server cases that start from it alone. */
const shops = shopsAtV1();
afterAll(() => shops.removeAll());

/** A smoke check that only passes while shop.orders exists (v2). */
const ORDERS_SMOKE = {
  'shop/smoke/orders.yaml': 'checks:\n  - name: orders table is there\n    exists: [table:shop.orders]\n',
};

/**
 * What each case proves is the rollback's own decision (gates, the ledger's reverses, the migration's parsed statements,
 * the drift check's fingerprint): core code that both engines reach through the same statements. So every case runs on
 * the server, and on PGlite, where a case costs about three times as much, the two that apply and undo the most through
 * the engine: the auto-rollback of a failed deployment and the forced undo that skips a step (both engines keep cells;
 * CONTRIBUTING.md, "Engine-independent matrices run whole on one engine, one cell on the other").
 */
const everyCase = (engine: (typeof ENGINES)[number]) => engine === 'postgres';

describe.each(ENGINES)('rollback safety [%s]', (engine) => {
  it('a smoke failure after deploy with autoRollback exits 3 and puts the schema back', async () => {
    const w = keep(await shopAtV1(engine, 'deploy:\n  autoRollback: true'));
    const v1 = await catalog(w);
    writeAll(w, {
      ...V2,
      'shop/smoke/greet.yaml':
        "checks:\n  - name: greeting\n    function: shop.greet\n    args: [ada]\n    rows: [{ greet: 'hello ada' }]\n",
    });
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(3);
    expect(r.stdout + r.stderr).toContain('greeting');
    expect(await catalog(w)).toEqual(v1);
    expect((await deployments(w.target)).map((d) => [d.id, d.kind, d.status, d.steps_applied])).toEqual([
      [1, 'deploy', 'succeeded', 5],
      [2, 'deploy', 'rolled-back', 0],
    ]);
  });

  it('refuses to undo a step that dropped a column without a backup, naming it; --force undoes the rest and leaves it', async () => {
    const w = keep(
      await shopAtV1(engine, '', {
        'shop/customers.sql': 'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, note text);\n',
      }),
    );
    writeAll(w, {
      'shop/customers.sql': 'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);\n',
      'shop/greet.sql': V2['shop/greet.sql']!,
    });
    await deployOk(w, { allowHazards: 'data-loss' });
    const before = await snapshot(w.target);

    const refused = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /step \d+ \(\S+ \S*shop\.customers\S*\) of deployment #2 cannot be undone: the ledger records no reverse for it; nothing was changed/,
    );
    expect(refused.stderr).toContain('--force');
    expect((await snapshot(w.target)).hash).toBe(before.hash);

    const forced = await run(w.root, 'rollback', { project: 'shop', force: true }, w.target.vars);
    expect(forced.stderr).toMatch(/warning: step \d+ \(\S*shop\.customers\S*\) left as it is/);
    expect(forced.code).toBe(0);
    expect(await w.target.query("SELECT shop.greet('x') AS g")).toEqual([{ g: 'hello x' }]);
    expect(
      await w.target.query(
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'customers' AND column_name = 'note'",
      ),
    ).toEqual([{ n: 0 }]);
    const rb = await w.target.query<{ summary: { forced: string[] } }>(
      'SELECT summary FROM dbee.deployments WHERE id = 3',
    );
    expect(rb[0]!.summary.forced.join('\n')).toContain('cannot be undone');
    expect(
      await w.target.query(
        'SELECT status, count(*)::int AS n FROM dbee.steps WHERE deployment_id = 3 GROUP BY status ORDER BY 1',
      ),
    ).toEqual([
      { status: 'applied', n: expect.any(Number) },
      { status: 'skipped', n: 1 },
    ]);
  });

  if (everyCase(engine))
    it('refuses to undo a migration that dropped data (its rollback script brings the column back empty) unless --force', async () => {
      const w = keep(await shops.atV1(engine));
      writeAll(w, {
        'shop/migrations/V2__add_note.sql':
          "ALTER TABLE shop.customers ADD COLUMN note text;\nUPDATE shop.customers SET note = 'vip';\n",
        'shop/migrations/V2__add_note.rollback.sql': 'ALTER TABLE shop.customers DROP COLUMN note;\n',
      });
      await deployOk(w);
      writeAll(w, {
        'shop/migrations/V3__drop_note.sql': 'ALTER TABLE shop.customers DROP COLUMN note;\n',
        'shop/migrations/V3__drop_note.rollback.sql': 'ALTER TABLE shop.customers ADD COLUMN note text;\n',
      });
      await deployOk(w);
      const refused = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'step 1 (migrate migration:shop/V3) of deployment #3 cannot be undone without losing data: it drops a column (ALTER TABLE shop.customers DROP COLUMN note)',
      );
      const forced = await run(w.root, 'rollback', { project: 'shop', force: true }, w.target.vars);
      expect(forced.stderr).toBe('');
      expect(forced.code).toBe(0);
      expect(await w.target.query('SELECT id::int, note FROM shop.customers ORDER BY id')).toEqual([
        { id: 1, note: null },
        { id: 2, note: null },
      ]);
      expect(await w.target.query('SELECT version FROM dbee.migrations ORDER BY 1')).toEqual([
        { version: '1' },
        { version: '2' },
      ]);
    });

  if (everyCase(engine))
    it('emergency rollback on a protected environment: refused without --assume-yes; with it, no countdown and no smoke checks', async () => {
      const w = keep(await shopAtV1(engine, 'gates:\n  protected: true\n  countdown: 1'));
      const v1 = await catalog(w);
      writeAll(w, { ...V2, ...ORDERS_SMOKE });
      await deployOk(w, { assumeYes: true });
      const v2 = await catalog(w);
      const before = await snapshot(w.target);

      const refused = await run(w.root, 'rollback', { project: 'shop', emergency: true }, w.target.vars);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('environment target is protected: a non-interactive run needs --assume-yes');
      expect((await snapshot(w.target)).hash).toBe(before.hash);

      const t0 = Date.now();
      const r = await run(w.root, 'rollback', { project: 'shop', emergency: true, assumeYes: true }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('starting in');
      expect(r.stdout).not.toContain('smoke checks');
      expect(r.stdout).toContain('smoke:       shop not run (emergency)');
      expect(Date.now() - t0).toBeLessThan(60_000);
      expect(await catalog(w)).toEqual(v1);
      expect(await w.target.query('SELECT count(*)::int AS n FROM dbee.smoke_results WHERE deployment_id = 3')).toEqual(
        [{ n: 0 }],
      );
      const row = await w.target.query<{ kind: string; summary: { emergency: boolean; gatesBypassed: string[] } }>(
        'SELECT kind, summary FROM dbee.deployments WHERE id = 3',
      );
      expect(row[0]).toMatchObject({
        kind: 'rollback',
        summary: { emergency: true, gatesBypassed: expect.arrayContaining(['countdown']) },
      });

      // A normal rollback (of the emergency one) counts down and runs the smoke checks: v2 again, and they pass.
      const normal = await run(w.root, 'rollback', { project: 'shop', assumeYes: true }, w.target.vars);
      expect(normal.stderr).toBe('');
      expect(normal.code).toBe(0);
      expect(normal.stdout).toContain('starting in 1...');
      expect(normal.stdout).toContain('orders table is there');
      expect(await catalog(w)).toEqual(v2);
      expect(
        await w.target.query(
          "SELECT check_name, status FROM dbee.smoke_results WHERE deployment_id = 4 AND check_name = 'orders table is there'",
        ),
      ).toEqual([{ check_name: 'orders table is there', status: 'passed' }]);
    });

  if (everyCase(engine))
    it('refuses when the schema drifted since the last deployment, unless --force', async () => {
      const w = keep(await shops.atV1(engine));
      writeAll(w, V2);
      await deployOk(w);
      await w.target.query('CREATE TABLE shop.sneaky (id int)');
      const r = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the schemas of shop changed outside dbee since deployment #2');
      const forced = await run(w.root, 'rollback', { project: 'shop', force: true }, w.target.vars);
      expect(forced.stderr).toBe('');
      expect(forced.code).toBe(0);
      // The table made outside dbee stays: the schemas are not as deployment #1 left them, said but not failed (--force).
      expect(forced.stdout).toContain(
        "shop: not converged: its schemas differ from the state deployment #1 left (the fingerprint it recorded, the columns' positions aside); not failed: --force",
      );
    });

  if (everyCase(engine))
    it('refuses an emergency rollback outside the maintenance window only without --emergency', async () => {
      const w = keep(await shops.atV1(engine));
      writeAll(w, V2);
      await deployOk(w);
      w.write(
        'dbee.yaml',
        workspaceYaml(engine, {
          environment: 'gates:\n  maintenanceWindows: [{ days: [sun], from: "02:00", to: "03:00" }]',
        }),
      );
      const monday = new Date('2026-11-23T12:00:00Z');
      const refused = await run(w.root, 'rollback', { project: 'shop', now: monday }, w.target.vars);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('maintenance window');
      const r = await run(w.root, 'rollback', { project: 'shop', emergency: true, now: monday }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const row = await w.target.query<{ summary: { gatesBypassed: string[] } }>(
        'SELECT summary FROM dbee.deployments WHERE id = 3',
      );
      expect(row[0]!.summary.gatesBypassed).toContain('maintenanceWindows');
    });
});
