import type { TaskGraphExecutor } from '@nx/devkit';
import { runBatch } from '../run-batch';
import type { CommandInput } from '@dbee/core';

/**
 * `@dbee/nx:build` for many projects in one process (executors.json: `batchImplementation`, `preferBatch`):
 * `nx run-many -t build` (and every `diff`, which depends on its project's build) builds all requested desired
 * models one after the other, dependencies first, with one shadow database per environment reused (wiped) from
 * task to task instead of a fork and a fresh shadow per project (13-33 s and 0.5-1 GB each on a 200-project
 * monorepo). Each task keeps its own result, output folder and cache entry.
 */
const buildBatch: TaskGraphExecutor<CommandInput<'build'>> = async (taskGraph, inputs, _overrides, context) =>
  runBatch('build', taskGraph, inputs, context);

export default buildBatch;
