import { afterAll, describe, expect, it } from 'vitest';
import type { AppliedChange, ObjectKey } from '@dbee/core';
import { runSmokeChecks } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { compiledViews, OPAQUE } from './compiled-views';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * After a deployment, the smoke baseline compiles the views that deployment can have broken: those under which
 * something changed after the view was last defined (any change, for a view the deployment did not define), through
 * views of views and SQL routines, as the database records them. A first deployment defines every view after what it
 * uses: each is planned once, by itself or under a view over it (the views no other view stands on); when it created
 * no more than 16 views, each is compiled (cheaper than the catalog query that tells which stand on which). `dbee smoke-test`, and a deployment whose changes the database cannot follow (a migration), compile
 * every view.
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
  'app/wc.sql': 'CREATE VIEW app.wc AS SELECT app.f(1) AS one;\n',
};
const ALL = ['v1', 'v2', 'w', 'wc', 'wf'];

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

  it('first deployment of a few views: each; a changed table: its views and the views on them; a changed function: the views calling it; a migration: every view', async () => {
    const w = await workspaceWith(engine, FILES);
    workspaces.push(w);
    // Compiling five new views costs less than asking the catalog which stand on which: each is compiled.
    expect(await compiled(w, await deploy(w))).toEqual(ALL);

    w.write('app/t.sql', 'CREATE TABLE app.t (id int PRIMARY KEY, v text, note text);\n');
    expect(await compiled(w, await deploy(w))).toEqual(['v1', 'v2']);

    w.write('app/f.sql', 'CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 2 $$;\n');
    expect(await compiled(w, await deploy(w))).toEqual(['wc', 'wf']);

    w.write('app/migrations/V1__seed.sql', 'INSERT INTO app.u VALUES (1);\n');
    w.write('app/migrations/V1__seed.rollback.sql', 'DELETE FROM app.u WHERE id = 1;\n');
    expect(await compiled(w, await deploy(w))).toEqual(ALL);

    // dbee smoke-test checks every view, whatever the last deployment changed.
    const smoke = await run(w.root, 'smoke-test', { project: 'app' }, w.target.vars);
    expect(smoke.code, smoke.stderr).toBe(0);
    for (const v of ALL) expect(smoke.stdout).toContain(`baseline: view app.${v} compiles`);
  });
});

describe.each(ENGINES)('the smoke baseline after a first deployment of many views [%s]', (engine) => {
  it('more than 16 new views: those no other view stands on (a chain of views is planned once, from its top)', async () => {
    const chain = Object.fromEntries(
      Array.from({ length: 18 }, (_, i) => [
        `app/c${String(i).padStart(2, '0')}.sql`,
        `CREATE VIEW app.c${String(i).padStart(2, '0')} AS SELECT id FROM ${i ? `app.c${String(i - 1).padStart(2, '0')}` : 'app.t'};\n`,
      ]),
    );
    const w = await workspaceWith(engine, { ...FILES, ...chain });
    workspaces.push(w);
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    const compiled = await w.target.query<{ check_name: string }>(
      `SELECT check_name FROM dbee.smoke_results WHERE deployment_id = (SELECT max(id) FROM dbee.deployments)
        AND check_name LIKE 'baseline: view %' ORDER BY 1`,
    );
    expect(compiled.map((c) => c.check_name.replace(/^baseline: view app\.(\w+) compiles$/, '$1'))).toEqual([
      'c17',
      'v2',
      'w',
      'wc',
      'wf',
    ]);
  });
});

describe.each(ENGINES)('the smoke baseline after a type changed [%s]', (engine) => {
  it('a changed composite type: the views using it, or an array of it, are compiled (the database names them under the type)', async () => {
    const w = await workspaceWith(engine, {
      'app/db.yaml': dbYaml('app'),
      'app/a_schema.sql': 'CREATE SCHEMA app;\n',
      'app/pair.sql': 'CREATE TYPE app.pair AS (l int, r int);\n',
      'app/vp.sql': 'CREATE VIEW app.vp AS SELECT (NULL::app.pair).l AS l;\n',
      'app/va.sql': 'CREATE VIEW app.va AS SELECT NULL::app.pair[] AS pairs;\n',
      'app/other.sql': 'CREATE VIEW app.other AS SELECT 1 AS one;\n',
    });
    workspaces.push(w);
    const first = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(first.code, first.stderr).toBe(0);
    w.write('app/pair.sql', 'CREATE TYPE app.pair AS (l int, r int, m int);\n');
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    const compiled = await w.target.query<{ check_name: string }>(
      `SELECT check_name FROM dbee.smoke_results WHERE deployment_id = (SELECT max(id) FROM dbee.deployments)
        AND check_name LIKE 'baseline: view %' ORDER BY 1`,
    );
    expect(compiled.map((c) => c.check_name)).toEqual([
      'baseline: view app.va compiles',
      'baseline: view app.vp compiles',
    ]);
  });
});

