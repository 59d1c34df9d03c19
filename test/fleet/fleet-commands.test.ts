import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { fleetYaml, scratchFleet } from './fleet-workspace';
import { queryUrl } from '../support/pg';

/**
 * `rollback`, `diff` and `smoke-test` on a fleet: the targets `--labels` and `--shard` select, `--concurrency` at once,
 * one summary, and the exit codes of a fleet deployment (0 all done, 1 nothing done, 2 some failed).
 */
const COUNT = 4;
const name = (i: number) => `t${i + 1}`;
const WORKSPACE = fleetYaml(
  Array.from({ length: COUNT }, (_, i) => ({ name: name(i), variable: `URL_${i + 1}`, labels: { n: String(i + 1) } })),
);
const PROJECT = {
  'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
  'a/t.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY);\n',
  'a/smoke/t.sql': '-- name: the table reads\nSELECT * FROM a.t;\n',
};

describe('rollback, diff and smoke-test on a fleet of server databases', () => {
  const fleet = scratchFleet('dbee_fleet_cmd', COUNT, { 'dbee.yaml': WORKSPACE, ...PROJECT });
  const { dbs, env } = fleet;
  /** The fleet's variables with target i pointing at a database that does not exist: it is refused (exit 1). */
  const unreachable = (...targets: number[]) => ({
    ...env,
    ...Object.fromEntries(targets.map((i) => [`URL_${i + 1}`, dbs[i]!.url.replace(/\/([^/?]+)(\?|$)/, '/$1_gone$2')])),
  });
  const hasTable = async (i: number) =>
    (await queryUrl<{ t: boolean }>(dbs[i]!.url, "SELECT to_regclass('a.t') IS NOT NULL AS t"))[0]!.t;
  const targetsIn = (out: string) => [...new Set([...out.matchAll(/^\[(t\d)\] /gm)].map((m) => m[1]))].sort();

  beforeAll(async () => {
    const deployed = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 4 }, env);
    expect(deployed.code, deployed.stderr).toBe(0);
  }, 120_000);

  it('smoke-test: two --shard i/2 runs check every target once; an unreachable target makes it exit 2', async () => {
    const shards = await Promise.all(
      [1, 2].map((i) => run(fleet.w.root, 'smoke-test', { project: 'a', shard: `${i}/2`, concurrency: 2 }, env)),
    );
    for (const s of shards) expect(s.code, s.stderr).toBe(0);
    const seen = shards.flatMap((s) => targetsIn(s.stdout));
    expect(seen.sort()).toEqual(['t1', 't2', 't3', 't4']);
    expect(shards[0]!.stdout).toMatch(/^fleet fleet shard 1\/2: smoke-test on \d targets?: \d succeeded$/m);

    const one = await run(fleet.w.root, 'smoke-test', { project: 'a', concurrency: 4 }, unreachable(1));
    expect(one.code).toBe(2);
    expect(one.stdout).toMatch(
      /^fleet fleet: smoke-test on 4 targets: 3 succeeded, 1 refused\n {2}refused: t2 \(exit 1\): /m,
    );
    expect(one.stdout).toMatch(/^ {2}exit 2$/m);
  }, 120_000);

  it('rollback: --max-failures stops starting targets; nothing done is exit 1, some done is exit 2', async () => {
    // t1 unreachable, one at a time, the default --max-failures 1: t1 is refused, no other target starts.
    const stopped = await run(fleet.w.root, 'rollback', { project: 'a', assumeYes: true }, unreachable(0));
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(/refused: t1 \(exit 1\)/);
    expect(stopped.stdout).toMatch(/stopped: 1 target failed \(--max-failures 1\); 3 targets not started/);
    expect(await Promise.all([1, 2, 3].map(hasTable))).toEqual([true, true, true]);

    // t3 unreachable, --max-failures 2 and 2 at once: the three others are rolled back, the fleet exits 2. --report
    // writes the fleet's report, as a fleet deployment's (before: refused, every target wrote the same file).
    const some = await run(
      fleet.w.root,
      'rollback',
      { project: 'a', assumeYes: true, concurrency: 2, maxFailures: 2, report: 'out/rollback.json' },
      unreachable(2),
    );
    expect(some.code).toBe(2);
    expect(some.stdout).toMatch(
      /^fleet fleet: rollback on 4 targets: (3 succeeded, 1 refused|1 refused, 3 succeeded)$/m,
    );
    expect(await Promise.all([0, 1, 2, 3].map(hasTable))).toEqual([false, false, true, false]);
    expect(some.stdout).toMatch(/report written to .*rollback\.json and .*rollback\.md/);
    const report = JSON.parse(readFileSync(join(fleet.w.root, 'out/rollback.json'), 'utf8'));
    expect(report).toMatchObject({
      command: 'rollback',
      fleet: 'fleet',
      project: 'a',
      exitCode: 2,
      policy: { canary: 0, concurrency: 2, maxFailures: 2 },
      counts: { succeeded: 3, refused: 1 },
    });
    const byTarget = Object.fromEntries(
      (report.targets as { target: string; result: string; deploymentIds: number[] }[]).map((t) => [t.target, t]),
    );
    expect(byTarget.t3).toMatchObject({ result: 'refused', deploymentIds: [] });
    for (const t of ['t1', 't2', 't4'])
      expect(byTarget[t]).toMatchObject({ result: 'succeeded', deploymentIds: [expect.any(Number)] });
    const markdown = readFileSync(join(fleet.w.root, 'out/rollback.md'), 'utf8');
    expect(markdown).toContain('# dbee rollback a on fleet fleet');
    expect(markdown).toMatch(/\| t3 \| 2 \| refused \|/);
  }, 120_000);

  it('diff --fail-on-diff: the targets that differ are named; some differ is exit 2, all differ is exit 1', async () => {
    const some = await run(fleet.w.root, 'diff', { project: 'a', failOnDiff: true, concurrency: 4 }, env);
    expect(some.code, some.stdout + some.stderr).toBe(2);
    expect(some.stdout).toMatch(/^fleet fleet: diff on 4 targets: /m);
    expect(
      [...some.stdout.matchAll(/^ {2}differs: (t\d) \(exit 1\)$/gm)].map((m) => m[1]).sort(),
      some.stdout + some.stderr,
    ).toEqual(['t1', 't2', 't4']);
    const all = await run(fleet.w.root, 'diff', { project: 'a', failOnDiff: true, labels: 'n=1|2' }, env);
    expect(all.code).toBe(1);
    expect(all.stdout).toMatch(/^fleet fleet: diff on 2 targets: 2 differs$/m);
  }, 120_000);
});
