import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TEAM_DBEE_YAML, TeamWorkspace } from '../support/team-workspace';
import { rowsIn } from './sent-statements';

/**
 * Issue #33, symptom 2 under `deploy.autoRollback`: sales v2 adds a column to `sales.order_summary`, which
 * `reporting.customer_revenue` (another project) selects from, then fails on its migration. The automatic rollback
 * put the narrower view back with a bare DROP VIEW, which reporting's view refuses: "automatic rollback incomplete",
 * sales left half-deployed. It now drops reporting's views with it and creates them again, as `dbee rollback` does.
 */
const SALES_V2_FAILING = {
  'dbee.yaml': `${TEAM_DBEE_YAML}deploy: { autoRollback: true }\n`,
  'databases/sales/schema/sales/views/order_summary.sql': `CREATE VIEW sales.order_summary AS
  SELECT c.id AS customer_id, c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total, max(o.placed_on) AS last_order
  FROM core.active_customers c LEFT JOIN sales.orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name;
`,
  'databases/sales/migrations/V2__fails.sql': 'SELECT 1/0;\n',
  'databases/sales/migrations/V2__fails.rollback.sql': 'SELECT 0;\n',
};

describe('automatic rollback of a project another project stands on (team workspace)', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create();
    for (const env of ['prod', 'local']) {
      // Setup in-process (the CLI's command runner); the deployments under test below are processes of the real CLI.
      const r = await run(team.root, 'deploy', { project: 'reporting', env }, team.environment);
      expect(r.code, r.stderr).toBe(0);
    }
    team.write(SALES_V2_FAILING);
  });
  afterAll(async () => {
    await team?.dispose();
  });

  for (const env of ['prod', 'local'] as const) {
    it(`${env}: the view goes back to v1 with reporting's views created again, the deployment rolled-back (exit 2)`, async () => {
      // A process of the real CLI on prod (server), the same command line in the worker on local (`dbeeOn`): the
      // automatic rollback is the subject, not the process, and a process opening the embedded database compiles and
      // starts its own PGlite (CONTRIBUTING.md, "Setup and confirmations in-process").
      const r = await team.dbeeOn(env, ['deploy', 'sales', '--env', env]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).not.toContain('automatic rollback incomplete');
      const columns = await rowsIn<{ column_name: string }>(
        team,
        env,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'order_summary' ORDER BY ordinal_position",
      );
      expect(columns.map((c) => c.column_name)).toEqual(['customer_id', 'name', 'orders', 'total']);
      const reporting = await rowsIn<{ name: string }>(
        team,
        env,
        "SELECT table_name AS name FROM information_schema.views WHERE table_schema = 'reporting' ORDER BY 1",
      );
      expect(reporting.map((v) => v.name)).toEqual(['customer_revenue', 'top_customers']);
      const last = await rowsIn<{ status: string }>(
        team,
        env,
        "SELECT status FROM dbee.deployments WHERE project = 'sales' ORDER BY id DESC LIMIT 1",
      );
      expect(last).toEqual([{ status: 'rolled-back' }]);
      // reporting's views are as its ledger says: a dry run of reporting alone plans nothing (a confirmation, in-process).
      const again = await team.dbeeInProcess(['deploy', 'reporting', '--env', env, '--dry-run', '--no-deps']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('nothing to do: the database is up to date');
    });
  }
});
