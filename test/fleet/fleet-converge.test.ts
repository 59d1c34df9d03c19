import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { fleetYaml, PROJECT_A, scratchFleet } from './fleet-workspace';
import { queryUrl } from '../support/pg';

/**
 * Every target of a fleet ends its deployment with the convergence check, whatever the targets before it found. The
 * check of targets whose states are equal is shared (diffing/converge.ts, `compare`), but only for states equal in
 * everything the check reads: the recorded fingerprint, which tells the fleet's live states apart, does not cover
 * all of it (a column's statistics target, storage and options, a partition key, a sequence's owner), so a target
 * that differs from a converged one only there is compared, and fails.
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

  it('a target in the same live state as converged ones, but with a column setting of its own, does not converge', async () => {
    const first = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 1 }, env);
    expect(first.code, first.stderr).toBe(0);
    // Outside dbee, on t3 only: a statistics target, which the fingerprint does not read (no drift, the same state).
    await queryUrl(dbs[2]!.url, 'ALTER TABLE a.t ALTER COLUMN name SET STATISTICS 500');
    fleet.w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, name text, note text);\n');
    // One at a time, in the fleet's order: t1 and t2 converge before t3 is checked.
    const second = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 1, report: 'out/fleet.json' }, env);
    expect(second.code, second.stderr).toBe(2);
    const r = report();
    // One plan for the three: their recorded states are equal.
    expect(r.plans).toEqual({ built: 1, reused: 2, package: 0 });
    expect(new Set(r.targets.map((t) => t.plan?.state)).size).toBe(1);
    expect(r.targets.map((t) => [t.target, t.result, t.error?.code ?? null])).toEqual([
      ['t1', 'succeeded', null],
      ['t2', 'succeeded', null],
      ['t3', 'failed', 'NOT_CONVERGED'],
    ]);
    expect(r.targets[2]!.error!.message).toMatch(/table:a\.t: alter-column-settings name/);
    expect(second.stderr).toMatch(/\[t3\] error: a: every step applied, but the objects the deployment touched differ/);
    // What each deployment recorded after its steps: t3's fingerprint, without the database's identity, is t1's.
    const recorded = async (i: number) =>
      (
        await queryUrl<{ f: string }>(
          dbs[i]!.url,
          "SELECT summary->>'fingerprint' AS f FROM dbee.deployments WHERE kind = 'deploy' ORDER BY id DESC LIMIT 1",
        )
      )[0]!.f.replace(/^pg3:[^:]*:/, '');
    expect(await recorded(2)).toBe(await recorded(0));
  }, 300_000);
});
