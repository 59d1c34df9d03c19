import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEPENDENT_VIEWS } from '../../packages/postgres/src/smoke/postgres-smoke';
import { logRequests } from '../support/request-log';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, spawnDbee, workspaceWith, workspaceYaml, type TestWorkspace } from './helpers';
import { deployed, HAZARDS, projects, renameLabel } from './rewrite-shape';

/**
 * A dependency's release that makes PostgreSQL rewrite a dependent project's view in place. `sales` depends on `core`
 * and has a view over core's table; core's release renames a column (declared), and PostgreSQL rewrites the view
 * (`SELECT t.id, t.name AS label FROM core.t`). Core's deployment and its dry run name the view (its project, its
 * file, what to do) in their output, their report and the deployment's ledger row; when sales had not drifted before,
 * core's deployment carries sales's state forward, so that sales's next deployment makes the view again from its
 * sources (the hazard gate judges it) instead of refusing it as drift that dbee itself made. A hand edit of sales,
 * before or after core's deployment, is still drift.
 */

const STAR = 'CREATE VIEW sales.v AS SELECT * FROM core.t;\n';

/** `files` with a third project, `reports`, whose view reads sales's view. */
const withReports = (files: Record<string, string>) => ({
  ...files,
  'reports/db.yaml': dbYaml('reports', 'dependsOn: [sales]\n'),
  'reports/schema.sql': 'CREATE SCHEMA reports;\n',
  'reports/r.sql': 'CREATE VIEW reports.r AS SELECT id FROM sales.v;\n',
});

/** Sales's deployment: it makes the view core's deployment `#id` rewrote again from the sources, and succeeds. */
async function rebuildsSales(w: TestWorkspace, id: number): Promise<void> {
  const sales = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
  expect(sales.code, sales.stdout + sales.stderr).toBe(0);
  expect(sales.stdout).not.toContain('sales: nothing to deploy');
  expect(sales.stdout).toContain(
    `sales: view:sales.v rewritten in place by core's deployment #${id}; made again from the sources`,
  );
}

const errorLine = (out: string) => /^error: .*$/m.exec(out)?.[0];

/** The summary a deployment recorded in the ledger. */
async function summaryOf(w: TestWorkspace, id: number): Promise<Record<string, unknown>> {
  const [row] = await w.target.query<{ summary: string | Record<string, unknown> }>(
    'SELECT summary FROM dbee.deployments WHERE id = $1',
    [id],
  );
  return typeof row!.summary === 'string' ? JSON.parse(row!.summary) : row!.summary;
}

const report = (w: TestWorkspace, name: string) => JSON.parse(readFileSync(join(w.root, name), 'utf8'));

const REWRITTEN = {
  by: 'core',
  project: 'sales',
  object: 'view:sales.v',
  file: 'sales/v.sql',
  line: 1,
};

