import { defineCommand } from './command';
import { assumeYes, dryRun, env, project, textOrJson, ticket } from './common';
import { negatedFlag, text } from './option';

export const completeCommand = defineCommand('complete', {
  summary: 'Finish an expand-contract release: the old version schema, sync triggers and old columns go',
  description:
    "Contract phase of a release deployed with `--strategy expand-contract`: validates the constraints added NOT VALID, sets NOT NULL, swaps the new columns in and drops the old ones, renames what was renamed, drops the sync triggers and the previous release's version schema. Run it once no application uses the previous version. Resumes where it stopped after a kill.",
  options: {
    project,
    env,
    assumeYes,
    ticket,
    dryRun: dryRun(
      'Print the statements of the contract phase and check the gates (ticket, maintenance window, protection, backup), without running anything.',
    ),
    verify: negatedFlag(
      "With --dry-run: apply the statements to a scratch copy of the target's schemas as they are (expanded) and refuse when one fails there, or when the copy cannot be made (exit 1); `--no-verify` only prints them.",
      { flag: 'no-verify' },
    ),
  },
});

export const abortCommand = defineCommand('abort', {
  summary: 'Undo the expand phase of an expand-contract release: drop only what it added',
  description:
    'Undoes a release deployed with `--strategy expand-contract` that is not complete: drops its version schema, sync triggers, shadow and added columns and the constraints it added. Rows written through the new version since are kept, in the old columns (through the `down` expressions). Resumes where it stopped after a kill.',
  options: {
    project,
    env,
    assumeYes,
    ticket,
    dryRun: dryRun(
      'Print the statements that undo the expand phase and check the gates (ticket, maintenance window, protection), without running anything.',
    ),
    verify: negatedFlag(
      "With --dry-run: apply the statements to a scratch copy of the target's schemas as they are (expanded) and refuse when one fails there, or when the copy cannot be made (exit 1); `--no-verify` only prints them.",
      { flag: 'no-verify' },
    ),
  },
});

export const versionCommand = defineCommand('version', {
  summary: 'Print the search path and the setting an application uses to pick a version of a project',
  description:
    'Prints what an application sets to use a version of a project deployed with `--strategy expand-contract`: the search path of its version schemas and the `dbee.version` setting. Default: the newest version (the release in flight, else the last completed one).',
  options: {
    project,
    env,
    release: text('The release whose version to print (a release in flight or the last completed one).', {
      value: '<release>',
    }),
    format: textOrJson(),
  },
});
