import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDbee } from '../runner/helpers';
import { run } from '../support/run';
import { queryUrl, scratchDatabase } from '../support/pg';
import { tempWorkspace } from '../support/workspace';
import { fleetYaml, PROJECT_A } from '../fleet/fleet-workspace';

/**
 * Issue #56, the fleet's kill-and-resume: a fleet deployment killed while one target's smoke check waits (after that
 * target's last step) is finished by the next fleet run, which counts that target deployed only once its checks ran
 * there: `failed` while they fail, `succeeded` once they pass; never `unchanged`. On the server: the check waits on
 * an advisory lock the test holds in that target's database only.
 */
describe('a fleet target interrupted after its steps (server)', () => {
  const dbs: { url: string; drop(): Promise<void> }[] = [];
  let w: ReturnType<typeof tempWorkspace> | undefined;
  afterAll(async () => {
    w?.remove();
    for (const db of dbs) await db.drop();
  });

  it('is counted deployed only after its checks ran on resume', async () => {
    const env: NodeJS.ProcessEnv = {};
    const names = ['t1', 't2', 't3'];
    for (const n of names) {
      const db = await scratchDatabase('dbee_fresume');
      dbs.push(db);
      env[`URL_${n.toUpperCase()}`] = db.url;
    }
    const check = (rows: number) =>
      `checks:\n  - name: waits for the test\n    query: SELECT count(*)::int AS n FROM (SELECT pg_advisory_lock_shared(4344)) x\n    rows: [{ n: ${rows} }]\n`;
    w = tempWorkspace({
      'dbee.yaml': fleetYaml(names.map((n) => ({ name: n, variable: `URL_${n.toUpperCase()}` }))),
      ...PROJECT_A,
      'a/smoke/wait.yaml': check(1),
    });
    const t2 = dbs[1]!.url;
    const holder = new pg.Client({ connectionString: t2 });
    await holder.connect();
    try {
      // Advisory locks are per database: only t2's check waits.
      await holder.query('SELECT pg_advisory_lock(4344)');
      const p = await spawnDbee(w.root, ['deploy', 'a', '--env', 'fleet', '--concurrency', '3'], env);
      const deployed = async (url: string) =>
        (
          await queryUrl<{ n: number }>(
            url,
            "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'dbee' AND tablename = 'deployments'",
          )
        )[0]!.n > 0 &&
        (
          await queryUrl<{ n: number }>(
            url,
            "SELECT count(*)::int AS n FROM dbee.deployments WHERE status = 'succeeded'",
          )
        )[0]!.n > 0;
      const waiting = async () =>
        (
          await queryUrl<{ n: number }>(
            t2,
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = current_database() AND query LIKE '%4344%' AND pid <> pg_backend_pid()",
          )
        )[0]!.n > 0;
      while (!((await waiting()) && (await deployed(dbs[0]!.url)) && (await deployed(dbs[2]!.url)))) {
        expect(p.child.exitCode, JSON.stringify(p.output())).toBeNull();
        await new Promise((r) => setTimeout(r, 50));
      }
      p.child.kill('SIGKILL');
      await p.exit;
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
      await holder.end();
    }
    const targets = () =>
      new Map(
        (
          JSON.parse(readFileSync(join(w!.root, 'out/fleet.json'), 'utf8')) as {
            targets: { target: string; result: string }[];
          }
        ).targets.map((t) => [t.target, t.result]),
      );
    const args = { project: 'a', env: 'fleet', concurrency: 3, report: 'out/fleet.json' };

    // The resumed checks fail there: the target is not deployed, and the fleet says so.
    w.write('a/smoke/wait.yaml', check(2));
    const failing = await run(w.root, 'deploy', args, env);
    expect(failing.code, failing.stdout + failing.stderr).toBe(2);
    expect(failing.stdout).toContain('interrupted after all its steps applied: its smoke checks');
    expect(targets()).toEqual(
      new Map([
        ['t1', 'unchanged'],
        ['t2', 'failed'],
        ['t3', 'unchanged'],
      ]),
    );

    // Until its checks pass there, the target is not at the release: the next run runs them again (it said `unchanged`,
    // exit 0, before: the failed closing run was taken for a deployment).
    w.write('a/smoke/wait.yaml', check(1));
    const passing = await run(w.root, 'deploy', args, env);
    expect(passing.code, passing.stdout + passing.stderr).toBe(0);
    expect(passing.stdout).toContain('its closing smoke checks failed: its smoke checks');
    expect(targets().get('t2')).toBe('succeeded');
    const rows = await queryUrl<{ status: string; steps_total: number; smoke: string | null }>(
      t2,
      "SELECT status, steps_total, summary->>'smoke' AS smoke FROM dbee.deployments ORDER BY id",
    );
    expect(rows.map((r) => r.status)).toEqual(['interrupted', 'failed', 'succeeded']);
    expect(rows.at(-1)!.smoke).toMatch(/^\d+\/\d+ passed$/);
  });
});