describe.each(ENGINES)('the smoke baseline after a deployment, steps in their order [%s]', (engine) => {
  const deploy = async (w: TestWorkspace) => {
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
  };

  it('a view broken by a later step of the same deployment (a function under it replaced after it) fails the baseline', async () => {
    const w = await workspaceWith(engine, FILES);
    workspaces.push(w);
    await deploy(w);
    const conn = await w.target.connect();
    try {
      // What the later step did: the SQL function wc calls with a constant now divides by zero when it is planned.
      await conn.execute(
        'CREATE OR REPLACE FUNCTION app.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x / 0 $$',
      );
      const baseline = (changes: AppliedChange[]) =>
        runSmokeChecks({
          engine: createPostgresEngine(),
          conn,
          model: { project: { name: 'app' }, smoke: [], variables: {}, graph: { searchPath: ['app', 'public'] } },
          environment: 'target',
          deploymentId: null,
          checks: [],
          record: false,
          changes,
        });
      const view: ObjectKey = { kind: 'view', schema: 'app', name: 'wc' };
      const f: ObjectKey = { kind: 'function', schema: 'app', name: 'f', args: ['integer'] };
      const later = await baseline([
        { key: view, order: 1, action: 'create' },
        { key: f, order: 2, action: 'replace' },
      ]);
      expect(later.passed).toBe(false);
      const failed = later.results.filter((r) => r.status === 'failed');
      expect(failed.map((r) => [r.name, r.message])).toEqual([
        ['baseline: view app.wc compiles', expect.stringContaining('division by zero')],
      ]);
      // Defined after the function's replacement, the view was analysed against it by its CREATE, which evaluates
      // no constant: planned once all the same, it fails, as a view created that way must.
      const earlier = await baseline([
        { key: f, order: 1, action: 'replace' },
        { key: view, order: 2, action: 'create' },
      ]);
      expect(earlier.passed).toBe(false);
      expect(earlier.results.filter((r) => r.status === 'failed').map((r) => r.name)).toEqual([
        'baseline: view app.wc compiles',
      ]);
    } finally {
      await conn.close();
    }
  });
});

/**
 * A view over a view it reads no column of (`SELECT count(*) FROM a`): planning it keeps none of that view's output
 * expressions, so a change of that view, or under it, cannot break it once the view compiles by itself; the smoke
 * baseline leaves it out (a chain of such views would be planned once per view, each time down to its bottom). A view
 * that reads a column of the changed view is compiled whether the columns stayed the same or not: a constant the
 * planner folds through it can fail (`1/k` once `k` is a constant 0), and so can a whole-row reference.
 */

describe.each(ENGINES)('the smoke baseline and views that read no column of a changed view [%s]', (engine) => {
  const compiled = compiledViews;

  it('a view replaced with the same columns: the views reading its columns compile, the ones counting its rows not', async () => {
    const w = await workspaceWith(engine, OPAQUE);
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);

    // Same columns (names, types, order): b and w read them, c and d (over c) do not; a is planned under b.
    w.write('app/a.sql', 'CREATE VIEW app.a AS SELECT id, 2 AS k FROM app.t;\n');
    const replaced = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(await compiled(w)).toEqual(['b', 'w']);

    // A table under a changed: a (it reads t's columns) and the views reading a's; c and d not.
    w.write('app/t.sql', 'CREATE TABLE app.t (id int PRIMARY KEY, note text);\n');
    expect((await run(w.root, 'deploy', { project: 'app' }, w.target.vars)).code).toBe(0);
    expect(await compiled(w)).toEqual(['a', 'b', 'w']);

    // The same columns again, but k is now a constant 0: b, which divides by it, no longer plans.
    w.write('app/a.sql', 'CREATE VIEW app.a AS SELECT id, 0 AS k FROM app.t;\n');
    const broken = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(broken.code).toBe(3);
    expect(broken.stdout + broken.stderr).toMatch(
      /FAIL\s+baseline: view app\.b compiles[^\n]*\n\s*failed: division by zero/,
    );
  });
});
