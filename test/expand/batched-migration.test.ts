import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, spawnDbee, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { SHOP_V1 } from '../runner/shop';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

/** Shop v1, 1,000 orders (V2), and a batched migration V3 that fills `total_cents` in batches of 150 rows. */
const FILES = {
  ...SHOP_V1,
  'shop/orders.sql':
    'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL, total_cents bigint, n int NOT NULL DEFAULT 0);\n',
  'shop/migrations/V2__orders.sql':
    'INSERT INTO shop.orders (id, total) SELECT g, g / 4.0 FROM generate_series(1, 1000) g;\n',
  'shop/migrations/V2__orders.rollback.sql': 'DELETE FROM shop.orders;\n',
  'shop/migrations/V3__cents.sql':
    '-- Fill total_cents, 150 rows a transaction.\n-- dbee:batched batchSize=150 targetBatch=0\n' +
    'UPDATE orders SET total_cents = round(total * 100), n = n + 1 WHERE total_cents IS NULL;\n',
  'shop/migrations/V3__cents.rollback.sql': 'UPDATE shop.orders SET total_cents = NULL;\n',
};

describe.each(ENGINES)('batched migrations [%s]', (engine) => {
  it('run their UPDATE in keyset batches through the backfill, recorded in the ledger; a rollback forgets them', async () => {
    const w = keep(await workspaceWith(engine, FILES));
    const dry = await run(w.root, 'deploy', { project: 'shop', dryRun: true }, w.target.vars);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      '--   batched: each UPDATE runs in keyset batches of one transaction each (batchSize 150, targetBatchMs 0), resumable\n' +
        'UPDATE orders SET total_cents = round(total * 100), n = n + 1 WHERE total_cents IS NULL;',
    );
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('backfill shop.orders: 1,000 rows');
    expect(
      await w.target.query(
        `SELECT count(*)::int AS n FROM shop.orders WHERE n <> 1 OR total_cents <> round(total * 100)`,
      ),
    ).toEqual([{ n: 0 }]);
    expect(
      await w.target.query(`SELECT id, project, status, done::int, total::int, batches FROM dbee.backfills`),
    ).toEqual([{ id: 'migration:shop/V3#1', project: 'shop', status: 'done', done: 1000, total: 1000, batches: 7 }]);
    expect(await w.target.query(`SELECT version FROM dbee.migrations WHERE version = '3'`)).toEqual([{ version: '3' }]);
    // One step like any other: its row in the ledger (the statement as written), in `dbee log` and `status`.
    expect(
      await w.target.query(`SELECT status, statements FROM dbee.steps WHERE object_key = 'migration:shop/V3'`),
    ).toEqual([
      {
        status: 'applied',
        statements: ['UPDATE orders SET total_cents = round(total * 100), n = n + 1 WHERE total_cents IS NULL'],
      },
    ]);
    const log = await run(w.root, 'log', { project: 'shop' }, w.target.vars);
    expect(log.stdout).toContain('steps:  8/8 applied');
    expect(log.stdout).toMatch(/8 applied +migrate migration:shop\/V3/);

    const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(back.code).toBe(0);
    expect(await w.target.query(`SELECT count(*)::int AS n FROM dbee.backfills`)).toEqual([{ n: 0 }]);
  });

  it('refuse a statement other than UPDATE at its file and line (exit 1), before anything is applied', async () => {
    const w = keep(
      await workspaceWith(engine, {
        ...FILES,
        'shop/migrations/V3__cents.sql': '-- dbee:batched\nUPDATE shop.orders SET n = 1;\n\nDELETE FROM shop.orders;\n',
      }),
    );
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'shop/migrations/V3__cents.sql:4:1: a batched migration runs only UPDATE <table> SET ... [WHERE ...] statements: this statement starts with DELETE',
    );
    expect(await w.target.query(`SELECT to_regclass('dbee.deployments') AS t`)).toEqual([{ t: null }]);
  });
});

