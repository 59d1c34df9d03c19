import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { spawnDbee, type Target, type TestWorkspace } from '../runner/helpers';
import { deployedShop, SHOP_V1 } from '../runner/shop';
import { assertCatalogAsFresh, assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

const INDEX = {
  'shop/customers_name_idx.sql': 'CREATE INDEX CONCURRENTLY customers_name_idx ON shop.customers (name);\n',
};

/** The backend of dbee's working session once its CREATE INDEX CONCURRENTLY waits for `holder`'s transaction. */
async function waitingBuild(target: Target, db: string): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const rows = await target.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee-run %' AND query ILIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`,
      [db],
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('CREATE INDEX CONCURRENTLY never started waiting');
}

/**
 * `dbee deploy shop` killed (SIGKILL) after its CREATE INDEX CONCURRENTLY, which waited for the transaction `holding`
 * opens on another session, was built by the server: dbee never read the statement's answer, so the step is left
 * `started` in the ledger with the index complete. The process is frozen (SIGSTOP) before the transaction commits and
 * killed once the build is over: dbee's sessions ask the server to check that their client is still there
 * (`client_connection_check_interval`, 1 s), so a build still running when the process dies is cancelled (the
 * INVALID index of the first case). Killing first and committing after raced that check: on a loaded machine the
 * commit came after it, and the build this file is about never completed.
 */
