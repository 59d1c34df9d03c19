import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { fleetYaml } from './fleet-workspace';
import { queryUrl, scratchDatabase } from '../support/pg';

/**
 * The "Done when" (#38): a release to a fleet of 40 server databases in waves, a failure injected in one
 * target of the second wave, a re-run after fixing it, then the next release by four `--shard i/4` processes at once.
 */
const COUNT = 40;
const BIN = join(__dirname, '..', '..', 'packages', 'cli', 'bin', 'dbee.js');
const name = (i: number) => `t${String(i + 1).padStart(2, '0')}`;

const WORKSPACE = fleetYaml(
  Array.from({ length: COUNT }, (_, i) => ({
    name: name(i),
    variable: `FLEET_${name(i).toUpperCase()}`,
    labels: { half: i < COUNT / 2 ? 'first' : 'second' },
  })),
);
const PROJECT = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, name text);\n',
  'a/v.sql': 'CREATE VIEW a.v AS SELECT id, name FROM a.t;\n',
  // The injected failure: this migration fails on a database holding public.broken, and only there.
  'a/migrations/V1__guard.sql':
    "DO $$ BEGIN IF to_regclass('public.broken') IS NOT NULL THEN RAISE EXCEPTION 'injected failure: public.broken exists'; END IF; END $$;\n",
  'a/migrations/V1__guard.rollback.sql': 'SELECT 1;\n',
};

interface TargetLine {
  target: string;
  wave: 1 | 2;
  result: string;
  exitCode: number | null;
  deploymentIds: number[];
  error: { code: string; message: string } | null;
}

