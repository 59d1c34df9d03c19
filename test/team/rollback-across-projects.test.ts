import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace } from '../support/team-workspace';
import { lastDeployment, printedStatements, rowsIn, sameSql, sentSince, type AnyEnvironment } from './sent-statements';

/**
 * Issue #33, symptom 2: sales v2 adds a column to `sales.order_summary`, which `reporting.customer_revenue` (another
 * project) selects from. Rolling sales back printed `CREATE OR REPLACE VIEW sales.order_summary ...` in the dry run,
 * sent a bare `DROP VIEW sales.order_summary` in the real run and failed on reporting's view (exit 2), the same with
 * `--to-ref v1`; `rollback --package` of a three-project package undid one project per call.
 */
const SALES_V2 = {
  'databases/sales/schema/sales/views/order_summary.sql': `CREATE VIEW sales.order_summary AS
  SELECT c.id AS customer_id, c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total, max(o.placed_on) AS last_order
  FROM core.active_customers c LEFT JOIN sales.orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name;
`,
  'databases/sales/smoke/sales.yaml': `checks:
  - name: order summary has its columns
    query: SELECT * FROM sales.order_summary
    columns: { customer_id: integer, name: text, orders: bigint, total: numeric, last_order: date }
`,
};
const ALL_V2 = {
  ...SALES_V2,
  'databases/core/smoke/core.yaml': `checks:
  - name: active customers has its columns
    query: SELECT * FROM core.active_customers
    columns: { id: integer, name: text, region: text, email: text }
`,
  'databases/core/schema/core/views/active_customers.sql': `CREATE VIEW core.active_customers AS
  SELECT id, name, region, email FROM core.customers WHERE email IS NOT NULL;
`,
  'databases/reporting/schema/reporting/views/customer_revenue.sql': `CREATE VIEW reporting.customer_revenue AS
  SELECT customer_id, name, total, last_order FROM sales.order_summary;
`,
};

const columnsOf = async (team: TeamWorkspace, env: AnyEnvironment, schema: string, view: string) =>
  (
    await rowsIn<{ column_name: string }>(
      team,
      env,
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [schema, view],
    )
  ).map((r) => r.column_name);

/**
 * A team workspace with v1 deployed to each of `envs`, then `files` committed as v2 (tagged `tag` when given) and
 * `plan <project> --base v1 --out <folder>` made: the same package for every environment's case.
 */
async function v2Planned(
  envs: readonly AnyEnvironment[],
  files: Record<string, string>,
  message: string,
  [project, out]: [string, string],
  tag?: string,
): Promise<TeamWorkspace> {
  const team = await TeamWorkspace.create();
  for (const env of envs) {
    // Setup in-process (the CLI's command runner); the rollbacks under test below are processes of the real CLI.
    const r = await run(team.root, 'deploy', { project: 'reporting', env }, team.environment);
    expect(r.code, r.stderr).toBe(0);
  }
  team.write(files);
  await team.commitAll(message);
  if (tag) await team.git(['tag', tag]);
  expect((await run(team.root, 'plan', { project, base: 'v1', out }, team.environment)).code).toBe(0);
  return team;
}

/**
 * One workspace for the prod and the local cases (each env has its own database, the sources are the same): v1
 * deployed to both, sales v2 committed, tagged and planned into a package once.
 */
let salesTeam: TeamWorkspace;
beforeAll(async () => {
  const message = 'v2: order_summary has last_order';
  salesTeam = await v2Planned(['prod', 'local'], SALES_V2, message, ['sales', 'dist/v2'], 'v2');
});
afterAll(async () => {
  await salesTeam?.dispose();
});

