import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Engine, SchemaScope } from '@dbee/core';
import { createPostgresEngine } from '@dbee/postgres';
import { registerEngine } from '../../packages/cli/src/engines';
import deployBatch from '../../plugins/nx/src/executors/deploy/deploy.batch';
import type { BatchTaskResult } from '../../plugins/nx/src/executors/run-batch';
import { dbYaml, ENGINES, snapshot, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { run } from '../support/run';
import { deployed, HAZARDS, projects, renameLabel } from '../runner/rewrite-shape';

/**
 * The verdict matrix's "dependent projects, one unchanged" in an Nx batch: `sales` depends on `core` and has a view
 * over core's table; a release changes core only, and one batch deploys both (core first). The drift stage of a
 * batch reads the catalog version once for its tasks, and a project whose recorded catalog version equals it is not
 * drifted without reading its fingerprint. Before, sales's task judged sales against the catalog as it was before
 * core's task deployed: it said "nothing to deploy" where `dbee deploy core` then `dbee deploy sales` (one process
 * each) refused. A verdict is the same in a batch and in one process per task: now, when core's release rewrites
 * sales's view in place and sales had not drifted, both make the view again from sales's sources.
 */

/**
 * `deploy` of `projects` in one Nx batch (the batch implementation Nx's batch runner calls, in this process: one
 * SessionPool for every task), each task after the one before it (default: sales after core). `after` runs after each
 * task, before the next. Each task's success and output.
 */
async function batch(
  w: TestWorkspace,
  after?: (task: string) => Promise<void>,
  projects = ['core', 'sales'],
  /** Options of every task besides the project and the hazards allowed (`{ dryRun: true }`). */
  options: Record<string, unknown> = {},
): Promise<Map<string, BatchTaskResult['result']>> {
  const ids = projects.map((p) => `db-${p}:deploy`);
  const graph = {
    roots: [ids[0]],
    tasks: Object.fromEntries(
      ids.map((id) => [id, { id, target: { project: id.split(':')[0], target: 'deploy' }, overrides: {} }]),
    ),
    dependencies: Object.fromEntries(ids.map((id, i) => [id, i ? [ids[i - 1]] : []])),
  } as unknown as TaskGraph;
  const inputs = Object.fromEntries(ids.map((id, i) => [id, { project: projects[i], ...HAZARDS, ...options }]));
  for (const [k, v] of Object.entries(w.target.vars)) vi.stubEnv(k, v);
  vi.stubEnv('NX_DEFAULT_OUTPUT_STYLE', 'static'); // no echo of core's output to the test's own
  const results = new Map<string, BatchTaskResult['result']>();
  try {
    const context = { root: w.root, cwd: w.root, isVerbose: false, taskGraph: graph } as ExecutorContext;
    for await (const r of (await deployBatch(
      graph,
      inputs as never,
      {} as never,
      context,
    )) as AsyncIterable<BatchTaskResult>) {
      results.set(r.task, r.result);
      await after?.(r.task);
    }
  } finally {
    vi.unstubAllEnvs();
  }
  return results;
}

/** The first `error:` line of an output, without what differs between a real run's and a dry run's ending. */
const errorLine = (out: string) => /^error: .*$/m.exec(out)?.[0];

/** The id of sales's newest deployment in the ledger. */
async function lastSalesDeployment(w: TestWorkspace): Promise<number> {
  const [row] = await w.target.query<{ id: number }>(
    "SELECT max(id)::int AS id FROM dbee.deployments WHERE project = 'sales'",
  );
  return row!.id;
}

describe.each(ENGINES)('a dependent project in an Nx batch after its dependency deployed [%s]', (engine) => {
  it("sales over core.t with *: core carries sales's state forward and sales makes its view again, in the batch as one process per task", async () => {
    // PostgreSQL rewrites sales's view in place (`t.name AS label`) when core renames the column; sales had not drifted,
    // so core's deployment carries its state forward (docs/environments.md), and sales's deployment makes the view again
    // from its sources (the hazard gate judges it: allowed here) instead of refusing dbee's own change as drift.
    const files = projects('CREATE VIEW sales.v AS SELECT * FROM core.t;\n');
    const warned = "warning: core: its steps rewrote sales's view:sales.v (sales/v.sql:1) in place";
    // One process per task: core deployed, then sales judged against the live catalog.
    const apart = await deployed(engine, files);
    renameLabel(apart);
    const core = await run(apart.root, 'deploy', { project: 'core', ...HAZARDS }, apart.target.vars);
    expect(core.code, core.stdout + core.stderr).toBe(0);
    expect(core.stderr).toContain(warned);
    const sales = await run(apart.root, 'deploy', { project: 'sales', ...HAZARDS }, apart.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(0);
    expect(sales.stdout).toMatch(/sales: deployed \d+ steps?/);

    // One batch: the same verdict for sales, and sales's view made again; its dry run first names the view.
    const w = await deployed(engine, files);
    const salesBefore = await lastSalesDeployment(w);
    renameLabel(w);
    const dry = await batch(w, undefined, ['core', 'sales'], { dryRun: true });
    expect(dry.get('db-core:deploy')!.success, dry.get('db-core:deploy')!.terminalOutput).toBe(true);
    expect(dry.get('db-core:deploy')!.terminalOutput).toContain(
      "warning: core: its steps rewrite sales's view:sales.v (sales/v.sql:1) in place",
    );
    expect(dry.get('db-sales:deploy')!.success, dry.get('db-sales:deploy')!.terminalOutput).toBe(true);
    const results = await batch(w);
    expect(results.get('db-core:deploy')!.success, results.get('db-core:deploy')!.terminalOutput).toBe(true);
    expect(results.get('db-core:deploy')!.terminalOutput).toContain(warned);
    const inBatch = results.get('db-sales:deploy')!;
    expect(inBatch.success, inBatch.terminalOutput).toBe(true);
    expect(inBatch.terminalOutput).toMatch(/sales: deployed \d+ steps?/);
    expect(await lastSalesDeployment(w)).toBeGreaterThan(salesBefore);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(
      (await snapshot(apart.target, { withLedger: false })).catalog,
    );
    // What the batch recorded is what a later process finds.
    for (const project of ['core', 'sales']) {
      const status = await run(w.root, 'status', { project }, w.target.vars);
      expect(status.stdout).toContain('  drift: no\n');
      expect(status.stdout).toContain('pending: nothing, up to date with the sources');
    }
    const later = await run(w.root, 'deploy', { project: 'sales', ...HAZARDS }, w.target.vars);
    expect(later.code, later.stdout + later.stderr).toBe(0);
    expect(later.stdout).toContain('sales: nothing to deploy');
  });

  it("sales over core's view, which loses a column sales does not read: nothing to deploy, in the batch as apart", async () => {
    // Core's deployment drops sales's view and makes it again around its own (diffing/other-dependents.ts): sales's
    // objects are as its ledger recorded them, and sales has nothing to deploy, in one process per task and in a batch.
    const files = {
      ...projects('CREATE VIEW sales.v AS SELECT id, label FROM core.v;\n'),
      'core/v.sql': 'CREATE VIEW core.v AS SELECT id, label, 1 AS one FROM core.t;\n',
    };
    const release = (w: TestWorkspace) =>
      w.write('core/v.sql', 'CREATE VIEW core.v AS SELECT id, label FROM core.t;\n');
    const apart = await deployed(engine, files);
    release(apart);
    const dry = await run(apart.root, 'deploy', { project: 'core', ...HAZARDS, dryRun: true }, apart.target.vars);
    expect(dry.stdout).toContain("with: drop and create view:sales.v (sales/v.sql:1), another project's");
    const core = await run(apart.root, 'deploy', { project: 'core', ...HAZARDS }, apart.target.vars);
    expect(core.code, core.stdout + core.stderr).toBe(0);
    expect(core.stdout).toMatch(/core: deployed 1 step/);
    const sales = await run(apart.root, 'deploy', { project: 'sales', ...HAZARDS }, apart.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(0);
    expect(sales.stdout).toContain('sales: nothing to deploy');

    const w = await deployed(engine, files);
    release(w);
    const results = await batch(w);
    expect(results.get('db-core:deploy')!.terminalOutput).toMatch(/core: deployed 1 step/);
    const inBatch = results.get('db-sales:deploy')!;
    expect(inBatch.success, inBatch.terminalOutput).toBe(true);
    expect(inBatch.terminalOutput).toContain('sales: nothing to deploy');
    const status = await run(w.root, 'status', { project: 'sales' }, w.target.vars);
    expect(status.stdout).toContain('drift: no');
    expect(status.stdout).toContain('pending: nothing, up to date with the sources');
  });

  it('sales naming the renamed column: the batch refuses its sources as one process per task does', async () => {
    const files = projects('CREATE VIEW sales.v AS SELECT id, label FROM core.t;\n');
    const apart = await deployed(engine, files);
    renameLabel(apart);
    expect((await run(apart.root, 'deploy', { project: 'core', ...HAZARDS }, apart.target.vars)).code).toBe(0);
    const sales = await run(apart.root, 'deploy', { project: 'sales', ...HAZARDS }, apart.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(1);
    expect(errorLine(sales.stderr)).toMatch(/^error: sales\/v\.sql:1: the sources do not build: view:sales\.v fails/);

    const w = await deployed(engine, files);
    const salesBefore = await lastSalesDeployment(w);
    renameLabel(w);
    const results = await batch(w);
    expect(results.get('db-core:deploy')!.success, results.get('db-core:deploy')!.terminalOutput).toBe(true);
    const inBatch = results.get('db-sales:deploy')!;
    expect(inBatch.success, inBatch.terminalOutput).toBe(false);
    expect(errorLine(inBatch.terminalOutput)).toBe(errorLine(sales.stderr));
    expect(await lastSalesDeployment(w)).toBe(salesBefore);
  });
});

// On PGlite the batch holds the embedded database for itself: no other session can change it between two tasks.
describe('a hand edit between two tasks of an Nx batch, after the first deployed [postgres]', () => {
  it('is refused in the later task, as one process per task refuses it', async () => {
    const files = projects('CREATE VIEW sales.v AS SELECT id, label FROM core.t;\n');
    // Core's release touches nothing of sales; the hand edit (another session) changes sales's view.
    const release = (w: TestWorkspace) => w.write('core/u.sql', 'CREATE TABLE core.u (id int PRIMARY KEY);\n');
    const edit = (w: TestWorkspace) =>
      w.target.execute('CREATE OR REPLACE VIEW sales.v AS SELECT id, label, 1 AS extra FROM core.t');

    const apart = await deployed('postgres', files);
    release(apart);
    expect((await run(apart.root, 'deploy', { project: 'core' }, apart.target.vars)).code).toBe(0);
    await edit(apart);
    const sales = await run(apart.root, 'deploy', { project: 'sales' }, apart.target.vars);
    expect(sales.code, sales.stdout + sales.stderr).toBe(1);
    expect(errorLine(sales.stderr)).toMatch(
      /^error: sales\/v\.sql:1: view:sales\.v was changed outside dbee since deployment #2\b/,
    );

    const w = await deployed('postgres', files);
    const salesBefore = await lastSalesDeployment(w);
    release(w);
    const results = await batch(w, async (task) => {
      if (task === 'db-core:deploy') await edit(w);
    });
    expect(results.get('db-core:deploy')!.terminalOutput).toMatch(/core: deployed 1 step/);
    const inBatch = results.get('db-sales:deploy')!;
    expect(inBatch.success, inBatch.terminalOutput).toBe(false);
    expect(errorLine(inBatch.terminalOutput)).toBe(errorLine(sales.stderr));
    expect(await lastSalesDeployment(w)).toBe(salesBefore);
    const [view] = await w.target.query<{ d: string }>("SELECT pg_get_viewdef('sales.v') AS d");
    expect(view!.d).toContain('extra');
  });
});

/**
 * The schemas of each live fingerprint the postgres engine reads (`DiffRole.fingerprint`, and each scope of
 * `DiffRole.fingerprints`) while `counting()` says so.
 */
function fingerprintReads(counting: () => boolean): string[] {
  const read: string[] = [];
  const note = (scope: SchemaScope) => counting() && read.push(scope.schemas.join(','));
  unregister = registerEngine('postgres', () => {
    const engine = createPostgresEngine();
    const diff = engine.diff!;
    return {
      ...engine,
      diff: {
        ...diff,
        fingerprint: (conn, scope, format) => (note(scope), diff.fingerprint(conn, scope, format)),
        fingerprints: (conn, scopes) => (scopes.forEach(note), diff.fingerprints(conn, scopes)),
      },
    } satisfies Engine;
  });
  return read;
}

let unregister = () => {};
afterEach(() => unregister());

describe.each(ENGINES)('the live fingerprints an Nx batch reads after a task deployed [%s]', (engine) => {
  const names = ['p0', 'p1', 'p2', 'p3'];
  const table = (n: string, columns: string) => `CREATE TABLE ${n}.t (id int PRIMARY KEY${columns});\n`;

  it("are read once per later task's project, whether every task deploys or only the first", async () => {
    const w = await workspaceWith(
      engine,
      Object.assign(
        {},
        ...names.map((n) => ({
          [`${n}/db.yaml`]: dbYaml(n),
          [`${n}/schema.sql`]: `CREATE SCHEMA ${n};\n`,
          [`${n}/t.sql`]: table(n, ''),
        })),
      ),
    );
    onTestFinished(() => w.remove());
    for (const r of (await batch(w, undefined, names)).values()) expect(r.success, r.terminalOutput).toBe(true);
    // Counted from the end of the first task to the end of the last (the batch's end reads the recorded ones).
    let counting = false;
    const read = fingerprintReads(() => counting);
    const count = async (task: string) => {
      counting = task !== `db-${names.at(-1)}:deploy`;
    };

    // Every task deploys: each later task reads its own project's fingerprint (the catalog moved since it was
    // recorded), and no other; before, each read every later project's again.
    for (const n of names) w.write(`${n}/t.sql`, table(n, ', a int'));
    for (const r of (await batch(w, count, names)).values()) expect(r.terminalOutput).toMatch(/deployed 1 step/);
    expect(read.sort()).toEqual(['p1', 'p2', 'p3']);

    // Only the first deploys: the second task reads its own, the third the rest in one read, the fourth none.
    read.length = 0;
    w.write('p0/t.sql', table('p0', ', a int, b int'));
    const results = await batch(w, count, names);
    expect(results.get('db-p0:deploy')!.terminalOutput).toMatch(/deployed 1 step/);
    for (const n of names.slice(1))
      expect(results.get(`db-${n}:deploy`)!.terminalOutput).toContain('nothing to deploy');
    expect(read.sort()).toEqual(['p1', 'p2', 'p3']);
  });
});