describe('a batched migration killed in its batches [postgres]', () => {
  it('is resumed by the next deployment after its last committed batch, no row updated twice', async () => {
    const w = keep(
      await workspaceWith('postgres', {
        ...FILES,
        'shop/migrations/V2__orders.sql':
          'INSERT INTO shop.orders (id, total) SELECT g, g / 4.0 FROM generate_series(1, 20000) g;\n' +
          // Every batch sleeps 30 ms inside its transaction: the kill lands in the middle of the backfill.
          'CREATE FUNCTION shop.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.03); RETURN NULL; END $$;\n' +
          'CREATE TRIGGER slow AFTER UPDATE ON shop.orders FOR EACH STATEMENT EXECUTE FUNCTION shop.slow();\n',
        'shop/migrations/V2__orders.rollback.sql':
          'DROP TRIGGER slow ON shop.orders;\nDROP FUNCTION shop.slow();\nDELETE FROM shop.orders;\n',
        'shop/migrations/V3__cents.sql':
          '-- dbee:batched batchSize=500 targetBatch=0\nUPDATE orders SET total_cents = round(total * 100), n = n + 1;\n',
      }),
    );
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    await a.waitFor('backfill shop.orders: ');
    a.child.kill('SIGKILL');
    expect(await a.exit).toBeNull();
    const [killed] = await w.target.query<{ done: number; cursor: string }>(
      `SELECT done::int, cursor_key->>0 AS cursor FROM dbee.backfills WHERE id = 'migration:shop/V3#1'`,
    );
    expect(killed!.done).toBeGreaterThan(0);
    expect(killed!.done).toBeLessThan(20_000);

    const st = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(st.stdout).toContain(
      `batched migration migration:shop/V3#1 unfinished: shop.orders ${killed!.done.toLocaleString('en-US')}/20,000 rows`,
    );

    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.stderr).toContain('warning: deployment #1 did not finish (the process ended): marked interrupted');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/migration:shop\/V3\) was interrupted in its batches \(shop\.orders \d+\/20000 rows\)/);
    expect(r.stdout).toContain('backfill shop.orders: 20,000 rows (resumed)');
    expect(
      await w.target.query(`SELECT count(*)::int AS n FROM shop.orders WHERE n <> 1 OR total_cents IS NULL`),
    ).toEqual([{ n: 0 }]);
    expect(await w.target.query(`SELECT status, done::int FROM dbee.backfills`)).toEqual([
      { status: 'done', done: 20_000 },
    ]);
    expect(await w.target.query(`SELECT version FROM dbee.migrations WHERE project = 'shop' ORDER BY version`)).toEqual(
      [{ version: '1' }, { version: '2' }, { version: '3' }],
    );
    // Each run's step row says what it did: the killed one's `started` row is settled (failed: its batches were
    // unfinished) by the next run, whose own row records the migration applied.
    expect(
      await w.target.query(
        `SELECT deployment_id::int AS id, status FROM dbee.steps WHERE object_key = 'migration:shop/V3' ORDER BY 1`,
      ),
    ).toEqual([
      { id: 1, status: 'failed' },
      { id: 2, status: 'applied' },
    ]);
  });
});

describe('a batched migration that fails in a batch [postgres]', () => {
  it('keeps the batches before it; an edited statement is refused, naming the row to delete to start over', async () => {
    const failing = (expr: string) =>
      `-- dbee:batched batchSize=100 targetBatch=0\nUPDATE shop.orders SET total_cents = ${expr}, n = n + 1;\n`;
    const w = keep(
      await workspaceWith('postgres', {
        ...FILES,
        // Row 450 divides by zero: batches 1-4 (rows 1-400) commit, batch 5 fails.
        'shop/migrations/V3__cents.sql': failing('round(total * 100) / (id - 450)'),
      }),
    );
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('division by zero');
    expect(await w.target.query(`SELECT count(*)::int AS n FROM shop.orders WHERE n = 1`)).toEqual([{ n: 400 }]);

    w.write('shop/migrations/V3__cents.sql', failing('round(total * 100)'));
    const edited = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(edited.code).toBe(2);
    expect(edited.stderr).toContain(
      'batched migration: statement 1 changed after some of its batches ran with the earlier text (set differs)',
    );
    expect(edited.stderr).toContain(`DELETE FROM dbee.backfills WHERE id = 'migration:shop/V3#1'`);

    await w.target.query(`DELETE FROM dbee.backfills WHERE id = 'migration:shop/V3#1'`);
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.code).toBe(0);
    // Started over: the first 400 rows were updated again, as the hint says.
    expect(await w.target.query(`SELECT n, count(*)::int AS rows FROM shop.orders GROUP BY n ORDER BY n`)).toEqual([
      { n: 1, rows: 600 },
      { n: 2, rows: 400 },
    ]);
  });
});
