import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { compiledViews, OPAQUE } from './compiled-views';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * After a rollback, the smoke baseline compiles the views the rollback can have broken as it does after a deployment:
 * a view put back by a CREATE of its own was analysed by it, so it is planned once, by itself or under a view over it
 * that is compiled (a chain of views put back is planned from its top, not once per view, each time down to its
 * bottom); the views over what the rollback changed are compiled, and a view put back that does not plan fails it.
 */
const FILES = OPAQUE;

describe.each(ENGINES)('the smoke baseline after a rollback [%s]', (engine) => {
  const compiled = compiledViews;

  it('compiles the views the deployment it undoes compiled: a view put back is planned under the view over it', async () => {
    const w = await workspaceWith(engine, FILES);
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);

    w.write('app/a.sql', 'CREATE VIEW app.a AS SELECT id, 2 AS k FROM app.t;\n');
    const deployed = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(await compiled(w)).toEqual(['b', 'w']);

    const back = await run(w.root, 'rollback', { project: 'app', assumeYes: true }, w.target.vars);
    expect(back.code, back.stderr).toBe(0);
    expect(await compiled(w)).toEqual(['b', 'w']);
    const [{ definition }] = await w.target.query<{ definition: string }>(
      `SELECT pg_get_viewdef('app.a'::regclass) AS definition`,
    );
    expect(definition).toMatch(/1 AS k/);
  });

  it('a view put back that does not plan fails the baseline, through the view over it', async () => {
    const w = await workspaceWith(engine, {
      ...FILES,
      // Analysed by CREATE VIEW, which folds no constant: only planning finds the division by zero.
      'app/a.sql': 'CREATE VIEW app.a AS SELECT id, 0 AS k FROM app.t;\n',
      'app/b.sql': 'CREATE VIEW app.b AS SELECT id, 1 / k AS z FROM app.a;\n',
    });
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(3);

    w.write('app/a.sql', 'CREATE VIEW app.a AS SELECT id, 1 AS k FROM app.t;\n');
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);

    const back = await run(w.root, 'rollback', { project: 'app', assumeYes: true }, w.target.vars);
    expect(back.code).toBe(3);
    expect(back.stdout + back.stderr).toMatch(
      /FAIL\s+baseline: view app\.b compiles[^\n]*\n\s*failed: division by zero/,
    );
  });
});
