/**
 * Planner benchmark (issue #3): generate a project of 10,000 objects, then measure parsing, graphing and planning
 * it, with peak memory. Prints the figures next to the goal (< 2 s, < 500 MB) and next to the floor: libpg-query
 * parsing the same files with nothing else.
 *
 *   npm run bench:planner            # 10,000 objects
 *   npm run bench:planner -- 2000    # another size
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fg from 'fast-glob';
import { Workspace, loadProjectModel, planFromSources } from '@dbee/core';
import { createPostgresEngine, loadPostgresParser } from '@dbee/postgres';
import { generateProject } from './bench/generate';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10_000);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-planner-'));
  try {
    require('node:fs').writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: memory }\n',
    );
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: n });
    await loadPostgresParser();
    const engine = createPostgresEngine();

    // Floor: the parser alone over the same files.
    const libpg = require('libpg-query') as typeof import('libpg-query');
    const files = fg.sync('**/*.sql', { cwd: join(root, 'gen'), absolute: true }).sort();
    let t = performance.now();
    for (const f of files) libpg.parseSync(readFileSync(f, 'utf8'));
    const floorMs = performance.now() - t;

    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    t = performance.now();
    const workspace = Workspace.load(root);
    const environment = workspace.environment('local', {});
    const project = workspace.project('gen');
    const model = await loadProjectModel(
      root,
      project,
      workspace.settings(project, environment).variables,
      engine.parser,
      workspace.projects,
    );
    const tParsed = performance.now();
    const plan = planFromSources({
      engine,
      models: [model],
      planned: ['gen'],
      schemaOwners: new Map(model.graph.schemas.map((s) => [s, 'gen'])),
    });
    const total = performance.now() - t;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);

    const mb = (b: number) => (b / 1024 / 1024).toFixed(0);
    console.log(
      `dbee planner benchmark: ${gen.objects} objects in ${gen.files} files (node ${process.version}, ${require('node:os').cpus().length} CPUs)`,
    );
    console.log(`  floor (libpg-query parse only)   ${floorMs.toFixed(0).padStart(6)} ms`);
    console.log(`  discover + parse + references    ${(tParsed - t).toFixed(0).padStart(6)} ms`);
    console.log(`  graph + order + plan             ${(t + total - tParsed).toFixed(0).padStart(6)} ms`);
    console.log(
      `  total                            ${total.toFixed(0).padStart(6)} ms   goal < 2000 ms   ${total < 2000 ? 'MET' : 'NOT MET'}   (${(total / floorMs).toFixed(2)}x the parse floor)`,
    );
    console.log(
      `  peak RSS                         ${mb(peak).padStart(6)} MB   goal < 500 MB    ${peak < 500 * 1024 * 1024 ? 'MET' : 'NOT MET'}`,
    );
    console.log(`  plan: ${plan.steps.length} steps`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
