import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { assertCatalogAsFresh, assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe.each(ENGINES)('fault: a release that drops a table [%s]', (engine) => {
  it("passes its smoke baseline: the dropped table's indexes leave the ledger with it", async () => {
    const w =
      workspaces[
        workspaces.push(
          await workspaceWith(engine, {
            's/db.yaml': dbYaml('s'),
            's/schema.sql': 'CREATE SCHEMA s;\n',
            's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY);\n',
            's/orders.sql':
              'CREATE TABLE s.orders (id int PRIMARY KEY, c int);\nCREATE INDEX orders_c_idx ON s.orders (c);\n',
          }),
        ) - 1
      ]!;
    expect((await run(w.root, 'deploy', { project: 's' }, w.target.vars)).code).toBe(0);
    // The release: orders removed, customers changed (so the project is planned by a diff, which drops orders).
    rmSync(join(w.root, 's', 'orders.sql'));
    w.write('s/customers.sql', 'CREATE TABLE s.customers (id int PRIMARY KEY, name text);\n');
    const r = await run(w.root, 'deploy', { project: 's', allowHazards: ['data-loss'] }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pass  baseline: deployed objects exist');
    expect(await w.target.query("SELECT object_key FROM dbee.objects WHERE object_key LIKE '%orders%'")).toEqual([]);
    await assertLedgerInvariants(w.target);
  });

  it('rollback --force restores the table, its index and its dependents in a working order, in one piece', async () => {
    const w = workspaces[workspaces.push(await workspaceWith(engine, V1)) - 1]!;
    expect((await run(w.root, 'deploy', { project: 's' }, w.target.vars)).code).toBe(0);
    await w.target.query('INSERT INTO s.customers VALUES (1), (2)');
    await w.target.query('INSERT INTO s.orders VALUES (10, 1)');
    // The release: orders and the view over it removed; customers gains a column, and so does the view over it, whose
    // row type a function returns (the view cannot be replaced back by its narrower self while the function needs it).
    rmSync(join(w.root, 's', 'orders.sql'));
    rmSync(join(w.root, 's', 'order_counts.sql'));
    writeAll(w, RELEASE);
    const release = await run(
      w.root,
      'deploy',
      { project: 's', allowHazards: ['data-loss', 'backward-incompatible'] },
      w.target.vars,
    );
    expect(release.stderr, release.stdout).toBe('');
    expect(release.code).toBe(0);
    expect(await w.target.query("SELECT to_regclass('s.orders') IS NULL AS gone")).toEqual([{ gone: true }]);
    const released = await snapshot(w.target);
    const releasedCatalog = (await snapshot(w.target, { withLedger: false })).catalog;

    // Without --force: refused (the dropped table's rows cannot come back), nothing changed.
    const refused = await run(w.root, 'rollback', { project: 's' }, w.target.vars);
    expect(refused.code).toBe(1);
    expect((await snapshot(w.target)).hash).toBe(released.hash);

    const r = await run(w.root, 'rollback', { project: 's', force: true }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // V1's schema, as a fresh deployment of V1 builds it: the table, its index, the view over it, the narrower view
    // and the function returning its rows.
    await assertCatalogAsFresh(w, V1, ['s']);
    expect(await w.target.query('SELECT * FROM s.people_all() ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await w.target.query('SELECT * FROM s.order_counts')).toEqual([]);
    // The function was dropped and created again around the view, with its comment.
    expect(await w.target.query("SELECT obj_description('s.people_all()'::regprocedure) AS c")).toEqual([
      { c: 'everyone' },
    ]);
    await assertLedgerInvariants(w.target);
    const restoredCatalog = (await snapshot(w.target, { withLedger: false })).catalog;

    // Rolling the rollback back is the release again (the restored table and its index dropped again), and rolling
    // that back is V1 again.
    const redo = await run(w.root, 'rollback', { project: 's', force: true }, w.target.vars);
    expect(redo.stderr).toBe('');
    expect(redo.code).toBe(0);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(releasedCatalog);
    await assertLedgerInvariants(w.target);
    const undo = await run(w.root, 'rollback', { project: 's', force: true }, w.target.vars);
    expect(undo.stderr).toBe('');
    expect(undo.code).toBe(0);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(restoredCatalog);
    await assertLedgerInvariants(w.target);

    // The sources of V1 again: nothing left to deploy.
    writeAll(w, V1);
    const again = await run(w.root, 'deploy', { project: 's' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.stdout).toContain('nothing to deploy');
  });

  it('a rollback that fails part-way leaves nothing half-done: its steps roll back together', async () => {
    const w = workspaces[workspaces.push(await workspaceWith(engine, V1)) - 1]!;
    expect((await run(w.root, 'deploy', { project: 's' }, w.target.vars)).code).toBe(0);
    rmSync(join(w.root, 's', 'orders.sql'));
    rmSync(join(w.root, 's', 'order_counts.sql'));
    writeAll(w, RELEASE);
    expect(
      (
        await run(
          w.root,
          'deploy',
          { project: 's', allowHazards: ['data-loss', 'backward-incompatible'] },
          w.target.vars,
        )
      ).code,
    ).toBe(0);
    // Something outside dbee takes the name the rollback needs last... (a table named like the view over orders).
    await w.target.query('CREATE TABLE s.order_counts (x int)');
    const released = await snapshot(w.target, { withLedger: false });
    const r = await run(w.root, 'rollback', { project: 's', force: true }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('order_counts');
    // ...and every step it ran before is rolled back with it.
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(released.catalog);
    await assertLedgerInvariants(w.target);
  });
});

const V1: Record<string, string> = {
  's/db.yaml': dbYaml('s'),
  's/schema.sql': 'CREATE SCHEMA s;\n',
  's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY);\n',
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, c int REFERENCES s.customers (id));\nCREATE INDEX orders_c_idx ON s.orders (c);\n',
  's/order_counts.sql': 'CREATE OR REPLACE VIEW s.order_counts AS SELECT c, count(*) AS n FROM s.orders GROUP BY c;\n',
  's/people.sql': 'CREATE OR REPLACE VIEW s.people AS SELECT id FROM s.customers;\n',
  's/people_all.sql':
    "CREATE OR REPLACE FUNCTION s.people_all() RETURNS SETOF s.people LANGUAGE sql AS $$ SELECT * FROM s.people $$;\nCOMMENT ON FUNCTION s.people_all() IS 'everyone';\n",
};

const RELEASE: Record<string, string> = {
  's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY, name text);\n',
  's/people.sql': 'CREATE OR REPLACE VIEW s.people AS SELECT id, name FROM s.customers;\n',
};

function writeAll(w: TestWorkspace, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) w.write(rel, text);
}
