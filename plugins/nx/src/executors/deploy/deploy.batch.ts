import type { TaskGraphExecutor } from '@nx/devkit';
import { runBatch } from '../run-batch';
import type { CommandInput } from '@dbee/core';

/**
 * `@dbee/nx:deploy` for many projects in one process (executors.json: `batchImplementation`, `preferBatch`):
 * `nx affected -t deploy --env=test` deploys every affected project in dependency order, one after the other,
 * with each environment's lock and connection taken once for the whole batch. A project whose dependency failed
 * in the batch is not deployed; each task keeps its own result and output. Under `nx run db-x:deploy`, the output
 * of each dependency's deployment is shown too (run-batch.ts, dependenciesToEcho): operators read it.
 */
const deployBatch: TaskGraphExecutor<CommandInput<'deploy'>> = async (taskGraph, inputs, _overrides, context) =>
  runBatch('deploy', taskGraph, inputs, context, undefined, { echoDependencies: true });

export default deployBatch;
