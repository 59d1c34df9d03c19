import { defineCommand } from './command';
import { env, labels, objectSelection, project, shard, textOrJson } from './common';

export const statusCommand = defineCommand('status', {
  summary: 'Show the last deployment, pending changes and ledger metrics of a project on an environment',
  description: "Shows a dbee project's deployments, pending changes, drift and ledger metrics on an environment.",
  options: { project, env, format: textOrJson(), ...objectSelection(), labels: labels(), shard: shard() },
});
