import { Writable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SessionPool } from '@dbee/core';
import { runDbeeCommand } from '@dbee/cli';
import { dbYaml, ENGINES, snapshot, workspaceWith, type TestWorkspace } from './helpers';

/**
 * A dry run under Nx (`nx run db-sales:deploy --dry-run`, `nx affected -t deploy --dry-run` in a pull request) of a
 * project whose dependency changes too: Nx runs the dependency's dry run first, which applies nothing, then the
 * dependent's. The dependent's dry run must be verified on a copy holding what the dependency's real task will have
 * made, as the real run finds it. Before, the copy missed it: a first deployment's dry run refused every step of
 * sales ("relation core.customers does not exist"), and a column core adds that a new view of sales reads refused the
 * view: a red pull request for a change that deploys.
 */

const CORE = {
  'core/db.yaml': dbYaml('core'),
  'core/schema.sql': 'CREATE SCHEMA core;\n',
  'core/customers.sql': 'CREATE TABLE core.customers (id bigint PRIMARY KEY, name text NOT NULL);\n',
};
const SALES = {
  'sales/db.yaml': dbYaml('sales', 'dependsOn: [core]\n'),
  'sales/schema.sql': 'CREATE SCHEMA sales;\n',
  'sales/orders.sql':
    'CREATE TABLE sales.orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES core.customers (id));\n',
};
/** The release across both: core adds a column, a new view of sales reads it. */
const RELEASE = {
  'core/customers.sql':
    "CREATE TABLE core.customers (id bigint PRIMARY KEY, name text NOT NULL, region text NOT NULL DEFAULT 'eu');\n",
  'sales/region_orders.sql':
    'CREATE VIEW sales.region_orders AS SELECT c.region, count(*) AS orders FROM core.customers c JOIN sales.orders o ON o.customer_id = c.id GROUP BY c.region;\n',
};

/** Runs `deploy` for core's task, then sales's, in one process as the Nx batch executor does. */
async function nxTasks(w: TestWorkspace, options: Record<string, unknown>) {
  const pool = new SessionPool();
  const results: { code: number; out: string }[] = [];
  try {
    for (const project of ['core', 'sales']) {
      const chunks: string[] = [];
      const io = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
      const context = {
        workspaceRoot: w.root,
        stdout: io,
        stderr: io,
        env: { ...process.env, ...w.target.vars },
        interactive: false,
        fromNx: true,
        sessions: pool,
      };
      const code = await runDbeeCommand('deploy', { project, ...options } as { project: string }, context);
      results.push({ code, out: chunks.join('') });
    }
  } finally {
    await pool.close();
  }
  return results;
}

describe.each(ENGINES)('an Nx dry run of dependent projects [%s]', (engine) => {
  it("verifies the dependent on a copy holding what the dependency's task will make, and applies nothing", async () => {
    const w = await workspaceWith(engine, { ...CORE, ...SALES });
    onTestFinished(() => w.remove());

    // A first deployment: nothing of core's is on the target yet. (The same path as the release below: on PGlite,
    // whose every dry run builds an embedded copy, the release alone.)
    if (engine === 'postgres') await firstDeployment(w);

    // The real tasks deploy each project alone, the dependency first.
    const real = await nxTasks(w, {});
    for (const r of real) expect(r.code, r.out).toBe(0);
    expect(real[1]!.out).toContain('dbee deploy sales -> ');

    // A release across both projects.
    for (const [file, text] of Object.entries(RELEASE)) w.write(file, text);
    const deployed = await snapshot(w.target);
    const [, across] = await nxTasks(w, { dryRun: true });
    expect(across!.code, across!.out).toBe(0);
    expect(across!.out).toContain('core planned first, as their own Nx tasks deploy them before sales');
    expect(across!.out).toContain('create view:sales.region_orders');
    expect(across!.out).toMatch(/dry run: verified on a scratch copy .* and converged/);
    expect((await snapshot(w.target)).hash).toBe(deployed.hash);
  });
});

/** The Nx dry run of both projects on an empty target, with and without `--no-deps`: the target unchanged. */
async function firstDeployment(w: TestWorkspace) {
  const empty = await snapshot(w.target);
  // `--no-deps` keeps its meaning under Nx: the dependencies are not planned, and missing ones are named.
  const [, alone] = await nxTasks(w, { dryRun: true, withDependencies: false });
  expect(alone!.code, alone!.out).toBe(1);
  expect(alone!.out).toContain('sales depends on core, whose schema core is not on');
  const [coreDry, salesDry] = await nxTasks(w, { dryRun: true });
  expect(coreDry!.code, coreDry!.out).toBe(0);
  expect(salesDry!.code, salesDry!.out).toBe(0);
  expect(salesDry!.out).toContain('core planned first, as their own Nx tasks deploy them before sales');
  expect(salesDry!.out).toMatch(/dry run: verified on a scratch copy .* and converged/);
  expect(salesDry!.out).not.toContain('does not exist');
  expect((await snapshot(w.target)).hash).toBe(empty.hash);
}
