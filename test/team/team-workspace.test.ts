import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TeamWorkspace } from '../support/team-workspace';

/**
 * The team workspace fixture as a user first meets it: the real `nx` deploys a project after the projects it depends
 * on, and the real `dbee` reports each project's state. Other suites build on this fixture (test/support/team-workspace.ts).
 */
describe('team workspace: core ← sales ← reporting with the real nx and dbee', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create();
  });
  afterAll(async () => {
    await team?.dispose();
  });

  it('nx run db-reporting:deploy --env=dev deploys core, sales and reporting, in that order', async () => {
    const r = await team.nx(['run', 'db-reporting:deploy', '--env=dev']);
    expect(r.code, r.output).toBe(0);
    const order = await team.query<{ project: string }>(
      'dev',
      `SELECT project FROM dbee.deployments WHERE status = 'succeeded' ORDER BY id`,
    );
    expect(order.map((d) => d.project)).toEqual(['core', 'sales', 'reporting']);
    // Outside a terminal Nx prints a dependency task as one line; the deployments of core and sales are shown whole.
    for (const p of ['core', 'sales', 'reporting']) {
      expect(r.output).toContain(`dbee deploy ${p} -> dev`);
      expect(r.output).toMatch(new RegExp(`^${p}: deployed \\d+ steps`, 'm'));
    }
    expect(await team.deployedProjects('qa')).toEqual([]);
    const [{ revenue }] = await team.query<{ revenue: string | null }>(
      'dev',
      'SELECT reporting.revenue_of(1) AS revenue',
    );
    expect(revenue).toBeNull();
  });

  it('with an explicit --output-style=static, each deployment is printed once', async () => {
    // Nx prints every task in full then; the batch must not echo the dependencies' output a second time.
    const r = await team.nx(['run', 'db-reporting:deploy', '--env=qa', '--output-style=static']);
    expect(r.code, r.output).toBe(0);
    for (const p of ['core', 'sales', 'reporting'])
      expect(r.output.split(`dbee deploy ${p} -> qa`).length - 1, r.output).toBe(1);
  });

  it('dbee status reporting --env dev has nothing pending after the deploy', async () => {
    const r = await team.dbee(['status', 'reporting', '--env', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/pending: [1-9]/);
  });
});
