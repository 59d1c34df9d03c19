import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace } from '../support/team-workspace';

/**
 * Issue #33 point 7, the smaller false greens, each as the issue writes it, on the team workspace (core ← sales ←
 * reporting): a package deployed as another project, environments read from a git ref, an index's hazards judged
 * without the target's rows, a smoke file with a typo on a deployment with nothing to do.
 */
describe('the smaller false greens (team workspace)', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create();
    for (const env of ['dev', 'qa'] as const) {
      // Setup in-process (the CLI's command runner); the commands under test below are processes of the real CLI.
      const r = await run(team.root, 'deploy', { project: 'sales', env }, team.environment);
      expect(r.code, r.stderr).toBe(0);
      await team.query(
        env,
        `INSERT INTO core.customers VALUES (1, 'a', 'a@example.com', 'eu'), (2, 'b', 'b@example.com', 'eu')`,
      );
      await team.query(
        env,
        `INSERT INTO sales.orders (id, customer_id, amount) VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30), (4, 2, 40)`,
      );
    }
    // v2: an index on sales.orders (4 rows on dev and qa).
    team.write({
      'databases/sales/schema/sales/indexes/orders_amount.sql':
        'CREATE INDEX orders_amount ON sales.orders (amount);\n',
    });
    await team.commitAll('v2: an index on orders.amount');
    await team.git(['tag', 'v2']);
    const plan = await run(team.root, 'plan', { project: 'sales', base: 'v1', out: 'dist/v2' }, team.environment);
    expect(plan.code, plan.stderr).toBe(0);
  });
  afterAll(async () => {
    await team?.dispose();
  });

  const indexes = async (env: 'dev' | 'qa') =>
    (
      await team.query<{ i: string }>(
        env,
        `SELECT indexname AS i FROM pg_indexes WHERE schemaname = 'sales' ORDER BY 1`,
      )
    ).map((r) => r.i);

  it('deploy core --package <a package built for sales> is refused (exit 1), nothing applied', async () => {
    const r = await team.dbee(['deploy', 'core', '--env', 'qa', '--package', 'dist/v2']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('was built for sales');
    expect(r.stderr).toContain('not core; nothing was applied');
    expect(r.stderr).toContain('dbee deploy sales --package');
    expect(await indexes('qa')).toEqual(['orders_customer', 'orders_pkey']);
  });

  it('an index from a package on a 4-row table needs no --allow-hazards, as the same index from the sources', async () => {
    const fromPackage = await team.dbee(['deploy', 'sales', '--env', 'qa', '--package', 'dist/v2']);
    expect(fromPackage.code, fromPackage.stdout + fromPackage.stderr).toBe(0);
    expect(fromPackage.stdout).toContain('sales.orders has 4 rows');
    expect(await indexes('qa')).toEqual(['orders_amount', 'orders_customer', 'orders_pkey']);
    const fromSources = await team.dbee(['deploy', 'sales', '--env', 'dev']);
    expect(fromSources.code, fromSources.stdout + fromSources.stderr).toBe(0);
    expect(await indexes('dev')).toEqual(['orders_amount', 'orders_customer', 'orders_pkey']);
  });

  it('an index from the sources on a table of more than 10,000 rows is a hazard, as it is from a package', async () => {
    await team.query(
      'dev',
      `INSERT INTO sales.orders (id, customer_id, amount) SELECT g, 1, g FROM generate_series(5, 10010) g`,
    );
    team.write({
      'databases/sales/schema/sales/indexes/orders_placed.sql':
        'CREATE INDEX orders_placed ON sales.orders (placed_on);\n',
    });
    try {
      const refused = await team.dbee(['deploy', 'sales', '--env', 'dev']);
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      expect(refused.stderr).toContain(
        'has hazards environment dev does not allow: index-build (builds index sales.orders_placed on sales.orders, which has more than 10000 rows)',
      );
      expect(await indexes('dev')).not.toContain('orders_placed');
      const allowed = await team.dbee(['deploy', 'sales', '--env', 'dev', '--allow-hazards', 'index-build,long-lock']);
      expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
      expect(await indexes('dev')).toContain('orders_placed');
    } finally {
      rmSync(join(team.root, 'databases/sales/schema/sales/indexes/orders_placed.sql'));
    }
  });

  it("diff --env uat --head v2 reads the environments from the working tree (uat is not in v2's dbee.yaml)", async () => {
    const yaml = readFileSync(join(team.root, 'dbee.yaml'), 'utf8');
    team.write({ 'dbee.yaml': yaml + '  uat:\n    engine: postgres\n    connection:\n      url: ${DBEE_QA_URL}\n' });
    try {
      const r = await team.dbee(['diff', 'sales', '--env', 'uat', '--head', 'v2']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('no differences');
      const base = await team.dbee(['diff', 'sales', '--env', 'uat', '--base', 'v1', '--head', 'v2']);
      expect(base.code, base.stdout + base.stderr).toBe(0);
      expect(base.stdout).toContain('index:sales.orders_amount@sales.orders');
    } finally {
      team.write({ 'dbee.yaml': yaml });
    }
  });

  it.each(['qa', 'local'] as const)(
    'a smoke file with a typo fails a deploy that has nothing to do (--env %s)',
    async (env) => {
      // The setup deployment and the closing "nothing to deploy" run in-process (the CLI's command runner): a dbee
      // process opening the embedded database costs seconds of CPU more. The deployment under test is a process of the
      // real CLI on qa (server), the same command line in the worker on local (`dbeeOn`; CONTRIBUTING.md, "Setup and
      // confirmations in-process").
      if (env === 'local') {
        const first = await run(team.root, 'deploy', { project: 'core', env }, team.environment);
        expect(first.code, first.stderr).toBe(0);
      }
      const smoke = readFileSync(join(team.root, 'databases/core/smoke/core.yaml'), 'utf8');
      team.write({ 'databases/core/smoke/core.yaml': smoke.replace('query:', 'querry:') });
      try {
        const r = await team.dbeeOn(env, ['deploy', 'core', '--env', env]);
        expect(r.code, r.stdout + r.stderr).toBe(1);
        expect(r.stderr).toContain('databases/core/smoke/core.yaml:3:5: checks.0: unknown key "querry"');
        expect(r.stdout).not.toContain('nothing to deploy');
      } finally {
        team.write({ 'databases/core/smoke/core.yaml': smoke });
      }
      const clean = await run(team.root, 'deploy', { project: 'core', env }, team.environment);
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stdout).toContain('core: nothing to deploy, the database is up to date');
    },
  );
});
