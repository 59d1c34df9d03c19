import { afterEach, describe, expect, it } from 'vitest';
import { DbeeError, checksumText, serializePlan, writePackage, readPackage } from '@dbee/core';
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempWorkspace, WORKSPACE_YAML } from '../support/workspace';
import { planWorkspace, project } from '../support/plan';

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});
function ws(files: Record<string, string>) {
  const w = tempWorkspace({ 'dbee.yaml': WORKSPACE_YAML, ...files });
  cleanup.push(w.remove);
  return w;
}
async function planError(root: string, projects: string[]): Promise<DbeeError> {
  try {
    await planWorkspace(root, projects);
  } catch (e) {
    if (e instanceof DbeeError) return e;
    throw e;
  }
  throw new Error('expected the plan to fail');
}
const order = (plan: { steps: { key: string }[] }) => plan.steps.map((s) => s.key);

describe('planner: ordering from the syntax tree', () => {
  it('orders views on views after what they select from, whatever the file order', async () => {
    const w = ws({
      'a/db.yaml': project('a'),
      'a/a.sql': 'CREATE VIEW a.v3 AS SELECT * FROM a.v2;\nCREATE SCHEMA a;',
      'a/b.sql':
        'CREATE VIEW a.v2 AS SELECT x FROM a.v1;\nCREATE VIEW a.v1 AS SELECT x FROM a.t;\nCREATE TABLE a.t (x int);',
    });
    expect(order(await planWorkspace(w.root, ['a']))).toEqual([
      'schema:a',
      'table:a.t',
      'view:a.v1',
      'view:a.v2',
      'view:a.v3',
    ]);
  });

  it('creates a function before the view and the column default that use it', async () => {
    const w = ws({
      'a/db.yaml': project('a'),
      'a/0.sql': 'CREATE SCHEMA a;',
      'a/t.sql': 'CREATE TABLE a.t (id int, code text DEFAULT a.new_code());',
      'a/v.sql': 'CREATE VIEW a.v AS SELECT a.new_code() AS c;',
      'a/z.sql': "CREATE FUNCTION a.new_code() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;",
    });
    const keys = order(await planWorkspace(w.root, ['a']));
    expect(keys.indexOf('function:a.new_code()')).toBeLessThan(keys.indexOf('table:a.t'));
    expect(keys.indexOf('function:a.new_code()')).toBeLessThan(keys.indexOf('view:a.v'));
  });

  it("puts a trigger on another project's table after that table, as a cross-project reference", async () => {
    const w = ws({
      'core/db.yaml': project('core'),
      'core/s.sql': 'CREATE SCHEMA core;\nCREATE TABLE core.customers (id int, updated_at timestamptz);',
      'audit/db.yaml': project('audit', 'dependsOn: [core]\n'),
      'audit/s.sql': 'CREATE SCHEMA audit;',
      'audit/f.sql':
        'CREATE FUNCTION audit.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;',
      'audit/t.sql':
        'CREATE TRIGGER touch BEFORE UPDATE ON core.customers FOR EACH ROW EXECUTE FUNCTION audit.touch();',
    });
    const plan = await planWorkspace(w.root, ['audit']);
    expect(order(plan)).toEqual(['schema:audit', 'function:audit.touch()', 'trigger:core.touch@core.customers']);
    // Without dependsOn, the same reference is refused.
    w.write('audit/db.yaml', project('audit'));
    const e = await planError(w.root, ['audit']);
    expect(e.code).toBe('DEPENDENCY_UNDECLARED');
  });

  it('resolves unqualified names through the search path', async () => {
    const w = ws({
      'core/db.yaml': project('core'),
      'core/s.sql': 'CREATE SCHEMA core;\nCREATE TABLE core.items (id int);',
      'app/db.yaml': project('app', 'dependsOn: [core]\nsearchPath: [app, core]\n'),
      'app/v.sql': 'CREATE VIEW summary AS SELECT count(*) FROM items JOIN totals USING (id);',
      'app/t.sql': 'CREATE SCHEMA app;\nCREATE VIEW totals AS SELECT id FROM items;',
    });
    const plan = await planWorkspace(w.root, ['app']);
    // `summary` and `totals` are created in app (first schema of the path); `items` is core's.
    expect(order(plan)).toEqual(['schema:app', 'view:app.totals', 'view:app.summary']);
  });
});

