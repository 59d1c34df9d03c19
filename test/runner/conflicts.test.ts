import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';
import { deployedShops, SHOP_V1 } from './shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);
// Shop v1 deployed once per environment on PGlite, copied for each case (shop.ts).
const shops = deployedShops();
afterAll(() => shops.removeAll());

const NOW = new Date('2026-11-21T10:30:00Z');
const BACKUP = 'orders_bak_20261121t103000';
const ORDERS =
  'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL, placed date DEFAULT current_date);\n';

/** Shop v1 deployed, then a `shop.orders` made by hand (unknown to the ledger, two rows), and a source file that creates it. */
async function withUnknownOrders(engine: (typeof ENGINES)[number], environment = ''): Promise<TestWorkspace> {
  const w = keep(await shops.deployed(engine, environment));
  const c = await w.target.connect();
  await c.execute(
    "CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric, legacy_note text); INSERT INTO shop.orders VALUES (1, 10, 'a'), (2, 20, 'b');",
  );
  await c.close();
  w.write('shop/legacy/orders.sql', ORDERS);
  return w;
}

const deploy = (w: TestWorkspace, options: Record<string, unknown> = {}) =>
  run(w.root, 'deploy', { project: 'shop', now: NOW, ...options }, w.target.vars);

describe.each(ENGINES)('conflict strategies for objects the ledger does not know [%s]', (engine) => {
  it('raise (the default) refuses before anything runs, naming the object and the strategies', async () => {
    const w = await withUnknownOrders(engine);
    const before = await snapshot(w.target);
    const r = await deploy(w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: shop/legacy/orders.sql:1: table:shop.orders already exists in the database, but the ledger does not know it',
    );
    expect(r.stderr).toContain('ifExists: rename');
    expect(r.stderr).toContain('ifExists: drop');
    expect(r.stderr).toContain('--if-exists');
    expect(r.stderr).toContain('nothing was applied');
    expect((await snapshot(w.target)).hash).toBe(before.hash);
  });

  it('rename with copyData from a conflicts: glob keeps the old table as a timestamped backup and copies the surviving columns', async () => {
    const w = await withUnknownOrders(engine);
    w.write(
      'shop/db.yaml',
      dbYaml('shop', 'conflicts:\n  - { match: "legacy/**", ifExists: rename, copyData: true }\n'),
    );
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      await w.target.query(`SELECT id, total::int AS total, legacy_note FROM shop_dbee_bak.${BACKUP} ORDER BY id`),
    ).toEqual([
      { id: 1, total: 10, legacy_note: 'a' },
      { id: 2, total: 20, legacy_note: 'b' },
    ]);
    const copied = await w.target.query<{ id: number; total: number; placed: unknown }>(
      'SELECT id, total::int AS total, placed FROM shop.orders ORDER BY id',
    );
    // Columns only the new table has get their defaults.
    expect(copied.map((x) => [x.id, x.total, x.placed !== null])).toEqual([
      [1, 10, true],
      [2, 20, true],
    ]);
    expect(await w.target.query('SELECT object_key, backup_name, dropped_at FROM dbee.backups')).toEqual([
      { object_key: 'table:shop.orders', backup_name: `shop_dbee_bak.${BACKUP}`, dropped_at: null },
    ]);
    const step = await w.target.query<{ statements: string[] }>(
      "SELECT statements FROM dbee.steps WHERE object_key = 'table:shop.orders'",
    );
    expect(step[0]!.statements.slice(0, 4)).toEqual([
      'CREATE SCHEMA IF NOT EXISTS shop_dbee_bak',
      `ALTER TABLE shop.orders RENAME TO ${BACKUP}`,
      `ALTER INDEX shop.orders_pkey RENAME TO orders_pkey_bak_20261121t103000`,
      `ALTER TABLE shop.${BACKUP} SET SCHEMA shop_dbee_bak`,
    ]);
    expect(r.stdout).toContain(`backups:     shop_dbee_bak.${BACKUP}`);
    const summary = await w.target.query<{ summary: { conflicts: unknown[] } }>(
      'SELECT summary FROM dbee.deployments WHERE id = 2',
    );
    expect(summary[0]!.summary.conflicts).toEqual([
      {
        object: 'table:shop.orders',
        strategy: 'rename',
        rule: 'shop/db.yaml conflicts[0] "legacy/**"',
        backup: `shop_dbee_bak.${BACKUP}`,
      },
    ]);
    // The ledger knows the table now: the next run has nothing to do.
    const again = await deploy(w);
    expect(again.stdout).toContain('shop: nothing to deploy');
  });

  it('drop from the project deploy.ifExists replaces the old table (its rows are gone)', async () => {
    const w = await withUnknownOrders(engine);
    w.write('shop/db.yaml', dbYaml('shop', 'deploy:\n  ifExists: drop\n'));
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.target.query('SELECT count(*)::int AS n FROM shop.orders')).toEqual([{ n: 0 }]);
    expect(await w.target.query("SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'orders_bak%'")).toEqual([
      { n: 0 },
    ]);
    const step = await w.target.query<{
      statements: string[];
      reverse_statements: string[] | null;
      previous_definition: string;
    }>(
      "SELECT statements, reverse_statements, previous_definition FROM dbee.steps WHERE object_key = 'table:shop.orders'",
    );
    expect(step[0]!.statements[0]).toBe('DROP TABLE shop.orders');
    expect(step[0]!.reverse_statements).toBeNull();
    expect(step[0]!.previous_definition).toContain('legacy_note text');
  });

  it('a renamed-aside table comes back, with its name and rows, when a later step fails under autoRollback', async () => {
    const w = await withUnknownOrders(engine, 'deploy:\n  autoRollback: true');
    const before = await snapshot(w.target, { withLedger: false });
    w.write('shop/migrations/V2__boom.sql', 'SELECT 1/0;\n');
    w.write('shop/migrations/V2__boom.rollback.sql', 'SELECT 0;\n');
    const r = await deploy(w, { ifExists: 'rename' });
    expect(r.code).toBe(2);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(before.catalog);
    expect(await w.target.query('SELECT id, legacy_note FROM shop.orders ORDER BY id')).toEqual([
      { id: 1, legacy_note: 'a' },
      { id: 2, legacy_note: 'b' },
    ]);
    const backups = await w.target.query<{ dropped_at: unknown }>('SELECT dropped_at FROM dbee.backups');
    expect(backups).toHaveLength(1);
    expect(backups[0]!.dropped_at).not.toBeNull();
    expect(await w.target.query('SELECT status FROM dbee.deployments WHERE id = 2')).toEqual([
      { status: 'rolled-back' },
    ]);
  });

  it('precedence: --if-exists, then the most specific conflicts: rule, then project-env, project, environment, workspace, then raise (dry runs show the rule)', async () => {
    const w = await withUnknownOrders(engine);
    const write = (levels: {
      workspace?: string;
      env?: string;
      project?: string;
      projectEnv?: string;
      globs?: boolean;
    }) => {
      const env = levels.env ? `deploy:\n  ifExists: ${levels.env}` : '';
      const top = levels.workspace ? `deploy:\n  ifExists: ${levels.workspace}` : '';
      w.write('dbee.yaml', workspaceYaml(engine, { environment: env, top }));
      const extra = [
        levels.project ? `deploy:\n  ifExists: ${levels.project}\n` : '',
        levels.projectEnv ? `environments:\n  target:\n    deploy:\n      ifExists: ${levels.projectEnv}\n` : '',
        levels.globs
          ? 'conflicts:\n  - { match: "**/*.sql", ifExists: drop }\n  - { match: "legacy/orders.sql", ifExists: rename }\n  - { match: "legacy/*", ifExists: drop }\n'
          : '',
      ].join('');
      w.write('shop/db.yaml', dbYaml('shop', extra));
    };
    const ruleOf = async (options: Record<string, unknown> = {}) => {
      const r = await deploy(w, { dryRun: true, ...options });
      const line = /exists in the database, unknown to the ledger: (.*)/.exec(r.stdout)?.[1];
      return { code: r.code, line };
    };
    const all = { workspace: 'drop', env: 'rename', project: 'drop', projectEnv: 'rename', globs: true };
    write(all);
    expect(await ruleOf({ ifExists: 'drop' })).toEqual({ code: 0, line: 'drop (--if-exists) -> drop' });
    expect(await ruleOf()).toEqual({
      code: 0,
      line: `rename (shop/db.yaml conflicts[1] "legacy/orders.sql") -> rename, kept as shop_dbee_bak.${BACKUP}`,
    });
    // Which rule applies is read from the files and options alone (the engine is asked nothing about it): the rest
    // of the precedence runs on the server only, where a dry run costs a third of PGlite's (suite-trim: the cells
    // above run on both engines, and the refusal of raise on PGlite is the first case's).
    if (engine === 'pglite') return;
    write({ ...all, globs: false });
    expect(await ruleOf()).toEqual({
      code: 0,
      line: `rename (shop/db.yaml environments.target.deploy.ifExists) -> rename, kept as shop_dbee_bak.${BACKUP}`,
    });
    write({ ...all, globs: false, projectEnv: undefined });
    expect(await ruleOf()).toEqual({ code: 0, line: 'drop (shop/db.yaml deploy.ifExists) -> drop' });
    write({ workspace: 'drop', env: 'rename' });
    expect(await ruleOf()).toEqual({
      code: 0,
      line: `rename (dbee.yaml environments.target.deploy.ifExists) -> rename, kept as shop_dbee_bak.${BACKUP}`,
    });
    write({ workspace: 'drop' });
    expect(await ruleOf()).toEqual({ code: 0, line: 'drop (dbee.yaml deploy.ifExists) -> drop' });
    write({});
    const none = await ruleOf();
    expect(none.code).toBe(1);
    expect(none.line).toMatch(/^raise \(default\) -> REFUSED/);
  });

  it('objects written with CREATE OR REPLACE or IF NOT EXISTS are never conflicts', async () => {
    const w = await withUnknownOrders(engine);
    w.write('shop/legacy/orders.sql', 'CREATE TABLE IF NOT EXISTS shop.orders (id int PRIMARY KEY, total numeric);\n');
    const c = await w.target.connect();
    await c.execute('CREATE VIEW shop.handmade AS SELECT 1 AS one');
    await c.close();
    w.write('shop/handmade.sql', 'CREATE OR REPLACE VIEW shop.handmade AS SELECT 1 AS one, 2 AS two;\n');
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.target.query('SELECT * FROM shop.handmade')).toEqual([{ one: 1, two: 2 }]);
  });

  it('skip leaves the existing table as it is, runs the rest, records nothing for it, and skips it again next time', async () => {
    const w = await withUnknownOrders(engine);
    w.write('shop/db.yaml', dbYaml('shop', 'deploy:\n  ifExists: skip\n'));
    w.write('shop/extra.sql', 'CREATE TABLE shop.extra (id int PRIMARY KEY);\n');
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'table:shop.orders exists in the database and the ledger does not know it: skipped (ifExists: skip, shop/db.yaml deploy.ifExists)',
    );
    expect(r.stdout).toContain('skipped:     table:shop.orders (ifExists: skip)');
    // The hand-made table is untouched (its own columns, its rows); the other new table was created.
    expect(await w.target.query('SELECT id, legacy_note FROM shop.orders ORDER BY id')).toEqual([
      { id: 1, legacy_note: 'a' },
      { id: 2, legacy_note: 'b' },
    ]);
    expect(await w.target.query("SELECT to_regclass('shop.extra')::text AS t")).toEqual([{ t: 'shop.extra' }]);
    expect(
      await w.target.query("SELECT count(*)::int AS n FROM dbee.objects WHERE object_key = 'table:shop.orders'"),
    ).toEqual([{ n: 0 }]);
    expect(
      await w.target.query("SELECT count(*)::int AS n FROM dbee.steps WHERE object_key = 'table:shop.orders'"),
    ).toEqual([{ n: 0 }]);
    const again = await deploy(w);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('skipped (ifExists: skip');
  });

  it('ignore runs the step as written: a plain CREATE TABLE over the existing table fails with the engine error (exit 2)', async () => {
    const w = await withUnknownOrders(engine);
    const r = await deploy(w, { ifExists: 'ignore' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('already exists');
    expect(await w.target.query('SELECT count(*)::int AS n FROM shop.orders')).toEqual([{ n: 2 }]);
  });

  it('rename when both a schema and a table in it exist: the table goes along with its renamed schema (copyData brings its rows)', async () => {
    // Before: the schema was renamed aside first, then renaming the table aside failed (it had moved with the schema).
    const w = keep(
      await workspaceWith(engine, { ...SHOP_V1, 'shop/db.yaml': dbYaml('shop', 'deploy:\n  copyData: true\n') }),
    );
    const c = await w.target.connect();
    await c.execute(
      "CREATE SCHEMA shop; CREATE TABLE shop.customers (id int PRIMARY KEY, name text); INSERT INTO shop.customers VALUES (9, 'eve');",
    );
    await c.close();
    const dry = await deploy(w, { ifExists: 'rename', dryRun: true });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      'exists in the database, unknown to the ledger: rename with copyData (--if-exists) -> moved with schema shop, kept as shop_bak_20261121t103000.customers',
    );
    const r = await deploy(w, { ifExists: 'rename' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The new table: the hand-made row copied over, then the seed migration's rows.
    expect(await w.target.query('SELECT id, name FROM shop.customers ORDER BY id')).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'bob' },
      { id: 9, name: 'eve' },
    ]);
    expect(await w.target.query('SELECT id, name FROM shop_bak_20261121t103000.customers')).toEqual([
      { id: 9, name: 'eve' },
    ]);
  });

  it('an unknown --if-exists value is refused with exit 1', async () => {
    const w = await withUnknownOrders(engine);
    const r = await deploy(w, { ifExists: 'keep' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--if-exists: expected one of raise, rename, drop, skip, ignore, got "keep"');
  });
});
