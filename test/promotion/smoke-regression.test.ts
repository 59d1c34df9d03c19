import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, promotionWorkspace } from './helpers';

/** `gates.smokeRegression`: a smoke check made slower on purpose (pg_sleep) fails against its baseline in the ledger. */
describe.each(ENGINES)('smoke regression gate [%s]', (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('a check slower than factor x the median of its last successful runs fails the deployment (exit 3, rolled back)', async () => {
    // minMs 300: a fast check's noise on a loaded machine never counts; pg_sleep(1) is well past it.
    const ws = await promotionWorkspace(engine, ['qa'], {
      qa: '{ smokeRegression: { factor: 1.2, minMs: 300 } }\n    deploy: { autoRollback: true }',
    });
    cleanups.push(ws.cleanup);
    const vars = ws.vars('qa');
    ws.w.write('a/smoke/t.yaml', 'checks:\n  - name: orders answer\n    query: SELECT 1 AS n\n    rows: [{ n: 1 }]\n');
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa' }, vars)).code).toBe(0);
    for (let i = 0; i < 2; i++) expect((await ws.dbee('smoke-test', { project: 'a', env: 'qa' }, vars)).code).toBe(0);
    // Three successful runs make a baseline; the same check, as fast, still passes.
    ws.w.write('a/u.sql', 'CREATE TABLE a.u (id int);');
    const same = await ws.dbee('deploy', { project: 'a', env: 'qa' }, vars);
    expect(same.code, same.stdout + same.stderr).toBe(0);

    ws.w.write(
      'a/smoke/t.yaml',
      'checks:\n  - name: orders answer\n    query: SELECT 1 AS n FROM pg_sleep(1)\n    rows: [{ n: 1 }]\n',
    );
    ws.w.write('a/w.sql', 'CREATE TABLE a.w (id int);');
    const slow = await ws.dbee('deploy', { project: 'a', env: 'qa' }, vars);
    expect(slow.code, slow.stdout + slow.stderr).toBe(3);
    expect(slow.stdout).toMatch(
      /FAIL {2}orders answer \(\d+ ms\)[^\n]*\n +slower than its baseline: \d+ ms, against a median of \d+ ms over its last 4 successful runs on qa \(gates\.smokeRegression 1\.2: at most \d+ ms\)/,
    );
    expect(slow.stderr).toContain('smoke check failed after deploying: orders answer');
    expect(await ws.query('qa', "SELECT to_regclass('a.w') IS NULL AS gone")).toEqual([{ gone: true }]);
    expect(await ws.query('qa', 'SELECT status FROM dbee.deployments ORDER BY id DESC LIMIT 1')).toEqual([
      { status: 'rolled-back' },
    ]);
    // The slow run is recorded as failed: it never becomes part of a baseline.
    const last = await ws.query(
      'qa',
      "SELECT status FROM dbee.smoke_results WHERE check_name = 'orders answer' ORDER BY id DESC LIMIT 1",
    );
    expect(last).toEqual([{ status: 'failed' }]);
  });
});
