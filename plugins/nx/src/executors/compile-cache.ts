import { isMainThread } from 'node:worker_threads';
import { enableCompileCache } from '@dbee/core/compile-cache';

/** Nx's scripts of a task process, under `nx/dist/` (Nx 24) or `nx/` (older layouts), with either separator. */
const NX_TASK_SCRIPT =
  /[\\/]nx[\\/](?:dist[\\/])?(?:src[\\/]tasks-runner[\\/]batch[\\/]run-batch|bin[\\/]run-executor)\.js$/;

/**
 * Whether this process is one Nx started to run tasks: the worker of a batch executor (its main script Nx's
 * `tasks-runner/batch/run-batch.js`) or the process of one task (`bin/run-executor.js`), each forked by Nx with
 * `NX_FORKED_TASK_EXECUTOR=true`. Both are needed: every process such a task starts inherits the variable (a Vitest run
 * under `nx test`, and its workers), and the script says which process Nx forked. Not a worker thread (V8's flags are
 * the whole process's), nor Nx's own process, its daemon or its plugin workers (other scripts).
 * Known limit: a program that another executor runs inside its task process (Jest in band under `@nx/jest`) and that
 * loads these executors gets the flag too.
 */
export function isNxTaskProcess(
  main: string | undefined = process.argv[1],
  env: NodeJS.ProcessEnv = process.env,
  mainThread: boolean = isMainThread,
): boolean {
  return mainThread && env['NX_FORKED_TASK_EXECUTOR'] === 'true' && main !== undefined && NX_TASK_SCRIPT.test(main);
}

// Imported first by the executors' modules: the compiled code of what they load next (@dbee/core, @dbee/cli, the
// engines and their drivers) is kept between Nx processes (Node 22's compile cache, or @dbee/core's on Node 20).
// In a process Nx started to run tasks, WebAssembly runs at V8's baseline compiler, as in the dbee command's
// (`--liftoff-only`, packages/cli/bin/dbee.js: libpg-query's module and PGlite's). Nowhere else: this module also loads
// where the executors run in another program's process (a test worker, a script), and the flag would then hold for
// that whole process (docs/performance.md, "WebAssembly at its baseline compiler").
// test/nx-cache/task-process-flags.test.ts observes it in a real `nx` run.
enableCompileCache(isNxTaskProcess() ? { v8Flags: ['--liftoff-only'] } : {});