describe.each(ENGINES)('a dependency release that rewrites a dependent view in place [%s]', (engine) => {
  it('SELECT *: core names it in its dry run and its deployment; sales then rebuilds it, judged by the hazard gate, not refused as drift', async () => {
    const w = await deployed(engine, projects(STAR));
    renameLabel(w);

    const dry = await run(
      w.root,
      'deploy',
      { project: 'core', ...HAZARDS, dryRun: true, report: 'dry.json' },
      w.target.vars,
    );
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stderr).toContain(
      "warning: core: its steps rewrite sales's view:sales.v (sales/v.sql:1) in place (the database rewrites a view over a column renamed or retyped); deploy sales after this release: its view will be rebuilt from its sources\n",
    );
    expect(report(w, 'dry.json').rewritten).toEqual([{ ...REWRITTEN, carried: true }]);

    const core = await run(w.root, 'deploy', { project: 'core', ...HAZARDS, report: 'core.json' }, w.target.vars);
    expect(core.code, core.stdout + core.stderr).toBe(0);
    expect(core.stdout).toContain('(deployment 3)');
    expect(core.stderr).toContain(
      "warning: core: its steps rewrote sales's view:sales.v (sales/v.sql:1) in place (the database rewrites a view over a column renamed or retyped); deploy sales after this release: its view will be rebuilt from its sources\n",
    );
    expect(report(w, 'core.json').rewritten).toEqual([{ ...REWRITTEN, carried: true }]);
    const recorded = await summaryOf(w, 3);
    expect(recorded.rewrote).toEqual([
      { project: 'sales', object: 'view:sales.v', file: 'sales/v.sql', line: 1, carried: true },
    ]);
    expect((recorded.carried as Record<string, { fingerprint: string }>).sales.fingerprint).toMatch(/^pg4:/);
    // Core's history shows it.
    const history = await run(w.root, 'log', { project: 'core' }, w.target.vars);
    expect(history.stdout).toContain(
      "  rewrote: sales's view:sales.v (sales/v.sql:1) in place, its state carried forward\n",
    );

    // Not drift: status says so, and names what sales's next deployment makes again.
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain(
      "  drift: no (as core's deployment #3 left it, which rewrote view:sales.v in place)\n",
    );
    expect(status.stdout).toContain(
      "    replace view:sales.v (rewritten in place by core's deployment #3: made again from the sources)\n",
    );
    const json = JSON.parse((await run(w.root, 'status', { project: 'sales', format: 'json' }, w.target.vars)).stdout);
    expect(json.drift).toMatchObject({ state: 'no', carried: { project: 'core', id: 3 }, objects: ['view:sales.v'] });

    // The view loses its column `label`: the hazard gate asks for that to be accepted, not the drift check.
    const gated = await run(w.root, 'deploy', { project: 'sales' }, w.target.vars);
    expect(gated.code, gated.stdout + gated.stderr).toBe(1);
    expect(gated.stderr).toContain('pass --allow-hazards=backward-incompatible');
    expect(gated.stderr).not.toContain('changed outside dbee');
    const sales = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(0);
    expect(sales.stdout).toMatch(/sales: deployed \d+ steps?/);
    for (const project of ['core', 'sales']) {
      const after = await run(w.root, 'status', { project }, w.target.vars);
      expect(after.stdout).toContain('  drift: no\n');
      expect(after.stdout).toContain('pending: nothing, up to date with the sources');
    }

    // The view is the one the sources make, as a first deployment of the release's sources makes it.
    const fresh = await workspaceWith(engine, projects(STAR));
    onTestFinished(() => fresh.remove());
    renameLabel(fresh);
    for (const project of ['core', 'sales'])
      expect((await run(fresh.root, 'deploy', { project, ...HAZARDS }, fresh.target.vars)).code).toBe(0);
    const view = async (t: TestWorkspace) =>
      (await snapshot(t.target, { withLedger: false })).catalog.find((l) => l.startsWith('relation sales.v:'));
    expect(await view(w)).toBe(await view(fresh));
    expect(await view(w)).not.toMatch(/label/);
  });

  it("another release of core in between, which touches nothing of sales: sales's state carried by the first still holds", async () => {
    const w = await deployed(engine, projects(STAR));
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);
    w.write('core/u.sql', 'CREATE TABLE core.u (id int PRIMARY KEY);\n');
    const again = await run(w.root, 'deploy', { project: 'core' }, w.target.vars);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('(deployment 4)');
    expect(again.stderr).not.toContain('rewrote');
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain(
      "  drift: no (as core's deployment #3 left it, which rewrote view:sales.v in place)\n",
    );
    await rebuildsSales(w, 3);
  });

  it("core's rollback renames the column back and rewrites sales's view again: said, recorded and carried; sales's next deployment makes it again instead of refusing it as drift", async () => {
    const w = await deployed(engine, projects(STAR));
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);
    await rebuildsSales(w, 3);

    // Its dry run says it from its scratch copy, where sales's schema is copied too.
    const dry = await run(w.root, 'rollback', { project: 'core', dryRun: true, report: 'dry.json' }, w.target.vars);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stderr).toContain(
      "warning: core: its rollback's steps rewrite sales's view:sales.v (sales/v.sql:1) in place (the database rewrites a view over a column renamed or retyped); deploy sales after this rollback: its view will be rebuilt from its sources\n",
    );
    expect(report(w, 'dry.json').rewritten).toEqual([{ ...REWRITTEN, carried: true }]);

    const back = await run(
      w.root,
      'rollback',
      { project: 'core', assumeYes: true, report: 'back.json' },
      w.target.vars,
    );
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain('(deployment #5)');
    expect(back.stderr).toContain(
      "warning: core: its rollback's steps rewrote sales's view:sales.v (sales/v.sql:1) in place (the database rewrites a view over a column renamed or retyped); deploy sales after this rollback: its view will be rebuilt from its sources\n",
    );
    expect(report(w, 'back.json').rewritten).toEqual([{ ...REWRITTEN, carried: true }]);
    expect((await summaryOf(w, 5)).rewrote).toEqual([
      { project: 'sales', object: 'view:sales.v', file: 'sales/v.sql', line: 1, carried: true },
    ]);
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain(
      "  drift: no (as core's deployment #5 left it, which rewrote view:sales.v in place)\n",
    );

    // Core's release is reverted in the sources too; sales's next deployment makes its view from its own.
    w.write('core/t.sql', 'CREATE TABLE core.t (id int PRIMARY KEY, label text);\n');
    w.write('core/db.yaml', dbYaml('core'));
    await rebuildsSales(w, 5);
    for (const project of ['core', 'sales']) {
      const after = await run(w.root, 'status', { project }, w.target.vars);
      expect(after.stdout, project).toContain('  drift: no\n');
      expect(after.stdout, project).toContain('pending: nothing, up to date with the sources');
    }
  });

  it("three projects (reports's view over sales's view): sales's rebuild drops and makes reports's view again; a rebuild that failed is made by the next deployment, not taken as done", async () => {
    const files = withReports(projects(STAR));
    const w = await deployed(engine, files);
    expect((await run(w.root, 'deploy', { project: 'reports' }, w.target.vars)).code).toBe(0);
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);

    // A view no project manages stands on sales's view: sales's rebuild fails at its drop, and changes nothing.
    await w.target.execute('CREATE SCHEMA adhoc');
    await w.target.execute('CREATE VIEW adhoc.x AS SELECT id FROM sales.v');
    // Its dry run copies that view's schema too, and refuses as the target would.
    const refused = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS, dryRun: true }, w.target.vars);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(errorLine(refused.stderr)).toMatch(
      /^error: sales\/v\.sql:1: .*cannot drop view v because other objects depend on it/,
    );
    const failed = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(failed.code, failed.stdout + failed.stderr).toBe(2);
    expect(failed.stderr).toContain('adhoc.x');
    await w.target.execute('DROP SCHEMA adhoc CASCADE');

    // The rewritten view is still to be made again: said by status, and made by the next deployment.
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain("rewritten in place by core's deployment #4");
    expect(status.stdout).not.toContain('pending: nothing');
    // Its dry run applies the rebuild, reports's view dropped and made again with it, on a copy, and compares.
    const dry = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS, dryRun: true }, w.target.vars);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain('view:reports.r');
    expect(dry.stdout).toMatch(/dry run: verified on a scratch copy[^\n]* and converged/);
    await rebuildsSales(w, 4);
    for (const project of ['core', 'sales', 'reports']) {
      const after = await run(w.root, 'status', { project }, w.target.vars);
      expect(after.stdout, project).toContain('  drift: no\n');
      expect(after.stdout, project).toContain('pending: nothing, up to date with the sources');
      const again = await run(w.root, 'deploy', { project, ...HAZARDS }, w.target.vars);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout, project).toContain(`${project}: nothing to deploy, the database is up to date`);
    }

    // Both views are the ones the sources make, as a first deployment of the release's sources makes them.
    const fresh = await workspaceWith(engine, files);
    onTestFinished(() => fresh.remove());
    renameLabel(fresh);
    for (const project of ['core', 'sales', 'reports'])
      expect((await run(fresh.root, 'deploy', { project, ...HAZARDS }, fresh.target.vars)).code).toBe(0);
    const views = async (t: TestWorkspace) =>
      (await snapshot(t.target, { withLedger: false })).catalog.filter((l) =>
        /^relation (sales\.v|reports\.r):/.test(l),
      );
    expect(await views(w)).toEqual(await views(fresh));
    expect((await views(w)).join('\n')).not.toMatch(/label/);
  });

  it("without smoke checks after deploying, sales's dry run still copies the view of no project over the view it drops, and refuses as the target would", async () => {
    const w = await deployed(engine, {
      ...projects(STAR),
      'dbee.yaml': workspaceYaml(engine, { environment: 'deploy:\n  smokeAfterDeploy: false' }),
    });
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);
    await w.target.execute('CREATE SCHEMA adhoc');
    await w.target.execute('CREATE VIEW adhoc.x AS SELECT id FROM sales.v');
    const refused = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS, dryRun: true }, w.target.vars);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      "sales/v.sql:1: step 1 (drop view:sales.v) fails on a copy of the target's schemas: cannot drop view v because other objects depend on it",
    );
  });

  it("a hand edit of sales's view that renames its column, put back (--if-exists drop): reports's view over it is dropped and made again with it", async () => {
    const w = await deployed(engine, withReports(projects(STAR)));
    expect((await run(w.root, 'deploy', { project: 'reports' }, w.target.vars)).code).toBe(0);
    await w.target.execute(
      'DROP VIEW reports.r; DROP VIEW sales.v; CREATE VIEW sales.v AS SELECT id, label AS lbl FROM core.t; CREATE VIEW reports.r AS SELECT id FROM sales.v',
    );
    const put = await run(w.root, 'deploy', { project: 'sales', ifExists: 'drop', ...HAZARDS }, w.target.vars);
    expect(put.code, put.stdout + put.stderr).toBe(0);
    expect(put.stderr).toContain('sales: changed outside dbee since deployment #2: view:sales.v');
    for (const project of ['sales', 'reports']) {
      const after = await run(w.root, 'status', { project }, w.target.vars);
      expect(after.stdout, project).toContain('  drift: no\n');
      expect(after.stdout, project).toContain('pending: nothing, up to date with the sources');
    }
    const [view] = await w.target.query<{ d: string }>("SELECT pg_get_viewdef('sales.v'::regclass) AS d");
    expect(view!.d).toMatch(/label/);
    expect(await w.target.query('SELECT * FROM reports.r')).toEqual([]);
  });

  it("dbee disable of a routine of sales after core's release: the view is still to make again (not absorbed), and made by sales's next deployment", async () => {
    const w = await deployed(engine, {
      ...projects(STAR),
      'sales/f.sql': "CREATE FUNCTION sales.f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n",
    });
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);
    const off = await run(w.root, 'disable', { project: 'sales', object: 'sales.f' }, w.target.vars);
    expect(off.code, off.stdout + off.stderr).toBe(0);
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain(
      "    replace view:sales.v (rewritten in place by core's deployment #3: made again from the sources)\n",
    );
    await rebuildsSales(w, 3);
    const [view] = await w.target.query<{ d: string }>("SELECT pg_get_viewdef('sales.v'::regclass) AS d");
    expect(view!.d).not.toMatch(/label/);
  });

  it("sales's view names the renamed column: its sources do not build, and its deployment says so, as before", async () => {
    const w = await deployed(engine, projects('CREATE VIEW sales.v AS SELECT id, label FROM core.t;\n'));
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);
    const sales = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(1);
    expect(errorLine(sales.stderr)).toMatch(/^error: sales\/v\.sql:1: the sources do not build: view:sales\.v fails/);
  });

  it('a hand edit of the view before core deploys: nothing carried, sales is refused for drift naming both causes', async () => {
    const w = await deployed(engine, projects(STAR));
    await w.target.execute('CREATE OR REPLACE VIEW sales.v AS SELECT t.id, t.label FROM core.t WHERE true');
    renameLabel(w);
    const core = await run(w.root, 'deploy', { project: 'core', ...HAZARDS, report: 'core.json' }, w.target.vars);
    expect(core.code, core.stdout + core.stderr).toBe(0);
    expect(core.stderr).toContain(
      "warning: core: its steps rewrote sales's view:sales.v (sales/v.sql:1) in place (the database rewrites a view over a column renamed or retyped); sales had changed outside dbee before this release, so its state is not carried forward: its next deployment refuses the drift (dbee status sales names it)\n",
    );
    expect(report(w, 'core.json').rewritten).toEqual([{ ...REWRITTEN, carried: false }]);
    expect(await summaryOf(w, 3)).not.toHaveProperty('carried');
    const sales = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(1);
    expect(errorLine(sales.stderr)).toContain(
      "view:sales.v was changed outside dbee since deployment #2 (the database's definition differs from its unchanged sources: drop, create), or by a later deployment of a project sales depends on: core's deployment #3",
    );
  });

  it('a hand edit of the view after core deployed: sales is refused for drift', async () => {
    const w = await deployed(engine, projects(STAR));
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);
    await w.target.execute('CREATE OR REPLACE VIEW sales.v AS SELECT t.id, t.name AS label, 1 AS extra FROM core.t');
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain(
      '  drift: yes (the schemas changed outside dbee since the last deployment: view:sales.v)',
    );
    const sales = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(1);
    expect(errorLine(sales.stderr)).toMatch(
      /^error: sales\/v\.sql:1: view:sales\.v was changed outside dbee since deployment #2\b/,
    );
  });
});

