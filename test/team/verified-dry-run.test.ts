import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace } from '../support/team-workspace';

/**
 * Issue #33, symptom 1: a verified dry run verifies on an ordinary schema. The team workspace's reporting view calls a
 * function of sales, so the catalog's dependency order puts `reporting.revenue_of` (a SQL function reading the view)
 * before `reporting.customer_revenue` in the structure-only copy of the target: the copy failed, the dry run said
 * "not verified" as a warning with exit 0, and a view selecting a column the target lacks failed only in the real run.
 */
const REVENUE_OVER_A_FUNCTION = `CREATE VIEW reporting.customer_revenue AS
  SELECT customer_id, name, total, sales.order_count(customer_id) AS orders FROM sales.order_summary;
`;
/**
 * Issue 88 failure 5: an aggregate of the project (Pagila's `group_concat`, as published) that a view calls. The differ
 * does not compare aggregates, and the copy was made from the differ's model: without the aggregate, every verified
 * dry run exited 1 ("could not copy ... function reporting.group_concat(text) does not exist").
 */
const AN_AGGREGATE = {
  'databases/reporting/schema/reporting/functions/_group_concat.sql': `CREATE FUNCTION reporting._group_concat(text, text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $_$
SELECT CASE
  WHEN $2 IS NULL THEN $1
  WHEN $1 IS NULL THEN $2
  ELSE $1 || ', ' || $2
END
$_$;
`,
  'databases/reporting/schema/reporting/functions/group_concat.sql': `CREATE AGGREGATE reporting.group_concat(text) (
    SFUNC = reporting._group_concat,
    STYPE = text
);
`,
  'databases/reporting/schema/reporting/views/customer_names.sql': `CREATE VIEW reporting.customer_names AS
  SELECT reporting.group_concat(name) AS names FROM sales.order_summary;
`,
};
/** sales v2: order_summary gains a column, and reporting's view selects it. */
const SALES_V2 = {
  'databases/sales/schema/sales/views/order_summary.sql': `CREATE VIEW sales.order_summary AS
  SELECT c.id AS customer_id, c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total, max(o.placed_on) AS last_order
  FROM core.active_customers c LEFT JOIN sales.orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name;
`,
  'databases/reporting/schema/reporting/views/customer_revenue.sql': `CREATE VIEW reporting.customer_revenue AS
  SELECT customer_id, name, total, sales.order_count(customer_id) AS orders, last_order FROM sales.order_summary;
`,
};

describe('deploy --dry-run verifies the plan on a copy of the target (team workspace)', () => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create({
      files: {
        'databases/reporting/schema/reporting/views/customer_revenue.sql': REVENUE_OVER_A_FUNCTION,
        ...AN_AGGREGATE,
      },
    });
  });
  afterAll(async () => {
    await team?.dispose();
  });

  for (const env of ['dev', 'local'] as const) {
    it(`${env}: a view selecting a column the target lacks fails the dry run (exit 1, naming the step), not the real deploy`, async () => {
      const first = await run(team.root, 'deploy', { project: 'reporting', env }, team.environment); // setup, in-process
      expect(first.code, first.stderr).toBe(0);
      team.write(SALES_V2);
      try {
        // The dry runs are processes of the real CLI on dev (server); on local (PGlite) the same command lines run in
        // the worker (`dbeeOn`): what they print and exit is the subject, not the process, and a process opening the
        // embedded database compiles and starts its own PGlite (CONTRIBUTING.md, "Setup and confirmations in-process").
        const dry = await team.dbeeOn(env, ['deploy', 'reporting', '--env', env, '--dry-run', '--no-deps']);
        expect(dry.stdout + dry.stderr).not.toMatch(/not verified|could not (copy|verify)/);
        expect(dry.code, dry.stdout + dry.stderr).toBe(1);
        expect(dry.stderr).toContain('(replace view:reporting.customer_revenue) fails on a copy of the target');
        expect(dry.stderr).toContain('column "last_order" does not exist');
        // What the dry run said is what the real run finds (in-process: the dry runs are the dbee processes under
        // test, and a process opening the embedded database costs seconds of CPU more).
        const real = await run(
          team.root,
          'deploy',
          { project: 'reporting', env, withDependencies: false },
          team.environment,
        );
        expect(real.code, real.stderr).toBe(2);
        // With sales first, both agree the other way.
        const all = await team.dbeeOn(env, ['deploy', 'reporting', '--env', env, '--dry-run']);
        expect(all.stdout + all.stderr).toMatch(/dry run: verified on a scratch copy/);
        expect(all.code, all.stderr).toBe(0);
      } finally {
        await team.git(['checkout', '--', '.']);
      }
    });
  }

  it('a plan the copy cannot take refuses the dry run with exit 1 and says why; --no-verify prints it unverified (exit 0)', async () => {
    // A column under an ICU collation: the embedded scratch database (PGlite) has no ICU, so the copy cannot be made.
    const first = await run(team.root, 'deploy', { project: 'sales', env: 'qa' }, team.environment); // setup, in-process
    expect(first.code, first.stderr).toBe(0);
    // In a dependency's schema: copied (the plan may read it), not planned.
    await team.query('qa', `ALTER TABLE core.customers ADD COLUMN note text COLLATE "de-x-icu"`);
    team.write(SALES_V2);
    try {
      // Sales alone (--no-deps): the hand change to core is drift there, which a deployment of core refuses.
      const dry = await team.dbee(['deploy', 'sales', '--env', 'qa', '--dry-run', '--no-deps']);
      expect(dry.code, dry.stdout + dry.stderr).toBe(1);
      expect(dry.stderr).toMatch(/could not verify the plan: dbee could not copy the target's schemas/);
      expect(dry.stderr).toContain('--no-verify');
      const unverified = await team.dbee(['deploy', 'sales', '--env', 'qa', '--dry-run', '--no-verify', '--no-deps']);
      expect(unverified.code, unverified.stderr).toBe(0);
      expect(unverified.stdout).toContain('CREATE OR REPLACE VIEW sales.order_summary');
    } finally {
      await team.git(['checkout', '--', '.']);
    }
  });
});
