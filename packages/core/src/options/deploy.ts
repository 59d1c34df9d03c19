import { defineCommand } from './command';
import {
  assumeYes,
  CONFLICT_STRATEGIES,
  concurrency,
  STRATEGIES,
  dryRun,
  env,
  HAZARD_KINDS,
  labels,
  maxFailures,
  project,
  shard,
  ticket,
  selection,
} from './common';
import { choice, clock, count, flag, list, negatedFlag, seconds, tableName, text } from './option';

export const deployCommand = defineCommand('deploy', {
  summary: 'Deploy a project (and, outside Nx, its dependencies first) to an environment',
  description: 'Deploys a dbee project to an environment: plan, gates, confirmation, steps, ledger, smoke checks.',
  options: {
    project,
    env,
    dryRun: dryRun(
      'Print the plan and the exact SQL that would run, and run the gates, without changing anything: no DDL, no ledger rows.',
    ),
    assumeYes,
    ticket,
    verify: negatedFlag(
      "With --dry-run: apply the plan to a scratch copy of the target's schemas (structure, no data) and refuse when a step fails there, or when the copy cannot be made (exit 1); `--no-verify` only prints the plan.",
      { flag: 'no-verify' },
    ),
    testRollback: flag(
      "With --dry-run: on the scratch copy, deploy the plan, roll it back by the code `dbee rollback` runs, and refuse (exit 1) when the copy is not as it was before (every object, grant and comment, and a sample of the target's rows of the tables the release touches), when a step would lose data without a backup, or when the rollback takes longer than `verify.rollbackWithin` (default 5m); prints the rollback's time and each step's share (docs/rollback-readiness.md). Default: the environment's `verify.rollback`.",
    ),
    queries: text(
      "With --dry-run: check the running application's queries against the plan (a .sql file or folder, a PostgreSQL .csv log, or the engine's statement statistics by name, `<name>[:<env>]`: docs/compat.md). Default: the environment's `compat.queries`.",
      { value: '<source>' },
    ),
    newQueries: text(
      "With --dry-run and a query source: the new application version's queries (the same kinds of source), checked after the plan only: each must work on the new schema (with --strategy expand-contract, through the new version schema). Default: the environment's `compat.newQueries`.",
      { value: '<source>' },
    ),
    dbt: text(
      "With --dry-run: check the dbt project whose manifest this is (`target/manifest.json`) against the plan: every model, snapshot, test and exposure that reads what the plan drops, renames or retypes (see docs/dbt.md). Default: the project's or workspace's `check.dbt.manifest`.",
      { value: '<manifest.json>' },
    ),
    waitForLock: seconds(
      "Seconds to wait for another deployment's lock before failing. Default: the environment's `deploy.waitForLock`, else 60.",
    ),
    withDependencies: negatedFlag(
      "Whether to deploy the project's dependencies first: yes on the command line, where `--no-deps` deploys only this project; no under Nx, which runs the dependencies' deploy tasks itself (a dry run there plans them first on its copy: their dry runs apply nothing).",
      { flag: 'no-deps' },
    ),
    package: text('Deploy this package folder (written by `dbee plan --out`) instead of planning from the sources.', {
      short: 'p',
      value: '<folder>',
    }),
    ifExists: choice(
      CONFLICT_STRATEGIES,
      "What to do with an object to create that already exists but that the ledger does not know: fail (raise), keep it as a renamed backup (rename), drop it (drop), leave it as it is and not run its step (skip), or run the step over it as written (ignore). Default: the project's or environment's `deploy.ifExists`, else raise.",
    ),
    allowHazards: list(
      HAZARD_KINDS,
      "Hazard kinds to accept without stopping, comma-separated on the command line (`data-loss,table-rewrite`). Adds to the project's or environment's `deploy.allowHazards`.",
    ),
    prune: flag(
      "Drop the objects the ledger records as deployed by the project that its sources no longer define (a file removed), each with its hazards (`data-loss` for a table), listed in the dry run. Without it they stay, and deploy lists them in a warning. Also on with the environment's or project's `deploy.prune: true`. Not with --package.",
    ),
    safe: flag(
      "Apply the safe rewrites to what a diff plans on existing tables (see docs/lint-rules.md): indexes built CONCURRENTLY, constraints added NOT VALID and validated in a later step, SET NOT NULL through a validated CHECK, `lock_timeout` at the start of every step. Default: the project's or environment's `deploy.safeRewrites`. Not with --package (a package is deployed as it was planned: make it with `dbee plan --safe`).",
    ),
    continueOnError: flag('After a failed step, go on with the steps that do not depend on it instead of stopping.'),
    countdownFrom: seconds(
      "Seconds of countdown after confirmation, during which Ctrl-C still cancels. Default: the environment's `gates.countdown` (3 on protected environments).",
    ),
    report: text(
      'Write a JSON report of the deployment (steps, durations, outcomes) to this file (relative to the workspace root; any path you type is honoured, inside the workspace or not). On a fleet: one line per target (result, deployment ids, duration, steps, error), and a Markdown copy beside it (`.md`).',
      { value: '<file>' },
    ),
    canary: count(
      'On a fleet environment: deploy the first K targets first, alone; when one fails, no other target starts. Default 0.',
      0,
    ),
    concurrency: concurrency('deployed'),
    maxFailures: maxFailures(),
    strategy: tableName(
      STRATEGIES,
      "How the plan reaches the database: `direct` (the plan's steps), `expand-contract` (additive changes, a backfill and a version schema per release, so the old and the new application run at once; then `dbee complete` or `dbee abort`) or `blue-green` (a green copy of the database kept in sync by logical replication gets the release while blue serves; then `dbee switch`, `dbee fallback`, `dbee finish`: docs/blue-green.md). Default: the project's or environment's `deploy.strategy`, else direct.",
    ),
    release: text(
      'With `--strategy expand-contract`: the release label, which names the version schema (`<schema>_v<release>`). Default: the next number after the last completed release.',
      { value: '<release>' },
    ),
    labels: labels(),
    ...selection(),
    shard: shard(),
    now: clock(),
  },
});
