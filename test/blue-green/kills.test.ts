import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { spawnDbee } from '../runner/helpers';
import { run } from '../support/run';
import { Writers } from '../support/writers';
import { blueGreenStage, blueGreenYaml, sql, V2 } from './setup';

/** What the test's webhook reads of a notification (docs/gates.md). */
interface Told {
  event: string;
  environment: string;
  phase?: string;
}

/**
 * The dbee process (the CLI, a child process) killed with SIGKILL in each phase of a blue/green deployment, with an
 * application writing through a real PgBouncer all along, each kill at a point the test reaches for certain: a
 * notification the process waits on (the test's webhook), or a lock the test holds that the process waits behind.
 * - `deploy`, while green is made (its clone begins): the next deploy undoes green and makes it again;
 * - `deploy`, during the subscription's initial copy (held by a lock on green's table): undone and made again;
 * - `deploy`, during the release on green (its step waits behind a lock): the next deploy resumes the release;
 * - `finish`, while it drops replication (waiting behind a lock on blue's subscription): the next finish ends it.
 * After each: the server ends the dead process's sessions (its deployment locks with them), `dbee status` says what
 * did not finish and the command that settles it, and no phase goes past it; at the end nothing the application wrote
 * is lost or written twice.
 */
describe('blue/green with the dbee process killed in each phase', () => {
  let stage: Awaited<ReturnType<typeof blueGreenStage>>;
  let hook: Server;
  /** What the webhook does with each notification before it answers. */
  let onTold: (n: Told) => Promise<void> = async () => {};
  beforeAll(async () => {
    stage = await blueGreenStage(3000);
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        void onTold(JSON.parse(body) as Told)
          .catch(() => {})
          .finally(() => res.writeHead(200).end());
      });
    });
    await new Promise<void>((done) => hook.listen(0, '127.0.0.1', done));
    const { port } = hook.address() as { port: number };
    stage.w.write(
      'dbee.yaml',
      `${blueGreenYaml(stage.cluster.port, stage.bouncer)}notify:\n  - { url: "http://127.0.0.1:${port}/", timeout: 60s, retries: 0 }\n`,
    );
  }, 120_000);
  afterAll(async () => {
    await new Promise((done) => hook?.close(done));
    await stage?.stop();
  });

  const dbee = (command: Parameters<typeof run>[1], options: Record<string, unknown> = {}) =>
    run(stage.w.root, command, { project: 's', env: 'blue', assumeYes: true, ticket: 'CHG-1', ...options });
  const status = async () => (await run(stage.w.root, 'status', { project: 's', env: 'blue' })).stdout;
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 1200; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`waited a minute for ${what}`);
  };
  /** Sessions of dbee on the cluster (`where`: more conditions on pg_stat_activity). */
  const sessions = async (where = 'true') =>
    Number(
      (
        await sql(
          stage.cluster.url(),
          // Not replication's own processes (named after the subscriptions, dbee_...): the sessions dbee opened.
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name ~ '^dbee($|[- ])' AND ${where}`,
        )
      )[0]!.n,
    );
  /** A lock held on its own session until `release()`. */
  const hold = async (url: string, statement: string) => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    // A DBA's session: blue is read-only for the application once green serves.
    await c.query('SET default_transaction_read_only = off');
    await c.query('BEGIN');
    await c.query(statement);
    return {
      async release() {
        await c.query('ROLLBACK');
        await c.end();
      },
    };
  };

  /**
   * `dbee <args>` as a child process, killed (SIGKILL) once `at` resolves, then the test's lock released (a session
   * waiting on it ends only then); returns once the server has ended the process's sessions (and released its
   * deployment locks with them).
   */
  const killed = async (args: string[], at: Promise<void>, held: () => Promise<void> = async () => {}) => {
    const child = await spawnDbee(stage.w.root, [...args, 's', '--env', 'blue', '--ticket', 'CHG-1', '--assume-yes']);
    try {
      await Promise.race([at, child.exit.then(() => Promise.reject(new Error(JSON.stringify(child.output()))))]);
      child.child.kill('SIGKILL');
      await child.exit;
    } finally {
      await held();
    }
    expect(child.child.signalCode).toBe('SIGKILL');
    await until("the server has ended the dead process's sessions", async () => (await sessions()) === 0);
    // Its deployment locks (advisory, on blue and on green) went with them.
    expect(await sql(stage.blueUrl, "SELECT objid FROM pg_locks WHERE locktype = 'advisory'")).toEqual([]);
  };
  /** Resolves once the webhook is told `event` of a run on `environment` whose phase is `phase` (none: a deployment). */
  const told = (event: string, environment: string, phase: string | undefined, then = async () => {}) =>
    new Promise<void>((done) => {
      onTold = async (n) => {
        if (n.event !== event || n.environment !== environment || n.phase !== phase) return;
        onTold = async () => {};
        await then();
        done();
      };
    });
  const deployArgs = ['deploy', '--strategy', 'blue-green'];

  it('resumes or undoes each killed phase: nothing lost, the locks released, dbee status telling the truth', async () => {
    stage.w.write('s/orders.sql', V2['s/orders.sql']);
    stage.w.write('s/tags.sql', V2['s/tags.sql']);
    const writers = new Writers(stage.appUrl, 's.orders', 100, 4);
    writers.start();
    try {
      // 1. deploy, killed while green is made: its clone has begun.
      await killed(deployArgs, told('deploy-started', 'green', 'clone'));
      expect(await status()).toContain('deploy did not finish (at step begin): run it again');
      expect(await status()).toContain(
        'next: dbee deploy s --env blue --strategy blue-green (it did not finish: run it again)',
      );
      const early = await dbee('switch');
      expect(early.code).toBe(1);
      expect(early.stderr).toContain('the deploy phase did not finish');

      // 2. deploy, killed during the subscription's initial copy: green's table locked once cloned, so the copy waits.
      let copyHeld: Awaited<ReturnType<typeof hold>> | undefined;
      const subscribed = told('deploy-succeeded', 'green', 'clone', async () => {
        copyHeld = await hold(stage.greenUrl, 'LOCK TABLE s.orders IN SHARE MODE');
      }).then(() =>
        until('green subscribes', async () => {
          const rows = await sql(stage.blueUrl, "SELECT 1 FROM dbee.blue_green WHERE step = 'subscribe'");
          return rows.length > 0;
        }),
      );
      await killed(deployArgs, subscribed, async () => copyHeld?.release());
      expect(await status()).toContain('deploy did not finish (at step subscribe): run it again');

      // 3. deploy (green undone and made again), killed during the release on green: its step on s.orders waits.
      let releaseHeld: Awaited<ReturnType<typeof hold>> | undefined;
      const releasing = told('deploy-started', 'green', undefined, async () => {
        releaseHeld = await hold(stage.greenUrl, 'LOCK TABLE s.orders IN ACCESS SHARE MODE');
      }).then(() => until('the release waits on green', async () => (await sessions("wait_event_type = 'Lock'")) > 0));
      await killed(deployArgs, releasing, async () => releaseHeld?.release());
      const afterRelease = await status();
      expect(afterRelease).toContain(
        'deploy done, but the release on green did not finish (refused before its plan, or its process ended)',
      );
      expect(afterRelease).toContain(
        'next: dbee deploy s --env blue --strategy blue-green, or dbee finish s --env blue',
      );
      const tooSoon = await dbee('switch');
      expect(tooSoon.code).toBe(1);
      expect(tooSoon.stderr).toContain('the release on green did not finish');
      expect(await sql(stage.appUrl, 'SELECT current_database() AS d')).toEqual([{ d: 'app' }]);

      // The next deploy resumes the release on green (green in sync is kept).
      const resumed = await dbee('deploy', { strategy: 'blue-green' });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain('marked interrupted');
      expect(resumed.stdout + resumed.stderr).toContain('in sync with blue (blue): deploying the release to it');
      expect(
        await sql(
          stage.greenUrl,
          "SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'channel'",
        ),
      ).toHaveLength(1);
      expect(await status()).toContain('next: dbee switch s --env blue');
      const switched = await dbee('switch');
      expect(switched.code, switched.stderr).toBe(0);
      expect(await sql(stage.appUrl, 'SELECT current_database() AS d')).toEqual([{ d: 'app_green' }]);
      await new Promise((r) => setTimeout(r, 300));

      // 4. finish, killed while it drops replication: blue's subscription (the way back) held by a session of the test.
      const [{ subname }] = (await sql(
        stage.blueUrl,
        "SELECT subname FROM pg_subscription WHERE subname LIKE '%to_blue'",
      )) as { subname: string }[];
      const subscription = await hold(stage.blueUrl, `ALTER SUBSCRIPTION ${subname} DISABLE`);
      await killed(
        ['finish'],
        until('finish waits on the subscription', async () => (await sessions("wait_event_type = 'Lock'")) > 0),
        () => subscription.release(),
      );
      expect(await status()).toContain('finish did not finish (at step begin): run it again');
      expect(await status()).toContain('next: dbee finish s --env blue (it did not finish: run it again)');
      const finished = await dbee('finish');
      expect(finished.code, finished.stderr).toBe(0);
      expect(finished.stderr).toContain('marked interrupted');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await writers.stop();
    }

    expect(await sql(stage.cluster.url(), "SELECT datname FROM pg_database WHERE datname LIKE 'app%'")).toEqual([
      { datname: 'app_green' },
    ]);
    expect(await sql(stage.cluster.url(), 'SELECT slot_name FROM pg_replication_slots')).toEqual([]);
    expect(await sql(stage.greenUrl, 'SELECT subname FROM pg_subscription')).toEqual([]);
    const greenStatus = await run(stage.w.root, 'status', { project: 's', env: 'green' });
    expect(greenStatus.stdout).toContain('green (green) serves; finish done');
    expect(
      await sql(stage.greenUrl, "SELECT phase, status FROM dbee.blue_green WHERE step = 'end' ORDER BY id"),
    ).toEqual([
      { phase: 'deploy', status: 'done' },
      { phase: 'switch', status: 'done' },
      { phase: 'finish', status: 'done' },
    ]);
    expect(
      await sql(stage.greenUrl, "SELECT kind, status FROM dbee.deployments WHERE kind <> 'clone' ORDER BY id"),
    ).toEqual([
      { kind: 'deploy', status: 'interrupted' },
      { kind: 'deploy', status: 'succeeded' },
      { kind: 'finish', status: 'interrupted' },
      { kind: 'finish', status: 'succeeded' },
    ]);

    // Every write the application saw succeed is on green, once; none failed.
    const rows = (await sql(stage.greenUrl, 'SELECT id::text AS id, token::text AS token FROM s.orders')) as {
      id: string;
      token: string;
    }[];
    const tokens = new Set(rows.map((r) => r.token));
    expect(writers.written.filter((w) => !tokens.has(w.token))).toEqual([]);
    expect(writers.errors).toEqual([]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(rows.length).toBe(3000 + writers.written.length);
  }, 400_000);
});
