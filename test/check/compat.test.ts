import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { TeamWorkspace } from '../support/team-workspace';
import { APP_QUERIES, appQueriesFile, customersTable, queryId } from './queries';

/**
 * `dbee check`: the team workspace's application queries (test/check/queries.ts) against a change of the sources,
 * through the real CLI, on the server (`dev`) and on PGlite (`local`, embedded). Each change must flag exactly the
 * queries that use what it changes, and the additive ones none.
 */
const CUSTOMERS = 'databases/core/schema/core/tables/customers.sql';

const ORDERS_WITHOUT_PLACED_ON = `CREATE TABLE sales.orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES core.customers (id),
  amount numeric(12, 2) NOT NULL
);
`;

const CHANGES: { name: string; files: Record<string, string>; remove?: string[]; flagged: string[] }[] = [
  {
    name: 'renaming a column (core.customers.phone -> mobile)',
    files: { [CUSTOMERS]: customersTable('mobile text') },
    flagged: ['customer-contact', 'customer-phone', 'customers-with-phone', 'set-phone'],
  },
  {
    name: 'dropping a column (sales.orders.placed_on)',
    files: { 'databases/sales/schema/sales/tables/orders.sql': ORDERS_WITHOUT_PLACED_ON },
    flagged: ['order-by-id', 'order-star', 'orders-of', 'orders-since'],
  },
  {
    name: "changing a function's return type (sales.order_count bigint -> integer)",
    files: {
      'databases/sales/schema/sales/functions/order_count.sql':
        'CREATE FUNCTION sales.order_count(p_customer integer) RETURNS integer\n  LANGUAGE sql STABLE\n  AS $$ SELECT orders::integer FROM sales.order_summary WHERE customer_id = p_customer $$;\n',
    },
    flagged: ['order-count', 'order-count-plus'],
  },
  {
    name: 'narrowing a type (core.customers.phone text -> varchar(20))',
    files: { [CUSTOMERS]: customersTable('phone varchar(20)') },
    flagged: ['customer-contact', 'customer-phone'],
  },
  {
    name: 'dropping a function (reporting.revenue_of, by a migration)',
    files: {
      'databases/reporting/migrations/V1__drop_revenue_of.sql': 'DROP FUNCTION reporting.revenue_of(integer);\n',
      'databases/reporting/migrations/U1__drop_revenue_of.sql':
        'CREATE FUNCTION reporting.revenue_of(p_customer integer) RETURNS numeric LANGUAGE sql STABLE\n  AS $$ SELECT total FROM reporting.customer_revenue WHERE customer_id = p_customer $$;\n',
    },
    remove: [
      'databases/reporting/schema/reporting/functions/revenue_of.sql',
      'databases/reporting/smoke/reporting.yaml',
    ],
    flagged: ['revenue-of', 'revenue-of-many'],
  },
  {
    name: 'adding a nullable column (sales.orders.note)',
    files: { 'databases/sales/schema/sales/tables/orders.sql': ORDERS_WITH('note text') },
    flagged: [],
  },
  {
    name: 'adding a nullable column (core.customers.fax)',
    files: { [CUSTOMERS]: customersTable('phone text,\n  fax text') },
    flagged: [],
  },
  {
    name: 'adding a table (sales.refunds)',
    files: {
      'databases/sales/schema/sales/tables/refunds.sql':
        'CREATE TABLE sales.refunds (id integer PRIMARY KEY, order_id integer NOT NULL);\n',
    },
    flagged: [],
  },
  {
    name: 'adding an index (core.customers.region)',
    files: {
      'databases/core/schema/core/indexes/customers_region.sql':
        'CREATE INDEX customers_region ON core.customers (region);\n',
    },
    flagged: [],
  },
];

function ORDERS_WITH(column: string): string {
  return `CREATE TABLE sales.orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES core.customers (id),
  amount numeric(12, 2) NOT NULL,
  placed_on date NOT NULL DEFAULT current_date,
  ${column}
);
`;
}

