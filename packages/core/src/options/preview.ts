import { defineCommand } from './command';
import { appQueries, project } from './common';
import { choiceWithDefault, clock, flag, positionalChoice, text } from './option';

/** What `dbee preview` does: the second positional argument, after the project. */
export const PREVIEW_ACTIONS = ['create', 'drop', 'list', 'cleanup'] as const;

export const previewCommand = defineCommand('preview', {
  summary:
    "A database per pull request: create one from an environment's structure and deploy the branch to it, list, drop, clean up",
  description:
    "`create`: makes a preview database beside the environment's (a database on its server, or a folder of embedded PGlite ones), clones the structure of the project and its dependencies from the environment into it (kind clone, with the migrations the environment has run), runs `preview.seed`, checks the application's queries against the branch when a query source is set, deploys the branch's sources through the normal deployment, runs the smoke checks and prints a report. Run again for the same name, it deploys the new commit of the branch to the preview it made. `drop`: drops the preview `--name`. `list`: the previews beside the environment, oldest first. `cleanup`: drops previews older than `preview.maxAge` and the oldest beyond `preview.maxCount` (dbee.yaml). Only databases and folders named with `preview.prefix` and carrying dbee's preview record are ever dropped.",
  options: {
    project,
    action: positionalChoice(PREVIEW_ACTIONS, 'What to do: create (or update), drop, list or cleanup.'),
    env: text(
      "The environment the preview is made from and beside (its server, or its embedded folder). Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`.",
      { short: 'e', value: '<name>' },
    ),
    name: text(
      "The preview's name: the branch or pull request, e.g. `pr-42` or `feature/login` (lower-cased, anything but letters and digits made `_`, prefixed with `preview.prefix`). Required by create and drop.",
      { value: '<branch>' },
    ),
    queries: appQueries(),
    dryRun: flag('cleanup: list what would be dropped, and drop nothing.'),
    format: choiceWithDefault(
      ['text', 'json'],
      'text',
      'Output format of the report and the list: text for people, json for scripts.',
    ),
    now: clock(),
  },
});
