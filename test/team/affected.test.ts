import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace, type TeamEnvironment } from '../support/team-workspace';

/**
 * `nx affected -t deploy` in CI as a team runs it: the real `nx` binary, a `main` branch deployed to dev and qa, and
 * feature branches compared with `--base=main --head=HEAD` (Nx 24's default, task-level affected: a task is selected
 * when a changed file matches its inputs). What was deployed is read from each environment's ledger; a no-op deploy
 * of an unchanged project writes no ledger row, so "the ledger has only reporting's new deployment" means that only
 * reporting changed anything.
 */
describe('nx affected -t deploy deploys what changed on the branch (core ← sales ← reporting)', () => {
  let team: TeamWorkspace;
  /** The highest deployment id of each environment's ledger once main is deployed. */
  const mark: Partial<Record<TeamEnvironment, number>> = {};

  beforeAll(async () => {
    team = await TeamWorkspace.create();
    for (const env of ['dev', 'qa'] as const) {
      // main deployed in-process (the CLI's command runner; reporting with its dependencies, as `nx run-many -t
      // deploy` would): an Nx process each, its project graph and a dbee task per project cost seconds; the
      // commands under test below are `nx affected` processes.
      const r = await run(team.root, 'deploy', { project: 'reporting', env }, team.environment);
      expect(r.code, r.stderr).toBe(0);
      expect(await team.deployedProjects(env)).toEqual(['core', 'reporting', 'sales']);
      mark[env] = await lastDeployment(env);
    }
  });
  afterAll(async () => {
    await team?.dispose();
  });

  async function lastDeployment(env: TeamEnvironment): Promise<number> {
    const [{ id }] = await team.query<{ id: number | null }>(env, 'SELECT max(id)::int AS id FROM dbee.deployments');
    return id ?? 0;
  }

  /** The projects with a deployment in `env` after deployment `since` (default: once main was deployed), in ledger order. */
  async function deployedSince(env: TeamEnvironment, since = mark[env]): Promise<string[]> {
    const rows = await team.query<{ project: string }>(
      env,
      'SELECT project FROM dbee.deployments WHERE id > $1 ORDER BY id',
      [since],
    );
    return rows.map((r) => r.project);
  }

  /** The task ids Nx would run, from `--graph=stdout` (the selection without running anything). */
  async function selected(args: string[]): Promise<string[]> {
    const r = await team.nx(['affected', '--graph=stdout', ...args]);
    expect(r.code, r.output).toBe(0);
    const json = JSON.parse(r.output.slice(r.output.indexOf('{'))) as { tasks: { tasks: Record<string, unknown> } };
    return Object.keys(json.tasks.tasks).sort();
  }

  /** Starts branch `name` from `from` (main), writes `files` and commits them. */
  async function startBranch(name: string, files: Record<string, string>, from = 'main'): Promise<void> {
    await team.git(['checkout', '-q', from]);
    await team.branch(name);
    team.write(files);
    await team.commitAll(`${name}: change`);
  }

  const REPORTING_VIEW = 'databases/reporting/schema/reporting/views/top_customers.sql';
  const TOP_FIVE = `CREATE VIEW reporting.top_customers AS
  SELECT customer_id, name, total FROM reporting.customer_revenue ORDER BY total DESC LIMIT 5;
`;

  it('a view of reporting changed: exactly reporting is deployed, with --excludeTaskDependencies (dev) and without (qa)', async () => {
    await startBranch('reporting-view', { [REPORTING_VIEW]: TOP_FIVE });

    const excluded = await team.nx([
      'affected',
      '-t',
      'deploy',
      '--env=dev',
      '--base=main',
      '--head=HEAD',
      '--excludeTaskDependencies',
    ]);
    expect(excluded.code, excluded.output).toBe(0);
    expect(excluded.output).not.toContain('No tasks were run');
    expect(await deployedSince('dev')).toEqual(['reporting']);
    const [{ definition }] = await team.query<{ definition: string }>(
      'dev',
      `SELECT pg_get_viewdef('reporting.top_customers'::regclass) AS definition`,
    );
    expect(definition).toContain('LIMIT 5');

    // Without the flag Nx also runs the dependencies' deploy tasks (the target's dependsOn): they find nothing to do.
    const withDependencies = await team.nx(['affected', '-t', 'deploy', '--env=qa', '--base=main', '--head=HEAD']);
    expect(withDependencies.code, withDependencies.output).toBe(0);
    expect(await deployedSince('qa')).toEqual(['reporting']);
    expect(await team.deployedProjects('prod')).toEqual([]);
  });

  it('selects deploy, smoke-test, rollback and status of the changed project only', async () => {
    await startBranch('reporting-view-2', { [REPORTING_VIEW]: TOP_FIVE });
    const targets = [
      '-t',
      'deploy,smoke-test,rollback,status',
      '--base=main',
      '--head=HEAD',
      '--excludeTaskDependencies',
    ];
    expect(await selected(targets)).toEqual([
      'db-reporting:deploy',
      'db-reporting:rollback',
      'db-reporting:smoke-test',
      'db-reporting:status',
    ]);
  });

  it('a changed dependency selects its dependents: core, then sales, then reporting are deployed', async () => {
    // From the branch dev was deployed from by the first test, compared with it: the only change is core's new table.
    const since = await lastDeployment('dev');
    const table = {
      'databases/core/schema/core/tables/regions.sql':
        'CREATE TABLE core.regions (code text PRIMARY KEY, label text NOT NULL);\n',
    };
    await startBranch('core-table', table, 'reporting-view');
    // As the generated CI pipeline runs it: every task's output in full, each deployment shown once.
    const range = ['--base=reporting-view', '--head=HEAD', '--excludeTaskDependencies'];
    const r = await team.nx(['affected', '-t', 'deploy', '--env=dev', ...range], { NX_DEFAULT_OUTPUT_STYLE: 'static' });
    expect(r.code, r.output).toBe(0);
    const ran = ['db-core', 'db-sales', 'db-reporting'].map((p) => r.output.indexOf(`nx run ${p}:deploy`));
    expect(
      ran.every((i) => i >= 0),
      r.output,
    ).toBe(true);
    expect([...ran].sort((a, b) => a - b)).toEqual(ran);
    for (const p of ['core', 'sales', 'reporting'])
      expect(r.output.split(`dbee deploy ${p} -> dev`).length - 1, r.output).toBe(1);
    // Only core had something to apply; sales and reporting were deployed after it, as no-ops.
    expect(await deployedSince('dev', since)).toEqual(['core']);
    const [{ regions }] = await team.query<{ regions: string | null }>(
      'dev',
      `SELECT to_regclass('core.regions')::text AS regions`,
    );
    expect(regions).toBe('core.regions');
  });

  it("a change of core that breaks a view of sales fails core's deploy, naming the view (the dependents' tasks are no-ops)", async () => {
    // qa is at the branch reporting-view (the first test). A core function and a sales view calling it...
    await startBranch(
      'core-function',
      {
        'databases/core/schema/core/functions/vat.sql':
          'CREATE FUNCTION core.vat(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT amount * 0.2 $$;\n',
        'databases/sales/schema/sales/views/order_vat.sql':
          'CREATE VIEW sales.order_vat AS SELECT id, core.vat(amount) AS vat, core.vat(1) AS rate FROM sales.orders;\n',
      },
      'reporting-view',
    );
    const added = await team.nx(['affected', '-t', 'deploy', '--env=qa', '--base=reporting-view', '--head=HEAD']);
    expect(added.code, added.output).toBe(0);
    // ...then a branch that changes only the function's body, into one that fails when a view calling it is planned.
    await startBranch(
      'core-function-broken',
      {
        'databases/core/schema/core/functions/vat.sql':
          'CREATE FUNCTION core.vat(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT amount / 0 $$;\n',
      },
      'core-function',
    );
    const since = await lastDeployment('qa');
    const r = await team.nx(['affected', '-t', 'deploy', '--env=qa', '--base=core-function', '--head=HEAD'], {
      NX_DEFAULT_OUTPUT_STYLE: 'static',
    });
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain(
      'core: 1 smoke check failed after deploying: baseline: dependent view sales.order_vat compiles',
    );
    expect(r.output).toContain('division by zero');
    expect(await deployedSince('qa', since)).toEqual(['core']);
  });

  it('the smoke checks, migrations and db.yaml of a project select it and its dependents', async () => {
    const all = (...projects: string[]) => projects.map((p) => `db-${p}:deploy`).sort();
    const deploy = ['-t', 'deploy', '--base=main', '--head=HEAD', '--excludeTaskDependencies'];
    await startBranch('sales-smoke', { 'databases/sales/smoke/sales.yaml': 'checks: []\n' });
    expect(await selected(deploy)).toEqual(all('sales', 'reporting'));
    await startBranch('sales-migration', { 'databases/sales/migrations/V1__seed.sql': 'SELECT 1;\n' });
    expect(await selected(deploy)).toEqual(all('sales', 'reporting'));
    await startBranch('reporting-db-yaml', {
      'databases/reporting/db.yaml':
        'version: 1\nname: reporting\nengine: postgres\nschemas: [reporting]\ndependsOn: [sales]\n# owner: bi\n',
    });
    expect(await selected(deploy)).toEqual(all('reporting'));
  });

  it('an expand declaration and a file of a custom `sources` glob select their project and its dependents', async () => {
    const all = (...projects: string[]) => projects.map((p) => `db-${p}:deploy`).sort();
    const deploy = ['-t', 'deploy', '--base=main', '--head=HEAD', '--excludeTaskDependencies'];
    await startBranch('sales-expand', {
      'databases/sales/schema/sales/tables/orders.expand.yaml': 'columns:\n  total:\n    up: total\n    down: total\n',
    });
    expect(await selected(deploy)).toEqual(all('sales', 'reporting'));

    // core reads `.pgsql` files besides `.sql` ones: a change to one selects core and everything over it.
    await startBranch('core-pgsql', {
      'databases/core/db.yaml':
        "version: 1\nname: core\nengine: postgres\nschemas: [core]\nsources: ['**/*.sql', 'legacy/**/*.pgsql']\n",
      'databases/core/legacy/regions.pgsql': 'CREATE TABLE core.regions (code text PRIMARY KEY);\n',
    });
    await startBranch(
      'core-pgsql-change',
      {
        'databases/core/legacy/regions.pgsql': 'CREATE TABLE core.regions (code text PRIMARY KEY, label text);\n',
      },
      'core-pgsql',
    );
    expect(await selected(['-t', 'deploy', '--base=core-pgsql', '--head=HEAD', '--excludeTaskDependencies'])).toEqual(
      all('core', 'sales', 'reporting'),
    );
  });

  it('dbee.yaml changed: every project is selected', async () => {
    const dbeeYaml = (await team.git(['show', 'main:dbee.yaml'])) + '# reviewed\n';
    await startBranch('dbee-yaml', { 'dbee.yaml': dbeeYaml });
    expect(await selected(['-t', 'deploy', '--base=main', '--head=HEAD', '--excludeTaskDependencies'])).toEqual([
      'db-core:deploy',
      'db-reporting:deploy',
      'db-sales:deploy',
    ]);
  });

  it('a change outside the database projects, or no change at all, deploys nothing and exits 0', async () => {
    await startBranch('docs', { 'README.md': '# the team\n', 'apps/web/index.ts': 'export const x = 1;\n' });
    const before = { dev: await deployedSince('dev'), qa: await deployedSince('qa') };
    for (const args of [
      ['--base=main', '--head=HEAD'],
      ['--base=HEAD', '--head=HEAD'],
    ]) {
      const r = await team.nx(['affected', '-t', 'deploy', '--env=qa', ...args]);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain('No tasks were run');
    }
    expect(await deployedSince('qa')).toEqual(before.qa);
    expect(await deployedSince('dev')).toEqual(before.dev);
  });
});
