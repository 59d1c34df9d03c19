import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KEY, promotionWorkspace } from './helpers';

/**
 * Issue 79, case 3: promotion of an expand-contract package follows the rule of a direct deployment's (one function:
 * `smokeEvidence`). A project without smoke files records what its checks (the baseline: the recorded objects exist,
 * the views compile) found on qa, and prod accepts the package, whichever strategy deployed it there. On the server
 * (PGlite runs the same pipeline; test/pipeline/drift-stage.test.ts runs the phases on both).
 */
describe('an expand-contract package of a project without smoke files is promoted as a direct one is [postgres]', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('qa expands it with its checks recorded, and prod accepts it', async () => {
    const ws = await promotionWorkspace('postgres', ['qa', 'prod'], { prod: '{ promotedFrom: [qa] }' });
    cleanups.push(ws.cleanup);
    rmSync(join(ws.w.root, 'a/smoke'), { recursive: true });
    const both = { ...ws.vars('qa', 'prod'), ...KEY };
    const a = { project: 'a' };
    expect((await ws.dbee('plan', { ...a, out: 'dist/v1' }, both)).code).toBe(0);
    expect((await ws.dbee('deploy', { ...a, env: 'qa', package: 'dist/v1' }, both)).code).toBe(0);
    const direct = await ws.dbee('deploy', { ...a, env: 'prod', package: 'dist/v1' }, both);
    expect(direct.code, direct.stderr).toBe(0);

    ws.w.write('a/t.sql', 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int PRIMARY KEY, b int);');
    const strategy = 'expand-contract';
    expect((await ws.dbee('plan', { ...a, out: 'dist/v2', strategy }, both)).code).toBe(0);
    const qa = await ws.dbee('deploy', { ...a, env: 'qa', package: 'dist/v2', strategy }, both);
    expect(qa.code, qa.stderr).toBe(0);
    expect(qa.stdout).not.toMatch(/smoke: a not run/);
    const prod = await ws.dbee('deploy', { ...a, env: 'prod', package: 'dist/v2', strategy }, both);
    expect(prod.stderr).not.toContain('did not run on qa');
    expect(prod.code, prod.stderr).toBe(0);
  });
});
