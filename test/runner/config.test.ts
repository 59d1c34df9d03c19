import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { workspaceWith, type TestWorkspace } from './helpers';
import { SHOP_V1 } from './shop';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe('dbee config on PostgreSQL and PGlite (#64 deliverable 6)', () => {
  it("server: the URL's password masked, --test-connection answers; a wrong port: exit 1, no secret printed", async () => {
    const w = await workspaceWith('postgres', SHOP_V1);
    workspaces.push(w);
    // Trust authentication ignores the password: it is there to be masked.
    const url = w.target.vars.DBEE_RUNNER_URL!.replace('postgres://postgres@', 'postgres://postgres:hunter2@');
    const ok = await run(w.root, 'config', { project: 'shop', testConnection: true }, { DBEE_RUNNER_URL: url });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('postgres://postgres:***@');
    expect(ok.stdout).toContain('DBEE_RUNNER_URL');
    expect(ok.stdout + ok.stderr).toMatch(/connection test: .* answered/);
    expect(ok.stdout + ok.stderr).not.toContain('hunter2');
    // No project: the docs' `dbee config --env qa --test-connection` (it asked for one before).
    const bare = await run(w.root, 'config', { testConnection: true }, { DBEE_RUNNER_URL: url });
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout + bare.stderr).toMatch(/connection test: .* answered/);
    const bad = await run(
      w.root,
      'config',
      { project: 'shop', testConnection: true },
      { DBEE_RUNNER_URL: url.replace(/:\d+\//, ':1/') },
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/connection test: target did not answer/);
    expect(bad.stdout + bad.stderr).not.toContain('hunter2');
  });

  it('PGlite: prints the embedded folder and answers the connection test', async () => {
    const w = await workspaceWith('pglite', SHOP_V1);
    workspaces.push(w);
    const r = await run(w.root, 'config', { project: 'shop', testConnection: true, format: 'json' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      engine: 'postgres',
      connection: { embedded: '.dbee/db' },
      connectionTest: { ok: true },
    });
  });
});