describe('dbee deploy to a fleet of 40 server databases', () => {
  const dbs: { url: string; drop(): Promise<void> }[] = [];
  const env: NodeJS.ProcessEnv = {};
  let w: ReturnType<typeof tempWorkspace>;
  let release = '';
  const deployments = async (i: number) =>
    (
      await queryUrl<{ exists: boolean }>(dbs[i]!.url, "SELECT to_regclass('dbee.deployments') IS NOT NULL AS exists")
    )[0]!.exists
      ? await queryUrl<{ id: number; status: string; started_at: Date; finished_at: Date | null }>(
          dbs[i]!.url,
          "SELECT id::int, status, started_at, finished_at FROM dbee.deployments WHERE kind = 'deploy' ORDER BY id",
        )
      : [];

  beforeAll(async () => {
    for (let i = 0; i < COUNT; i++) {
      const db = await scratchDatabase('dbee_fleet');
      dbs.push(db);
      env[`FLEET_${name(i).toUpperCase()}`] = db.url;
    }
    w = tempWorkspace({ 'dbee.yaml': WORKSPACE, ...PROJECT });
    // A release is a commit: the ledger records it, and status groups the targets by it.
    const git = (...a: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...a], {
        cwd: w.root,
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'release 1');
    release = git('rev-parse', 'HEAD').slice(0, 12);
  }, 300_000);
  afterAll(async () => {
    w?.remove();
    for (const db of dbs) await db.drop();
  });

  it('runs the canary first, stops scheduling after the failure in the second wave, names it, and resumes after the fix', async () => {
    await queryUrl(dbs[6]!.url, 'CREATE TABLE public.broken (id int)');
    const args = { project: 'a', env: 'fleet', canary: 2, concurrency: 4, maxFailures: 1, report: 'out/fleet.json' };
    const first = await run(w.root, 'deploy', args, env);
    expect(first.code, first.stderr).toBe(2);
    const report = JSON.parse(readFileSync(join(w.root, 'out/fleet.json'), 'utf8')) as {
      stopped: string | null;
      exitCode: number;
      targets: TargetLine[];
    };
    const byName = new Map(report.targets.map((t) => [t.target, t]));
    expect(report.exitCode).toBe(2);
    expect(report.stopped).toBe('1 target failed (--max-failures 1)');
    // The canary: the first two, in wave 1, deployed; every other deployment started after both had ended.
    expect([byName.get('t01')!.wave, byName.get('t02')!.wave, byName.get('t03')!.wave]).toEqual([1, 1, 2]);
    expect([byName.get('t01')!.result, byName.get('t02')!.result]).toEqual(['succeeded', 'succeeded']);
    const canaryEnd = Math.max(
      ...(await Promise.all([0, 1].map(deployments))).flat().map((d) => d.finished_at!.getTime()),
    );
    for (let i = 2; i < COUNT; i++)
      for (const d of await deployments(i)) expect(d.started_at.getTime()).toBeGreaterThanOrEqual(canaryEnd);
    // The failed target is named by the report (with the database's error), the Markdown copy and the output.
    const failed = byName.get('t07')!;
    expect(['failed', 'rolled-back']).toContain(failed.result);
    expect(failed.exitCode).toBe(2);
    expect(failed.error?.message).toMatch(/injected failure/);
    expect(report.targets.filter((t) => t.exitCode !== null && t.exitCode !== 0).map((t) => t.target)).toEqual(['t07']);
    expect(first.stdout).toMatch(/^ {2}(failed|rolled-back): t07: .*injected failure/m);
    const markdown = readFileSync(join(w.root, 'out/fleet.md'), 'utf8');
    expect(markdown).toMatch(/\| t07 \| 2 \| (failed|rolled-back) \| #1 \|.*injected failure/);
    // Scheduling stopped: the targets started are the first ones in order, some never started and their databases
    // hold no ledger at all; after t07's deployment had failed, only the targets already in flight beside it (at
    // most concurrency - 1 = 3) opened a deployment.
    const started = report.targets.filter((t) => t.result !== 'not-run').map((t) => t.target);
    expect(started).toEqual(Array.from({ length: started.length }, (_, i) => name(i)));
    expect(started.length).toBeLessThan(COUNT);
    expect(report.targets.filter((t) => t.result === 'not-run').length).toBe(COUNT - started.length);
    const failedAt = (await deployments(6))[0]!.finished_at!.getTime();
    let after = 0;
    for (let i = 0; i < COUNT; i++) {
      const ds = await deployments(i);
      expect(ds.length, name(i)).toBe(started.includes(name(i)) ? 1 : 0);
      if (i !== 6) after += ds.filter((d) => d.started_at.getTime() > failedAt).length;
    }
    expect(after).toBeLessThanOrEqual(3);

    // Fixed: the re-run deploys t07 and the targets never started, and nothing else.
    await queryUrl(dbs[6]!.url, 'DROP TABLE public.broken');
    const second = await run(w.root, 'deploy', args, env);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(readFileSync(join(w.root, 'out/fleet.json'), 'utf8')) as {
      stopped: string | null;
      targets: TargetLine[];
    };
    expect(again.stopped).toBeNull();
    for (const t of again.targets) {
      const before = byName.get(t.target)!;
      expect(t.result, t.target).toBe(before.result === 'succeeded' ? 'unchanged' : 'succeeded');
    }
    for (let i = 0; i < COUNT; i++) {
      const ds = await deployments(i);
      expect(ds.filter((d) => d.status === 'succeeded').length, name(i)).toBe(1);
      expect((await queryUrl(dbs[i]!.url, "SELECT to_regclass('a.v') IS NOT NULL AS v"))[0]).toEqual({ v: true });
    }
    // status reads every target: all at the sources, none drifted.
    const status = await run(w.root, 'status', { project: 'a', env: 'fleet', format: 'json' }, env);
    expect(status.code, status.stderr).toBe(0);
    const fleetStatus = JSON.parse(status.stdout) as {
      targets: { target: string; state: string; drift: string; last: { status: string } }[];
      summary: { state: string; release: string; targets: number }[];
    };
    expect(fleetStatus.targets.length).toBe(COUNT);
    expect(fleetStatus.summary.map((s) => [s.state, s.release, s.targets])).toEqual([['current', release, COUNT]]);
    expect(fleetStatus.targets.every((t) => t.drift === 'no' && t.last.status === 'succeeded')).toBe(true);
  }, 600_000);

  it('four --shard i/4 processes at once deploy the next release to every target exactly once, the canary first', async () => {
    w.write('a/w.sql', 'CREATE VIEW a.w AS SELECT count(*)::int AS n FROM a.t;\n');
    const shard = (i: number) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(
          process.execPath,
          [
            BIN,
            'deploy',
            'a',
            '--env',
            'fleet',
            '--canary',
            '2',
            '--concurrency',
            '2',
            '--shard',
            `${i}/4`,
            '--report',
            `out/shard-${i}.json`,
            '--cwd',
            w.root,
          ],
          {
            env: { ...process.env, ...env },
          },
        );
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const results = await Promise.all([1, 2, 3, 4].map(shard));
    results.forEach((r, i) => expect(r.code, `shard ${i + 1}: ${r.stderr}`).toBe(0));
    const reports = [1, 2, 3, 4].map(
      (i) =>
        JSON.parse(readFileSync(join(w.root, `out/shard-${i}.json`), 'utf8')) as {
          shard: { index: number; count: number };
          targets: TargetLine[];
        },
    );
    const covered = reports.flatMap((r) => r.targets.map((t) => t.target));
    expect(covered.length).toBe(COUNT);
    expect(new Set(covered).size).toBe(COUNT);
    expect(reports.every((r) => r.targets.length > 0 && r.targets.every((t) => t.result === 'succeeded'))).toBe(true);
    expect(reports[0]!.targets.filter((t) => t.wave === 1).map((t) => t.target)).toEqual(['t01', 't02']);
    // Each database got the release once; the other shards started only after the canary had ended.
    const canaryEnd = Math.max(
      ...(await Promise.all([0, 1].map(deployments))).map((ds) => ds.at(-1)!.finished_at!.getTime()),
    );
    for (let i = 0; i < COUNT; i++) {
      const ds = await deployments(i);
      expect(ds.filter((d) => d.status === 'succeeded').length, name(i)).toBe(2);
      if (i >= 2) expect(ds.at(-1)!.started_at.getTime(), name(i)).toBeGreaterThanOrEqual(canaryEnd);
      expect((await queryUrl(dbs[i]!.url, "SELECT to_regclass('a.w') IS NOT NULL AS w"))[0]).toEqual({ w: true });
    }
  }, 600_000);
});
