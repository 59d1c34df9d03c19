import type { TaskGraphExecutor } from '@nx/devkit';
import { runBatch } from '../run-batch';
import { diffCacheGuard, fingerprintWired } from './diff-cache-guard';
import schema from './schema.json';
import type { DiffExecutorOptions } from './schema';

/**
 * `@dbee/nx:diff` for many projects in one process (executors.json: `batchImplementation`, `preferBatch`).
 * 200 forked diffs take minutes of process start-up; one batch takes seconds. Each task still gets its own
 * result and terminal output, so Nx caches and replays them one by one.
 */
const diffBatch: TaskGraphExecutor<DiffExecutorOptions> = async (taskGraph, inputs, _overrides, context) => {
  const wired = fingerprintWired();
  return runBatch('diff', schema, taskGraph, inputs, context, (nxProject) =>
    diffCacheGuard({ workspaceRoot: context.root, nxProject, env: process.env, fingerprintWired: wired }),
  );
};

export default diffBatch;
