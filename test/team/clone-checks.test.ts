import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace } from '../support/team-workspace';

/**
 * Issue #33 symptom 4: `clone` checks before it applies. Cloning `sales` before `core` is refused with exit 1 and
 * nothing applied (it applied 4 of 16 steps and failed on `schema "core" does not exist`); a clone killed half-way
 * is marked `interrupted` by the next run, which finishes it without `--allow-hazards` (the index it still has to
 * build is on a table the killed run left empty). On the server: `clone` reads two live databases.
 */
describe('clone checks before applying (team workspace, server)', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create();
    const r = await run(team.root, 'deploy', { project: 'reporting', env: 'dev' }, team.environment); // setup, in-process
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await team?.dispose();
  });

  const schemas = async (env: 'qa' | 'prod') =>
    (
      await team.query<{ nspname: string }>(
        env,
        `SELECT nspname FROM pg_namespace WHERE nspname IN ('core', 'sales', 'reporting') ORDER BY 1`,
      )
    ).map((r) => r.nspname);

  it('dbee deploy sales --env prod --no-deps before core is there: exit 1, nothing applied (it made schema sales, then failed)', async () => {
    const r = await team.dbee(['deploy', 'sales', '--env', 'prod', '--no-deps']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('sales depends on core, whose schema core is not on prod; nothing was applied');
    expect(r.stderr).toContain('dbee deploy core --env prod');
    expect(await schemas('prod')).toEqual([]);
  });

  it('dbee clone sales --from dev --to prod before core is there: exit 1, nothing applied, says to clone core first', async () => {
    const r = await team.dbee(['clone', 'sales', '--from', 'dev', '--to', 'prod']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('sales depends on core, whose schema core is not on prod; nothing was applied');
    expect(r.stderr).toContain('dbee clone core --from dev --to prod');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await schemas('prod')).toEqual([]);
    const [{ ledger }] = await team.query<{ ledger: boolean }>(
      'prod',
      `SELECT to_regclass('dbee.deployments') IS NOT NULL AS ledger`,
    );
    if (ledger) expect(await team.query('prod', `SELECT id FROM dbee.deployments`)).toEqual([]);
    // In dependency order it works (a confirmation, the same command lines in-process: the refusal above is the CLI
    // process under test).
    expect((await team.dbeeInProcess(['clone', 'core', '--from', 'dev', '--to', 'prod'])).code).toBe(0);
    const ok = await team.dbeeInProcess(['clone', 'sales', '--from', 'dev', '--to', 'prod']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await schemas('prod')).toEqual(['core', 'sales']);
  });

  it('a clone killed half-way is marked interrupted by the next clone, which finishes without --allow-hazards', async () => {
    // core first, in-process (setup): the clones under test below are processes of the real CLI (one is killed).
    const core = await run(team.root, 'clone', { project: 'core', from: 'dev', to: 'qa' }, team.environment);
    expect(core.code, core.stderr).toBe(0);
    // Another session holds core.customers: the clone of sales makes its schema and table, then waits on the foreign key.
    const holder = new Client({ connectionString: team.databases.qa.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE core.customers IN ACCESS EXCLUSIVE MODE');
      const killed = await team.dbeeStart(['clone', 'sales', '--from', 'dev', '--to', 'qa']);
      let waiting: { pid: number }[] = [];
      while (!waiting.length && killed.child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 100));
        waiting = await team.query<{ pid: number }>(
          'qa',
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
      }
      expect(waiting.length, 'the clone ended before it waited on core.customers').toBeGreaterThan(0);
      // The process dies (kill -9), and its session with it.
      const exited = new Promise((resolve) => killed.child.once('exit', resolve));
      killed.child.kill('SIGKILL');
      await exited;
      for (const { pid } of waiting) await team.query('qa', 'SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
    const before = await team.query<{ id: number; status: string }>(
      'qa',
      `SELECT id, status FROM dbee.deployments WHERE project = 'sales'`,
    );
    expect(before.map((d) => d.status)).toEqual(['running']);
    const [{ rows }] = await team.query<{ rows: string }>('qa', `SELECT count(*) AS rows FROM sales.orders`);
    expect(rows).toBe('0');

    const again = await team.dbee(['clone', 'sales', '--from', 'dev', '--to', 'qa']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stderr).toContain(
      `deployment #${before[0]!.id} did not finish (the process ended): marked interrupted`,
    );
    expect(again.stdout + again.stderr).toContain('sales.orders has 0 rows');
    const after = await team.query<{ id: number; status: string }>(
      'qa',
      `SELECT id, status FROM dbee.deployments WHERE project = 'sales' ORDER BY id`,
    );
    expect(after.map((d) => d.status)).toEqual(['interrupted', 'succeeded']);
    const [{ index }] = await team.query<{ index: string | null }>(
      'qa',
      `SELECT to_regclass('sales.orders_customer')::text AS index`,
    );
    expect(index).toBe('sales.orders_customer');
  });
});