// The rollbacks under test are processes of the real CLI on prod (server); on local (PGlite) the same command lines run
// in the worker (`dbeeOn`): what is compared is the dry run's printed statements and the ledger, not the process, and
// a process opening the embedded database compiles and starts its own PGlite (CONTRIBUTING.md, "Setup and
// confirmations in-process").
for (const env of ['prod', 'local'] as const) {
  describe(`rollback of a project another project stands on (team workspace, ${env})`, () => {
    let team: TeamWorkspace;
    beforeAll(() => {
      team = salesTeam;
    });

    it('rollback --package: the dry run prints what the real run sends, and reporting.customer_revenue is created again (exit 0)', async () => {
      const deployed = await run(team.root, 'deploy', { project: 'sales', env, package: 'dist/v2' }, team.environment);
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(await columnsOf(team, env, 'sales', 'order_summary')).toContain('last_order');

      const dry = await team.dbeeOn(env, ['rollback', 'sales', '--env', env, '--package', 'dist/v2', '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      const before = await lastDeployment(team, env);
      const real = await team.dbeeOn(env, ['rollback', 'sales', '--env', env, '--package', 'dist/v2']);
      expect(real.code, real.stderr).toBe(0);
      const sent = await sentSince(team, env, before);
      expect(sent).toMatch(/DROP VIEW[^;]*reporting\.customer_revenue/);
      expect(sameSql(printedStatements(dry.stdout))).toBe(sameSql(sent));
      expect(await columnsOf(team, env, 'sales', 'order_summary')).not.toContain('last_order');
      expect(await columnsOf(team, env, 'reporting', 'customer_revenue')).toEqual(['customer_id', 'name', 'total']);
      const [{ revenue }] = await rowsIn<{ revenue: string | null }>(
        team,
        env,
        'SELECT reporting.revenue_of(-1) AS revenue',
      );
      expect(revenue).toBeNull();
    });

    it('rollback --to-ref v1: the dry run prints what the real run sends, and reporting.customer_revenue is created again (exit 0)', async () => {
      const deployed = await run(team.root, 'deploy', { project: 'sales', env }, team.environment);
      expect(deployed.code, deployed.stderr).toBe(0);
      const dry = await team.dbeeOn(env, ['rollback', 'sales', '--env', env, '--to-ref', 'v1', '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      const before = await lastDeployment(team, env);
      const real = await team.dbeeOn(env, ['rollback', 'sales', '--env', env, '--to-ref', 'v1']);
      expect(real.code, real.stderr).toBe(0);
      const sent = await sentSince(team, env, before);
      expect(sent).toMatch(/DROP VIEW[^;]*reporting\.customer_revenue/);
      expect(sameSql(printedStatements(dry.stdout))).toBe(sameSql(sent));
      expect(await columnsOf(team, env, 'sales', 'order_summary')).not.toContain('last_order');
      expect(await columnsOf(team, env, 'reporting', 'customer_revenue')).toEqual(['customer_id', 'name', 'total']);
    });
  });
}

/**
 * One workspace for the two three-project cases, each on its own server database (`dev`, `qa`): v1 deployed to both,
 * v2 of each project committed and planned into a package once.
 */
let allTeam: TeamWorkspace;
beforeAll(async () => {
  allTeam = await v2Planned(['dev', 'qa'], ALL_V2, 'v2: a column more in a view of each project', [
    'reporting',
    'dist/all',
  ]);
});
afterAll(async () => {
  await allTeam?.dispose();
});

describe('rollback --package of a three-project package (team workspace, server)', () => {
  let team: TeamWorkspace;
  beforeAll(() => {
    team = allTeam;
  });

  it('undoes every project of the package, newest first, in one command; the dry run prints what is sent', async () => {
    // The package deployed in-process (setup); the rollbacks under test are processes of the real CLI.
    const deployed = await team.dbeeInProcess(['deploy', 'reporting', '--env', 'dev', '--package', 'dist/all']);
    expect(deployed.code, deployed.stderr).toBe(0);
    const dry = await team.dbee(['rollback', 'reporting', '--env', 'dev', '--package', 'dist/all', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const before = await lastDeployment(team, 'dev');
    const real = await team.dbee(['rollback', 'reporting', '--env', 'dev', '--package', 'dist/all']);
    expect(real.code, real.stderr).toBe(0);
    const undone = await team.query<{ project: string; status: string }>(
      'dev',
      `SELECT project, status FROM dbee.deployments WHERE id > $1 AND kind = 'rollback' ORDER BY id`,
      [before],
    );
    expect(undone).toEqual([
      { project: 'reporting', status: 'succeeded' },
      { project: 'sales', status: 'succeeded' },
      { project: 'core', status: 'succeeded' },
    ]);
    expect(sameSql(printedStatements(dry.stdout))).toBe(sameSql(await sentSince(team, 'dev', before)));
    expect(await columnsOf(team, 'dev', 'core', 'active_customers')).toEqual(['id', 'name', 'region']);
    expect(await columnsOf(team, 'dev', 'sales', 'order_summary')).toEqual(['customer_id', 'name', 'orders', 'total']);
    expect(await columnsOf(team, 'dev', 'reporting', 'customer_revenue')).toEqual(['customer_id', 'name', 'total']);
  });
});

describe('rollback --package of a three-project package that one project cannot undo (team workspace, server)', () => {
  let team: TeamWorkspace;
  beforeAll(() => {
    team = allTeam;
  });

  it('is refused before anything is undone (exit 1) when a later deployment of core stands on the package', async () => {
    // The package and the later deployment of core in-process (setup); the refused rollback is a process of the real CLI.
    const deployed = await team.dbeeInProcess(['deploy', 'reporting', '--env', 'qa', '--package', 'dist/all']);
    expect(deployed.code, deployed.stderr).toBe(0);
    team.write({
      'databases/core/schema/core/views/vip.sql':
        "CREATE VIEW core.vip AS\n  SELECT id, name FROM core.customers WHERE region = 'vip';\n",
    });
    const later = await team.dbeeInProcess(['deploy', 'core', '--env', 'qa']);
    expect(later.code, later.stderr).toBe(0);
    const before = await lastDeployment(team, 'qa');
    const refused = await team.dbee(['rollback', 'reporting', '--env', 'qa', '--package', 'dist/all']);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/came after the package's/);
    expect(await lastDeployment(team, 'qa')).toBe(before);
    expect(await columnsOf(team, 'qa', 'reporting', 'customer_revenue')).toContain('last_order');
  });
});
