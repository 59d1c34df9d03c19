import { defineCommand } from './command';
import { appQueries, env, project } from './common';
import { choiceWithDefault, clock, flag, negatedFlag, seconds, text } from './option';

export const checkCommand = defineCommand('check', {
  summary: "Check the running application's queries and the dbt models against what a deployment would change",
  description:
    "Plans the deployment as `deploy --dry-run` does, applies it to a scratch copy of the target's schemas, and asks the database to parse and analyse each of the application's queries before and after: lists every query the deployment breaks (with the error and the plan step) and every query whose result columns change. Exit 1 when one breaks, unless the environment's `compat.mode` is warn. With a dbt manifest (`--dbt`, `check.dbt.manifest`), also judges every dbt model that reads what the deployment changes (breaking exits 1; unknown warns, or fails with `check.dbt.unknown: fail`). With `--policies`, judges the schema review policies instead (docs/policies.md).",
  options: {
    project,
    env,
    queries: appQueries(),
    newQueries: text(
      "The new application version's queries (the same kinds of source), checked after the plan only: each must work on the new schema (with the expand-contract strategy, through the new version schema). Default: the environment's `compat.newQueries`.",
      { value: '<source>' },
    ),
    dbt: text(
      "The dbt project's manifest (`target/manifest.json`, from `dbt parse`, or `dbt compile` for the column level): every model, snapshot, test and exposure that reads what the deployment drops, renames or retypes is listed, each breaking, unknown or passing (see docs/dbt.md). Default: the project's or workspace's `check.dbt.manifest`.",
      { value: '<manifest.json>' },
    ),
    package: text('Check this package folder (written by `dbee plan --out`) instead of the plan from the sources.', {
      short: 'p',
      value: '<folder>',
    }),
    format: choiceWithDefault(
      ['text', 'json', 'markdown', 'github', 'sarif', 'gcc'],
      'text',
      "Report format: text, json, markdown (for a pull-request comment), or the broken and changed queries as review diagnostics at each query's file and line: github (workflow annotations), sarif (SARIF 2.1.0) or gcc (`file:line:col: severity: message`).",
    ),
    withDependencies: negatedFlag(
      "Whether to plan the project's dependencies too (yes on the command line; `--no-deps` plans only this project).",
      { flag: 'no-deps' },
    ),
    waitForLock: seconds(
      "Seconds to wait for another deployment's lock before failing. Default: the environment's `deploy.waitForLock`, else 60.",
    ),
    now: clock(),
    policies: flag(
      'Judge the schema review policies (docs/policies.md) instead: the rules of `policies:` in dbee.yaml and db.yaml (the documented default set where none is written) over the objects and migrations the deployment would change. Exit 1 on a finding at level error.',
    ),
    all: flag(
      'With --policies: judge every object and migration of the project, not only what the deployment changes (an adoption report for an existing schema; needs no database).',
    ),
    exceptions: flag(
      'With --policies: list the `-- dbee:allow <rule> <reason>` exceptions in the sources and what each excuses.',
    ),
  },
});