interface CheckJson {
  checked: number;
  broken: { query: { origin: string }; error: string; steps: { key: string }[] }[];
  changed: { query: { origin: string } }[];
  unchecked: { query: { origin: string }; error: string }[];
}

// Every change on the server; on PGlite (the same PostgreSQL parser and analyser, another transport) one that breaks,
// one that changes result columns and one that is additive, to keep the suite's time in bounds.
const ON_PGLITE = new Set([CHANGES[0]!.name, CHANGES[2]!.name, CHANGES[5]!.name]);

describe.each([
  { engine: 'server', env: 'dev', changes: CHANGES },
  { engine: 'PGlite', env: 'local', changes: CHANGES.filter((c) => ON_PGLITE.has(c.name)) },
])('dbee check on $engine: the application queries a change breaks', ({ env, changes }) => {
  let team: TeamWorkspace;
  beforeAll(async () => {
    team = await TeamWorkspace.create({
      files: { 'app/queries/app.sql': appQueriesFile(), [CUSTOMERS]: customersTable('phone text') },
    });
    // Setup in-process (the CLI's command runner): a dbee process opening the embedded database costs seconds more.
    const deployed = await run(team.root, 'deploy', { project: 'reporting', env }, team.environment);
    expect(deployed.code, deployed.stderr).toBe(0);
  });
  afterAll(async () => {
    await team?.dispose();
  });

  it.each(changes)('$name', async (change) => {
    team.write(change.files);
    for (const path of change.remove ?? []) await team.git(['rm', '-q', path]);
    try {
      // In-process (the CLI's own command runner): a dbee process per change cost 1-3 s more; `deploy --dry-run
      // --queries` below stays a process of the real CLI.
      const r = await run(
        team.root,
        'check',
        { project: 'reporting', env, queries: 'app/queries', format: 'json' },
        team.environment,
      );
      const report = JSON.parse(r.stdout) as CheckJson;
      expect(report.unchecked, 'every query works on the current schema').toEqual([]);
      expect(report.checked).toBe(37);
      const flagged = [...report.broken, ...report.changed].map((b) => queryId(b.query.origin)).sort();
      expect(flagged).toEqual(change.flagged);
      // Exit 1 exactly when a query breaks (a changed result is said, not refused).
      expect(r.code, r.stderr).toBe(report.broken.length ? 1 : 0);
      for (const b of report.broken)
        expect(b.steps.length, `${queryId(b.query.origin)} names the step that breaks it`).toBeGreaterThan(0);
    } finally {
      await team.git(['checkout', '-q', '--', '.']);
      await team.git(['clean', '-qfd', 'databases']);
      await team.git(['reset', '-q', '--hard']);
    }
  });

  it('queries that all fail on the current schema already check nothing: exit 1, not a green "0 broken"', async () => {
    team.write({
      'app/other/other.sql': 'SELECT id FROM billing.invoices WHERE id = $1;\nSELECT total FROM billing.totals;\n',
    });
    try {
      // In-process like the cases above (the exit code and the message for people are runDbeeCommand's).
      const r = await run(team.root, 'check', { project: 'reporting', env, queries: 'app/other' }, team.environment);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('none of the 2 application queries could be checked');
      expect(r.stderr).not.toContain('    at ');
    } finally {
      await team.git(['clean', '-qfd', 'app/other']);
    }
  });

  it('deploy --dry-run runs the check when given a query source, and refuses the rename', async () => {
    team.write(CHANGES[0]!.files);
    try {
      const r = await team.dbee([
        'deploy',
        'reporting',
        '--env',
        env,
        '--dry-run',
        '--queries',
        'app/queries',
        '--allow-hazards',
        'data-loss',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        `BREAKS app/queries/app.sql:${APP_QUERIES.findIndex((q) => q.id === 'customer-phone') + 1}`,
      );
      expect(r.stderr).toContain("of the application's 37 queries would fail after this deployment");
    } finally {
      await team.git(['reset', '-q', '--hard']);
      await team.git(['clean', '-qfd', 'databases']);
    }
  });
});
