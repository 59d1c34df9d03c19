import { afterAll, describe, expect, it } from 'vitest';
import { testSessions } from './sessions';
import { spawnDbee } from '../runner/helpers';
import { run } from '../support/run';
import { scratchDatabase } from '../support/pg';
import { tempWorkspace } from '../support/workspace';

/**
 * dbee killed (SIGKILL) in each phase of an expand/contract release that does work: expanding, backfilling,
 * contracting, aborting. A session of the test holds a lock that the phase's next statement needs (a table lock for
 * DDL; an advisory lock that a trigger of the project takes on one row, for the backfill), dbee is killed while it
 * waits, the lock is let go, and the same command run again finishes the phase: the release converges and the
 * ledger says exactly where it is.
 */
const WS = `version: 1
defaultEnvironment: server
environments:
  server:
    engine: postgres
    connection: { url: "\${EXPAND_KILL_URL}" }
`;
const TABLE_V1 =
  'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, state text, note text NOT NULL);';
const FILES = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/orders.sql': TABLE_V1,
  // Row 3000's update waits while someone holds advisory lock 4242: the test's way to stop a backfill mid-way.
  's/gate.sql':
    'CREATE FUNCTION s.gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = 3000 THEN PERFORM pg_advisory_xact_lock_shared(4242); END IF; RETURN NEW; END $$;',
  's/gate_trigger.sql': 'CREATE TRIGGER gate BEFORE UPDATE ON s.orders FOR EACH ROW EXECUTE FUNCTION s.gate();',
};
const V2 = {
  's/db.yaml':
    'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: column, schema: s, table: orders, from: state, to: status }\n',
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, status text, note text NOT NULL, total bigint NOT NULL);',
  's/orders.expand.yaml': 'columns:\n  total:\n    up: price * qty\n',
};
const V3 = {
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, status text, total bigint NOT NULL);',
  's/orders.expand.yaml': "columns:\n  note:\n    down: COALESCE(note, 'v3')\n",
};

