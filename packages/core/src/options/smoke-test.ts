import { defineCommand } from './command';
import { concurrency, env, labels, project, shard, textOrJson } from './common';

export const smokeTestCommand = defineCommand('smoke-test', {
  summary: 'Run the smoke checks of a project against an environment (each in a transaction that is rolled back)',
  description: 'Runs the smoke checks of a dbee project against the objects deployed on an environment.',
  options: {
    project,
    env,
    format: textOrJson(),
    labels: labels(),
    shard: shard(),
    concurrency: concurrency('checked'),
  },
});
