import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { fleetYaml, PROJECT_A, scratchFleet } from './fleet-workspace';

/**
 * A fleet's report is made from each target's deployment report as the deployment hands it over, in memory: no file is
 * written per target (the fleet deploys where the temporary folder cannot be written, such as a read-only container),
 * and the report still says what each target did.
 */
const COUNT = 2;
const WORKSPACE = fleetYaml(Array.from({ length: COUNT }, (_, i) => ({ name: `t${i + 1}`, variable: `URL_${i + 1}` })));

interface Line {
  target: string;
  result: string;
  deploymentIds: number[];
  steps: { applied: number; total: number };
  database: string | null;
}

describe('a fleet deployment and its report, without a temporary folder [postgres]', () => {
  const fleet = scratchFleet('dbee_fleet_report', COUNT, { 'dbee.yaml': WORKSPACE, ...PROJECT_A }, 60_000);
  const { dbs, env } = fleet;

  it('deploys every target and reports each one’s deployment, steps and database', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = join(fleet.w.root, 'no-such-folder');
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 2, report: 'out/fleet.json' }, env);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(fleet.w.root, 'out/fleet.json'), 'utf8')) as { targets: Line[] };
    expect(
      report.targets.map((t) => ({ target: t.target, result: t.result, ids: t.deploymentIds, steps: t.steps })),
    ).toEqual([
      { target: 't1', result: 'succeeded', ids: [1], steps: { applied: 3, total: 3 } },
      { target: 't2', result: 'succeeded', ids: [1], steps: { applied: 3, total: 3 } },
    ]);
    for (const [i, t] of report.targets.entries()) expect(t.database).toContain(new URL(dbs[i]!.url).pathname.slice(1));
  });
});
