import { defineCommand } from './command';
import {
  assumeYes,
  concurrency,
  dryRun,
  env,
  labels,
  maxFailures,
  objectSelection,
  project,
  shard,
  ticket,
} from './common';
import { clock, flag, negatedFlag, text, textOrNumber } from './option';

export const rollbackCommand = defineCommand('rollback', {
  summary:
    'Undo the last deployment of a project on an environment, or go back to a deployment, a migration, a package or a git ref',
  description:
    'Undoes deployments of a dbee project on an environment, using the rollback steps recorded in its ledger.',
  options: {
    project,
    env,
    labels: labels(),
    shard: shard(),
    concurrency: concurrency('rolled back'),
    maxFailures: maxFailures(),
    dryRun: dryRun('Show the rollback plan without changing anything.'),
    verify: negatedFlag(
      "With --dry-run: run the rollback's steps, in the order the real run does, on a scratch copy of the target's schemas (structure, no data; with the other projects' views over what the steps change or drop) and refuse when a step fails there, or when the copy cannot be made (exit 1); `--no-verify` only prints the SQL.",
      { flag: 'no-verify' },
    ),
    assumeYes,
    ticket,
    to: textOrNumber(
      'Go back to this deployment id (every later deployment is undone, newest first; 0 undoes all) or migration version (V3). Default: undo the last deployment.',
      { value: '<id|Vversion>' },
    ),
    toRef: text('Go back to the sources at this git ref: the plan is the diff from the live database to them.', {
      value: '<ref>',
    }),
    package: text('Undo the deployment that applied this package folder (written by `dbee plan --out`).', {
      short: 'p',
      value: '<folder>',
    }),
    ...objectSelection(
      'Roll back only these objects (a glob over `kind:schema.name`, repeatable): each goes back to its state before the newest deployment that changed it, whichever that was; the objects deployed with it keep their new definitions. Refused (exit 1, naming them) when an object changed with it or later stands on it and is not selected too, or when the undo drops it (it had no earlier version) and anything stands on it (a view over it, a function whose body reads or calls it). Not with --to, --to-ref or --package.',
      'Roll back only the objects listed in this file: one key or glob per line, `#` starts a comment (relative to the workspace root).',
    ),
    withDependents: flag(
      'With --objects or --objects-from: roll back too what stands on the selected objects where they could not go back alone (named; dependents before what they stand on) instead of refusing.',
      { flag: 'with-dependents' },
    ),
    force: flag(
      'Accept what cannot be undone: steps without a reverse stay applied (recorded as skipped), data lost by the deployment stays lost, and drift since the last deployment is ignored.',
    ),
    emergency: flag(
      'Emergency rollback: no smoke checks, no countdown, maintenance windows bypassed; still the lock, the ledger and, on protected environments, --assume-yes.',
    ),
    report: text(
      'Write a JSON report of the rollback (status, the steps undone with their outcomes, the ticket, smoke checks, deployment ids) to this file, as `deploy --report` does (relative to the workspace root; any path you type is honoured, inside the workspace or not). Written whatever the outcome, a refusal included. On a fleet: the fleet report, one line per target, and a Markdown copy beside it (`.md`).',
      { value: '<file>' },
    ),
    now: clock(),
  },
});
