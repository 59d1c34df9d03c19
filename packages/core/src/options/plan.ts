import { defineCommand } from './command';
import { comparison, env, HAZARD_KINDS, project, selection, STRATEGIES, ticket } from './common';
import { choice, flag, list, negatedFlag, text } from './option';

export const planCommand = defineCommand('plan', {
  summary: 'Plan a deployment and print it, or write it as a package folder (--out)',
  description:
    'Plans a deployment of a dbee project and prints it, or writes a deployable package: the plan, step and rollback scripts, checksums.',
  options: {
    project,
    env,
    out: text(
      'Write a package (manifest, step scripts, rollback scripts, summary) to this folder (relative to the workspace root; any path you type is honoured, inside the workspace or not). The inferred target sets `dist/dbee/<nx project>/package`.',
      {
        short: 'o',
        value: '<folder>',
      },
    ),
    format: choice(
      ['text', 'json', 'github', 'sarif', 'gcc', 'bteq'],
      "Without `out`: print the plan as text (default) or json, or its hazards as review diagnostics at each object's file and line: github (workflow annotations), sarif (SARIF 2.1.0) or gcc (`file:line:col: severity: message`). With `out`: bteq writes BTEQ scripts (Teradata) instead of a package.",
    ),
    withDependencies: negatedFlag(
      'Whether the package holds the projects this one depends on too, in dependency order (one package, one deployment run): yes by default, on the command line and under Nx; `--no-deps` plans only this project (its deployment then refuses a target where a dependency is missing).',
      { flag: 'no-deps' },
    ),
    safe: flag(
      "Apply the safe rewrites to what a diff plans on existing tables (see docs/lint-rules.md): indexes built CONCURRENTLY, constraints added NOT VALID and validated in a later step, SET NOT NULL through a validated CHECK, `lock_timeout` at the start of every step. Default: the project's or environment's `deploy.safeRewrites`.",
    ),
    testRollback: flag(
      "With `out`: test the package's rollback on a scratch copy of the environment's target (`--env`), as `deploy --dry-run --package <out> --test-rollback` does, and record in the package that it was proven (`rollback-proof.json`); exit 1 when it is not. An environment with `verify.rollback: true` deploys only a package that carries the proof (docs/rollback-readiness.md).",
    ),
    diff: flag(
      'Plan the diff between the environment and the sources (a gap package) instead of the full plan of the sources.',
    ),
    package: text(
      "With `--format bteq`: export this package's plan (a folder written by `dbee plan --out`) instead of planning the sources; an environment with `gates.promotedFrom` exports only a package promoted from those environments.",
      { value: '<folder>' },
    ),
    ticket,
    allowHazards: list(
      HAZARD_KINDS,
      "With `--format bteq`: hazard kinds the exported scripts may carry, comma-separated (`table-rewrite,index-build`), as `dbee deploy --allow-hazards` accepts them. Adds to the project's or environment's `deploy.allowHazards`.",
    ),
    strategy: choice(
      STRATEGIES,
      "With `out`: `expand-contract` also writes what `deploy --package --strategy expand-contract` needs (the release's table model, renames and `up`/`down` expressions). Default: the project's or environment's `deploy.strategy`.",
    ),
    ...comparison('plan'),
    ...selection(),
  },
});
