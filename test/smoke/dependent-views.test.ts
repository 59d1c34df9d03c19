import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * A deployment's smoke baseline also compiles the views of other projects over what it changed in place: a view of
 * `sales` calling `core`'s function, a view of `reporting` over that view. Before, a change of `core` that broke them
 * deployed green (only `dbee smoke-test sales` saw it), and in `nx affected -t deploy` the dependents' tasks were
 * no-ops, which check nothing.
 */
const FILES = {
  'core/db.yaml': dbYaml('core'),
  'core/a_schema.sql': 'CREATE SCHEMA core;\n',
  'core/t.sql': 'CREATE TABLE core.t (id int PRIMARY KEY);\n',
  'core/f.sql': 'CREATE FUNCTION core.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 1 $$;\n',
  'core/cv.sql': 'CREATE VIEW core.cv AS SELECT id FROM core.t;\n',
  'sales/db.yaml': dbYaml('sales', 'dependsOn: [core]\n'),
  'sales/a_schema.sql': 'CREATE SCHEMA sales;\n',
  'sales/sv.sql': 'CREATE VIEW sales.sv AS SELECT id, core.f(1) AS one FROM core.cv;\n',
  'reporting/db.yaml': dbYaml('reporting', 'dependsOn: [sales]\n'),
  'reporting/a_schema.sql': 'CREATE SCHEMA reporting;\n',
  'reporting/rv.sql': 'CREATE VIEW reporting.rv AS SELECT one FROM sales.sv;\n',
  'reporting/unrelated.sql': 'CREATE VIEW reporting.unrelated AS SELECT 1 AS one;\n',
};

describe.each(ENGINES)(
  'the smoke baseline compiles the views of other projects over what a deployment changed [%s]',
  (engine) => {
    const deploy = (w: TestWorkspace, project: string) => run(w.root, 'deploy', { project }, w.target.vars);
    const baseline = async (w: TestWorkspace) =>
      (
        await w.target.query<{ check_name: string; status: string }>(
          `SELECT check_name, status FROM dbee.smoke_results
          WHERE deployment_id = (SELECT max(id) FROM dbee.deployments) AND check_name LIKE 'baseline: %view%' ORDER BY 1`,
        )
      ).map((r) => `${r.status} ${r.check_name}`);

    it('a first deployment looks for none; a changed table: the views over it of every project; a broken function: the deployment fails naming them; its rollback and a migration compile them too', async () => {
      const w = await workspaceWith(engine, FILES);
      workspaces.push(w);
      for (const p of ['core', 'sales', 'reporting']) {
        const r = await deploy(w, p);
        expect(r.code, r.stderr).toBe(0);
      }

      // A table changed: core's view over it, and the views of sales and reporting over that view.
      const EVERY_VIEW_OVER_T = [
        'passed baseline: dependent view reporting.rv compiles',
        'passed baseline: dependent view sales.sv compiles',
        'passed baseline: view core.cv compiles',
      ];
      w.write('core/t.sql', 'CREATE TABLE core.t (id int PRIMARY KEY, note text);\n');
      const changed = await deploy(w, 'core');
      expect(changed.code, changed.stderr).toBe(0);
      expect(await baseline(w)).toEqual(EVERY_VIEW_OVER_T);

      w.write(
        'core/f.sql',
        'CREATE FUNCTION core.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x / 0 $$;\n',
      );
      const broken = await deploy(w, 'core');
      expect(broken.code).toBe(3);
      expect(broken.stderr).toContain('baseline: dependent view sales.sv compiles');
      expect(broken.stdout).toMatch(
        /FAIL {2}baseline: dependent view sales\.sv compiles[^\n]*\n\s+failed: division by zero/,
      );
      expect(await baseline(w)).toEqual([
        'failed baseline: dependent view reporting.rv compiles',
        'failed baseline: dependent view sales.sv compiles',
      ]);

      // The rollback puts the function back: the views over it are compiled again, and pass.
      const back = await run(w.root, 'rollback', { project: 'core', assumeYes: true }, w.target.vars);
      expect(back.code, back.stderr).toBe(0);
      expect(await baseline(w)).toEqual([
        'passed baseline: dependent view reporting.rv compiles',
        'passed baseline: dependent view sales.sv compiles',
      ]);

      // A migration can change anything of its project: the views of other projects over any of it are compiled.
      w.write('core/f.sql', FILES['core/f.sql']);
      w.write('core/migrations/V1__seed.sql', 'INSERT INTO core.t VALUES (1);\n');
      w.write('core/migrations/V1__seed.rollback.sql', 'DELETE FROM core.t WHERE id = 1;\n');
      const migrated = await deploy(w, 'core');
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(await baseline(w)).toEqual(EVERY_VIEW_OVER_T);
    });

    it('a view no project manages is compiled too', async () => {
      const w = await workspaceWith(engine, {
        'app/db.yaml': dbYaml('app'),
        'app/a_schema.sql': 'CREATE SCHEMA app;\n',
        'app/t.sql': 'CREATE TABLE app.t (id int PRIMARY KEY);\n',
        'app/f.sql': FILES['core/f.sql'].replace(/core/g, 'app'),
        'app/v.sql': 'CREATE VIEW app.v AS SELECT id FROM app.t;\n',
      });
      workspaces.push(w);
      expect((await deploy(w, 'app')).code).toBe(0);
      await w.target.query('CREATE SCHEMA adhoc');
      await w.target.query('CREATE VIEW adhoc.by_hand AS SELECT app.f(1) AS two');
      w.write('app/f.sql', 'CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x / 0 $$;\n');
      const broken = await deploy(w, 'app');
      expect(broken.code, broken.stdout + broken.stderr).toBe(3);
      expect(await baseline(w)).toEqual(['failed baseline: dependent view adhoc.by_hand compiles']);
    });
  },
);
