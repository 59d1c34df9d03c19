import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, spawnDbee, type Target, type TestWorkspace, workspaceWith } from '../runner/helpers';
import { assertCatalogAsFresh, assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

// A partitioned table of three partitions, rows in each; the sources then add an index to the table's file, which
// `--safe` builds per partition outside a transaction (render/partition-index.ts).
const TABLE = `CREATE TABLE p.orders (id int NOT NULL, ref int NOT NULL, placed_on date NOT NULL) PARTITION BY RANGE (placed_on);
CREATE TABLE p.orders_2024 PARTITION OF p.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE p.orders_2025 PARTITION OF p.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE p.orders_2026 PARTITION OF p.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
`;
const INDEX = 'CREATE INDEX orders_ref ON p.orders (ref, placed_on);\n';
const FILES = { 'p/db.yaml': dbYaml('p'), 'p/schema.sql': 'CREATE SCHEMA p;\n', 'p/orders.sql': TABLE };
const ROWS = `INSERT INTO p.orders SELECT g, g, date '2024-01-01' + g FROM generate_series(1, 30) g;
  INSERT INTO p.orders SELECT g, g, date '2025-01-01' + g FROM generate_series(1, 30) g;
  INSERT INTO p.orders SELECT g, g, date '2026-01-01' + g FROM generate_series(1, 30) g`;

/** The indexes of schema p: valid, and the index each is attached to (pg_inherits). */
const INDEXES = `SELECT c.relname AS name, i.indisvalid AS valid,
    (SELECT p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent WHERE h.inhrelid = c.oid) AS parent
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'p' ORDER BY 1`;

const BUILT = [
  { name: 'orders_2024_ref_placed_on_idx', valid: true, parent: 'orders_ref' },
  { name: 'orders_2025_ref_placed_on_idx', valid: true, parent: 'orders_ref' },
  { name: 'orders_2026_ref_placed_on_idx', valid: true, parent: 'orders_ref' },
  { name: 'orders_ref', valid: true, parent: null },
];

/** The backend of dbee's working session once its CREATE INDEX CONCURRENTLY on p.orders_2025 waits for a lock. */
async function waitingBuild(target: Target, db: string): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const rows = await target.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'dbee-run %'
          AND query ILIKE 'CREATE INDEX CONCURRENTLY orders_2025%' AND wait_event_type = 'Lock'`,
      [db],
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('CREATE INDEX CONCURRENTLY on p.orders_2025 never started waiting');
}

/** Until the backend `pid` (whose client was killed) has ended. */
async function ended(target: Target, pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (!(await target.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`backend ${pid} never ended`);
}

/**
 * p deployed with rows in its three partitions, then the index added to the sources; `dbee deploy p --safe` spawned
 * and killed (SIGKILL) while its CREATE INDEX CONCURRENTLY on the second partition waits for another session's
 * transaction (an insert into that partition): the parent's index is then made `ON ONLY`, the first partition's built
 * and attached. The transaction then commits and the orphaned build's backend ends: it finishes the build (an index of
 * orders_2025, never attached) when the commit comes first, or cancels it (the index left INVALID) once it notices
 * its client is gone (dbee's sessions check every second: `client_connection_check_interval`). Both are
 * accepted below: the next deployment drops that index IF EXISTS.
 */
async function killedMidBuild(): Promise<TestWorkspace> {
  const w = workspaces[workspaces.push(await workspaceWith('postgres', FILES)) - 1]!;
  const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
  const first = await run(w.root, 'deploy', { project: 'p' }, w.target.vars);
  expect(first.code, first.stderr).toBe(0);
  await w.target.execute(ROWS);
  w.write('p/orders.sql', TABLE + INDEX);

  const holder = await w.target.connect();
  await holder.execute('BEGIN');
  await holder.execute("INSERT INTO p.orders_2025 VALUES (100, 100, '2025-06-01')");
  const a = await spawnDbee(w.root, ['deploy', 'p', '--safe'], w.target.vars);
  const pid = await waitingBuild(w.target, db);
  a.child.kill('SIGKILL');
  expect(await a.exit).toBeNull();
  await holder.execute('COMMIT');
  await holder.close();
  await ended(w.target, pid);

  // What the kill left: the parent's index INVALID, the first partition's attached, the second's not.
  const left = await w.target.query<{ name: string; valid: boolean; parent: string | null }>(INDEXES);
  expect(left.filter((x) => x.name !== 'orders_2025_ref_placed_on_idx')).toEqual([
    { name: 'orders_2024_ref_placed_on_idx', valid: true, parent: 'orders_ref' },
    { name: 'orders_ref', valid: false, parent: null },
  ]);
  expect(left.find((x) => x.name === 'orders_2025_ref_placed_on_idx')?.parent ?? null).toBeNull();
  const [step] = await w.target.query<{ status: string; statements: string[] }>(
    "SELECT status, statements FROM dbee.steps WHERE statements::text LIKE '%ON ONLY p.orders%'",
  );
  expect(step?.status).toBe('started');
  return w;
}

/**
 * A partition-wise index build killed in its middle (postgres-recover.ts's partitioned case). Server only: the
 * scenario needs a second session holding a transaction and a dbee process killed while its build waits for it.
 */
describe('fault: a partition-wise index build killed in its middle [postgres]', () => {
  it('the next `deploy --safe` drops what it left (the INVALID parent index, the partitions’ indexes it built) and builds it again: converged', async () => {
    const w = await killedMidBuild();
    const vars = w.target.vars;

    const status = await run(w.root, 'status', { project: 'p' }, vars);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);

    const b = await run(w.root, 'deploy', { project: 'p', safe: true, waitForLock: 60 }, vars);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(
      /step \d+ of deployment #2 \(create index:p\.orders_ref@p\.orders\) was interrupted and left an INVALID index of a partitioned table and the partitions' indexes it built: dropped \(DROP INDEX IF EXISTS p\.orders_ref; DROP INDEX CONCURRENTLY IF EXISTS p\.orders_2024_ref_placed_on_idx; DROP INDEX CONCURRENTLY IF EXISTS p\.orders_2025_ref_placed_on_idx; DROP INDEX CONCURRENTLY IF EXISTS p\.orders_2026_ref_placed_on_idx\) and builds it again/,
    );
    expect(await w.target.query(INDEXES)).toEqual(BUILT);

    const diff = await run(w.root, 'diff', { project: 'p', format: 'json', cache: false }, vars);
    expect(diff.code, diff.stderr).toBe(0);
    expect(JSON.parse(diff.stdout).changes).toBe(0);
    const after = await run(w.root, 'status', { project: 'p' }, vars);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('pending: nothing');
    const c = await run(w.root, 'deploy', { project: 'p', safe: true }, vars);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain('p: nothing to deploy');
    await assertLedgerInvariants(w.target);
    await assertCatalogAsFresh(w, { ...FILES, 'p/orders.sql': TABLE + INDEX }, ['p']);
  });

  it('killed, then `dbee rollback --to 1`: what the build left is dropped, the catalog is deployment #1’s; a deploy after it builds the index', async () => {
    const w = await killedMidBuild();
    const vars = w.target.vars;
    const back = await run(w.root, 'rollback', { project: 'p', to: '1' }, vars);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toMatch(
      /step 1 of deployment #2 \(create index:p\.orders_ref@p\.orders\) was interrupted and left an INVALID index of a partitioned table and the partitions' indexes it built: dropped/,
    );
    expect(await w.target.query(INDEXES)).toEqual([]);
    expect(
      await w.target.query("SELECT status FROM dbee.steps WHERE object_key = 'index:p.orders_ref@p.orders'"),
    ).toEqual([{ status: 'failed' }]);
    await assertLedgerInvariants(w.target);
    await assertCatalogAsFresh(w, FILES, ['p']);

    const d = await run(w.root, 'deploy', { project: 'p', safe: true }, vars);
    expect(d.code, d.stderr).toBe(0);
    expect(await w.target.query(INDEXES)).toEqual(BUILT);
    await assertLedgerInvariants(w.target);
  });
});
