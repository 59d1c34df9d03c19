import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { fleetYaml } from './fleet-workspace';
import { queryUrl, scratchDatabase } from '../support/pg';

/**
 * A fleet's conflict check asks the catalog nothing about the objects of schemas the target's live state found
 * missing (test/fleet/fleet-requests.test.ts counts the requests of a new target). Where some of the project's
 * schemas are there, what was made in them outside dbee is still found, and so is an existing schema itself.
 */
const PROJECT_AB = {
  'ab/db.yaml': 'version: 1\nname: ab\nengine: postgres\nschemas: [a, b]\n',
  'ab/a.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY);\n',
  'ab/b.sql': 'CREATE SCHEMA b;\nCREATE TABLE b.u (id int PRIMARY KEY);\nCREATE INDEX u_id ON b.u (id);\n',
};
const TARGETS = ['new', 'b-made-by-hand', 'a-empty'];

describe('conflicts on fleet targets where some of the project’s schemas exist [postgres]', () => {
  const dbs: { url: string; drop(): Promise<void> }[] = [];
  const env: Record<string, string> = {};
  let w: ReturnType<typeof tempWorkspace>;

  beforeAll(async () => {
    for (let i = 0; i < TARGETS.length; i++) {
      const db = await scratchDatabase('dbee_fleet_conflicts');
      dbs.push(db);
      env[`URL_${i + 1}`] = db.url;
    }
    const yaml = fleetYaml(TARGETS.map((name, i) => ({ name, variable: `URL_${i + 1}` })));
    w = tempWorkspace({ 'dbee.yaml': yaml, ...PROJECT_AB });
    await queryUrl(dbs[1]!.url, 'CREATE SCHEMA b; CREATE TABLE b.u (id int)');
    await queryUrl(dbs[2]!.url, 'CREATE SCHEMA a');
  }, 120_000);
  afterAll(async () => {
    w?.remove();
    for (const db of dbs) await db.drop();
  });

  it('deploys the new target and refuses each of the others, naming each object that exists', async () => {
    const options = { project: 'ab', concurrency: 1, maxFailures: 3, report: 'out/fleet.json' };
    const r = await run(w.root, 'deploy', options, env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    const report = JSON.parse(readFileSync(join(w.root, 'out/fleet.json'), 'utf8')) as {
      targets: { target: string; result: string }[];
    };
    expect(report.targets.map((t) => `${t.target}:${t.result}`)).toEqual([
      'new:succeeded',
      'b-made-by-hand:refused',
      'a-empty:refused',
    ]);
    const conflicts = (target: string) =>
      [
        ...r.stderr.matchAll(
          new RegExp(`^\\[${target}\\] (?:- |error: )\\S+: (\\S+) already exists in the database`, 'gm'),
        ),
      ].map((m) => m[1]);
    expect(conflicts('b-made-by-hand')).toEqual(['schema:b', 'table:b.u']);
    expect(conflicts('a-empty')).toEqual(['schema:a']);
    // Refused before anything ran: no schema a was made beside the b made by hand.
    const a = await queryUrl<{ n: number }>(
      dbs[1]!.url,
      "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'a'",
    );
    expect(a[0]!.n).toBe(0);
  });

  it('reports a target changed by hand since its deployment as drifted, in status and in a deployment (issue #56)', async () => {
    await queryUrl(dbs[0]!.url, 'ALTER TABLE a.t ADD COLUMN note text');
    const status = await run(w.root, 'status', { project: 'ab', format: 'json' }, env);
    const targets = JSON.parse(status.stdout).targets as { target: string; state: string; drift: string }[];
    expect(targets.find((t) => t.target === 'new')).toMatchObject({ state: 'drifted', drift: 'yes' });
    w.write('ab/c.sql', 'CREATE TABLE b.c (id int PRIMARY KEY);\n');
    const options = { project: 'ab', concurrency: 1, maxFailures: 3, report: 'out/drift.json' };
    const r = await run(w.root, 'deploy', options, env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const report = JSON.parse(readFileSync(join(w.root, 'out/drift.json'), 'utf8')) as {
      targets: { target: string; result: string; error: { code: string } | null }[];
    };
    expect(report.targets[0]).toMatchObject({ target: 'new', result: 'drifted', error: { code: 'DRIFT' } });
    expect(r.stdout).toMatch(/^ {2}drifted: new: table:a\.t was changed outside dbee/m);
  });
});
