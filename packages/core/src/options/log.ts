import { defineCommand } from './command';
import { env, project, textOrJson } from './common';

export const logCommand = defineCommand('log', {
  summary:
    'List the deployments of a project on an environment: when, what, who, commit, ticket, result, steps, smoke checks',
  description:
    'Prints the deployment log of a dbee project on an environment from its ledger, newest first: time, package or sources (plan checksum), who ran it, the commit, the change ticket, the result, the duration, the steps and the smoke results.',
  options: { project, env, format: textOrJson() },
});
