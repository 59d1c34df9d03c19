import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * The verified dry run compiles, on its copy and after every step, the views the real run's smoke baseline would
 * compile: before, a change that broke a view (its own project's, or another project's over what it changed in
 * place) verified green (exit 0), and the real run then failed its smoke baseline (exit 3).
 */
const F = 'CREATE FUNCTION core.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 1 $$;\n';
const F_BROKEN = 'CREATE FUNCTION core.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x / 0 $$;\n';
const F_CHANGED = 'CREATE FUNCTION core.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 2 $$;\n';
const FILES = {
  'core/db.yaml': dbYaml('core'),
  'core/a_schema.sql': 'CREATE SCHEMA core;\n',
  'core/t.sql': 'CREATE TABLE core.t (id int PRIMARY KEY);\n',
  'core/f.sql': F,
  'core/cv.sql':
    "-- the project's own view over its function\nCREATE VIEW core.cv AS\n  SELECT id, core.f(1) AS two FROM core.t;\n",
  'sales/db.yaml': dbYaml('sales', 'dependsOn: [core]\n'),
  'sales/a_schema.sql': 'CREATE SCHEMA sales;\n',
  'sales/v.sql': 'CREATE VIEW sales.v AS SELECT id, core.f(1) AS one FROM core.t;\n',
  'reporting/db.yaml': dbYaml('reporting', 'dependsOn: [sales]\n'),
  'reporting/a_schema.sql': 'CREATE SCHEMA reporting;\n',
  'reporting/rv.sql': 'CREATE VIEW reporting.rv AS SELECT one FROM sales.v;\n',
};

/** A target (PGlite, or a scratch database on the server) and where the dry run builds its copy. */
const SETUPS = [
  { engine: 'pglite', shadow: 'embedded' },
  { engine: 'postgres', shadow: 'server' },
] as const;

describe.each(SETUPS)(
  'the verified dry run compiles the views the smoke baseline would [$engine, shadow $shadow]',
  ({ engine, shadow }) => {
    const make = async (files: Record<string, string>) => {
      const w = await workspaceWith(engine, {
        'dbee.yaml': workspaceYaml(engine, { top: `shadow: ${shadow}` }),
        ...files,
      });
      workspaces.push(w);
      return w;
    };
    const deploy = (w: TestWorkspace, project: string, dryRun = false) =>
      run(w.root, 'deploy', { project, ...(dryRun ? { dryRun } : {}) }, w.target.vars);

    it("a function change that breaks the project's own view refuses the dry run naming the view, its file and line", async () => {
      const w = await make({
        'core/db.yaml': FILES['core/db.yaml'],
        'core/a_schema.sql': FILES['core/a_schema.sql'],
        'core/t.sql': FILES['core/t.sql'],
        'core/f.sql': F,
        'core/cv.sql': FILES['core/cv.sql'],
      });
      const first = await deploy(w, 'core');
      expect(first.code, first.stderr).toBe(0);
      w.write('core/f.sql', F_BROKEN);
      const before = await snapshot(w.target);
      const dry = await deploy(w, 'core', true);
      expect(dry.code, dry.stdout + dry.stderr).toBe(1);
      expect(dry.stderr).toMatch(/^error: core\/cv\.sql:2: view core\.cv [^\n]*division by zero/m);
      expect(dry.stderr).toContain('expand');
      expect(dry.stderr).toContain('the deployment would be refused');
      expect((await snapshot(w.target)).hash).toBe(before.hash);
      // The real run agrees: its smoke baseline fails on that view.
      const real = await deploy(w, 'core');
      expect(real.code, real.stdout + real.stderr).toBe(3);
      expect(real.stdout).toContain('FAIL  baseline: view core.cv compiles');
    });

    it("another project's view (and one no project manages) over a changed function: copied, compiled, refused; a change that breaks none verifies and then deploys", async () => {
      const w = await make(FILES);
      for (const p of ['core', 'sales', 'reporting']) {
        const r = await deploy(w, p);
        expect(r.code, r.stderr).toBe(0);
      }
      await w.target.query('CREATE SCHEMA adhoc');
      await w.target.query('CREATE VIEW adhoc.by_hand AS SELECT core.f(1) AS two');

      w.write('core/f.sql', F_BROKEN);
      const before = await snapshot(w.target);
      const dry = await deploy(w, 'core', true);
      expect(dry.code, dry.stdout + dry.stderr).toBe(1);
      expect(dry.stdout + dry.stderr).not.toMatch(/could not (copy|verify)/);
      for (const view of ['adhoc.by_hand', 'reporting.rv', 'sales.v', 'core.cv'])
        expect(dry.stderr).toMatch(new RegExp(`view ${view.replace('.', '\\.')}[ ,][^\\n]*division by zero`));
      expect((await snapshot(w.target)).hash).toBe(before.hash);

      // A change of the function that breaks nothing: verified (every dependent compiled on the copy), then applied.
      w.write('core/f.sql', F_CHANGED);
      const ok = await deploy(w, 'core', true);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/dry run: compiled 4 views the smoke baseline would compile, all passed/);
      expect((await snapshot(w.target)).hash).toBe(before.hash);
      const real = await deploy(w, 'core');
      expect(real.code, real.stdout + real.stderr).toBe(0);
    });

    it('a compatible table change with dependent views in other schemas verifies (exit 0)', async () => {
      const w = await make(FILES);
      for (const p of ['core', 'sales', 'reporting']) {
        const r = await deploy(w, p);
        expect(r.code, r.stderr).toBe(0);
      }
      w.write('core/t.sql', 'CREATE TABLE core.t (id int PRIMARY KEY, note text);\n');
      const dry = await deploy(w, 'core', true);
      expect(dry.code, dry.stdout + dry.stderr).toBe(0);
      expect(dry.stdout).toContain("dry run: verified on a scratch copy of the target's schemas");
      expect(dry.stdout).toMatch(/dry run: compiled 3 views the smoke baseline would compile, all passed/);
    });
  },
);

