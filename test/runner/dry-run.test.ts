import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';
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

describe.each(ENGINES)('deploy --dry-run changes nothing [%s]', (engine) => {
  it('on a database dbee never touched: prints the SQL in order, creates no ledger, no objects', async () => {
    const w = keep(await workspaceWith(engine, SHOP_V1));
    const before = await snapshot(w.target);
    const r = await run(w.root, 'deploy', { project: 'shop', dryRun: true }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = await snapshot(w.target);
    expect(after.hash).toBe(before.hash);
    expect(after.ledger).toEqual({});
    expect(r.stdout).toContain('-- step 1/5: create schema:shop');
    expect(r.stdout).toContain('CREATE SCHEMA shop;');
    expect(r.stdout).toContain('-- step 5/5: migrate migration:shop/V1');
    expect(r.stdout).toContain("INSERT INTO shop.customers VALUES (1, 'ada'), (2, 'bob');");
    expect(r.stdout).toContain('--   if it exists: raise (default); it does not');
    expect(r.stdout).toContain('dry run: nothing was applied');
    expect(r.stdout).not.toContain('summary:');
  });

  it('with a ledger, pending changes and an unknown existing object: shows the strategy and its SQL, and catalog and ledger stay identical', async () => {
    const w = keep(await shops.deployed(engine, 'deploy:\n  ifExists: rename\n  copyData: true'));
    writeAll(w, shopV2(false));
    const c = await w.target.connect();
    await c.execute(
      'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric); INSERT INTO shop.orders VALUES (7, 70);',
    );
    await c.close();
    const before = await snapshot(w.target);
    // No feature table yet (a dry run of a backup creates none: the snapshot below stays the same).
    expect(Object.keys(before.ledger).sort()).toEqual([
      'deployments',
      'ledger_version',
      'migrations',
      'objects',
      'smoke_results',
      'steps',
    ]);
    const r = await run(
      w.root,
      'deploy',
      { project: 'shop', dryRun: true, now: new Date('2026-11-21T10:30:00Z') },
      w.target.vars,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await snapshot(w.target)).hash).toBe(before.hash);
    expect(r.stdout).toContain(
      '--   exists in the database, unknown to the ledger: rename with copyData (dbee.yaml environments.target.deploy.ifExists) -> rename, kept as shop_dbee_bak.orders_bak_20261121t103000\n' +
        'CREATE SCHEMA IF NOT EXISTS shop_dbee_bak;\n' +
        'ALTER TABLE shop.orders RENAME TO orders_bak_20261121t103000;\n' +
        'ALTER INDEX shop.orders_pkey RENAME TO orders_pkey_bak_20261121t103000;\n' +
        'ALTER TABLE shop.orders_bak_20261121t103000 SET SCHEMA shop_dbee_bak;\n' +
        'CREATE TABLE shop.orders (id int PRIMARY KEY, customer int REFERENCES shop.customers (id), total numeric);\n' +
        'DO $dbee$',
    );
    expect(r.stdout).toMatch(/-- step \d+\/10: replace view:shop\.names/);
    // V2's INSERT fails on the copy only for the customer it references, which the target holds (V1's seed): said,
    // naming the row, not refused.
    expect(r.stdout).toContain(
      'dry run: shop/migrations/V2__orders.sql:1: step 5 (migrate migration:shop/V2) fails on a copy of the target\'s schemas: insert or update on table "orders" violates foreign key constraint "orders_customer_fkey" (not refused: it needs the row (customer)=(1) of shop.customers; the target holds it, the copy holds none of the target\'s rows)',
    );

    // Without that customer on the target the INSERT fails there too: the dry run refuses it (exit 1), target untouched.
    const d = await w.target.connect();
    await d.execute('DELETE FROM shop.customers WHERE id = 1');
    await d.close();
    const gone = await snapshot(w.target);
    const refused = await run(
      w.root,
      'deploy',
      { project: 'shop', dryRun: true, now: new Date('2026-11-21T10:30:00Z') },
      w.target.vars,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: shop\/migrations\/V2__orders\.sql:1: step 5 \(migrate migration:shop\/V2\) fails on a copy of the target's schemas: insert or update on table "orders" violates foreign key constraint "orders_customer_fkey"/m,
    );
    expect(refused.stdout).not.toContain('not refused');
    expect((await snapshot(w.target)).hash).toBe(gone.hash);
  });

  it('a conflict that would be refused is shown, and the dry run exits 1 without changing anything', async () => {
    const w = keep(await shops.deployed(engine));
    writeAll(w, shopV2(false));
    const c = await w.target.connect();
    await c.execute('CREATE TABLE shop.orders (id int)');
    await c.close();
    const before = await snapshot(w.target);
    const r = await run(w.root, 'deploy', { project: 'shop', dryRun: true }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('--   exists in the database, unknown to the ledger: raise (default) -> REFUSED');
    expect(r.stderr).toContain('error: 2 steps cannot be deployed; the deployment would be refused');
    expect(r.stderr).toContain(
      '- shop/orders.sql:1: table:shop.orders already exists in the database, but the ledger does not know it',
    );
    // V2 fails on the copy, where shop.orders is still the target's (the refused step did not replace it): not excused
    // as a migration on a copy without rows, but said with the refusal it follows.
    expect(r.stderr).toContain(
      "- shop/migrations/V2__orders.sql:1: step 5 (migrate migration:shop/V2) fails on a copy of the target's schemas: INSERT has more expressions than target columns",
    );
    expect(r.stderr).toMatch(
      /hint: it ran on the copy after step \d+, refused above, so against that step's object as the target holds it/,
    );
    expect((await snapshot(w.target)).hash).toBe(before.hash);
  });

  it('verifies the plan on a scratch copy of the target: a view over a missing column refuses the dry run naming its file and line (exit 1), target untouched; --no-verify keeps the fast path', async () => {
    const w = keep(await shops.deployed(engine));
    w.write(
      'shop/zz_broken.sql',
      '-- a view over a column that does not exist\nCREATE VIEW shop.broken AS\n  SELECT id, nickname FROM shop.customers;\n',
    );
    const before = await snapshot(w.target);
    const r = await run(w.root, 'deploy', { project: 'shop', dryRun: true }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: shop\/zz_broken\.sql:2: step 1 \(create view:shop\.broken\) fails on a copy of the target's schemas: column "nickname" does not exist/m,
    );
    expect(r.stderr).toContain('the deployment would be refused');
    // A step that fails is never "verified" (issue 88): the copy says what ran and what failed.
    expect(r.stdout).toContain("dry run: ran on a scratch copy of the target's schemas (1 step, 1 failing)");
    // Catalog and ledger as they were: nothing ran on the target.
    const after = await snapshot(w.target);
    expect(after.hash).toBe(before.hash);
    expect(after.ledger).toEqual(before.ledger);
    const fast = await run(w.root, 'deploy', { project: 'shop', dryRun: true, verify: false }, w.target.vars);
    expect(fast.stderr).toBe('');
    expect(fast.code).toBe(0);
    expect(fast.stdout).not.toContain('verified');
    // A plan that works on the copy passes, and the real run then applies it.
    w.write('shop/zz_broken.sql', 'CREATE VIEW shop.broken AS\n  SELECT id, name FROM shop.customers;\n');
    const ok = await run(w.root, 'deploy', { project: 'shop', dryRun: true }, w.target.vars);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(
      "dry run: verified on a scratch copy of the target's schemas (1 step, all applied) and converged: the object they touch equals the sources",
    );
    expect((await snapshot(w.target)).hash).toBe(before.hash);
  });

  it('--if-exists drop of a table holding rows is marked data-loss; a protected environment and a closed maintenance window are refusals of the dry run', async () => {
    const w = keep(await shops.deployed(engine));
    writeAll(w, shopV2(false));
    const c = await w.target.connect();
    await c.execute('CREATE TABLE shop.orders (id int); INSERT INTO shop.orders VALUES (1);');
    await c.close();
    const before = await snapshot(w.target);
    const r = await run(w.root, 'deploy', { project: 'shop', dryRun: true, ifExists: 'drop' }, w.target.vars);
    expect(r.stdout).toContain('--   hazard data-loss: drops table shop.orders, which holds rows');
    expect((await snapshot(w.target)).hash).toBe(before.hash);

    const gated = keep(
      await workspaceWith(engine, {
        ...SHOP_V1,
        'dbee.yaml': workspaceYaml(engine, {
          environment:
            'gates:\n  protected: true\n  maintenanceWindows:\n    - { days: [sat, sun], from: "02:00", to: "06:00", timezone: UTC }',
        }),
      }),
    );
    // A Monday noon: outside the window; non-interactive, without --assume-yes.
    const g = await run(
      gated.root,
      'deploy',
      { project: 'shop', dryRun: true, now: new Date('2026-11-23T12:00:00Z') },
      gated.target.vars,
    );
    expect(g.code).toBe(1);
    expect(g.stderr).toContain('2 steps cannot be deployed; the deployment would be refused');
    expect(g.stderr).toContain('environment target only accepts deployments inside its maintenance window');
    expect(g.stderr).toContain('environment target is protected: a non-interactive run needs --assume-yes');
    const inside = await run(
      gated.root,
      'deploy',
      { project: 'shop', dryRun: true, assumeYes: true, now: new Date('2026-11-22T03:00:00Z') },
      gated.target.vars,
    );
    expect(inside.stderr).toBe('');
    expect(inside.code).toBe(0);
    expect((await snapshot(gated.target)).ledger).toEqual({});
  });
});
