import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { Writers } from '../support/writers';
import { blueGreenStage, blueGreenYaml, sql, V1, V2 } from './setup';

/**
 * The blue/green strategy through its commands, with an application writing through a real PgBouncer all along:
 * `deploy --strategy blue-green` (green made, cloned, copied, kept in sync, the release deployed to it through the
 * pipeline), `switch`, `fallback`, `switch`, `finish`. Nothing the application wrote is lost or written twice, its keys
 * continue across every switch, no write fails (PgBouncer's PAUSE holds them); `dbee status` and `dbee log` tell the
 * phases. Refusals on the way: a release replication cannot carry, and a phase without the ticket blue asks for.
 */
describe('blue/green through dbee deploy --strategy blue-green, switch, fallback, finish', () => {
  let stage: Awaited<ReturnType<typeof blueGreenStage>>;
  let head = '';
  beforeAll(async () => {
    stage = await blueGreenStage(5000);
    // A git checkout, as a team's workspace is: every phase records its commit (switch and finish said "unknown").
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: stage.w.root })
        .toString()
        .trim();
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'v1');
    head = git('rev-parse', 'HEAD');
    // Blue asks for a backup of what is dropped: finish keeps blue's database aside.
    stage.w.write(
      'dbee.yaml',
      blueGreenYaml(stage.cluster.port, stage.bouncer, undefined, { gates: 'requireBackup: true' }),
    );
  }, 120_000);
  afterAll(async () => {
    await stage?.stop();
  });

  const dbee = (command: Parameters<typeof run>[1], options: Record<string, unknown> = {}) =>
    run(stage.w.root, command, { project: 's', env: 'blue', assumeYes: true, ticket: 'CHG-1', ...options });
  const serving = async () => (await sql(stage.appUrl, 'SELECT current_database() AS d'))[0]!['d'];

  it('deploys, switches, falls back, switches and finishes: 0 rows lost, keys continuous, every phase in the log', async () => {
    // A release dropping a column blue writes: refused up front, in its dry run, naming expand-contract.
    stage.w.write('s/customers.sql', 'CREATE TABLE s.customers (id int PRIMARY KEY);');
    const uncarried = await dbee('deploy', { strategy: 'blue-green', dryRun: true });
    expect(uncarried.code).toBe(1);
    expect(uncarried.stderr).toContain('column s.customers.name is dropped or renamed on green');
    expect(uncarried.stderr).toContain('--strategy expand-contract');
    stage.w.write('s/customers.sql', 'CREATE TABLE s.customers (id int PRIMARY KEY, name text NOT NULL);');

    // A release green's environment refuses (a type change that can reject values: a data-loss hazard green does
    // not allow): the deploy phase makes green, then refuses the release on it. That is no deploy phase done:
    // status names the deploy again, and no switch (nor its dry run) goes to a green without the release.
    stage.w.write('s/orders.sql', V2['s/orders.sql'].replace('note text', 'note varchar(3)'));
    const refusedRelease = await dbee('deploy', { strategy: 'blue-green' });
    expect(refusedRelease.code, refusedRelease.stderr).toBe(1);
    expect(refusedRelease.stderr).toContain('has hazards environment green does not allow');
    const afterRefusal = await dbee('status', { assumeYes: undefined, ticket: undefined });
    expect(afterRefusal.stdout).toContain('deploy done, but the release on green failed or was refused');
    expect(afterRefusal.stdout).not.toContain('next: dbee switch');
    expect(afterRefusal.stdout).toContain('next: dbee deploy s --env blue --strategy blue-green');
    for (const dryRun of [true, false]) {
      const early = await dbee('switch', { dryRun });
      expect(early.code, early.stderr).toBe(1);
      expect(early.stderr).toContain('the release on green failed or was refused: deploy it again first');
      expect(early.stderr).toContain('dbee deploy s --env blue --strategy blue-green');
      expect(early.stderr).not.toContain('dbee blue-green');
    }
    expect(await serving()).toBe('app');
    // Green given up (finish while blue serves: green dropped), and the release fixed.
    const givenUp = await dbee('finish');
    expect(givenUp.code, givenUp.stderr).toBe(0);
    // The dry run with green not made yet plans on blue, but judges the release as the real run does: by green's
    // environment (blue's gates.requireBackup is not green's).
    const dryByGreen = await dbee('deploy', { strategy: 'blue-green', dryRun: true });
    expect(dryByGreen.code, dryByGreen.stderr).toBe(1);
    expect(dryByGreen.stderr).toContain('has hazards environment green does not allow');
    expect(dryByGreen.stderr).not.toContain('environment blue');
    stage.w.write('s/orders.sql', V1['s/orders.sql']);
    const writers = new Writers(stage.appUrl, 's.orders', 100, 4);
    writers.start();
    try {
      stage.w.write('s/orders.sql', V2['s/orders.sql']);
      stage.w.write('s/tags.sql', V2['s/tags.sql']);
      const noTicket = await dbee('deploy', { strategy: 'blue-green', ticket: undefined });
      expect(noTicket.code).toBe(1);
      expect(noTicket.stderr).toContain('requires a change ticket');
      // The dry run: what would be made, and the release's plan (against blue: green is made as its copy); nothing made.
      const dryDeploy = await dbee('deploy', { strategy: 'blue-green', dryRun: true });
      expect(dryDeploy.code, dryDeploy.stderr).toBe(0);
      expect(dryDeploy.stdout + dryDeploy.stderr).toContain("create green's database, clone s from blue into it");
      expect(dryDeploy.stdout).toContain('ADD COLUMN channel');
      expect(await sql(stage.cluster.url(), "SELECT 1 FROM pg_database WHERE datname = 'app_green'")).toEqual([]);

      const deployed = await dbee('deploy', { strategy: 'blue-green' });
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(
        await sql(
          stage.greenUrl,
          "SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'channel'",
        ),
      ).toHaveLength(1);
      const status = await dbee('status', { assumeYes: undefined, ticket: undefined });
      expect(status.stdout).toContain('blue/green of s: blue (blue) serves; deploy done');
      expect(status.stdout).toContain('next: dbee switch s --env blue');

      const dry = await dbee('switch', { dryRun: true });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout + dry.stderr).toContain('PAUSE app');
      expect(await serving()).toBe('app');
      const switchNoTicket = await dbee('switch', { ticket: undefined });
      expect(switchNoTicket.code).toBe(1);
      expect(switchNoTicket.stderr).toContain('requires a change ticket');

      for (const [phase, to] of [
        ['switch', 'app_green'],
        ['fallback', 'app'],
        ['switch', 'app_green'],
      ] as const) {
        await pause(300);
        const r = await dbee(phase);
        expect(r.code, `${phase}: ${r.stderr}`).toBe(0);
        expect(await serving()).toBe(to);
      }
      await pause(300);
    } finally {
      await writers.stop();
    }
    const log = await dbee('log', { assumeYes: undefined, ticket: undefined, format: 'json' });
    const kinds = (
      JSON.parse(log.stdout) as { deployments: { kind: string; result: string; ticket: string; commit: string }[] }
    ).deployments;
    // The release's files changed since the commit: `<sha>-dirty`, as a deployment from a working tree records it.
    // (The stage's first deploy ran before the workspace was a checkout.)
    const phases = kinds.filter((d) => d.kind !== 'deploy');
    expect(phases.map((d) => d.commit?.slice(0, 40))).toEqual(phases.map(() => head));
    expect(kinds.map((d) => [d.kind, d.result, d.ticket])).toEqual([
      ['switch', 'succeeded', 'CHG-1'],
      ['fallback', 'succeeded', 'CHG-1'],
      ['switch', 'succeeded', 'CHG-1'],
      ['finish', 'succeeded', 'CHG-1'],
      ['deploy', 'succeeded', null],
    ]);
    // Blue, retired by the switch, is read-only for the application: a client bypassing the router fails loudly.
    await expect(sql(stage.blueUrl, 'INSERT INTO s.orders (token) VALUES (gen_random_uuid())')).rejects.toThrow(
      /read-only transaction/,
    );
    // One that writes there anyway (its role or session turned read-only off): finish refuses to drop blue with its
    // rows, the dry run alike, naming the table and the counts; --force accepts the loss.
    await sql(
      stage.blueUrl,
      'SET default_transaction_read_only = off',
      "INSERT INTO s.orders (token, note) SELECT gen_random_uuid(), 'direct' FROM generate_series(1, 200) ON CONFLICT DO NOTHING",
    );
    for (const dryRun of [true, false]) {
      const refused = await dbee('finish', { dryRun });
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('finish refused: blue holds rows that never reached the side that stays');
      expect(refused.stderr).toMatch(/s\.orders has \d+ rows on blue, \d+ on green: at least \d+ exist only on blue/);
      expect(refused.stderr).toMatch(/sequence s\.orders_id_seq on blue gave 200 key\(s\) since the switch/);
      expect(refused.stderr).toContain('--force');
    }
    expect(await sql(stage.cluster.url(), "SELECT 1 FROM pg_database WHERE datname = 'app'")).toHaveLength(1);
    const dryFinish = await dbee('finish', { dryRun: true, force: true });
    expect(dryFinish.code, dryFinish.stderr).toBe(0);
    expect(dryFinish.stdout + dryFinish.stderr).toContain(
      "drop replication, then blue's database (blue), kept as a backup (gates.requireBackup): renamed aside",
    );
    expect(await sql(stage.cluster.url(), "SELECT 1 FROM pg_database WHERE datname = 'app'")).toHaveLength(1);
    const finished = await dbee('finish', { force: true });
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.stderr).toContain('--force: dropping blue with what only it holds');
    const backup = /finish done: blue \(blue\) kept as the backup (app_bak_\d{8}t\d{6});/.exec(
      finished.stdout + finished.stderr,
    )?.[1];
    expect(backup, finished.stdout + finished.stderr).toBeDefined();
    expect(finished.stdout).toMatch(new RegExp(`backups: +${backup}`));

    // Every write the application saw succeed is in green, once; the keys continue from blue's without a gap.
    const rows = (await sql(
      stage.greenUrl,
      'SELECT o.id::text AS id, o.token::text AS token, o.channel FROM s.orders o ORDER BY o.id',
    )) as {
      id: string;
      token: string;
      channel: string;
    }[];
    const tokens = new Set(rows.map((r) => r.token));
    expect(writers.written.filter((w) => !tokens.has(w.token))).toEqual([]);
    expect(writers.errors).toEqual([]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(Number(rows[rows.length - 1]!.id) - Number(rows[0]!.id) + 1).toBe(rows.length);
    expect(rows.length).toBe(5000 + writers.written.length);
    expect(new Set(rows.map((r) => r.channel))).toEqual(new Set(['web']));

    // Green's ledger (blue is gone): the clone that made it, the release, finish; and the record of every phase.
    const greenLog = await dbee('log', { env: 'green', assumeYes: undefined, ticket: undefined, format: 'json' });
    expect(
      (JSON.parse(greenLog.stdout) as { deployments: { kind: string; result: string }[] }).deployments.map((d) => [
        d.kind,
        d.result,
      ]),
    ).toEqual([
      ['finish', 'succeeded'],
      ['deploy', 'succeeded'],
      ['clone', 'succeeded'],
    ]);
    expect(
      await sql(stage.greenUrl, "SELECT phase, status, live FROM dbee.blue_green WHERE step = 'end' ORDER BY id"),
    ).toEqual([
      { phase: 'deploy', status: 'done', live: 'blue' },
      { phase: 'finish', status: 'done', live: 'blue' },
      { phase: 'deploy', status: 'done', live: 'blue' },
      { phase: 'switch', status: 'done', live: 'green' },
      { phase: 'fallback', status: 'done', live: 'blue' },
      { phase: 'switch', status: 'done', live: 'green' },
      { phase: 'finish', status: 'done', live: 'green' },
    ]);
    // Blue's database kept under its backup name, with blue's rows; none under blue's name.
    expect(
      await sql(stage.cluster.url(), "SELECT datname FROM pg_database WHERE datname LIKE 'app%' ORDER BY datname"),
    ).toEqual([
      { datname: backup },
      { datname: 'app_green' },
      // The green given up after its release was refused, kept aside too (blue's gates.requireBackup).
      { datname: expect.stringMatching(/^app_green_bak_\d{8}t\d{6}$/) },
    ]);
    const kept = Number((await sql(stage.cluster.url(backup), 'SELECT count(*)::int AS n FROM s.orders'))[0]!.n);
    expect(kept).toBeGreaterThanOrEqual(5000);
    expect(await sql(stage.cluster.url(), 'SELECT slot_name FROM pg_replication_slots')).toEqual([]);
    expect(await serving()).toBe('app_green');
  }, 300_000);
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
