import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

const TABLE = 'CREATE TABLE app.t (a int PRIMARY KEY, b text);\n';

async function deployed(engine: (typeof ENGINES)[number], files: Record<string, string>) {
  const w = await workspaceWith(engine, { 'app/db.yaml': dbYaml('app'), ...files });
  workspaces.push(w);
  const first = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  return w;
}

describe.each(ENGINES)('what deploy and the hazards say [%s]', (engine) => {
  it('a changed function (not a table) is not reported as "tables changed"', async () => {
    const w = await deployed(engine, {
      'app/t.sql': TABLE,
      'app/f.sql': 'CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 1 $$;\n',
    });
    w.write('app/f.sql', 'CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x + 2 $$;\n');
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('tables changed');
    expect(await w.target.query('SELECT app.f(1) AS y')).toEqual([{ y: 3 }]);
  });

  it('a changed policy is reported as the policy (not "tables changed") and applied', async () => {
    const w = await deployed(engine, {
      'app/t.sql': TABLE + 'ALTER TABLE app.t ENABLE ROW LEVEL SECURITY;\n',
      'app/p.sql': 'CREATE POLICY p ON app.t USING (a > 0);\n',
    });
    w.write('app/p.sql', 'CREATE POLICY p ON app.t USING (a > 1);\n');
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('tables changed');
    expect(r.stdout).not.toMatch(/table:app\.t changed/);
    expect(await w.target.query("SELECT qual FROM pg_policies WHERE schemaname = 'app' AND policyname = 'p'")).toEqual([
      { qual: '(a > 1)' },
    ]);
  });

  it('a changed table is reported by name', async () => {
    const w = await deployed(engine, { 'app/t.sql': TABLE });
    w.write('app/t.sql', 'CREATE TABLE app.t (a int PRIMARY KEY, b text, c int);\n');
    const r = await run(w.root, 'deploy', { project: 'app' }, w.target.vars);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('app: table:app.t changed since the last deployment');
  });

  it('a materialized view that gains a column at the end "appends a column"', async () => {
    const w = await deployed(engine, {
      'app/t.sql': TABLE,
      'app/m.sql': 'CREATE MATERIALIZED VIEW app.m AS SELECT a FROM app.t;\n',
    });
    w.write('app/m.sql', 'CREATE MATERIALIZED VIEW app.m AS SELECT a, b FROM app.t;\n');
    const r = await run(w.root, 'diff', { project: 'app' }, w.target.vars);
    expect(r.stdout).toContain('materialized-view app.m appends column b');
    expect(r.stdout).not.toContain('changes the order of its columns');
  });
});
