import { defineCommand } from './command';
import { assumeYes, dryRun, env, project, ticket } from './common';
import { clock, flag, positional } from './option';

const object = positional(
  'The routine: its key (`function:sales.order_total(bigint)`) or its name (`sales.order_total`) when only one routine has it.',
);

export const disableCommand = defineCommand('disable', {
  summary:
    'Make a routine uncallable fast: revoke EXECUTE from PUBLIC and every role but its owner (or rename it aside)',
  description:
    'Makes a routine of a dbee project uncallable on an environment, fast: revokes EXECUTE from PUBLIC and every role but its owner, or renames it aside.',
  options: {
    project,
    object,
    env,
    dryRun: dryRun(
      'Show what would be revoked or renamed and check the gates (ticket, maintenance window, protection), without changing anything.',
    ),
    assumeYes,
    ticket,
    rename: flag('Rename the routine aside instead of revoking EXECUTE.'),
    now: clock(),
  },
});

export const enableCommand = defineCommand('enable', {
  summary: 'Undo `dbee disable` of a routine: give back exactly the grants it revoked (or rename it back)',
  description: 'Undoes `disable` of a routine: gives back exactly the grants it revoked, or renames it back.',
  options: {
    project,
    object,
    env,
    dryRun: dryRun(
      'Show what would be granted back or renamed and check the gates (ticket, maintenance window, protection), without changing anything.',
    ),
    assumeYes,
    ticket,
  },
});
