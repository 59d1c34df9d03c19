import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blueGreenFinish, blueGreenSwitch, type DbeeError, hookRouter, makeGreen } from '@dbee/core';
import pg from 'pg';
import { run } from '../support/run';
import { Writers } from '../support/writers';
import { tempWorkspace } from '../support/workspace';
import { blueGreenStage, blueGreenYaml, CLOSED_WINDOW, context, sql, V1, IN_FLIGHT, workspaceYaml } from './setup';

/**
 * The guard rails of blue/green on an own cluster with a real PgBouncer: what is refused before anything changes (a
 * release replication cannot carry, a role without the REPLICATION privilege, a green that lags, a failed
 * subscription), and a switchover whose step fails or outlasts its bound inside the pause, undone with the writes
 * resumed on blue. Each refusal leaves the application writing to blue, unpaused, and no `switch` row in the ledger.
 */
describe('blue/green guard rails', () => {
  let stage: Awaited<ReturnType<typeof blueGreenStage>>;
  const options = { project: 's', env: 'blue', green: 'green', inFlight: IN_FLIGHT };
  const refusal = (p: Promise<unknown>) => p.then(() => null).catch((e: unknown) => e as DbeeError);
  /** Bytes green is behind blue, read on blue's slot. */
  const lag = async () =>
    Number(
      (
        await sql(
          stage.blueUrl,
          "SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint AS b FROM pg_replication_slots WHERE slot_name LIKE '%to_green'",
        )
      )[0]?.b ?? -1,
    );
  const until = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** The application writes through PgBouncer at once, to blue (not paused, not moved). */
  const writesToBlue = async () => {
    const c = new pg.Client({ connectionString: stage.appUrl, query_timeout: 2000 });
    await c.connect();
    try {
      const r = await c.query(
        'INSERT INTO s.orders (token) VALUES (gen_random_uuid()) RETURNING current_database() AS d',
      );
      return r.rows[0].d as string;
    } finally {
      await c.end();
    }
  };
  /** The rows of the latest switch phase (from its `begin`), none when no switch began. */
  const switchRows = async () => {
    const rows = (await sql(
      stage.blueUrl,
      "SELECT phase, step, status FROM dbee.blue_green WHERE phase <> 'deploy' ORDER BY id",
    )) as { phase: string; step: string; status: string }[];
    return rows.slice(
      Math.max(
        0,
        rows.findLastIndex((r) => r.step === 'begin'),
      ),
    );
  };

  /**
   * dbee.yaml as the tests use it: blue's bound of lag (64 kB, small enough for the lag test to exceed; the router
   * test, whose writers keep flowing while a switch process starts, gives the default, 16 MB), its PgBouncer; `more`
   * as `blueGreenYaml`'s.
   */
  const yaml = (more: Parameters<typeof blueGreenYaml>[3] = {}, maxLag = '64kB') =>
    stage.w.write('dbee.yaml', blueGreenYaml(stage.cluster.port, stage.bouncer, maxLag, more));
  /** Nothing of a blue/green deployment was made: no green database, no publication on blue, no `blue_green` rows. */
  const nothingMade = async () => {
    expect(await sql(stage.cluster.url(), "SELECT datname FROM pg_database WHERE datname = 'app_green'")).toEqual([]);
    expect(await sql(stage.blueUrl, 'SELECT pubname FROM pg_publication')).toEqual([]);
    expect(await sql(stage.blueUrl, "SELECT to_regclass('dbee.blue_green') AS t")).toEqual([{ t: null }]);
  };
  /** `command` on blue refused in a closed maintenance window, its dry run alike (exit 1, the window named). */
  const refusedInClosedWindow = async (command: 'deploy' | 'switch', more: Record<string, unknown>) => {
    yaml({ gates: CLOSED_WINDOW });
    try {
      for (const dryRun of [true, false]) {
        const r = await run(stage.w.root, command, {
          project: 's',
          env: 'blue',
          ...more,
          ticket: 'CHG-2',
          assumeYes: true,
          dryRun,
        });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain('environment blue only accepts deployments inside its maintenance window');
      }
    } finally {
      yaml();
    }
  };
  beforeAll(async () => {
    stage = await blueGreenStage(2000);
    // `dbee switch` reads the router and the bound from here; the engine side's calls take theirs as arguments.
    yaml();
  }, 120_000);
  /** `dbee switch` as a user runs it: refused with exit 1 and the reason, or done. */
  const dbeeSwitch = () => run(stage.w.root, 'switch', { project: 's', env: 'blue', ticket: 'CHG-2', assumeYes: true });
  afterAll(async () => {
    await stage?.stop();
  });

  it('refuses a release that drops a column blue writes before anything is made, naming expand-contract', async () => {
    stage.w.write(
      's/orders.sql',
      'CREATE TABLE s.orders (id bigserial PRIMARY KEY, token uuid NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());',
    );
    try {
      const e = await refusal(makeGreen(stage.ctx, options));
      expect(e?.code).toBe('REPLICATION_UNCARRIED');
      expect(e?.message).toContain('column s.orders.note is dropped or renamed on green');
      expect(e?.hint).toContain('--strategy expand-contract');
    } finally {
      stage.w.write('s/orders.sql', V1['s/orders.sql']);
    }
    await nothingMade();
  }, 120_000);

  it("refuses dbee deploy --strategy blue-green outside blue's maintenance window, the dry run alike; nothing made", async () => {
    await refusedInClosedWindow('deploy', { strategy: 'blue-green' });
    await nothingMade();
  }, 120_000);

  it('refuses a role without the REPLICATION privilege, naming it', async () => {
    await sql(stage.cluster.url(), 'CREATE ROLE weak LOGIN NOREPLICATION', 'CREATE DATABASE weak OWNER weak');
    stage.w.write(
      'dbee.yaml',
      `${readFileSync(join(stage.w.root, 'dbee.yaml'), 'utf8')}  weak:\n    engine: postgres\n    connection: { url: "postgres://weak@127.0.0.1:${stage.cluster.port}/weak" }\n  weak_green:\n    engine: postgres\n    connection: { url: "postgres://weak@127.0.0.1:${stage.cluster.port}/weak_green" }\n`,
    );
    expect((await run(stage.w.root, 'deploy', { project: 's', env: 'weak' })).code).toBe(0);
    const e = await refusal(
      makeGreen(context(stage.w.root), { project: 's', env: 'weak', green: 'weak_green', inFlight: IN_FLIGHT }),
    );
    expect(e?.code).toBe('REPLICATION_UNAVAILABLE');
    expect(e?.message).toContain('role weak has no REPLICATION privilege');
    expect(await sql(stage.cluster.url(), "SELECT datname FROM pg_database WHERE datname = 'weak_green'")).toEqual([]);
  }, 120_000);

  it('makes green, in sync', async () => {
    const made = await makeGreen(stage.ctx, options);
    expect(made.cloned).toEqual(['s']);
    await until('green has caught up', async () => (await lag()) === 0);
    expect(await sql(stage.greenUrl, 'SELECT count(*)::int AS n FROM s.orders')).toEqual([{ n: 2000 }]);
  }, 120_000);

  it('keeps two deployments on one cluster apart (the same environment and project names): own slots, own finish', async () => {
    // Another workspace whose blue and green are other databases of this cluster, under the same names.
    await sql(stage.cluster.url(), 'CREATE DATABASE app2');
    const w2 = tempWorkspace({
      'dbee.yaml': workspaceYaml(stage.cluster.port).replace('/app"', '/app2"').replace('/app_green"', '/app2_green"'),
      ...V1,
    });
    const slots = async () =>
      (
        await sql(stage.blueUrl, "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'dbee%' ORDER BY 1")
      ).map((r) => r['slot_name'] as string);
    const first = await slots();
    try {
      expect((await run(w2.root, 'deploy', { project: 's', env: 'blue' })).code).toBe(0);
      const second = context(w2.root);
      const made = await makeGreen(second, options);
      expect(made.cloned).toEqual(['s']);
      const both = await slots();
      expect(both).toHaveLength(2);
      expect(new Set(both).size).toBe(2);
      // The second given up: its slot dropped, the first's still there and streaming.
      const finished = await blueGreenFinish(second, options);
      expect(finished.dropped).toBe('green');
      expect(await slots()).toEqual(first);
    } finally {
      w2.remove();
      await sql(stage.cluster.url(), 'DROP DATABASE IF EXISTS app2_green WITH (FORCE)');
      await sql(stage.cluster.url(), 'DROP DATABASE app2 WITH (FORCE)');
    }
    await until('green has caught up', async () => (await lag()) === 0);
  }, 120_000);

  it('refuses a switchover while a transaction stays open on blue, naming it; nothing pauses', async () => {
    yaml({ settings: ['transactionWait: 1s'] });
    // A session of the application left idle in its transaction (through the router: the pause would wait for it).
    const open = new pg.Client({ connectionString: stage.appUrl, application_name: 'report-job' });
    await open.connect();
    try {
      await open.query('BEGIN');
      await open.query('SELECT count(*) FROM s.orders');
      // Open longer than half the pause budget (1 s) before the switch reads it, the dry run of its plan stage alike.
      await new Promise((r) => setTimeout(r, 700));
      const t0 = Date.now();
      const r = await dbeeSwitch();
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('transaction(s) on blue stayed open for more than 1 s');
      expect(r.stderr).toMatch(/pid \d+ \([^)]*role postgres, open [\d.]+ s, idle in transaction\)/);
      expect(r.stderr).toContain('blueGreen.endTransactions');
      // Refused before pausing: no 10 s stall of the writes, which go to blue at once.
      expect(Date.now() - t0).toBeLessThan(9_000);
      expect(await writesToBlue()).toBe('app');
      expect(await switchRows()).toEqual([]);
    } finally {
      await open.query('ROLLBACK').catch(() => {});
      await open.end().catch(() => {});
      yaml();
    }
  }, 120_000);

  it("refuses dbee switch outside blue's maintenance window, the dry run alike; nothing pauses", async () => {
    await refusedInClosedWindow('switch', {});
    expect(await writesToBlue()).toBe('app');
    expect(await switchRows()).toEqual([]);
  }, 120_000);

  it('refuses a switchover to a green edited by hand since the release, the dry run alike; nothing pauses', async () => {
    await sql(stage.greenUrl, 'CREATE INDEX orders_note_by_hand ON s.orders (note)');
    try {
      for (const dryRun of [true, false]) {
        const r = await run(stage.w.root, 'switch', {
          project: 's',
          env: 'blue',
          ticket: 'CHG-2',
          assumeYes: true,
          dryRun,
        });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain('s on green (green) was changed outside dbee since deployment #');
        expect(r.stderr).toContain('switch would move the application to schemas the release did not make');
        expect(r.stderr).toContain('dbee status s --env green');
      }
      expect(await writesToBlue()).toBe('app');
      expect(await switchRows()).toEqual([]);
    } finally {
      await sql(stage.greenUrl, 'DROP INDEX s.orders_note_by_hand');
    }
  }, 120_000);

  it('refuses a switchover while green lags beyond the bound; nothing pauses', async () => {
    // Green's apply waits behind a lock held on its table while blue takes rows.
    const holder = new pg.Client({ connectionString: stage.greenUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE s.orders IN ACCESS EXCLUSIVE MODE');
      await sql(
        stage.appUrl,
        "INSERT INTO s.orders (token, note) SELECT gen_random_uuid(), repeat('x', 200) FROM generate_series(1, 3000)",
      );
      await until('green lags by 100 kB', async () => (await lag()) > 100_000);
      const r = await dbeeSwitch();
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/green is \d+ bytes of WAL behind blue, more than the bound of 65536/);
      expect(r.stderr).toContain('wait for green to catch up');
      expect(await writesToBlue()).toBe('app');
      expect(await switchRows()).toEqual([]);
      expect(await sql(stage.blueUrl, "SELECT kind FROM dbee.deployments WHERE kind = 'switch'")).toEqual([]);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    await until('green has caught up', async () => (await lag()) === 0);
  }, 120_000);

  it('refuses a switchover when the subscription has failed; nothing pauses', async () => {
    // A row green has that blue then writes: applying it fails, and the subscription stops there.
    await sql(stage.greenUrl, "INSERT INTO s.customers VALUES (5000, 'on green')");
    await sql(stage.appUrl, "INSERT INTO s.customers VALUES (5000, 'on blue')");
    const failed = async () =>
      (await sql(stage.greenUrl, "SELECT subenabled FROM pg_subscription WHERE subname LIKE '%to_green'"))[0]
        ?.subenabled === false;
    await until('the subscription has failed', failed);
    const r = await dbeeSwitch();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('the subscription that keeps green (green) in sync has failed');
    expect(r.stderr).toContain('disabled by an error');
    expect(await writesToBlue()).toBe('app');
    expect(await switchRows()).toEqual([]);
    // Repaired as the hint says: the conflicting row removed, the subscription started again.
    await sql(
      stage.greenUrl,
      'DELETE FROM s.customers WHERE id = 5000',
      `ALTER SUBSCRIPTION ${await subscription()} ENABLE`,
    );
    await until('green has caught up', async () => (await lag()) === 0);
  }, 120_000);

  const subscription = async () =>
    (await sql(stage.greenUrl, "SELECT subname FROM pg_subscription WHERE subname LIKE '%to_green'"))[0]!
      .subname as string;
  /** A router of commands (psql on PgBouncer's admin console) whose `route` is `route`. */
  const commands = (route: string) => {
    const admin = (c: string) => `psql -X -q -h 127.0.0.1 -p ${stage.bouncer.port} -U postgres -d pgbouncer -c "${c}"`;
    return hookRouter(
      { pause: admin('PAUSE app'), route, resume: admin('RESUME app') },
      { cwd: stage.w.root, env: process.env, databases: { blue: 'app', green: 'app_green' } },
    );
  };

  /**
   * The user's hook for another router, here PgBouncer driven by hand (router.sh in the workspace): pause, point the
   * entry at the database of $DBEE_BLUE_GREEN_SIDE (given in $DBEE_BLUE_GREEN_DATABASE), reload, resume; `serving`
   * reads the entry. `route` fails while the file route-fails exists; `beforePause` runs before PAUSE. dbee.yaml names
   * it as blue's router, with `transactionWait: 1s` and `endTransactions: true`, and the default bound of lag (16 MB):
   * 2 writers at 50 rows/s make tens of kB of WAL a second, and on a loaded machine green can be more than 64 kB behind
   * by the time a switch reads the lag (CI, stop 84).
   */
  const commandRouter = (beforePause = '') => {
    const admin = (c: string) => `psql -X -q -h 127.0.0.1 -p ${stage.bouncer.port} -U postgres -d pgbouncer -c '${c}'`;
    stage.w.write(
      'router.sh',
      [
        'set -e',
        'case "$1" in',
        `  pause) ${beforePause}${admin('PAUSE app')} ;;`,
        `  resume) ${admin('RESUME app')} ;;`,
        '  route)',
        '    [ -e route-fails ] && { echo "the router refused the route" >&2; exit 3; }',
        `    sed -i -E "s/^app = (.*)dbname=[^ ]+/app = \\1dbname=$DBEE_BLUE_GREEN_DATABASE/" '${stage.bouncer.ini}'`,
        `    ${admin('RELOAD')} ;;`,
        `  serving) grep -q '^app = .*dbname=app_green' '${stage.bouncer.ini}' && echo green || echo blue ;;`,
        'esac',
        '',
      ].join('\n'),
    );
    const command = (c: string) => `${c}: "sh router.sh ${c}"`;
    yaml(
      {
        router: `{ commands: { ${['pause', 'route', 'resume', 'serving'].map(command).join(', ')} } }`,
        settings: ['transactionWait: 1s', 'endTransactions: true'],
      },
      '16MB',
    );
  };

  it.each([
    ['a step that fails', 'echo router down >&2; exit 3', {}, 'failed at step route'],
    // The bound is what it tests, so it is wall-clock: 5 s leaves the steps before `route` their time on a loaded
    // machine (with 1 s they outlasted it there, and the undo began earlier), and `route` outlasts it whatever the load.
    ['a pause that outlasts its bound', 'sleep 9', { timeoutMs: 5000 }, 'did not end within the 5000 ms'],
  ])(
    'undoes a switchover when %s inside the pause: writes resume on blue, green kept in sync',
    async (_what, route, bounds, said) => {
      const writers = new Writers(stage.appUrl, 's.orders', 50, 2);
      writers.start();
      let e: DbeeError | null;
      try {
        e = await refusal(blueGreenSwitch(stage.ctx, { ...options, router: commands(route), bounds }, 'blue'));
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await writers.stop();
      }
      expect(e?.code).toBe('SWITCHOVER_FAILED');
      expect(e?.exitCode).toBe(2);
      expect(e?.message).toContain(said);
      expect(e?.message).toContain('writes resumed on blue');
      expect(await writesToBlue()).toBe('app');
      expect(writers.errors).toEqual([]);
      // The way back is gone, the subscription feeding green runs again and has every row blue took.
      expect(
        await sql(
          stage.blueUrl,
          'SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
        ),
      ).toEqual([]);
      expect(
        await sql(stage.blueUrl, "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '%to_blue'"),
      ).toEqual([]);
      await until('green has caught up', async () => (await lag()) === 0);
      const onGreen = new Set((await sql(stage.greenUrl, 'SELECT token::text AS t FROM s.orders')).map((r) => r.t));
      expect(writers.written.filter((w) => !onGreen.has(w.token))).toEqual([]);
      const rows = await switchRows();
      expect(rows.at(-1)).toEqual({ phase: 'switch', step: 'end', status: 'undone' });
      expect(rows.filter((r) => r.status === 'undone').map((r) => r.step)).toEqual([
        'subscribe',
        'slot',
        'stop',
        'end',
      ]);
    },
    120_000,
  );

  it('switches through dbee switch with the router of commands: a failing route resumes on blue, then it switches', async () => {
    commandRouter();
    const writers = new Writers(stage.appUrl, 's.orders', 50, 2);
    writers.start();
    let failed: Awaited<ReturnType<typeof dbeeSwitch>>;
    let done: Awaited<ReturnType<typeof dbeeSwitch>>;
    try {
      stage.w.write('route-fails', '');
      failed = await dbeeSwitch();
      expect(await writesToBlue()).toBe('app');
      rmSync(join(stage.w.root, 'route-fails'));
      // The undone switchover stopped green's subscription for its pause: green catches up before the next one.
      await until('green has caught up', async () => (await lag()) < 16_000);
      // A transaction left open on blue: ended after transactionWait (endTransactions), then the switch goes on.
      const open = new pg.Client({ connectionString: stage.appUrl });
      open.on('error', () => {});
      await open.connect();
      await open.query('BEGIN');
      await open.query('SELECT 1');
      // Open longer than half the pause budget (1 s) when the switch reads it, as the wait before pausing sees a
      // transaction: the switch runs in this process, and reached that read 0.6 s after the BEGIN in a loaded run
      // (younger, it is left to the pause, as the next case shows).
      await new Promise((r) => setTimeout(r, 700));
      done = await dbeeSwitch();
      // The switch's own verdict first: a refusal (lag, a gate) says why the session below was not ended.
      expect(done.code, done.stderr).toBe(0);
      await expect(open.query('SELECT 1')).rejects.toThrow();
      await open.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await writers.stop();
      yaml();
    }
    expect(failed.code, failed.stderr).toBe(2);
    expect(failed.stderr).toContain("the router's route command exited with 3: the router refused the route");
    expect(failed.stderr).toContain('writes resumed on blue');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/ended 1 session\(s\) on blue whose transaction stayed open: pid \d+/);
    expect(await sql(stage.appUrl, 'SELECT current_database() AS d')).toEqual([{ d: 'app_green' }]);
    expect(writers.errors).toEqual([]);
    const onGreen = new Set((await sql(stage.greenUrl, 'SELECT token::text AS t FROM s.orders')).map((r) => r.t));
    expect(writers.written.filter((w) => !onGreen.has(w.token))).toEqual([]);
    expect(
      await sql(stage.blueUrl, "SELECT kind, status FROM dbee.deployments WHERE kind = 'switch' ORDER BY id"),
    ).toEqual([
      { kind: 'switch', status: 'failed' },
      { kind: 'switch', status: 'succeeded' },
    ]);
  }, 120_000);

  it("ends a transaction that begins too late for the wait before pausing and holds the router's pause (endTransactions): dbee fallback goes on", async () => {
    // Green serves (the case above switched). The router's pause waits, before PAUSE, until this test has opened a
    // transaction through PgBouncer: after the wait before pausing read green's transactions, so only the pause can
    // see it, and PAUSE waits for it. Without the pause ending it, the fallback failed at its bound (10 s).
    commandRouter('touch pausing; while [ ! -e opened ]; do sleep 0.05; done; ');
    const writers = new Writers(stage.appUrl, 's.orders', 50, 2);
    writers.start();
    const open = new pg.Client({ connectionString: stage.appUrl });
    open.on('error', () => {});
    let back: Awaited<ReturnType<typeof dbeeSwitch>>;
    try {
      const fallingBack = run(stage.w.root, 'fallback', {
        project: 's',
        env: 'blue',
        ticket: 'CHG-2',
        assumeYes: true,
      });
      await until('the router is asked to pause', async () => existsSync(join(stage.w.root, 'pausing')), 60_000);
      await open.connect();
      await open.query('BEGIN');
      await open.query('SELECT 1');
      stage.w.write('opened', '');
      back = await fallingBack;
      expect(back.code, back.stderr).toBe(0);
      await expect(open.query('SELECT 1')).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await writers.stop();
      await open.end().catch(() => {});
      for (const f of ['pausing', 'opened']) rmSync(join(stage.w.root, f), { force: true });
      yaml();
    }
    expect(back.stderr).toMatch(
      /ended 1 session\(s\) on green whose transaction held the router's pause: pid \d+ \([^)]*idle in transaction\)/,
    );
    // Not the wait before pausing: the transaction began after it.
    expect(back.stderr).not.toContain('stayed open');
    expect(await sql(stage.appUrl, 'SELECT current_database() AS d')).toEqual([{ d: 'app' }]);
    expect(writers.errors).toEqual([]);
    const onBlue = new Set((await sql(stage.blueUrl, 'SELECT token::text AS t FROM s.orders')).map((r) => r.t));
    expect(writers.written.filter((w) => !onBlue.has(w.token))).toEqual([]);
    const rows = (await sql(
      stage.blueUrl,
      "SELECT step, status, detail FROM dbee.blue_green WHERE phase = 'fallback' ORDER BY id",
    )) as { step: string; status: string; detail: { ended?: { pid: number }[] } | null }[];
    const pause = rows.find((r) => r.step === 'pause');
    expect(pause?.status).toBe('done');
    expect(pause?.detail?.ended).toHaveLength(1);
    expect(rows.at(-1)).toMatchObject({ step: 'end', status: 'done' });
  }, 120_000);
});
