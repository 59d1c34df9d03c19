/**
 * The files of a plugin that infers what @dbee/nx infers, except that its `deploy` target runs a batch implementation
 * that does nothing (every task succeeds at once, no output): in a workspace of the same projects, `nx run-many -t
 * deploy` then costs what Nx itself costs to build the same graph, hash the same inputs, start a batch worker and feed
 * it the tasks, without any of dbee's work in that worker. tools/bench-monorepo.ts measures it beside dbee's no-op
 * deploy (issue 75 item 5): dbee / it is the batch worker's dbee part; it / Nx's overhead (`nx:noop` tasks, no
 * plugin) is what is left to Nx and the plugin's graph.
 *
 * The executor is named by the absolute path of its folder (`/…/noop-batch:deploy`): Nx resolves `<module>:<name>`
 * with `require.resolve('<module>/package.json')`, which takes an absolute path, so the folder needs no package link.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..');

/** Files (path relative to the workspace root -> text) of the plugin, in `noop-batch/` of the workspace at `root`. */
export function noopBatchPluginFiles(root: string): Record<string, string> {
  const dir = join(root, 'noop-batch');
  const schema = readFileSync(join(REPO, 'plugins', 'nx', 'src', 'executors', 'deploy', 'schema.json'), 'utf8');
  return {
    'noop-batch/package.json': '{ "name": "noop-batch", "private": true, "executors": "./executors.json" }\n',
    'noop-batch/executors.json': `${JSON.stringify(
      {
        executors: {
          deploy: {
            implementation: './impl.js',
            batchImplementation: './batch.js',
            preferBatch: true,
            schema: './schema.json',
            description: 'Does nothing (a floor for the monorepo benchmark).',
          },
        },
      },
      null,
      2,
    )}\n`,
    // The same options as dbee's deploy (Nx validates each task's options against the schema).
    'noop-batch/schema.json': schema,
    'noop-batch/impl.js': 'exports.default = async () => ({ success: true });\n',
    'noop-batch/batch.js': `exports.default = async function* (_taskGraph, inputs) {
  for (const task of Object.keys(inputs)) {
    const now = Date.now();
    yield { task, result: { success: true, terminalOutput: '', startTime: now, endTime: now } };
  }
};
`,
    'noop-batch/plugin.js': `const dbee = require('@dbee/nx');
const EXECUTOR = ${JSON.stringify(`${dir}:deploy`)};
exports.name = 'noop-batch';
exports.createDependencies = dbee.createDependencies;
exports.createNodes = exports.createNodesV2 = [
  dbee.createNodes[0],
  async (files, options, context) =>
    (await dbee.createNodes[1](files, options, context)).map(([file, result]) => [
      file,
      {
        ...result,
        projects: Object.fromEntries(
          Object.entries(result.projects ?? {}).map(([root, p]) => [
            root,
            { ...p, targets: { ...p.targets, deploy: { ...p.targets.deploy, executor: EXECUTOR } } },
          ]),
        ),
      },
    ]),
];
`,
  };
}
