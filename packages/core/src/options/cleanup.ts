import { defineCommand } from './command';
import { assumeYes, dryRun, env, project, ticket } from './common';
import { clock, text } from './option';

export const cleanupCommand = defineCommand('cleanup', {
  summary: "Drop the backups a project's deployments kept (ifExists: rename) once they are past their retention",
  description:
    "Drops the backups that a dbee project's deployments recorded in the ledger (and only those) once they are older than the environment's gates.backupRetention, under the deployment lock and the environment's gates; recorded as a deployment of kind cleanup.",
  options: {
    project,
    env,
    olderThan: text(
      "Drop backups older than this (`30d`, `12h`, `90m`) instead of the environment's gates.backupRetention.",
      { value: '<duration>' },
    ),
    dryRun: dryRun('List the backups and which would be dropped, without changing anything.'),
    assumeYes,
    ticket,
    now: clock(),
  },
});
