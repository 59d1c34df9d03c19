import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { spawnDbee } from '../runner/helpers';
import { queryUrl } from '../support/pg';
import { promotionWorkspace } from '../promotion/helpers';

/**
 * Issue #56: a deployment killed after its last step, while its smoke checks run, is finished by the next run: its
 * closing stages (smoke checks, closing row, notifications) run instead of "nothing to deploy, up to date". On the
 * server: the check waits on an advisory lock the test holds, the test kills dbee once the check waits.
 */
describe('recovery finishes what the interrupted run left (server)', () => {
  let cleanup = async () => {};
  afterAll(() => cleanup());

  it('runs the smoke checks of a deployment killed during them, and records them', async () => {
    const ws = await promotionWorkspace('postgres', ['qa']);
    cleanup = ws.cleanup;
    ws.w.write(
      'a/smoke/wait.yaml',
      'checks:\n  - name: waits for the test\n    query: SELECT count(*)::int AS n FROM (SELECT pg_advisory_lock_shared(4343)) x\n    rows: [{ n: 1 }]\n',
    );
    const url = ws.vars('qa').P_QA!;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock(4343)');
      const p = await spawnDbee(ws.w.root, ['deploy', 'a', '--env', 'qa'], ws.vars('qa'));
      const waiting = async () =>
        (
          await queryUrl<{ n: number }>(
            url,
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = current_database() AND query LIKE '%4343%' AND pid <> pg_backend_pid()",
          )
        )[0]!.n > 0;
      while (!(await waiting())) {
        expect(p.child.exitCode, JSON.stringify(p.output())).toBeNull();
        await new Promise((r) => setTimeout(r, 50));
      }
      p.child.kill('SIGKILL');
      await p.exit;
    } finally {
      await client.query('SELECT pg_advisory_unlock_all()');
      await client.end();
    }
    const again = await ws.dbee('deploy', { project: 'a', env: 'qa' }, ws.vars('qa'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('marked interrupted');
    expect(again.stdout).toContain('interrupted after all its steps applied: its smoke checks');
    expect(again.stdout).not.toContain('nothing to deploy');
    const rows = await ws.query<{ status: string; steps_total: number; smoke: string | null }>(
      'qa',
      "SELECT status, steps_total, summary->>'smoke' AS smoke FROM dbee.deployments ORDER BY id",
    );
    expect(rows).toEqual([
      { status: 'interrupted', steps_total: 2, smoke: null },
      { status: 'succeeded', steps_total: 0, smoke: expect.stringMatching(/^\d+\/\d+ passed$/) },
    ]);
    const results = await ws.query<{ n: number }>('qa', 'SELECT count(*)::int AS n FROM dbee.smoke_results');
    expect(results[0]!.n).toBeGreaterThan(0);
  });
});
