import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { fleetYaml, PROJECT_A, scratchFleet } from './fleet-workspace';
import { queryUrl } from '../support/pg';

/**
 * Every target of a fleet ends its deployment with the convergence check, whatever the targets before it found. The
 * check of targets whose states are equal is shared (diffing/converge.ts, `compare`), and so are plans: both only for
 * states equal in everything the check reads. The recorded fingerprint tells the fleet's live states apart, and since
 * its `pg4` format it covers a column's statistics target, storage and options, a partition key and a sequence's
 * owner too (before, a target that differed from a converged one only there shared its plan, and failed its check): a
 * target with a setting of its own is planned from its own state, which puts the setting back, and converges.
 */
const COUNT = 3;
const name = (i: number) => `t${i + 1}`;
const WORKSPACE = fleetYaml(Array.from({ length: COUNT }, (_, i) => ({ name: name(i), variable: `URL_${i + 1}` })));

interface Report {
  exitCode: number;
  plans: { built: number; reused: number; package: number };
  targets: {
    target: string;
    result: string;
    error: { code: string; message: string } | null;
    plan: { origin: string; state: string | null } | null;
  }[];
}

describe('the convergence check on a fleet', () => {
  const fleet = scratchFleet('dbee_fleet_converge', COUNT, { 'dbee.yaml': WORKSPACE, ...PROJECT_A });
  const { dbs, env } = fleet;
  const report = () => JSON.parse(readFileSync(join(fleet.w.root, 'out/fleet.json'), 'utf8')) as Report;

  it('a target with a column setting of its own is told apart by its fingerprint, planned on its own, and converges', async () => {
    const first = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 1 }, env);
    expect(first.code, first.stderr).toBe(0);
    // Outside dbee, on t3 only: a statistics target (its table's file changes below, so it is planned, not refused).
    await queryUrl(dbs[2]!.url, 'ALTER TABLE a.t ALTER COLUMN name SET STATISTICS 500');
    fleet.w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, name text, note text);\n');
    // One at a time, in the fleet's order: t1 and t2 converge before t3 is checked.
    const second = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 1, report: 'out/fleet.json' }, env);
    expect(second.code, second.stderr).toBe(0);
    const r = report();
    // Two plans: t1 and t2 share one, t3's state is its own.
    expect(r.plans).toEqual({ built: 2, reused: 1, package: 0 });
    expect(r.targets[2]!.plan?.state).not.toBe(r.targets[0]!.plan?.state);
    expect(r.targets[1]!.plan?.state).toBe(r.targets[0]!.plan?.state);
    expect(r.targets.map((t) => [t.target, t.result, t.error?.code ?? null])).toEqual([
      ['t1', 'succeeded', null],
      ['t2', 'succeeded', null],
      ['t3', 'succeeded', null],
    ]);
    // t3's setting is the sources' again, and what each deployment recorded after its steps is the same state.
    const [stat] = await queryUrl<{ s: number | null }>(
      dbs[2]!.url,
      "SELECT nullif(attstattarget, -1)::int AS s FROM pg_attribute WHERE attrelid = 'a.t'::regclass AND attname = 'name'",
    );
    expect(stat!.s).toBeNull();
    const recorded = async (i: number) =>
      (
        await queryUrl<{ f: string }>(
          dbs[i]!.url,
          "SELECT summary->>'fingerprint' AS f FROM dbee.deployments WHERE kind = 'deploy' ORDER BY id DESC LIMIT 1",
        )
      )[0]!.f.replace(/^pg4:[^:]*:/, '');
    expect(await recorded(2)).toBe(await recorded(0));
  }, 300_000);
});