describe.each(ENGINES)('a release with no dependent outside its project [%s]', (engine) => {
  it('sends no request to look for rewritten objects of other projects', async () => {
    // No smoke baseline: its own look for other projects' views after the steps is not this one's.
    const files = {
      ...projects('CREATE VIEW sales.v AS SELECT * FROM sales.t;\n'),
      'dbee.yaml': workspaceYaml(engine, { environment: 'deploy:\n  smokeAfterDeploy: false' }),
      // Sales does not depend on core: its view reads a table of its own.
      'sales/db.yaml': dbYaml('sales'),
      'sales/t.sql': 'CREATE TABLE sales.t (id int PRIMARY KEY, label text);\n',
    };
    const w = await deployed(engine, files);
    renameLabel(w);
    const log = logRequests({ pglite: true });
    const core = await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars).finally(log.restore);
    expect(core.code, core.stdout + core.stderr).toBe(0);
    expect(core.stderr).not.toContain('rewrote');
    const lookups = log.events.filter(
      (e) =>
        e.kind === 'sent' &&
        (e.text.includes(DEPENDENT_VIEWS.trim()) || e.text.includes('FROM pg_rewrite WHERE ev_class >= 16384')),
    );
    expect(lookups).toEqual([]);
  });
});

/**
 * Server only: a second session holds a lock on sales's view, so that sales's rebuild (its DROP VIEW) waits, and the
 * dbee process is killed meanwhile. The killed deployment did not finish (its drift is unknown); the carried state
 * still holds, and the next deployment makes the view again.
 */
