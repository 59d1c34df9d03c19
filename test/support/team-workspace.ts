import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { NxWorkspace } from '../nx-cache/workspace';
import { scratchDatabase } from './pg';
import { releasePglite } from './pglite-share';
import { childEnvironment } from './child-env';
import { parseCommandLine, type CommandName } from '@dbee/cli';
import { run as runInProcess } from './run';

const run = promisify(execFile);
const REPO = resolve(__dirname, '..', '..');
const DBEE_BIN = join(REPO, 'packages', 'cli', 'bin', 'dbee.js');

/**
 * The workspace a team has, as one reusable test fixture: three database projects that depend on each other
 * (`core ← sales ← reporting`), views over another project's views, SQL functions over views (one reads a view of
 * its own schema), smoke checks, environments `dev`, `qa`, `prod` on the PostgreSQL server (one scratch database
 * each) and `local` embedded, a git repository with a `main` branch and a tag `v1`, and the real `nx` binary with the
 * `@dbee/nx` plugin (this repository's compiled dist/, through a node_modules link).
 *
 * ```ts
 * const team = await TeamWorkspace.create();
 * await team.branch('feature');
 * team.write({ 'databases/reporting/schema/reporting/views/top_customers.sql': '...' });
 * await team.commitAll('change a view');
 * const r = await team.nx(['affected', '-t', 'deploy', '--env=dev', '--base=main', '--head=HEAD']);
 * await team.dispose();
 * ```
 */
export class TeamWorkspace {
  private constructor(
    /** The Nx workspace on disk (its `nx` runs without the environments' variables). */
    readonly workspace: NxWorkspace,
    /** The scratch database behind each server environment, by environment name. */
    readonly databases: Record<TeamEnvironment, { url: string; name: string; drop(): Promise<void> }>,
  ) {}

  /** The workspace folder. */
  get root(): string {
    return this.workspace.root;
  }

  /** Writes (or overwrites) files, relative to the workspace root. */
  write(files: Record<string, string>): void {
    this.workspace.write(files);
  }

  /** Writes the three projects, creates one scratch database per server environment, commits on `main`, tags `v1`. */
  static async create(options: { files?: Record<string, string> } = {}): Promise<TeamWorkspace> {
    const base = NxWorkspace.create({ ...TEAM_FILES, ...options.files });
    const databases = {} as TeamWorkspace['databases'];
    for (const env of TEAM_ENVIRONMENTS) databases[env] = await scratchDatabase(`dbee_team_${env}`);
    const team = new TeamWorkspace(base, databases);
    await team.git(['init', '-q', '-b', 'main']);
    await team.commitAll('v1: core, sales, reporting');
    await team.git(['tag', 'v1']);
    return team;
  }

  /** `DBEE_DEV_URL`, `DBEE_QA_URL`, `DBEE_PROD_URL`: what dbee.yaml's connections read. */
  get environment(): Record<string, string> {
    return Object.fromEntries(
      TEAM_ENVIRONMENTS.map((env) => [`DBEE_${env.toUpperCase()}_URL`, this.databases[env].url]),
    );
  }

  /** `git <args>` in the workspace; returns stdout. */
  async git(args: string[]): Promise<string> {
    const { stdout } = await run('git', ['-c', 'user.email=team@example.com', '-c', 'user.name=team', ...args], {
      cwd: this.root,
    });
    return stdout;
  }

  /** Stages everything and commits it on the current branch. */
  async commitAll(message: string): Promise<void> {
    await this.git(['add', '-A']);
    await this.git(['commit', '-qm', message]);
  }

  /** Creates and checks out a branch from the current commit. */
  async branch(name: string): Promise<void> {
    await this.git(['checkout', '-q', '-b', name]);
  }

  /**
   * `nx <args>` with the environments' connection variables set; never throws. Nx loads its plugins in its own process
   * (NX_ISOLATE_PLUGINS=false) rather than in one process per plugin (four here): about a second of CPU less per
   * command. The team files test what `nx affected` and `nx run` select and deploy, not how Nx loads @dbee/nx;
   * `test/nx-cache/generators-nx.test.ts` and `npm run test:installed` run Nx as users do, with isolation.
   */
  nx(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; output: string }> {
    return this.workspace.nx(args, { NX_ISOLATE_PLUGINS: 'false', ...this.environment, ...env });
  }

