import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection, PgConnection } from '@dbee/postgres';
import type { Connection } from '@dbee/core';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { inSession } from './sessions';
import { RELEASE_V1, RELEASE_V2, LOCAL_AND_SERVER_YAML as WS } from './workspace';

/**
 * The whole expand/contract lifecycle of one release, without concurrency, on PGlite and on the server, in pgroll's
 * test shape: expand → write through each version, read through the other → abort → nothing left → expand again →
 * complete → the table has the new shape, the data survived. One release carries the five main changes: a column
 * added NOT NULL and computed from others, a rename, a type change, NOT NULL added, a column dropped.
 */
const [v1, v2] = [RELEASE_V1, RELEASE_V2];

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

describe.each([
  ['pglite', 'local'],
  ['postgres', 'server'],
])('expand/contract lifecycle [%s]', (_name, env) => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...v1 });
  let vars: NodeJS.ProcessEnv = {};
  let drop = async () => {};
  let open: () => Promise<Connection> = () => PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
  /** Statements on one session (settings and all), the last one's rows. */
  const session = (...sql: string[]) => inSession(open, ...sql);
  const q: Query = (sql) => session(sql);
  const oldApp = (...sql: string[]) => session('SET search_path = s_v0, s', ...sql);
  const newApp = (...sql: string[]) => session("SET dbee.version = '1'", 'SET search_path = s_v1, s', ...sql);
  const dbee = (command: 'deploy' | 'complete' | 'abort' | 'version' | 'status', extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 's', env, ...extra }, vars);
  const columns = async () =>
    (
      await q(
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS nn FROM pg_attribute WHERE attrelid = 's.orders'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      )
    ).map((r) => `${r.name} ${r.type}${r.nn ? ' not null' : ''}`);
  const leftovers = async () => ({
    triggers: (await q(`SELECT tgname FROM pg_trigger WHERE tgrelid = 's.orders'::regclass AND NOT tgisinternal`))
      .length,
    functions: (await q(`SELECT proname FROM pg_proc WHERE proname LIKE 'expand_sync_%'`)).length,
    checks: (await q(`SELECT conname FROM pg_constraint WHERE conname LIKE '\\_dbee%'`)).length,
  });
  const phase = async () =>
    (await q(`SELECT phase FROM dbee.expand_releases ORDER BY id DESC LIMIT 1`))[0]?.phase as string | undefined;

  afterAll(async () => {
    await drop();
    w.remove();
  });

  it('expand serves both shapes (writes through each reach the other), abort leaves nothing, complete gives the new shape', async () => {
    if (env === 'server') {
      const db = await scratchDatabase('dbee_xc');
      vars = { EXPAND_TEST_URL: db.url };
      drop = db.drop;
      open = () => PgConnection.open({ connectionString: db.url }, 'scratch');
    }
    expect((await dbee('deploy')).code).toBe(0);
    await q(
      `INSERT INTO s.orders (id, price, qty, state, amount, label, note) SELECT g, g, 2, 'open', g * 10, CASE WHEN g % 2 = 0 THEN 'l' END, 'n' || g FROM generate_series(1, 500) g`,
    );
    for (const [f, text] of Object.entries(v2)) w.write(f, text);
    const before = await columns();

    // A dry run prints the plan and changes nothing.
    const dry = await dbee('deploy', { strategy: 'expand-contract', dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('rename column s.orders.state to status');
    expect(dry.stdout).toContain('CREATE TRIGGER');
    expect(await columns()).toEqual(before);

    const expanded = await dbee('deploy', { strategy: 'expand-contract' });
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
    expect(await phase()).toBe('expanded');
    // Existing rows were backfilled: the new version shows them in the new shape.
    expect(await newApp('SELECT id, status, amount, label, total FROM orders WHERE id IN (1, 2) ORDER BY id')).toEqual([
      { id: 1, status: 'open', amount: '10.00', label: 'none', total: 2 },
      { id: 2, status: 'open', amount: '20.00', label: 'l', total: 4 },
    ]);
    // The old version writes in the old shape; the new version reads it through `up`.
    await oldApp(
      "INSERT INTO orders (id, price, qty, state, amount, label, note) VALUES (1000, 3, 4, 'old', 7, NULL, 'from old')",
      "UPDATE orders SET price = 5, state = 'older' WHERE id = 1",
    );
    expect(await newApp('SELECT status, amount, label, total FROM orders WHERE id IN (1, 1000) ORDER BY id')).toEqual([
      { status: 'older', amount: '10.00', label: 'none', total: 10 },
      { status: 'old', amount: '7.00', label: 'none', total: 12 },
    ]);
    // The new version writes in the new shape; the old version reads it through `down`.
    await newApp(
      "INSERT INTO orders (id, price, qty, status, amount, label, total) VALUES (1001, 1, 1, 'new', 5.4, 'L', 1)",
      'UPDATE orders SET amount = 8.6 WHERE id = 2',
    );
    expect(await oldApp('SELECT id, state, amount, label, note FROM orders WHERE id IN (2, 1001) ORDER BY id')).toEqual(
      [
        { id: 2, state: 'open', amount: 9, label: 'l', note: 'n2' },
        { id: 1001, state: 'new', amount: 5, label: 'L', note: '' },
      ],
    );
    // A table the release creates is in the new version only.
    await newApp("INSERT INTO tags VALUES (1, 1001, 'new')");
    expect(await q(`SELECT to_regclass('s_v0.tags') AS old, to_regclass('s_v1.tags') AS new`)).toEqual([
      { old: null, new: 's_v1.tags' },
    ]);
    // An app that pins its search path and sets nothing else still syncs.
    await session(
      'SET search_path = s_v1, s',
      "INSERT INTO orders (id, price, qty, status, amount, label, total) VALUES (1002, 1, 1, 'pinned', 1, 'P', 1)",
    );
    expect(await oldApp('SELECT note, amount FROM orders WHERE id = 1002')).toEqual([{ note: '', amount: 1 }]);
    // The new shape refuses NULL where it says NOT NULL.
    await expect(
      newApp("INSERT INTO orders (id, price, qty, status, amount, label, total) VALUES (1003, 1, 1, 'x', 1, NULL, 1)"),
    ).rejects.toThrow(/_dbee_nn_label/);
    // One release in flight per project.
    const second = await dbee('deploy', { strategy: 'expand-contract', release: '2' });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('release 1 of s is in flight');
    const direct = await dbee('deploy');
    expect(direct.code).toBe(1);
    expect(direct.stderr).toContain('in flight');
    const version = await dbee('version', { format: 'json' });
    expect(JSON.parse(version.stdout)).toMatchObject({
      release: '1',
      phase: 'expanded',
      searchPath: ['s_v1', 's'],
      settings: { 'dbee.version': '1' },
    });
    // The old version, for the old app's scripts.
    const previous = await dbee('version', { release: '0' });
    expect(previous.stdout).toContain('search_path: s_v0, s');
    expect(previous.stdout).toContain('options: -c search_path=s_v0,s -c dbee.version=0');
    const status = await dbee('status');
    expect(status.stdout).toContain('expand-contract: release 1 (after 0) expanded');

    const aborted = await dbee('abort');
    expect(aborted.code).toBe(0);
    expect(await phase()).toBe('aborted');
    expect(await columns()).toEqual(before);
    expect(await leftovers()).toEqual({ triggers: 0, functions: 0, checks: 0 });
    expect(await q(`SELECT to_regclass('s.tags') AS t`)).toEqual([{ t: null }]);
    expect(await q(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 's\\_v%' ORDER BY 1`)).toEqual([
      { nspname: 's_v0' },
    ]);
    // What the new version wrote stays, in the old columns.
    expect(await q('SELECT id, state, amount, note FROM s.orders WHERE id IN (2, 1001) ORDER BY id')).toEqual([
      { id: 2, state: 'open', amount: 9, note: 'n2' },
      { id: 1001, state: 'new', amount: 5, note: '' },
    ]);

    expect((await dbee('deploy', { strategy: 'expand-contract' })).code).toBe(0);
    await oldApp(
      "INSERT INTO orders (id, price, qty, state, amount, label, note) VALUES (1004, 2, 2, 's', 3, NULL, 'x')",
    );
    const completed = await dbee('complete');
    expect(completed.stderr).toBe('');
    expect(completed.code).toBe(0);
    expect(await phase()).toBe('done');
    expect(await columns()).toEqual([
      'id integer not null',
      'price integer not null',
      'qty integer not null',
      'status text',
      'amount numeric(12,2)',
      'label text not null',
      'total integer not null',
    ]);
    expect(await leftovers()).toEqual({ triggers: 0, functions: 0, checks: 0 });
    expect(await q(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 's\\_v%' ORDER BY 1`)).toEqual([
      { nspname: 's_v1' },
    ]);
    expect(
      await newApp('SELECT id, status, amount, label, total FROM orders WHERE id IN (1001, 1004) ORDER BY id'),
    ).toEqual([
      { id: 1001, status: 'new', amount: '5.00', label: 'L', total: 1 },
      { id: 1004, status: 's', amount: '3.00', label: 'none', total: 4 },
    ]);
    expect((await q('SELECT count(*)::int AS n FROM s.orders'))[0]).toEqual({ n: 504 });
    expect(await q(`SELECT to_regclass('s.tags') AS t`)).toEqual([{ t: 's.tags' }]);
    // The completion is a deployment in the ledger: status has nothing pending and no drift.
    const done = await dbee('status');
    expect(done.stdout).toContain('expand-contract: release 1 (after 0) done');
    expect(done.stdout).toContain('pending: nothing, up to date with the sources');
    expect(done.stdout).toContain('drift: no');
    // The sources and the database agree: a plain deployment finds nothing to change in the tables.
    const after = await dbee('deploy');
    expect(after.stderr).not.toMatch(/error/);
    expect(after.code).toBe(0);
    expect(await columns()).toHaveLength(7);
  });
});
