import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace, type TeamEnvironment } from '../support/team-workspace';
import { lastDeployment, printedStatements, sameSql, sentSince } from './sent-statements';

/**
 * Issue #33, property: for the team workspace in several states, `deploy --dry-run` verifies (never "not verified"),
 * the statements it prints are the statements the real run sends (the ledger's steps), and `status`'s pending items
 * are the dry run's steps, project by project.
 */
/**
 * `ifExists`: `--if-exists` of both runs; a state that edits an object by hand puts it back with `--if-exists drop`, since a
 * deployment never writes over drift under the default `raise` (issue #56: refused, test/runner/drift.test.ts).
 */
type State = { name: string; files: Record<string, string>; sql?: string[]; ifExists?: 'drop' };

const STATES: State[] = [
  { name: 'nothing deployed yet', files: {} },
  {
    name: 'a view of sales gains a column, a function of reporting changes',
    files: {
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
      'databases/reporting/schema/reporting/functions/revenue_of.sql': `CREATE FUNCTION reporting.revenue_of(p_customer integer) RETURNS numeric
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(total, 0) FROM reporting.customer_revenue WHERE customer_id = p_customer $$;
`,
    },
  },
  {
    name: 'a table of core gains a column (planned by a diff), a new index in sales, a function edited by hand',
    files: {
      'databases/core/schema/core/tables/customers.sql': `CREATE TABLE core.customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  region text NOT NULL DEFAULT 'eu',
  phone text
);
`,
      'databases/sales/schema/sales/indexes/orders_placed.sql':
        'CREATE INDEX orders_placed ON sales.orders (placed_on);\n',
    },
    sql: [
      `CREATE OR REPLACE FUNCTION sales.order_count(p_customer integer) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT 0::bigint $$`,
    ],
    ifExists: 'drop',
  },
  {
    name: 'a new view in reporting over a new view in sales',
    files: {
      'databases/sales/schema/sales/views/big_orders.sql':
        'CREATE VIEW sales.big_orders AS\n  SELECT id, customer_id, amount FROM sales.orders WHERE amount > 1000;\n',
      'databases/reporting/schema/reporting/views/big_customers.sql':
        'CREATE VIEW reporting.big_customers AS\n  SELECT DISTINCT b.customer_id, r.name FROM sales.big_orders b JOIN reporting.customer_revenue r USING (customer_id);\n',
    },
  },
];

interface ReportStep {
  project: string;
  key: string;
  action: string;
}

/**
 * On the embedded `local` environment the three changing states run as one (their files and hand edits together): the
 * same questions on the same kinds of change, with half the dbee processes (each opens the embedded database again).
 */
const LOCAL_STATES: State[] = [
  STATES[0]!,
  {
    name: 'all of the changes above at once',
    files: Object.assign({}, ...STATES.slice(1).map((s) => s.files)),
    sql: STATES.slice(1).flatMap((s) => s.sql ?? []),
    ifExists: 'drop',
  },
];

for (const env of ['dev', 'local'] as const) {
  describe(`one truth per question on ${env}: dry run = real run = status (team workspace)`, () => {
    let team: TeamWorkspace;
    beforeAll(async () => {
      team = await TeamWorkspace.create();
    });
    afterAll(async () => {
      await team?.dispose();
    });

    for (const state of env === 'local' ? LOCAL_STATES : STATES) {
      it(state.name, async () => {
        team.write(state.files);
        for (const sql of state.sql ?? []) await inEnv(team, env, sql);
        // The dry run is a process of the real CLI on dev (server); on local (PGlite) the same command line runs in the
        // worker (`dbeeOn`): its printed statements are what is compared, and a process opening the embedded database
        // compiles and starts its own PGlite (CONTRIBUTING.md, "Setup and confirmations in-process").
        const dry = await team.dbeeOn(env, [
          'deploy',
          'reporting',
          '--env',
          env,
          ...(state.ifExists ? ['--if-exists', state.ifExists] : []),
          '--dry-run',
          '--report',
          'dry.json',
        ]);
        expect(dry.stdout + dry.stderr).not.toMatch(/not verified|could not verify/);
        expect(dry.code, dry.stdout + dry.stderr).toBe(0);
        expect(dry.stdout + dry.stderr).toMatch(
          /dry run: verified on a scratch copy of the target's schemas \(\d+ steps?, all applied\)/,
        );
        const steps = (JSON.parse(readFileSync(join(team.root, 'dry.json'), 'utf8')) as { steps: ReportStep[] }).steps;
        expect(steps.length).toBeGreaterThan(0);

        for (const project of ['core', 'sales', 'reporting']) {
          // In-process (the CLI's own command runner, runDbeeCommand): a dbee process per project and state cost
          // 1-3 s each, 24 of them; the dry run above stays a process of the real CLI.
          const status = await run(team.root, 'status', { project, env, format: 'json' }, team.environment);
          expect(status.code, status.stderr).toBe(0);
          const pending = (JSON.parse(status.stdout) as { pendingSteps: { key: string; action: string }[] })
            .pendingSteps;
          expect(
            pending.map((p) => `${p.action} ${p.key}`),
            project,
          ).toEqual(steps.filter((s) => s.project === project).map((s) => `${s.action} ${s.key}`));
        }

        const before = env === 'local' ? await lastLocal(team) : await lastDeployment(team, env);
        // The real run in-process too: what it sends is read from the ledger, whoever sends it, and a process opening
        // the embedded database costs seconds of CPU more. The dry run, whose printed statements are compared, stays a
        // process of the real CLI.
        const real = await run(
          team.root,
          'deploy',
          { project: 'reporting', env, ...(state.ifExists ? { ifExists: state.ifExists } : {}) },
          team.environment,
        );
        expect(real.code, real.stderr).toBe(0);
        const sent = env === 'local' ? await sentLocal(team, before) : await sentSince(team, env, before, 'deploy');
        expect(sameSql(sent)).toBe(sameSql(printedStatements(dry.stdout)));
        await team.commitAll(state.name);
      });
    }
  });
}

/** Runs `sql` on the environment's database: the server's scratch database, or the embedded one (`local`). */
async function inEnv(team: TeamWorkspace, env: TeamEnvironment | 'local', sql: string): Promise<void> {
  if (env !== 'local') {
    await team.query(env, sql);
    return;
  }
  await team.withLocal((conn) => conn.execute(sql));
}

async function lastLocal(team: TeamWorkspace): Promise<number> {
  return team.withLocal(async (conn) => {
    const r = await conn
      .query('SELECT coalesce(max(id), 0)::int AS id FROM dbee.deployments')
      .catch(() => ({ rows: [{ id: 0 }] }));
    return Number((r.rows[0] as { id: number }).id);
  });
}

async function sentLocal(team: TeamWorkspace, afterId: number): Promise<string> {
  return team.withLocal(async (conn) => {
    const r = await conn.query(
      `SELECT s.statements FROM dbee.steps s JOIN dbee.deployments d ON d.id = s.deployment_id
        WHERE d.id > ${afterId} AND d.kind = 'deploy' AND s.status = 'applied' ORDER BY d.id, s.step_order`,
    );
    return (r.rows as { statements: string[] }[]).flatMap((x) => x.statements).join(';\n');
  });
}
