import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * After a deployment, the smoke baseline compiles the views that deployment can have broken: those it changed and
 * those depending on what it changed (through views of views), as the database records it. `dbee smoke-test`, and a
 * deployment whose changes the database cannot follow (a migration), compile every view.
 */
const FILES = {
  'app/db.yaml': dbYaml('app'),
  'app/a_schema.sql': 'CREATE SCHEMA app;\n',
  'app/t.sql': 'CREATE TABLE app.t (id int PRIMARY KEY, v text);\n',
  'app/u.sql': 'CREATE TABLE app.u (id int PRIMARY KEY);\n',
  'app/f.sql': 'CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 1 $$;\n',
  'app/v1.sql': 'CREATE VIEW app.v1 AS SELECT id, v FROM app.t;\n',
  'app/v2.sql': 'CREATE VIEW app.v2 AS SELECT id FROM app.v1;\n',
  'app/w.sql': 'CREATE VIEW app.w AS SELECT id FROM app.u;\n',
  'app/wf.sql': 'CREATE VIEW app.wf AS SELECT app.f(id) AS g FROM app.u;\n',
};

describe.each(ENGINES)('the smoke baseline after a deployment compiles the views it can have broken [%s]', (engine) => {
  const compiled = async (w: TestWorkspace, deployment: number) =>
    (
      await w.target.query<{ check_name: string }>(
        `SELECT check_name FROM dbee.smoke_results WHERE deployment_id = $1 AND check_name LIKE 'baseline: view %' ORDER BY 1`,
        [deployment],
      )
    ).map((r) => r.check_name.replace(/^baseline: view app\.(\w+) compiles$/, '$1'));
  const lastDeployment = async (w: TestWorkspace) =>
    (await w.target.query<{ id: number }>('SELECT max(id)::int AS id FROM dbee.deployments'))[0]!.id;
  const deploy = async (w: TestWorkspace) => {
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    return lastDeployment(w);
  };

  it('first deployment: every view; a changed table: its views and the views on them; a changed function: the views calling it; a migration: every view', async () => {
    const w = await workspaceWith(engine, FILES);
    workspaces.push(w);
    expect(await compiled(w, await deploy(w))).toEqual(['v1', 'v2', 'w', 'wf']);

    w.write('app/t.sql', 'CREATE TABLE app.t (id int PRIMARY KEY, v text, note text);\n');
    expect(await compiled(w, await deploy(w))).toEqual(['v1', 'v2']);

    w.write('app/f.sql', 'CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 2 $$;\n');
    expect(await compiled(w, await deploy(w))).toEqual(['wf']);

    w.write('app/migrations/V1__seed.sql', 'INSERT INTO app.u VALUES (1);\n');
    w.write('app/migrations/V1__seed.rollback.sql', 'DELETE FROM app.u WHERE id = 1;\n');
    expect(await compiled(w, await deploy(w))).toEqual(['v1', 'v2', 'w', 'wf']);

    // dbee smoke-test checks every view, whatever the last deployment changed.
    const smoke = await run(w.root, 'smoke-test', { project: 'app' }, w.target.vars);
    expect(smoke.code, smoke.stderr).toBe(0);
    for (const v of ['v1', 'v2', 'w', 'wf']) expect(smoke.stdout).toContain(`baseline: view app.${v} compiles`);
  });
});
