import { defineCommand } from './command';
import { assumeYes, dryRun, HAZARD_KINDS, project, ticket } from './common';
import { clock, list, text } from './option';

export const cloneCommand = defineCommand('clone', {
  summary:
    "Make a project's schemas on one environment equal to another environment's (a reviewed gap plan, recorded in the target's ledger)",
  description:
    "Makes a dbee project's schemas on the target environment equal to those of the source environment: the gap between the two live databases as a plan, refused when it has hazards the target does not allow, applied under the target's lock and gates, and recorded in the target's ledger as a deployment of kind clone.",
  options: {
    project,
    from: text('The environment to copy the schemas from (read only).', { value: '<env>' }),
    to: text('The environment to change (its gates and hazard settings apply).', { value: '<env>' }),
    dryRun: dryRun('Show the gap plan, with hazards, without changing anything.'),
    assumeYes,
    ticket,
    allowHazards: list(
      HAZARD_KINDS,
      "Hazards to accept for this run on top of the target's deploy.allowHazards, comma-separated.",
      { value: '<kinds>' },
    ),
    now: clock(),
  },
});
