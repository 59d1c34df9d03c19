import type { TaskGraphExecutor } from '@nx/devkit';
import { runBatch } from '../run-batch';
import { diffCacheGuard, fingerprintWired } from './diff-cache-guard';
import type { CommandInput } from '@dbee/core';

/**
 * `@dbee/nx:diff` for many projects in one process (executors.json: `batchImplementation`, `preferBatch`).
 * 200 forked diffs take minutes of process start-up; one batch takes seconds. Each task still gets its own
 * result and terminal output, so Nx caches and replays them one by one.
 */
const diffBatch: TaskGraphExecutor<CommandInput<'diff'>> = async (taskGraph, inputs, _overrides, context) => {
  const wired = fingerprintWired();
  return runBatch('diff', taskGraph, inputs, context, (nxProject) =>
    diffCacheGuard({ workspaceRoot: context.root, nxProject, env: process.env, fingerprintWired: wired }),
  );
};

export default diffBatch;