describe('a rebuild killed while it waits [postgres]', () => {
  it('the next deployment marks it interrupted and makes the view again, not "nothing to deploy"', async () => {
    const w = await deployed('postgres', projects(STAR));
    renameLabel(w);
    expect((await run(w.root, 'deploy', { project: 'core', ...HAZARDS }, w.target.vars)).code).toBe(0);
    const holder = await w.target.connect();
    await holder.execute('BEGIN');
    await holder.execute('LOCK TABLE sales.v IN ACCESS SHARE MODE');
    const a = await spawnDbee(w.root, ['deploy', 'sales', '--allow-hazards', 'backward-incompatible'], w.target.vars);
    for (let i = 0; ; i++) {
      const waiting = await w.target.query(
        "SELECT 1 FROM pg_stat_activity WHERE query ILIKE '%DROP VIEW sales.v%' AND wait_event_type = 'Lock'",
      );
      if (waiting.length) break;
      if (i >= 6000) throw new Error("sales's rebuild never waited for the lock");
      await new Promise((r) => setTimeout(r, 100));
    }
    a.child.kill('SIGKILL');
    expect(await a.exit).toBeNull();
    await holder.execute('ROLLBACK');
    await holder.close();

    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain("rewritten in place by core's deployment #3");
    await rebuildsSales(w, 3);
    const [view] = await w.target.query<{ d: string }>("SELECT pg_get_viewdef('sales.v'::regclass) AS d");
    expect(view!.d).not.toMatch(/label/);
  });
});