  /** The real `dbee` binary (compiled dist/) in this workspace, with the environments' variables; never throws. */
  async dbee(
    args: string[],
    env: Record<string, string | undefined> = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return (await this.dbeeStart(args, env)).done;
  }

  /**
   * The same command line as {@link dbee}, parsed by the CLI's own parser and run in the worker (`runDbeeCommand`, as
   * `run` in test/support/run.ts): the exit code and the messages the process would give, without a process (1-3 s of
   * CPU each, more on the embedded environment, where a process compiles and starts its own PGlite).
   */
  async dbeeInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const [command, ...rest] = args;
    const line = parseCommandLine(command as CommandName, rest);
    if (line.help) throw new Error(`dbeeInProcess runs commands, not --help: ${args.join(' ')}`);
    return runInProcess(this.root, command as CommandName, line.options, this.environment);
  }

  /**
   * `dbee <args>` on environment `env`: a process of the real CLI ({@link dbee}) on the server environments, the same
   * command line in the worker ({@link dbeeInProcess}) on the embedded `local`. For files that run the same commands on
   * both engines where the process is not the subject: CONTRIBUTING.md, "Setup and confirmations in-process" (the
   * processes run on the server leg, the PGlite leg runs the same commands in-process).
   */
  dbeeOn(env: TeamEnvironment | 'local', args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return env === 'local' ? this.dbeeInProcess(args) : this.dbee(args);
  }

  /**
   * Starts the real `dbee` binary like {@link dbee} and returns at once: `child` (to kill it mid-run, say) and `done`,
   * which settles when it exits (a process killed by a signal settles with code 1).
   */
  async dbeeStart(
    args: string[],
    env: Record<string, string | undefined> = {},
  ): Promise<{ child: ChildProcess; done: Promise<{ code: number; stdout: string; stderr: string }> }> {
    await releasePglite();
    const child = spawn(process.execPath, [DBEE_BIN, ...args], {
      cwd: this.root,
      env: { ...childEnvironment(), DBEE_USE_DIST: '1', FORCE_COLOR: '0', ...this.environment, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const done = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1))).then((code) => ({
      code,
      stdout,
      stderr,
    }));
    return { child, done };
  }

  /** Runs `sql` on the environment's database and returns the rows. */
  async query<T extends Record<string, unknown> = Record<string, unknown>>(
    env: TeamEnvironment,
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    const client = new Client({ connectionString: this.databases[env].url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * Opens the `local` environment's embedded database (`.dbee/local`) for `use`, then closes it: no dbee process may
   * have it open meanwhile.
   */
  async withLocal<T>(use: (conn: PgliteConnection) => Promise<T>): Promise<T> {
    await releasePglite();
    const conn = await PgliteConnection.open(join(this.root, '.dbee', 'local'), 'pglite:test');
    try {
      return await use(conn);
    } finally {
      await conn.close();
    }
  }

  /** The projects that have a successful deployment in the environment's ledger (none when no ledger exists yet). */
  async deployedProjects(env: TeamEnvironment): Promise<string[]> {
    const [{ ledger }] = await this.query<{ ledger: boolean }>(
      env,
      `SELECT to_regclass('dbee.deployments') IS NOT NULL AS ledger`,
    );
    if (!ledger) return [];
    const rows = await this.query<{ project: string }>(
      env,
      `SELECT DISTINCT project FROM dbee.deployments WHERE status = 'succeeded' ORDER BY project`,
    );
    return rows.map((r) => r.project);
  }

  /** Drops (recycles) the scratch databases and removes the folder. */
  async dispose(): Promise<void> {
    for (const env of TEAM_ENVIRONMENTS) await this.databases[env].drop();
    this.workspace.remove();
  }
}

export type TeamEnvironment = 'dev' | 'qa' | 'prod';
export const TEAM_ENVIRONMENTS: readonly TeamEnvironment[] = ['dev', 'qa', 'prod'];

/** dbee.yaml of the team workspace: `local` embedded (the default), three server environments from variables. */
export const TEAM_DBEE_YAML = `version: 1
defaultEnvironment: local
environments:
  local:
    engine: postgres
    connection:
      embedded: .dbee/local
  dev:
    engine: postgres
    connection:
      url: \${DBEE_DEV_URL}
  qa:
    engine: postgres
    connection:
      url: \${DBEE_QA_URL}
  prod:
    engine: postgres
    connection:
      url: \${DBEE_PROD_URL}
`;

/** The three projects, under `databases/` as a team lays them out. */
export const TEAM_FILES: Record<string, string> = {
  'dbee.yaml': TEAM_DBEE_YAML,
  'databases/core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n',
  'databases/core/schema/core/schema.sql': 'CREATE SCHEMA core;\n',
  'databases/core/schema/core/tables/customers.sql': `CREATE TABLE core.customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  region text NOT NULL DEFAULT 'eu'
);
`,
  'databases/core/schema/core/views/active_customers.sql': `CREATE VIEW core.active_customers AS
  SELECT id, name, region FROM core.customers WHERE email IS NOT NULL;
`,
  'databases/core/smoke/core.yaml': `checks:
  - name: active customers has its columns
    query: SELECT * FROM core.active_customers
    columns: { id: integer, name: text, region: text }
`,
  'databases/sales/db.yaml': 'version: 1\nname: sales\nengine: postgres\nschemas: [sales]\ndependsOn: [core]\n',
  'databases/sales/schema/sales/schema.sql': 'CREATE SCHEMA sales;\n',
  'databases/sales/schema/sales/tables/orders.sql': `CREATE TABLE sales.orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES core.customers (id),
  amount numeric(12, 2) NOT NULL,
  placed_on date NOT NULL DEFAULT current_date
);
`,
  'databases/sales/schema/sales/indexes/orders_customer.sql':
    'CREATE INDEX orders_customer ON sales.orders (customer_id);\n',
  'databases/sales/schema/sales/views/order_summary.sql': `CREATE VIEW sales.order_summary AS
  SELECT c.id AS customer_id, c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total
  FROM core.active_customers c LEFT JOIN sales.orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name;
`,
  'databases/sales/schema/sales/functions/order_count.sql': `CREATE FUNCTION sales.order_count(p_customer integer) RETURNS bigint
  LANGUAGE sql STABLE
  AS $$ SELECT orders FROM sales.order_summary WHERE customer_id = p_customer $$;
`,
  'databases/sales/smoke/sales.yaml': `checks:
  - name: order summary has its columns
    query: SELECT * FROM sales.order_summary
    columns: { customer_id: integer, name: text, orders: bigint, total: numeric }
`,
  'databases/reporting/db.yaml':
    'version: 1\nname: reporting\nengine: postgres\nschemas: [reporting]\ndependsOn: [sales]\n',
  'databases/reporting/schema/reporting/schema.sql': 'CREATE SCHEMA reporting;\n',
  'databases/reporting/schema/reporting/views/customer_revenue.sql': `CREATE VIEW reporting.customer_revenue AS
  SELECT customer_id, name, total FROM sales.order_summary;
`,
  'databases/reporting/schema/reporting/views/top_customers.sql': `CREATE VIEW reporting.top_customers AS
  SELECT customer_id, name, total FROM reporting.customer_revenue ORDER BY total DESC LIMIT 10;
`,
  'databases/reporting/schema/reporting/functions/revenue_of.sql': `CREATE FUNCTION reporting.revenue_of(p_customer integer) RETURNS numeric
  LANGUAGE sql STABLE
  AS $$ SELECT total FROM reporting.customer_revenue WHERE customer_id = p_customer $$;
`,
  'databases/reporting/smoke/reporting.yaml': `checks:
  - name: revenue of a missing customer is null
    function: reporting.revenue_of
    args: [-1]
    rows: [{ revenue_of: null }]
`,
};
