import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, type TestWorkspace, workspaceWith } from '../runner/helpers';

// A partitioned table of two partitions holding more rows than a small table (operations/size-hazards.ts), so that
// building an index on it is a hazard; the sources then add a unique index to the table's file (planned by a diff).
const TABLE = `CREATE TABLE p.orders (id int NOT NULL, ref int NOT NULL, placed_on date NOT NULL) PARTITION BY RANGE (placed_on);
CREATE TABLE p.orders_2024 PARTITION OF p.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE p.orders_2025 PARTITION OF p.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
`;
const INDEX = 'CREATE UNIQUE INDEX orders_ref ON p.orders (ref, placed_on);\n';
const FILES = { 'p/db.yaml': dbYaml('p'), 'p/schema.sql': 'CREATE SCHEMA p;\n', 'p/orders.sql': TABLE };

/** The statements a dry run prints (the plan's lines end with a semicolon), without the lock timeouts. */
const printed = (stdout: string) =>
  stdout.split('\n').filter((l) => l.endsWith(';') && !l.startsWith('--') && !l.startsWith('SET lock_timeout'));

const PARTITION_WISE = [
  'CREATE UNIQUE INDEX orders_ref ON ONLY p.orders (ref, placed_on);',
  'CREATE UNIQUE INDEX CONCURRENTLY orders_2024_ref_placed_on_idx ON p.orders_2024 (ref, placed_on);',
  'ALTER INDEX p.orders_ref ATTACH PARTITION p.orders_2024_ref_placed_on_idx;',
  'CREATE UNIQUE INDEX CONCURRENTLY orders_2025_ref_placed_on_idx ON p.orders_2025 (ref, placed_on);',
  'ALTER INDEX p.orders_ref ATTACH PARTITION p.orders_2025_ref_placed_on_idx;',
];

/** The indexes of p.orders and its partitions: valid, and the index each is attached to. */
const INDEXES = `SELECT c.relname AS name, i.indisvalid AS valid,
    (SELECT p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent WHERE h.inhrelid = c.oid) AS parent
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'p' ORDER BY 1`;

describe.each(ENGINES)('deploy --safe: a partitioned table’s new index, built per partition [%s]', (engine) => {
  const workspaces: TestWorkspace[] = [];
  afterAll(async () => {
    for (const w of workspaces) await w.remove();
  });

  it('is planned per partition, deploys and converges, rolls back; fails on one partition’s rows and deploys once they are mended', async () => {
    const w = workspaces[workspaces.push(await workspaceWith(engine, FILES)) - 1]!;
    const vars = w.target.vars;
    const safe = { project: 'p', safe: true, allowHazards: ['index-build'] };
    expect((await run(w.root, 'deploy', { project: 'p' }, vars)).code).toBe(0);
    await w.target.execute(`INSERT INTO p.orders SELECT g, g, date '2024-01-01' + g % 300 FROM generate_series(1, 6000) g;
      INSERT INTO p.orders SELECT g, g, date '2025-01-01' FROM generate_series(1, 6000) g;
      ANALYZE p.orders`);
    w.write('p/orders.sql', TABLE + INDEX);

    // Without --safe: the table's index blocks writes while it builds; the hazard says how not to.
    const plain = await run(w.root, 'deploy', { project: 'p', dryRun: true, allowHazards: ['index-build'] }, vars);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(
      'long-lock (builds index p.orders_ref while blocking writes to p.orders (--safe builds it CONCURRENTLY; on a partitioned table, per partition)',
    );

    // With it: verified on the copy (CONCURRENTLY outside a transaction there too), and only index-build is a hazard.
    const dry = await run(w.root, 'deploy', { ...safe, dryRun: true }, vars);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(printed(dry.stdout)).toEqual(PARTITION_WISE);
    expect(dry.stdout).toContain('[outside a transaction]');

    // The real run: the table's index valid, each partition's attached to it; nothing left to deploy or to diff.
    const real = await run(w.root, 'deploy', safe, vars);
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    const built = [
      { name: 'orders_2024_ref_placed_on_idx', valid: true, parent: 'orders_ref' },
      { name: 'orders_2025_ref_placed_on_idx', valid: true, parent: 'orders_ref' },
      { name: 'orders_ref', valid: true, parent: null },
    ];
    expect(await w.target.query(INDEXES)).toEqual(built);
    const diff = await run(w.root, 'diff', { project: 'p', format: 'json', cache: false }, vars);
    expect(diff.code, diff.stderr).toBe(0);
    expect(JSON.parse(diff.stdout).changes).toBe(0);
    expect((await run(w.root, 'deploy', safe, vars)).stdout).toContain('p: nothing to deploy');

    // Rolled back: the table's index is dropped, its partitions' with it.
    const back = await run(w.root, 'rollback', { project: 'p' }, vars);
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(await w.target.query(INDEXES)).toEqual([]);

    // A duplicate in 2025: the run fails there, after 2024's index is built and attached.
    await w.target.execute('UPDATE p.orders_2025 SET ref = 5999 WHERE id = 6000');
    const failed = await run(w.root, 'deploy', safe, vars);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/could not create unique index "orders_2025_ref_placed_on_idx"/);
    expect(await w.target.query(INDEXES)).toEqual([
      { name: 'orders_2024_ref_placed_on_idx', valid: true, parent: 'orders_ref' },
      { name: 'orders_2025_ref_placed_on_idx', valid: false, parent: null },
      { name: 'orders_ref', valid: false, parent: null },
    ]);

    // Mended, the next run converges: what the failure left is dropped first, then the index built again.
    await w.target.execute('DELETE FROM p.orders_2025 WHERE id = 6000');
    const again = await run(w.root, 'deploy', safe, vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const [sent] = await w.target.query<{ statements: string[] }>(
      'SELECT statements FROM dbee.steps WHERE deployment_id = (SELECT max(id) FROM dbee.deployments)',
    );
    expect(sent!.statements.filter((x) => !x.startsWith('SET ')).slice(0, 3)).toEqual([
      'DROP INDEX IF EXISTS p.orders_ref',
      'DROP INDEX CONCURRENTLY IF EXISTS p.orders_2025_ref_placed_on_idx',
      PARTITION_WISE[0]!.replace(/;$/, ''),
    ]);
    expect(await w.target.query(INDEXES)).toEqual(built);
    const after = await run(w.root, 'diff', { project: 'p', format: 'json', cache: false }, vars);
    expect(JSON.parse(after.stdout).changes).toBe(0);
  });
});
