import { afterAll, describe, expect, it } from 'vitest';
import { ENGINES, promotionWorkspace } from './helpers';

/** `gates.requireTicket`: deploy, rollback, cleanup and clone need a matching `--ticket`; the ledger and `status` show it. */
describe.each(ENGINES)('change tickets [%s]', (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('missing or not matching: exit 1 before anything runs; matching: recorded in the ledger, the summary and status', async () => {
    const ws = await promotionWorkspace(engine, ['qa', 'prod'], { prod: '{ requireTicket: "^CHG-[0-9]+$" }' });
    cleanups.push(ws.cleanup);
    const vars = ws.vars('qa', 'prod');
    const missing = await ws.dbee('deploy', { project: 'a', env: 'prod' }, vars);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('environment prod requires a change ticket: deploy refused, nothing was run');
    expect(missing.stderr).toContain('pass --ticket <id> matching ^CHG-[0-9]+$');
    const wrong = await ws.dbee('deploy', { project: 'a', env: 'prod', ticket: 'fix-it-now' }, vars);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ticket "fix-it-now" does not match ^CHG-[0-9]+$');
    // Issue #56: a trailing space is refused, not trimmed: the ledger records exactly the ticket given, or nothing.
    const spaced = await ws.dbee('deploy', { project: 'a', env: 'prod', ticket: 'CHG-42 ' }, vars);
    expect(spaced.code).toBe(1);
    expect(spaced.stderr).toContain('--ticket "CHG-42 " has spaces before or after it');
    expect(await ws.deployed('prod')).toBe(false);

    const right = await ws.dbee('deploy', { project: 'a', env: 'prod', ticket: 'CHG-42' }, vars);
    expect(right.code, right.stderr).toBe(0);
    expect(right.stdout).toMatch(/ticket: +CHG-42/);
    expect(await ws.query('prod', 'SELECT kind, ticket FROM dbee.deployments ORDER BY id')).toEqual([
      { kind: 'deploy', ticket: 'CHG-42' },
    ]);
    const json = await ws.dbee('status', { project: 'a', env: 'prod', format: 'json' }, vars);
    expect(JSON.parse(json.stdout).lastDeployment.ticket).toBe('CHG-42');
    expect((await ws.dbee('status', { project: 'a', env: 'prod' }, vars)).stdout).toContain('ticket CHG-42');

    // rollback, cleanup and clone pass the same gate first.
    const rollback = await ws.dbee('rollback', { project: 'a', env: 'prod' }, vars);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toContain('rollback refused');
    const cleanup = await ws.dbee('cleanup', { project: 'a', env: 'prod', ticket: 'later' }, vars);
    expect(cleanup.code).toBe(1);
    expect(cleanup.stderr).toContain('ticket "later" does not match');
    const clone = await ws.dbee('clone', { project: 'a', from: 'qa', to: 'prod' }, vars);
    expect(clone.code).toBe(1);
    expect(clone.stderr).toContain('clone refused');
    expect(await ws.deployed('prod')).toBe(true);
    expect(await ws.query('prod', 'SELECT count(*)::int AS n FROM dbee.deployments')).toEqual([{ n: 1 }]);

    const undone = await ws.dbee('rollback', { project: 'a', env: 'prod', ticket: 'CHG-43' }, vars);
    expect(undone.code, undone.stderr).toBe(0);
    expect(await ws.deployed('prod')).toBe(false);
    expect(await ws.query('prod', 'SELECT kind, ticket FROM dbee.deployments ORDER BY id')).toEqual([
      { kind: 'deploy', ticket: 'CHG-42' },
      { kind: 'rollback', ticket: 'CHG-43' },
    ]);

    // The deployment log: newest first, with ticket, who, what, result, steps and smoke results.
    const log = await ws.dbee('log', { project: 'a', env: 'prod', format: 'json' }, vars);
    expect(log.code, log.stderr).toBe(0);
    const entries = JSON.parse(log.stdout).deployments as Record<string, any>[];
    expect(entries.map((e) => [e.id, e.kind, e.result, e.ticket, e.reverts])).toEqual([
      [2, 'rollback', 'succeeded', 'CHG-43', 1],
      [1, 'deploy', 'succeeded', 'CHG-42', null],
    ]);
    expect(entries[1]!.steps).toEqual([
      { order: 1, action: 'create', object: 'schema:a', status: 'undone' },
      { order: 2, action: 'create', object: 'table:a.t', status: 'undone' },
    ]);
    expect(entries[1]!.smoke.summary).toMatch(/^\d+\/\d+ passed$/);
    expect(entries[1]!.smoke.results).toContainEqual(
      expect.objectContaining({ check: 'nothing blocks', status: 'passed' }),
    );
    expect(entries[1]!.who.osUser).toBeTruthy();
    expect(entries[1]!.durationMs).toBeGreaterThanOrEqual(0);
    const text = await ws.dbee('log', { project: 'a', env: 'prod' }, vars);
    expect(text.stdout).toContain('#1 deploy succeeded\n');
    expect(text.stdout).toContain('  ticket: CHG-42\n');
    expect(text.stdout).toMatch(/smoke ok {3}nothing blocks \(\d+ ms\)/);
  });

  it('an environment without the gate takes a ticket when given, and runs without one', async () => {
    const ws = await promotionWorkspace(engine, ['qa']);
    cleanups.push(ws.cleanup);
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa' }, ws.vars('qa'))).code).toBe(0);
    ws.w.write('a/u.sql', 'CREATE TABLE a.u (id int);');
    expect((await ws.dbee('deploy', { project: 'a', env: 'qa', ticket: 'JIRA-7' }, ws.vars('qa'))).code).toBe(0);
    expect(await ws.query('qa', 'SELECT ticket FROM dbee.deployments ORDER BY id')).toEqual([
      { ticket: null },
      { ticket: 'JIRA-7' },
    ]);
  });
});