describe('dbee killed in each phase of an expand-contract release (server)', () => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...FILES });
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  const sessions = testSessions(() => db.url);
  const { connect, one } = sessions;
  afterAll(async () => {
    await sessions.endAll();
    w.remove();
    await db?.drop();
  });
  // The table of releases is made by the first release (a new ledger has none): none yet reads as no release.
  const ledger = async () =>
    (await one(`SELECT to_regclass('dbee.expand_releases') IS NOT NULL AS made`))[0]!.made
      ? one('SELECT release, phase FROM dbee.expand_releases ORDER BY id')
      : [];
  /** Poll until `check` holds (no wall-clock assertion: the test's own timeout catches a hang). */
  const until = async (check: () => Promise<boolean>) => {
    while (!(await check())) await new Promise((r) => setTimeout(r, 50));
  };
  const waitingOnLock = async () =>
    (
      await one(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND backend_type = 'client backend'`,
      )
    )[0]!.n > 0;
  const phaseIs = (phase: string) => async () => (await ledger()).at(-1)?.phase === phase;
  /** Spawn `args`, wait until `ready`, then SIGKILL; returns what it printed. */
  const killWhen = async (args: string[], ready: () => Promise<boolean>) => {
    const p = await spawnDbee(w.root, args, { EXPAND_KILL_URL: db.url });
    await until(async () => (await ready()) || p.child.exitCode !== null);
    expect(p.child.exitCode, `dbee ended before the kill: ${JSON.stringify(p.output())}`).toBeNull();
    p.child.kill('SIGKILL');
    await p.exit;
    return p.output();
  };
  const cli = (command: 'deploy' | 'complete' | 'abort', extra: Record<string, unknown> = {}) =>
    run(w.root, command, { project: 's', ...extra }, { EXPAND_KILL_URL: db.url });

  it('converges after a kill while expanding, backfilling, contracting and aborting', async () => {
    db = await scratchDatabase('dbee_xk');
    expect((await cli('deploy')).code).toBe(0);
    await one(
      `INSERT INTO s.orders (id, price, qty, state, note) SELECT g, g % 10, 3, 's', 'n' FROM generate_series(1, 6000) g`,
    );
    for (const [f, text] of Object.entries(V2)) w.write(f, text);
    const deployArgs = ['deploy', 's', '--strategy', 'expand-contract'];

    // 1. Expanding: a reader's table lock stops the first ALTER TABLE.
    const reader = await connect();
    await reader.query('BEGIN; LOCK TABLE s.orders IN ACCESS SHARE MODE');
    await killWhen(deployArgs, async () => (await phaseIs('expanding')()) && (await waitingOnLock()));
    expect(await ledger()).toEqual([{ release: '1', phase: 'expanding' }]);
    await reader.query('ROLLBACK');

    // 2. Backfilling: row 3000 waits for the advisory lock; batches before it are committed.
    const gate = await connect();
    await gate.query('SELECT pg_advisory_lock(4242)');
    await killWhen(deployArgs, async () => (await phaseIs('backfilling')()) && (await waitingOnLock()));
    const mid = await one('SELECT done, total, status FROM dbee.backfills');
    expect(mid).toHaveLength(1);
    expect(mid[0]).toMatchObject({ status: 'running', total: '6000' });
    expect(Number(mid[0]!.done)).toBeLessThan(6000);
    await gate.query('SELECT pg_advisory_unlock(4242)');

    const resumed = await cli('deploy', { strategy: 'expand-contract' });
    expect(resumed.stderr).not.toMatch(/error/);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout + resumed.stderr).toContain('resuming release 1 (backfilling)');
    expect(await ledger()).toEqual([{ release: '1', phase: 'expanded' }]);
    expect(await one('SELECT done, total, status FROM dbee.backfills')).toEqual([
      { done: '6000', total: '6000', status: 'done' },
    ]);
    expect(
      await one('SELECT count(*)::int AS wrong FROM s_v1.orders WHERE total IS DISTINCT FROM price * qty'),
    ).toEqual([{ wrong: 0 }]);

    // 3. Contracting: the swap waits for the reader's lock.
    await reader.query('BEGIN; LOCK TABLE s.orders IN ACCESS SHARE MODE');
    await killWhen(['complete', 's'], async () => (await phaseIs('contracting')()) && (await waitingOnLock()));
    await reader.query('ROLLBACK');
    expect(await ledger()).toEqual([{ release: '1', phase: 'contracting' }]);
    const refused = await cli('abort');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('can no longer be aborted');
    // Killed while it records the completion (its write of the object states waits): none of the object states stay;
    // its deployment row stays, with the steps that ran, and the run again marks it interrupted and records the
    // release as a deployment of its own.
    const deployments = async () =>
      (await one(`SELECT count(*)::int AS n FROM dbee.deployments WHERE project = 's'`))[0]!.n as number;
    const before = await deployments();
    const objects = await connect();
    await objects.query('BEGIN; LOCK TABLE dbee.objects IN EXCLUSIVE MODE');
    await killWhen(['complete', 's'], waitingOnLock);
    await objects.query('ROLLBACK');
    await until(
      async () =>
        (
          await one(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          )
        )[0]!.n === 0,
    );
    expect(await ledger()).toEqual([{ release: '1', phase: 'contracting' }]);
    expect(await deployments()).toBe(before + 1);
    expect((await cli('complete')).code).toBe(0);
    expect(await deployments()).toBe(before + 2);
    expect(await one(`SELECT kind, status FROM dbee.deployments WHERE project = 's' ORDER BY id DESC LIMIT 2`)).toEqual(
      [
        { kind: 'complete', status: 'succeeded' },
        { kind: 'complete', status: 'interrupted' },
      ],
    );
    expect(await ledger()).toEqual([{ release: '1', phase: 'done' }]);
    expect(
      (
        await one(
          `SELECT string_agg(attname, ',' ORDER BY attnum) AS cols FROM pg_attribute WHERE attrelid = 's.orders'::regclass AND attnum > 0 AND NOT attisdropped`,
        )
      )[0],
    ).toEqual({ cols: 'id,price,qty,status,note,total' });

    // 4. Aborting (the next release, which drops `note`): the abort waits for the reader's lock.
    for (const [f, text] of Object.entries(V3)) w.write(f, text);
    expect((await cli('deploy', { strategy: 'expand-contract' })).code).toBe(0);
    expect(await ledger()).toEqual([
      { release: '1', phase: 'done' },
      { release: '2', phase: 'expanded' },
    ]);
    await reader.query('BEGIN; LOCK TABLE s.orders IN ACCESS SHARE MODE');
    await killWhen(['abort', 's'], async () => (await phaseIs('aborting')()) && (await waitingOnLock()));
    await reader.query('ROLLBACK');
    const again = await cli('abort');
    // The killed abort's deployment is marked interrupted, the only thing said.
    expect(again.stderr).toMatch(
      /^warning: deployment #\d+ did not finish \(the process ended\): marked interrupted; its applied steps stay\n$/,
    );
    expect(again.code).toBe(0);
    expect(await ledger()).toEqual([
      { release: '1', phase: 'done' },
      { release: '2', phase: 'aborted' },
    ]);
    expect(await one(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 's\\_v%' ORDER BY 1`)).toEqual([
      { nspname: 's_v1' },
    ]);
    expect(
      await one(`SELECT tgname FROM pg_trigger WHERE tgrelid = 's.orders'::regclass AND NOT tgisinternal ORDER BY 1`),
    ).toEqual([{ tgname: 'gate' }]);
  });
});
