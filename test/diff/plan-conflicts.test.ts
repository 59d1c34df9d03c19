import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

const TABLE = 'CREATE TABLE app.t (a int PRIMARY KEY, b text, c int);\n';

async function deployed(engine: (typeof ENGINES)[number], files: Record<string, string>) {
  const w = await workspaceWith(engine, { 'app/db.yaml': dbYaml('app'), ...files });
  workspaces.push(w);
  const first = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  return w;
}

const deploy = (w: TestWorkspace, options: Record<string, unknown> = {}) => run(w.root, 'deploy', { project: 'app', allowHazards: ['data-loss', 'table-rewrite', 'backward-incompatible', 'long-lock', 'index-build'], ...options }, w.target.vars);

describe.each(ENGINES)('the conflict check reads the plan [%s]', (engine) => {
  it('a view the plan drops before creating it (with the view over it) is no conflict', async () => {
    const w = await deployed(engine, {
      'app/t.sql': TABLE,
      'app/v.sql': 'CREATE VIEW app.v AS SELECT a, b FROM app.t;\n',
      'app/w.sql': 'CREATE VIEW app.w AS SELECT a FROM app.v;\n',
    });
    w.write('app/v.sql', 'CREATE VIEW app.v AS SELECT b, a FROM app.t;\n');
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.target.query("SELECT string_agg(attname, ',' ORDER BY attnum) AS cols FROM pg_attribute WHERE attrelid = 'app.v'::regclass AND attnum > 0")).toEqual([{ cols: 'b,a' }]);
    const again = await deploy(w);
    expect(again.stdout).toContain('nothing to deploy');
  });

  it('a changed index definition is dropped and created again without a conflict', async () => {
    const w = await deployed(engine, { 'app/t.sql': TABLE + 'CREATE INDEX t_b ON app.t (b);\n' });
    w.write('app/t.sql', TABLE + 'CREATE INDEX t_b ON app.t (b, c);\n');
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.target.query("SELECT pg_get_indexdef('app.t_b'::regclass) AS d")).toEqual([{ d: 'CREATE INDEX t_b ON app.t USING btree (b, c)' }]);
  });

  it('--if-exists drop never drops what the plan already dropped', async () => {
    const w = await deployed(engine, {
      'app/t.sql': TABLE,
      'app/f.sql': 'CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 1 $$;\n',
      'app/v.sql': 'CREATE VIEW app.v AS SELECT a, b FROM app.t;\n',
    });
    // A function's result type change and a view's column order change: both are dropped and created again.
    w.write('app/f.sql', 'CREATE FUNCTION app.f(x int) RETURNS bigint LANGUAGE sql AS $$ SELECT x::bigint + 1 $$;\n');
    w.write('app/v.sql', 'CREATE VIEW app.v AS SELECT b, a FROM app.t;\n');
    const r = await deploy(w, { ifExists: 'drop' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.target.query("SELECT pg_get_function_result('app.f(int)'::regprocedure) AS r")).toEqual([{ r: 'bigint' }]);
  });

  it('an object made by hand is still a conflict when the plan does not drop it first', async () => {
    const w = await deployed(engine, { 'app/t.sql': TABLE });
    const c = await w.target.connect();
    await c.execute('CREATE VIEW app.v AS SELECT 1 AS x');
    await c.close();
    w.write('app/v.sql', 'CREATE VIEW app.v AS SELECT a FROM app.t;\n');
    const r = await deploy(w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('view:app.v already exists in the database, but the ledger does not know it');
  });
});
