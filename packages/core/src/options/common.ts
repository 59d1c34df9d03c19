import { CONFLICT_STRATEGIES, HAZARD_KINDS, STRATEGIES } from '../config/kinds';
import { choiceWithDefault, count, flag, positional, text, texts } from './option';

/** Options that several commands share, with one wording. */

// The values of dbee.yaml's `ifExists`, `allowHazards` and `deploy.strategy`: config/kinds.ts, from which the
// configuration schema makes its enums too: the options do not load that schema.
export { CONFLICT_STRATEGIES, HAZARD_KINDS, STRATEGIES };

/** `<project>`: the first positional argument of every command. */
export const project = positional(
  'dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it.',
);

/** `--env <name>`. */
export const env = text(
  "Environment declared under `environments` in dbee.yaml. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`.",
  {
    short: 'e',
    value: '<name>',
  },
);

/** `--assume-yes`. */
export const assumeYes = flag(
  'Answer yes to the confirmation; needed on protected environments when nobody can type the answer (CI).',
  { short: 'y' },
);

/** `--ticket <id>`: the change ticket a command runs under (deploy, rollback, cleanup, clone). */
export const ticket = text(
  "The change ticket this run belongs to, e.g. `CHG-1234`: recorded in the ledger, shown by `status` and `log`, sent in notifications. Required where the environment's `gates.requireTicket` is set.",
  { value: '<id>' },
);

/** `--dry-run`, with what the command shows instead of acting. */
export const dryRun = (description: string) => flag(description);

/** `--format text|json`: how a report is printed. */
export const textOrJson = () =>
  choiceWithDefault(['text', 'json'], 'text', 'Output format: text for people, json for scripts.');

/**
 * `--objects`, `--objects-from`, `--with-needed`: a selection of the plan's objects (docs/deploying.md, "Object by
 * object"); `deploy` deploys it, `plan` plans it.
 */
export const selection = () => ({
  ...objectSelection(),
  withNeeded: flag(
    "With --objects or --objects-from: also take the pending changes the selected ones need (a table's new column under a function, a new view under a view), named. Without it such a selection is refused (exit 1), naming what it needs.",
    { flag: 'with-needed' },
  ),
});

/**
 * `--objects`, `--objects-from` alone: a command that reads (`status`) lists only what they select; `rollback` and
 * `smoke-test` say what they do with them.
 */
export const objectSelection = (
  objects = 'Only the changes of the objects matching this glob over `kind:schema.name` (`function:sales.total`, `sales.order_*`), the grammar of `extract --objects`; repeatable. A glob that matches no object of the sources is refused (exit 1), before anything runs. The other changes stay pending.',
  objectsFrom = 'Only the changes of the objects listed in this file: one key or glob per line, `#` starts a comment (relative to the workspace root). A line that matches no object is refused (exit 1, its file and line), before anything runs.',
) => ({
  objects: texts(objects, { value: '<glob>' }),
  objectsFrom: text(objectsFrom, { value: '<file>' }),
});

/** `--against-env`, `--base`, `--head`: the two sides of a comparison; `diff` reports it, `plan` plans it. */
export const comparison = (what: 'diff' | 'plan') =>
  what === 'diff'
    ? {
        againstEnv: text("Compare the live database of `env` with this environment's instead of with the sources.", {
          value: '<name>',
        }),
        base: text('Compare the sources at two git refs instead of a live database: the old side is this ref.', {
          value: '<ref>',
        }),
        head: text(
          'The sources at this git ref (read from git, no checkout) instead of the working tree: the new side of a `base` comparison, or, without `base`, what the environment is compared with.',
          { value: '<ref>' },
        ),
      }
    : {
        againstEnv: text(
          "Plan the diff from the live database of `env` to this environment's (a package that aligns one with the other).",
          { value: '<name>' },
        ),
        base: text(
          "An incremental release package: what changed from the sources at this git ref to `head` (no database); each changed object is a precondition checked against the target's ledger at deploy time.",
          { value: '<ref>' },
        ),
        head: text(
          'The git ref a `base` plan goes to (default: the working tree); without `base`, plans the diff from the environment to the sources at this ref (a gap package).',
          { value: '<ref>' },
        ),
      };

/** `--labels`: which targets of a fleet environment a command runs on. */
export const labels = () =>
  text(
    'On a fleet environment: only the targets with these labels, `key=value` pairs separated by commas, each of which must match (`region=eu,tier=a|b`). Default: every target.',
    {
      value: '<key=value,...>',
    },
  );

/** `--shard i/n`: one slice of a fleet, for CI matrices and Kubernetes Indexed Jobs. */
export const shard = () =>
  text(
    'On a fleet environment: run only shard i of n (`2/4`); every target is in exactly one shard (a hash of its name), the canary targets in shard 1. `auto/n` reads i from JOB_COMPLETION_INDEX (0-based). Default: every target.',
    { value: '<i/n>' },
  );

/** `--concurrency N`: how many targets of a fleet a command works on at once. */
export const concurrency = (what: string) =>
  count(
    `On a fleet environment: how many targets are ${what} at once (\`nx run\` keeps \`--parallel\` for itself, hence the name). Default 1.`,
    1,
  );

/** `--max-failures F`: when a fleet command stops starting targets. */
export const maxFailures = () =>
  count(
    'On a fleet environment: after this many failed targets no new target starts (those in flight finish). Default 1.',
    1,
  );

/** `--queries`: where the running application's queries come from (`check`, `advise`). */
export const appQueries = () =>
  text(
    "Where the application's queries come from: a .sql file or a folder of them, a PostgreSQL .csv log, or the engine's statement statistics by name (docs/compat.md), `<name>` for the target's, `<name>:<env>` for another environment's. Default: the environment's `compat.queries`.",
    { value: '<source>' },
  );
