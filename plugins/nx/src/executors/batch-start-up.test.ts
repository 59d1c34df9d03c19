import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../../../test/support/pg';
import { oneTableProject, tempWorkspace, URL_TEST_WORKSPACE_YAML } from '../../../../test/support/workspace';

const REPO = join(__dirname, '..', '..', '..', '..');
const BATCH = join(REPO, 'plugins', 'nx', 'dist', 'executors', 'deploy', 'deploy.batch.js');

/**
 * An Nx batch worker of `deploy` (the compiled batch implementation, as installed, called as Nx's batch runner calls
 * it) deploying `projects` of the workspace at `root`, one task each: its output and the modules it loaded (files, and
 * the modules of the bundles it evaluated), relative to the repository.
 */
function batchRun(root: string, projects: string[], env: NodeJS.ProcessEnv) {
  const tasks = Object.fromEntries(
    projects.map((p) => [`db-${p}:deploy`, { id: `db-${p}:deploy`, target: { project: `db-${p}`, target: 'deploy' } }]),
  );
  const taskGraph = {
    roots: Object.keys(tasks),
    tasks,
    dependencies: Object.fromEntries(projects.map((p) => [`db-${p}:deploy`, []])),
  };
  const inputs = Object.fromEntries(projects.map((p) => [`db-${p}:deploy`, { project: p }]));
  const probe = `(async () => {
  const batch = require(${JSON.stringify(BATCH)}).default;
  const graph = ${JSON.stringify(taskGraph)};
  for await (const r of await batch(graph, ${JSON.stringify(inputs)}, {}, { root: ${JSON.stringify(root)}, taskGraph: graph }))
    process.stdout.write(r.task + ' ' + r.result.success + '\\n' + r.result.terminalOutput);
  // The files Node loaded and the modules of the packages' bundles it evaluated (tools/bundle.js), by dist/ file.
  const bundled = globalThis[Symbol.for('dbee.bundledModules')] ?? [];
  process.stderr.write('\\nMODULES ' + JSON.stringify([...new Set([...Object.keys(require.cache), ...bundled])]));
})();`;
  const r = spawnSync(process.execPath, ['-e', probe], {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, DBEE_USE_DIST: '1', ...env },
  });
  const list = /\nMODULES (.*)$/.exec(r.stderr)?.[1];
  if (!list) throw new Error(`no module list from the batch:\n${r.stdout}${r.stderr}`);
  return { output: r.stdout, modules: (JSON.parse(list) as string[]).map((f) => relative(REPO, f)) };
}

describe('an Nx batch worker of deploy loads what its command runs', () => {
  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup = [];
  });

  it("deploys with neither core's index nor the CLI's (each loads every module of core), nor zod once its configuration is cached", async () => {
    const db = await scratchDatabase();
    cleanup.push(() => db.drop());
    const w = tempWorkspace({
      'dbee.yaml': URL_TEST_WORKSPACE_YAML,
      ...oneTableProject('sales'),
      ...oneTableProject('stock'),
    });
    cleanup.push(w.remove);
    const run = batchRun(w.root, ['sales', 'stock'], { URL_TEST: db.url });
    expect(run.output).toMatch(/db-sales:deploy true\n[\s\S]*sales: deployed 2 steps/);
    expect(run.output).toMatch(/db-stock:deploy true\n[\s\S]*stock: deployed 2 steps/);
    expect(run.modules).toContain('packages/core/dist/operations/deploy.js');
    expect(run.modules).not.toContain('packages/core/dist/index.js');
    expect(run.modules).not.toContain('packages/cli/dist/index.js');
    // Again, nothing to deploy: the workspace's configuration is read from .dbee/cache (validated when the first run
    // wrote it), and valid options are checked without zod, as the CLI checks them.
    const again = batchRun(w.root, ['sales', 'stock'], { URL_TEST: db.url });
    expect(again.output).toMatch(/db-sales:deploy true\n[\s\S]*sales: nothing to deploy/);
    expect(again.modules).not.toContain('packages/core/dist/index.js');
    expect(again.modules.filter((f) => /node_modules\/zod\/.*\.c?js$/.test(f))).toEqual([]);
  });
});
