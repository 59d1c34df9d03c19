import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, snapshot, workspaceWith, workspaceYaml, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * `rollback --dry-run` runs the rollback's steps on a scratch copy of the target's schemas, as `deploy --dry-run` runs
 * its plan: before, a rollback of core whose undo drops a column that a view of sales reads printed its SQL and exited
 * 0, and the real rollback then failed at that step (exit 2). Core owns `public`; sales depends on core.
 */
const CUSTOMERS = 'CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);\n';
const FILES = {
  'core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [public]\n',
  'core/customers.sql': CUSTOMERS,
  'sales/db.yaml': dbYaml('sales', 'dependsOn: [core]\n'),
  'sales/a_schema.sql': 'CREATE SCHEMA sales;\n',
  'sales/orders.sql':
    'CREATE TABLE sales.orders (id int PRIMARY KEY, customer int NOT NULL REFERENCES public.customers (id), amount numeric(12,2));\n',
};
const WITH_REGION = CUSTOMERS.replace('NOT NULL)', "NOT NULL, region text NOT NULL DEFAULT 'eu')");
const REGION_TOTALS =
  'CREATE VIEW sales.region_totals AS\n  SELECT c.region, sum(o.amount) AS amount\n    FROM public.customers c JOIN sales.orders o ON o.customer = c.id\n   GROUP BY c.region;\n';

/** A target (PGlite, or a scratch database on the server) and where the dry run builds its copy. */
const SETUPS = [
  { engine: 'pglite', shadow: 'embedded' },
  { engine: 'postgres', shadow: 'server' },
] as const;

describe.each(SETUPS)(
  'rollback --dry-run runs its steps on a scratch copy [$engine, shadow $shadow]',
  ({ engine, shadow }) => {
    it('refuses an undo that a view of another project stands on (as the real rollback fails), passes one that applies, and changes nothing', async () => {
      const w = await workspaceWith(engine, {
        'dbee.yaml': workspaceYaml(engine, { top: `shadow: ${shadow}` }),
        ...FILES,
      });
      workspaces.push(w);
      const dbee = async (command: 'deploy' | 'rollback', project: string, options: Record<string, unknown> = {}) =>
        run(w.root, command, { project, ...options }, w.target.vars);
      for (const p of ['core', 'sales']) expect((await dbee('deploy', p)).code).toBe(0);
      // Deployment #3 of core adds the column; #4 of sales adds a view reading it.
      w.write('core/customers.sql', WITH_REGION);
      expect((await dbee('deploy', 'core')).code).toBe(0);
      w.write('sales/region_totals.sql', REGION_TOTALS);
      expect((await dbee('deploy', 'sales')).code).toBe(0);
      const before = await snapshot(w.target);

      const refused = await dbee('rollback', 'core', { dryRun: true });
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      expect(refused.stdout).toMatch(/ALTER TABLE public\.customers DROP COLUMN region/);
      expect(refused.stdout).toContain(
        'dry run: the copy also holds schema sales (project sales): views there stand on what the rollback changes',
      );
      expect(refused.stderr).toMatch(
        /core: undo of deployment #3, step 1\/1 \([a-z-]+ [^)]*public\.customers[^)]*\) fails on a scratch copy of the target's schemas: cannot drop column region of table customers because other objects depend on it\n\s+detail: view sales\.region_totals depends on column region/,
      );
      expect(refused.stderr).toContain('sales.region_totals (sales) stands on');
      expect(refused.stderr).toContain(
        'Roll back sales first: dbee rollback sales --env target (or only what stands on it: --objects view:sales.region_totals)',
      );
      expect(refused.stderr).toContain('the rollback would be refused');
      expect(refused.stdout).not.toContain('nothing was applied');
      expect((await snapshot(w.target)).hash).toBe(before.hash);
      // The real rollback agrees: it fails at that step.
      const real = await dbee('rollback', 'core');
      expect(real.code, real.stdout + real.stderr).toBe(2);
      expect(real.stderr).toContain('view sales.region_totals depends on column region');

      const sales = await dbee('rollback', 'sales', { dryRun: true });
      expect(sales.code, sales.stdout + sales.stderr).toBe(0);
      expect(sales.stdout).toMatch(/DROP VIEW sales\.region_totals/);
      expect(sales.stdout).toContain(
        "dry run: the rollback ran on a scratch copy of the target's schemas (1 step, all applied); the copy is not compared with the state it goes back to",
      );
      expect(sales.stdout).toContain('dry run: nothing was applied');
      const afterFailed = await snapshot(w.target);
      expect((await dbee('rollback', 'sales')).code).toBe(0);
      // Sales rolled back, core's undo applies on the copy too; --no-verify only prints it.
      const core = await dbee('rollback', 'core', { dryRun: true });
      expect(core.code, core.stdout + core.stderr).toBe(0);
      expect(core.stdout).toContain(
        "dry run: the rollback ran on a scratch copy of the target's schemas (1 step, all applied)",
      );
      const unverified = await dbee('rollback', 'core', { dryRun: true, verify: false });
      expect(unverified.code, unverified.stdout + unverified.stderr).toBe(0);
      expect(unverified.stdout).not.toContain('scratch copy');
      expect(afterFailed.hash).not.toBe(before.hash); // the failed rollback is in the ledger
    });
  },
);