describe.each(SETUPS)(
  "a column type change under another project's view [$engine, shadow $shadow]",
  ({ engine, shadow }) => {
    it('the step fails on the copy, which holds the view (before: verified green, then exit 2)', async () => {
      const { 'core/cv.sql': _, ...files } = FILES;
      const w = await workspaceWith(engine, {
        'dbee.yaml': workspaceYaml(engine, { top: `shadow: ${shadow}` }),
        ...files,
      });
      workspaces.push(w);
      for (const p of ['core', 'sales'])
        expect((await run(w.root, 'deploy', { project: p }, w.target.vars)).code).toBe(0);
      w.write('core/t.sql', 'CREATE TABLE core.t (id bigint PRIMARY KEY);\n');
      const dry = await run(w.root, 'deploy', { project: 'core', dryRun: true }, w.target.vars);
      expect(dry.code, dry.stdout + dry.stderr).toBe(1);
      expect(dry.stderr).toMatch(
        /\(alter table:core\.t\) fails on a copy of the target's schemas: cannot alter type of a column used by a view/,
      );
      const real = await run(w.root, 'deploy', { project: 'core' }, w.target.vars);
      expect(real.code, real.stdout + real.stderr).toBe(2);
    });
  },
);

describe('a dependent view whose schema cannot be copied [postgres, shadow embedded]', () => {
  it('the dry run says what it could not copy and exits 1', async () => {
    const w = await workspaceWith('postgres', FILES);
    workspaces.push(w);
    expect((await run(w.root, 'deploy', { project: 'core' }, w.target.vars)).code).toBe(0);
    // The embedded scratch database (PGlite) has no ICU collations: this schema cannot be copied there.
    await w.target.query('CREATE SCHEMA adhoc');
    await w.target.query('CREATE TABLE adhoc.notes (id int, note text COLLATE "de-x-icu")');
    await w.target.query('CREATE VIEW adhoc.by_hand AS SELECT core.f(id) AS two, note FROM adhoc.notes');
    w.write('core/f.sql', F_CHANGED);
    const dry = await run(w.root, 'deploy', { project: 'core', dryRun: true }, w.target.vars);
    expect(dry.code, dry.stdout + dry.stderr).toBe(1);
    expect(dry.stderr).toMatch(/could not verify the plan: dbee could not copy the target's schemas/);
    expect(dry.stderr).toContain('adhoc');
  });
});