describe('planner: errors people can act on', () => {
  it('reports every cycle with its path and a hint', async () => {
    const w = ws({
      'a/db.yaml': project('a'),
      'a/s.sql': 'CREATE SCHEMA a;',
      'a/f.sql': [
        'CREATE FUNCTION a.f() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM a.v $$;',
        'CREATE VIEW a.v AS SELECT a.f() AS n;',
      ].join('\n'),
    });
    const e = await planError(w.root, ['a']);
    expect(e.format()).toBe(
      [
        'a/f.sql:1:1: dependency cycle:',
        '      function:a.f() (a/f.sql:1:1)',
        '      -> view:a.v (a/f.sql:2:1)',
        '      -> function:a.f() (a/f.sql:1:1)',
        '  hint: break the cycle by removing one of these references (e.g. function:a.f() uses view:a.v via body), or move the shared part into an object both can use',
      ].join('\n'),
    );
  });

  it('breaks foreign-key cycles between tables by adding the constraints afterwards', async () => {
    const w = ws({
      'a/db.yaml': project('a'),
      'a/s.sql': 'CREATE SCHEMA a;',
      'a/t.sql': [
        'CREATE TABLE a.employees (id int PRIMARY KEY, dept_id int REFERENCES a.departments (id));',
        'CREATE TABLE a.departments (id int PRIMARY KEY, manager_id int REFERENCES a.employees (id));',
      ].join('\n'),
    });
    const plan = await planWorkspace(w.root, ['a']);
    const keys = order(plan);
    expect(keys.slice(0, 3)).toEqual(['schema:a', 'table:a.departments', 'table:a.employees']);
    const constraints = plan.steps.filter((s) => s.action === 'add-constraint');
    expect(constraints.length).toBeGreaterThanOrEqual(1);
    for (const c of constraints) expect(c.statements[0]).toMatch(/^ALTER TABLE a\.\w+ ADD CONSTRAINT \w+ FOREIGN KEY/);
  });

  it('names both files and the missing dependsOn entry', async () => {
    const w = ws({
      'core/db.yaml': project('core'),
      'core/tables.sql': 'CREATE SCHEMA core;\nCREATE TABLE core.customers (id int);',
      'sales/db.yaml': project('sales'),
      'sales/v.sql': 'CREATE SCHEMA sales;\nCREATE VIEW sales.v AS\n  SELECT id FROM core.customers;',
    });
    const e = await planError(w.root, ['sales']);
    expect(e.format()).toBe(
      'sales/v.sql:3:18: view:sales.v uses core.customers (defined in core/tables.sql:2:1), which belongs to project "core", but sales/db.yaml does not list "core" in dependsOn\n' +
        '  hint: add "core" to dependsOn in sales/db.yaml',
    );
  });

  it('reports a syntax error with file, line and column, and plans nothing', async () => {
    const w = ws({
      'a/db.yaml': project('a'),
      'a/ok.sql': 'CREATE SCHEMA a;',
      'a/bad.sql': 'CREATE SCHEMA b;\n\nCREATE TABEL a.t (id int);',
    });
    const e = await planError(w.root, ['a']);
    expect(e.code).toBe('SQL_SYNTAX');
    expect(e.location).toMatchObject({ file: 'a/bad.sql', line: 3, column: 8 });
    expect(e.message).toContain('syntax error at or near "TABEL"');
  });
});