async function killedDuringBuild(w: TestWorkspace, db: string, holding: string[]): Promise<number> {
  const holder = await w.target.connect();
  for (const sql of holding) await holder.execute(sql);
  const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
  const pid = await waitingBuild(w.target, db);
  a.child.kill('SIGSTOP');
  await holder.execute('COMMIT');
  await holder.close();
  // The server finishes the statement and writes its answer to the frozen process's socket.
  for (let i = 0; ; i++) {
    const [row] = await w.target.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [pid]);
    if (row?.state !== 'active') break;
    if (i >= 6000)
      throw new Error(
        `CREATE INDEX CONCURRENTLY (backend ${pid}) still running after the transaction it waited for ended`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  a.child.kill('SIGKILL');
  expect(await a.exit).toBeNull();
  return pid;
}

const indexState = (target: Target) =>
  target.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'customers_name_idx'`,
  );

describe('fault: a non-transactional step interrupted [postgres]', () => {
  it('its session terminated during CREATE INDEX CONCURRENTLY: the INVALID index is dropped and rebuilt by the next run, said in the output', async () => {
    const w = workspaces[workspaces.push(await deployedShop('postgres')) - 1]!;
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    w.write('shop/customers_name_idx.sql', INDEX['shop/customers_name_idx.sql']);
    const holder = await w.target.connect();
    await holder.execute('BEGIN');
    await holder.execute("INSERT INTO shop.customers VALUES (3, 'cy')");
    const a = await spawnDbee(w.root, ['deploy', 'shop'], w.target.vars);
    const pid = await waitingBuild(w.target, db);
    await w.target.query('SELECT pg_terminate_backend($1)', [pid]);
    expect(await a.exit).toBe(2);
    expect(a.output().stderr).toContain('CREATE INDEX CONCURRENTLY customers_name_idx');
    await holder.execute('ROLLBACK');
    await holder.close();
    expect(await indexState(w.target)).toEqual([{ valid: false }]);
    const started = await w.target.query<{ status: string; statements: string[] }>(
      "SELECT status, statements FROM dbee.steps WHERE object_key = 'index:shop.customers_name_idx@shop.customers'",
    );
    expect(started).toEqual([
      { status: 'started', statements: ['CREATE INDEX CONCURRENTLY customers_name_idx ON shop.customers (name)'] },
    ]);

    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);

    const b = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(b.stderr).toMatch(
      /step 1 of deployment #2 \(create index:shop.customers_name_idx@shop.customers\) was interrupted and left an INVALID index: dropped \(DROP INDEX CONCURRENTLY IF EXISTS shop.customers_name_idx\) and builds it again/,
    );
    expect(b.code).toBe(0);
    expect(await indexState(w.target)).toEqual([{ valid: true }]);
    expect((await run(w.root, 'status', { project: 'shop' }, w.target.vars)).code).toBe(0);
    await assertLedgerInvariants(w.target);
    await assertCatalogAsFresh(w, { ...SHOP_V1, ...INDEX }, ['shop']);
  });

  it('its process killed during CREATE INDEX CONCURRENTLY, the build then completes: the next run records it applied instead of refusing', async () => {
    const w = workspaces[workspaces.push(await deployedShop('postgres')) - 1]!;
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    w.write('shop/customers_name_idx.sql', INDEX['shop/customers_name_idx.sql']);
    await killedDuringBuild(w, db, ['BEGIN', "INSERT INTO shop.customers VALUES (3, 'cy')"]);

    const b = await run(w.root, 'deploy', { project: 'shop', waitForLock: 60 }, w.target.vars);
    expect(b.stderr).toContain('warning: deployment #2 did not finish (the process ended): marked interrupted');
    expect(b.stdout).toMatch(
      /step 1 of deployment #2 \(create index:shop.customers_name_idx@shop.customers\) was running outside a transaction when its process ended, and completed: recorded applied/,
    );
    expect(b.code).toBe(0);
    // Killed after its last step: the deployment's closing stages run now (its smoke checks).
    expect(b.stdout).toContain('shop (deployment #2): interrupted after all its steps applied');
    expect(await indexState(w.target)).toEqual([{ valid: true }]);
    expect(
      await w.target.query(
        "SELECT deployment_id::int AS d FROM dbee.objects WHERE object_key = 'index:shop.customers_name_idx@shop.customers'",
      ),
    ).toEqual([{ d: 2 }]);
    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('pending: nothing');
    // Issue #33, point 7: the run after the kill recorded a fingerprint, so drift is known again (not `unknown`).
    expect(status.stdout).toMatch(/drift: no\b/);
    // ... and a deployment after it plans from the ledger, with nothing to do.
    const c = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain('shop: nothing to deploy, the database is up to date');
    await assertLedgerInvariants(w.target);
  });

  it('its process killed during CREATE INDEX CONCURRENTLY, the build then completes, then `dbee rollback --to 1`: recorded applied, then undone', async () => {
    const w = workspaces[workspaces.push(await deployedShop('postgres')) - 1]!;
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    w.write('shop/customers_name_idx.sql', INDEX['shop/customers_name_idx.sql']);
    const pid = await killedDuringBuild(w, db, ['BEGIN', "INSERT INTO shop.customers VALUES (3, 'cy')"]);
    // The server finishes the orphaned build, then its backend ends.
    for (
      let i = 0;
      i < 600 && (await w.target.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length;
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(await indexState(w.target)).toEqual([{ valid: true }]);

    const back = await run(w.root, 'rollback', { project: 'shop', to: '1' }, w.target.vars);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(
      /step 1 of deployment #2 \(create index:shop.customers_name_idx@shop.customers\) was running outside a transaction when its process ended, and completed: recorded applied/,
    );
    expect(back.stdout).toContain('shop: deployment #2 rolled back: 1 step undone');
    expect(await indexState(w.target)).toEqual([]);
    await assertLedgerInvariants(w.target);
    await assertCatalogAsFresh(w, SHOP_V1, ['shop']);
  });

  it('a project planned by a diff, killed during its CREATE INDEX CONCURRENTLY: the next run leaves the ledger at the sources’ checksums (issue #56)', async () => {
    const w = workspaces[workspaces.push(await deployedShop('postgres', 'deploy:\n  online: true')) - 1]!;
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    // The table's file changes: the project is planned by a diff, which builds the index CONCURRENTLY (online).
    w.write(
      'shop/customers.sql',
      'CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, email text);\nCREATE INDEX customers_name_idx ON shop.customers (name);\n',
    );
    // An older snapshot (on another table: the ALTER TABLE before the build does not wait for it) that the build waits for.
    await killedDuringBuild(w, db, [
      'BEGIN ISOLATION LEVEL REPEATABLE READ',
      'SELECT count(*) FROM pg_catalog.pg_class',
    ]);

    const b = await run(w.root, 'deploy', { project: 'shop', waitForLock: 60 }, w.target.vars);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('recorded applied');
    expect(await indexState(w.target)).toEqual([{ valid: true }]);
    // Every later run plans from the ledger: nothing changed since the last deployment, nothing to deploy.
    const c = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).not.toContain('changed since the last deployment');
    expect(c.stdout).toContain('shop: nothing to deploy, the database is up to date');
    await assertLedgerInvariants(w.target);
  });
});
