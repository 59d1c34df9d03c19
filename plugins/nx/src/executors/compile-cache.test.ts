import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { isNxTaskProcess } from './compile-cache';

// Which processes the executors give `--liftoff-only` (compile-cache.ts): Nx's task processes only. V8's flags are
// observed through `v8.cachedDataVersionTag()`, which V8 derives from them (a flag set at run time changes it). A real
// `nx run` is observed in test/nx-cache/task-process-flags.test.ts.
const REPO = join(__dirname, '..', '..', '..', '..');
const DIST = join(REPO, 'plugins', 'nx', 'dist', 'executors');

/** The tag of a new Node process with `execArgv` that runs `script` first (the compiled dist/, as installed). */
function tagOf(execArgv: readonly string[], script = '', env: NodeJS.ProcessEnv = {}): number {
  const code = `${script};process.stdout.write(String(require('node:v8').cachedDataVersionTag()))`;
  return Number(execFileSync(process.execPath, [...execArgv, '-e', code], { env: { ...process.env, ...env } }));
}

afterEach(() => vi.unstubAllEnvs());
afterAll(() => vi.resetModules());

describe('the executors set --liftoff-only in the processes Nx starts to run tasks, nowhere else', () => {
  const nx = '/ws/node_modules/nx/dist';
  const forked = { NX_FORKED_TASK_EXECUTOR: 'true' };

  it('a batch worker and a task process of Nx (its scripts, with the variable Nx sets in them) are; others are not', () => {
    expect(isNxTaskProcess(`${nx}/src/tasks-runner/batch/run-batch.js`, forked, true)).toBe(true);
    expect(isNxTaskProcess(`${nx}/bin/run-executor.js`, forked, true)).toBe(true);
    expect(isNxTaskProcess('C:\\ws\\node_modules\\nx\\dist\\bin\\run-executor.js', forked, true)).toBe(true);
    // pnpm's layout, and Nx's before dist/.
    expect(
      isNxTaskProcess('/ws/node_modules/.pnpm/nx@24.0.6/node_modules/nx/dist/bin/run-executor.js', forked, true),
    ).toBe(true);
    expect(isNxTaskProcess('/ws/node_modules/nx/src/tasks-runner/batch/run-batch.js', forked, true)).toBe(true);
    // A worker thread of that process (V8's flags are the process's), and Nx's script without Nx's variable.
    expect(isNxTaskProcess(`${nx}/bin/run-executor.js`, forked, false)).toBe(false);
    expect(isNxTaskProcess(`${nx}/bin/run-executor.js`, {}, true)).toBe(false);
    // Processes a task starts inherit the variable: a Vitest worker under `nx test`, a script, the dbee command.
    for (const main of [
      '/ws/node_modules/vitest/dist/workers/forks.js',
      '/ws/node_modules/tinypool/dist/entry/process.js',
      '/ws/scripts/run-batch.js',
      '/ws/node_modules/@dbee/cli/bin/dbee.js',
      // Nx's own processes: the command, its plugin workers, its daemon.
      `${nx}/bin/nx.js`,
      `${nx}/src/project-graph/plugins/isolation/plugin-worker.js`,
      `${nx}/src/daemon/server/start.js`,
    ])
      expect(isNxTaskProcess(main, forked, true), main).toBe(false);
    expect(isNxTaskProcess(undefined, forked, true)).toBe(false);
  });

  it('a process that only loads the executors keeps V8`s flags, even with Nx`s variable inherited', () => {
    const plain = tagOf([]);
    const load = `require(${JSON.stringify(join(DIST, 'deploy', 'deploy.batch.js'))});require(${JSON.stringify(join(DIST, 'status', 'status.impl.js'))})`;
    expect(tagOf([], load, { NX_FORKED_TASK_EXECUTOR: 'true' })).toBe(plain);
    // What the tag is with the flag: another value (else this test could not fail).
    expect(tagOf([], "require('node:v8').setFlagsFromString('--liftoff-only')")).not.toBe(plain);
  });

  it('this test worker, having loaded the executors afresh and run a batch, has the flags it started with', async () => {
    // A Vitest run under `nx test` inherits the variable; the worker's script is Vitest's.
    vi.stubEnv('NX_FORKED_TASK_EXECUTOR', 'true');
    // The tag of a process started as this worker was: an earlier file that set the flag here shows too.
    const started = tagOf(process.execArgv);
    vi.resetModules(); // compile-cache.ts evaluated again, as in a worker that had not loaded it yet
    const { runBatch } = await import('./run-batch');
    await import('./deploy/deploy.impl');
    const graph = { roots: [], tasks: {}, dependencies: {} } as unknown as TaskGraph;
    for await (const _ of runBatch('deploy', graph, {}, { root: REPO, cwd: REPO } as ExecutorContext)) {
      // no tasks
    }
    expect(cachedDataVersionTag()).toBe(started);
  });
});
