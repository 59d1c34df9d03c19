import { defineCommand } from './command';
import { concurrency, env, labels, objectSelection, project, shard, textOrJson } from './common';

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
    ...objectSelection(
      'Run only the checks that name the objects matching this glob over `kind:schema.name` (repeatable), and the smoke baseline of those objects and of the views over them. A glob that matches no object the ledger records is refused (exit 1).',
      'Run only the checks of the objects listed in this file: one key or glob per line, `#` starts a comment (relative to the workspace root).',
    ),
  },
});
