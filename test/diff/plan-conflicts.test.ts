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

const deploy = (w: TestWorkspace, options: Record<string, unknown> = {}) =>
  run(
    w.root,
    'deploy',
    {
      project: 'app',
      allowHazards: ['data-loss', 'table-rewrite', 'backward-incompatible', 'long-lock', 'index-build'],
      ...options,
    },
    w.target.vars,
  );

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
    expect(
      await w.target.query(
        "SELECT string_agg(attname, ',' ORDER BY attnum) AS cols FROM pg_attribute WHERE attrelid = 'app.v'::regclass AND attnum > 0",
      ),
    ).toEqual([{ cols: 'b,a' }]);
    const again = await deploy(w);
    expect(again.stdout).toContain('nothing to deploy');
  });

  it('a changed index definition is dropped and created again without a conflict', async () => {
    const w = await deployed(engine, { 'app/t.sql': TABLE + 'CREATE INDEX t_b ON app.t (b);\n' });
    w.write('app/t.sql', TABLE + 'CREATE INDEX t_b ON app.t (b, c);\n');
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.target.query("SELECT pg_get_indexdef('app.t_b'::regclass) AS d")).toEqual([
      { d: 'CREATE INDEX t_b ON app.t USING btree (b, c)' },
    ]);
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
    expect(await w.target.query("SELECT pg_get_function_result('app.f(int)'::regprocedure) AS r")).toEqual([
      { r: 'bigint' },
    ]);
  });

  it('a materialized view with its index, an enum losing a value, identity -> serial, a type change under views and a partitioning change deploy without conflicts', async () => {
    const files = (v: { m: string; e: string; id: string; n: string; p: string }) => ({
      'app/e.sql': `CREATE TYPE app.st AS ENUM (${v.e});\n`,
      'app/t.sql': `CREATE TABLE app.t (a int PRIMARY KEY, b text, c int, s app.st);\n`,
      'app/m.sql': `CREATE MATERIALIZED VIEW app.m AS SELECT ${v.m} FROM app.t;\nCREATE INDEX m_a ON app.m (a);\n`,
      'app/u.sql': `CREATE TABLE app.u (id ${v.id} PRIMARY KEY, n ${v.n});\n`,
      'app/v1.sql': 'CREATE VIEW app.v1 AS SELECT id, n FROM app.u;\n',
      'app/v2.sql': 'CREATE VIEW app.v2 AS SELECT n FROM app.v1;\n',
      'app/p.sql': `CREATE TABLE app.p (k int NOT NULL, v text) PARTITION BY ${v.p};\n`,
    });
    const w = await deployed(
      engine,
      files({ m: 'a, b', e: "'new', 'old', 'done'", id: 'int GENERATED ALWAYS AS IDENTITY', n: 'int', p: 'RANGE (k)' }),
    );
    const c = await w.target.connect();
    await c.execute("INSERT INTO app.t VALUES (1, 'x', 1, 'done'); INSERT INTO app.u (n) VALUES (1), (2);");
    await c.close();
    for (const [f, text] of Object.entries(
      files({ m: 'a, c', e: "'new', 'done'", id: 'serial', n: 'bigint', p: 'LIST (k)' }),
    ))
      w.write(f, text);
    const r = await deploy(w);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await w.target.query('SELECT s::text AS s FROM app.t')).toEqual([{ s: 'done' }]);
    expect(
      await w.target.query(
        "SELECT pg_get_partkeydef('app.p'::regclass) AS k, (SELECT count(*)::int FROM pg_indexes WHERE indexname = 'm_a') AS i",
      ),
    ).toEqual([{ k: 'LIST (k)', i: 1 }]);
    const i = await w.target.connect();
    await i.execute('INSERT INTO app.u (n) VALUES (3)');
    await i.close();
    expect(await w.target.query('SELECT id FROM app.u WHERE n = 3')).toEqual([{ id: 3 }]);
    expect((await deploy(w)).stdout).toContain('nothing to deploy');
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
