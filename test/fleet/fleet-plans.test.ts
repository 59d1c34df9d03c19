import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { fleetYaml, PROJECT_A, scratchFleet } from './fleet-workspace';
import { queryUrl, scratchDatabase } from '../support/pg';

/**
 * A fleet deployment builds one plan per distinct live state of its targets (their ledgers and the definitions in
 * their schemas) and reuses it for every target in that state; a release package is deployed as is.
 */
const COUNT = 6;
const name = (i: number) => `t${i + 1}`;
const group = (i: number) => (i < COUNT / 2 ? 'a' : 'b');
const WORKSPACE = fleetYaml(
  Array.from({ length: COUNT }, (_, i) => ({ name: name(i), variable: `URL_${i + 1}`, labels: { group: group(i) } })),
);

interface Report {
  plans: { built: number; reused: number; package: number };
  targets: {
    target: string;
    result: string;
    steps: { applied: number; total: number };
    plan: { origin: string; state: string | null } | null;
  }[];
}

describe('plans on a fleet', () => {
  const fleet = scratchFleet('dbee_fleet_plans', COUNT, { 'dbee.yaml': WORKSPACE, ...PROJECT_A });
  const { dbs, env } = fleet;
  const report = () => JSON.parse(readFileSync(join(fleet.w.root, 'out/fleet.json'), 'utf8')) as Report;
  const ledger = async (i: number) =>
    queryUrl<{ status: string; steps: number }>(
      dbs[i]!.url,
      "SELECT d.status, (SELECT count(*)::int FROM dbee.steps s WHERE s.deployment_id = d.id AND s.status = 'applied') AS steps FROM dbee.deployments d WHERE d.kind = 'deploy' ORDER BY d.id",
    );
  const objects = async (i: number) =>
    (
      await queryUrl<{ object_key: string }>(
        dbs[i]!.url,
        "SELECT object_key FROM dbee.objects WHERE project = 'a' AND object_key NOT LIKE 'migration:%' ORDER BY 1",
      )
    ).map((r) => r.object_key);

  it('6 targets in 2 live states: 2 plans built, 4 reused, each target deployed by the plan of its own state', async () => {
    // Release 1 on group a only: the fleet is then in two states (a: release 1, b: empty).
    const first = await run(
      fleet.w.root,
      'deploy',
      { project: 'a', labels: 'group=a', concurrency: 3, report: 'out/fleet.json' },
      env,
    );
    expect(first.code, first.stderr).toBe(0);
    expect(report().plans).toEqual({ built: 1, reused: 2, package: 0 });

    fleet.w.write('a/w.sql', 'CREATE VIEW a.w AS SELECT count(*)::int AS n FROM a.t;\n');
    const second = await run(fleet.w.root, 'deploy', { project: 'a', concurrency: 3, report: 'out/fleet.json' }, env);
    expect(second.code, second.stderr).toBe(0);
    const r = report();
    expect(r.plans).toEqual({ built: 2, reused: 4, package: 0 });
    expect(second.stdout).toMatch(/plans: 2 built for 6 targets \(4 reused: one plan per live state\)/);
    const states = (g: string) => new Set(r.targets.filter((_, i) => group(i) === g).map((t) => t.plan?.state));
    expect(states('a').size).toBe(1);
    expect(states('b').size).toBe(1);
    expect([...states('a')][0]).not.toBe([...states('b')][0]);
    for (const g of ['a', 'b'])
      expect(
        r.targets
          .filter((_, i) => group(i) === g)
          .map((t) => t.plan?.origin)
          .sort(),
      ).toEqual(['built', 'reused', 'reused']);
    // Group a got the one new view; group b the whole project (schema, table, two views).
    for (const [i, t] of r.targets.entries()) {
      expect(t.result, t.target).toBe('succeeded');
      expect(t.steps.total, t.target).toBe(group(i) === 'a' ? 1 : 4);
    }
    // Each target's ledger: its own deployments and the steps applied to it, the same objects in the end.
    for (let i = 0; i < COUNT; i++) {
      expect(await ledger(i), name(i)).toEqual(
        group(i) === 'a'
          ? [
              { status: 'succeeded', steps: 3 },
              { status: 'succeeded', steps: 1 },
            ]
          : [{ status: 'succeeded', steps: 4 }],
      );
      expect(await objects(i), name(i)).toEqual(['schema:a', 'table:a.t', 'view:a.v', 'view:a.w']);
    }
  }, 300_000);

  it('a target changed by hand is a state of its own: its plan is built for it', async () => {
    // t6 drifted (a comment written outside dbee): same ledger as the others, other definitions. Drift is refused by
    // default (test/runner/drift.test.ts); `--if-exists drop` puts it back, in t6's own plan.
    await queryUrl(dbs[5]!.url, "COMMENT ON TABLE a.t IS 'by hand'");
    fleet.w.write('a/x.sql', 'CREATE VIEW a.x AS SELECT 1 AS one;\n');
    const options = { project: 'a', concurrency: 2, report: 'out/fleet.json', ifExists: 'drop' };
    const r = await run(fleet.w.root, 'deploy', options, env);
    expect(r.code, r.stderr).toBe(0);
    expect(report().plans).toEqual({ built: 2, reused: 4, package: 0 });
    expect(report().targets.find((t) => t.target === 't6')?.plan?.origin).toBe('built');
  }, 300_000);

  it('a release package is deployed as is: no plan built', async () => {
    fleet.w.write('a/y.sql', 'CREATE VIEW a.y AS SELECT 2 AS two;\n');
    const planned = await run(fleet.w.root, 'plan', { project: 'a', env: 'fleet/t1', out: 'dist/release' }, env);
    expect(planned.code, planned.stderr).toBe(0);
    const r = await run(
      fleet.w.root,
      'deploy',
      { project: 'a', package: 'dist/release', concurrency: 3, report: 'out/fleet.json' },
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(report().plans).toEqual({ built: 0, reused: 0, package: COUNT });
    expect(r.stdout).toMatch(/plans: 6 targets deployed the package as is/);
    for (let i = 0; i < COUNT; i++)
      expect((await queryUrl(dbs[i]!.url, "SELECT to_regclass('a.y') IS NOT NULL AS y"))[0], name(i)).toEqual({
        y: true,
      });
  }, 300_000);
});

describe('a project that uses {{target}}', () => {
  it('is parsed and planned per target, and each target gets its own value', async () => {
    const dbs = await Promise.all([0, 1].map(() => scratchDatabase('dbee_fleet_plans')));
    const w = tempWorkspace({
      'dbee.yaml': fleetYaml([
        { name: 'one', variable: 'URL_ONE' },
        { name: 'two', variable: 'URL_TWO' },
      ]),
      'a/db.yaml': 'version: 1\nname: a\nengine: postgres\nschemas: [a]\n',
      'a/t.sql': "CREATE SCHEMA a;\nCREATE VIEW a.who AS SELECT '{{target}}'::text AS name;\n",
    });
    try {
      const r = await run(
        w.root,
        'deploy',
        { project: 'a', concurrency: 2, report: 'out/fleet.json' },
        { URL_ONE: dbs[0]!.url, URL_TWO: dbs[1]!.url },
      );
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(readFileSync(join(w.root, 'out/fleet.json'), 'utf8')) as Report;
      expect(report.plans).toEqual({ built: 2, reused: 0, package: 0 });
      for (const [i, who] of ['one', 'two'].entries())
        expect(await queryUrl(dbs[i]!.url, 'SELECT name FROM a.who')).toEqual([{ name: who }]);
    } finally {
      w.remove();
      for (const d of dbs) await d.drop();
    }
  }, 120_000);
});