describe('planner: placeholders, checksums, determinism, packages', () => {
  it('expands {{var}} per environment and keeps the template in the plan', async () => {
    const w = ws({
      'a/db.yaml': project(
        'a',
        'variables: { suffix: dev }\nenvironments:\n  server: { variables: { suffix: test } }\n',
      ),
      'a/s.sql':
        'CREATE SCHEMA a;\nCREATE TABLE a.t_{{suffix}} (id int);\nCREATE VIEW a.v AS SELECT id FROM a.t_{{suffix}};',
    });
    const plan = await planWorkspace(w.root, ['a']);
    expect(order(plan)).toEqual(['schema:a', 'table:a.t_dev', 'view:a.v']);
    expect(plan.steps[1]!.statements).toEqual(['CREATE TABLE a.t_{{suffix}} (id int)']);
    const server = await planWorkspace(w.root, ['a'], { env: 'server' });
    expect(order(server)).toEqual(['schema:a', 'table:a.t_test', 'view:a.v']);
    expect(server.steps[1]!.checksum).not.toBe(plan.steps[1]!.checksum);
  });

  it('refuses an unknown placeholder with file, line and column', async () => {
    const w = ws({ 'a/db.yaml': project('a'), 'a/s.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t_{{nope}} (id int);' });
    const e = await planError(w.root, ['a']);
    expect(e.format()).toContain('a/s.sql:2:18: unknown placeholder {{nope}}');
  });

  it('refuses a placeholder whose name no variable can have ({{db-name}}) instead of leaving it in the SQL', async () => {
    const w = ws({
      'a/db.yaml': project('a'),
      'a/s.sql': "CREATE SCHEMA a;\nCREATE TABLE a.t_{{db-name}} (id int, a int[] DEFAULT '{{1,2}}');",
    });
    const e = await planError(w.root, ['a']);
    expect(e.format()).toContain('a/s.sql:2:18: placeholder {{db-name}} has a name no variable can have');
    expect(e.format()).not.toContain('{{1,2}}');
  });

  it('refuses a variable name in db.yaml that a placeholder cannot use, naming the file and line', async () => {
    const w = ws({ 'a/db.yaml': project('a') + 'variables:\n  db-name: x\n', 'a/s.sql': 'CREATE SCHEMA a;' });
    const e = await planError(w.root, ['a']);
    expect(e.format()).toMatch(/a\/db\.yaml:\d+(:\d+)?: .*variable name of letters, digits and "_"/);
  });

  it('gives byte-identical plans for the same inputs', async () => {
    const w = ws({
      'core/db.yaml': project('core'),
      'core/s.sql':
        'CREATE SCHEMA core;\nCREATE TABLE core.b (id int);\nCREATE TABLE core.a (id int);\nCREATE VIEW core.v AS SELECT * FROM core.a, core.b;',
    });
    const first = serializePlan(await planWorkspace(w.root, ['core']));
    const second = serializePlan(await planWorkspace(w.root, ['core']));
    expect(second).toBe(first);
  });

  it('gives equal checksums for CRLF, BOM and trailing-whitespace checkouts', async () => {
    const lf = 'CREATE SCHEMA a;\nCREATE TABLE a.t (\n  id int\n);\n';
    const crlf = '\uFEFF' + lf.replace(/\n/g, '  \r\n');
    expect(checksumText(crlf)).toBe(checksumText(lf));
    const w1 = ws({ 'a/db.yaml': project('a'), 'a/s.sql': lf });
    const w2 = ws({ 'a/db.yaml': project('a'), 'a/s.sql': crlf });
    const p1 = await planWorkspace(w1.root, ['a']);
    const p2 = await planWorkspace(w2.root, ['a']);
    expect(p2.steps.map((s) => s.checksum)).toEqual(p1.steps.map((s) => s.checksum));
  });

  it('refuses a package whose files do not match its manifest', async () => {
    const w = ws({ 'a/db.yaml': project('a'), 'a/s.sql': 'CREATE SCHEMA a;\nCREATE TABLE a.t (id int);' });
    const plan = await planWorkspace(w.root, ['a']);
    const dir = join(w.root, 'pkg');
    const manifest = writePackage(dir, plan, { toolVersion: 'test', sources: [] });
    expect(readPackage(dir).plan).toEqual(plan);
    const script = join(dir, manifest.steps[1]!.script);
    writeFileSync(script, readFileSync(script, 'utf8').replace('id int', 'id bigint'));
    appendFileSync(join(dir, 'extra.sql'), 'DROP TABLE a.t;');
    let error: DbeeError | undefined;
    try {
      readPackage(dir);
    } catch (e) {
      error = e as DbeeError;
    }
    expect(error?.code).toBe('PACKAGE_TAMPERED');
    expect(error?.message).toContain(`modified: ${manifest.steps[1]!.script}`);
    expect(error?.message).toContain('not in the manifest: extra.sql');
  });
});
