import type { TargetConfiguration } from '@nx/devkit';
import type { Input } from './inputs';
import type { NormalizedOptions } from './options';

/**
 * One small builder per inferred target. Each target is a thin shell over one dbee command: the executor
 * `@dbee/nx:<command>` calls the same function as `npx dbee <command>`.
 */

/** What the target builders need to know about one database project. */
export interface TargetContext {
  /** dbee project name, without the Nx prefix (`sales`). Passed to every command as `project`. */
  name: string;
  /** Project root relative to the workspace root, `/`-separated (`examples/sales`). */
  projectRoot: string;
  /** Shell command printing the live database's fingerprint; the `runtime` input of `diff`. */
  fingerprintCommand: string;
  /** Inputs shared by every project and inputs of this project that createNodes derives from the workspace. */
  inputs: DerivedInputs;
  /**
   * The dbt manifest the check reads (`check.dbt.manifest` of db.yaml, else dbee.yaml's), workspace-relative; null
   * when none is named.
   */
  dbtManifest: string | null;
  options: NormalizedOptions;
}

/** Inputs createNodes derives from the workspace (see inputs.ts); each is listed in every cached target. */
export interface DerivedInputs {
  /** dbee itself: `{ externalDependencies }` on the installed dbee packages (or their files in dbee's own repo). */
  tool: Input[];
  /** `{ env }` for DBEE_ENV and every `${VAR}` of dbee.yaml and the project's db.yaml. */
  env: Input[];
  /** nx.json defines `dbeeSources`: the workspace's definition is used, for the project and its dependencies. */
  workspaceSources: boolean;
  /** nx.json defines `sharedGlobals` (Nx's convention for files that affect every project): it is an input. */
  sharedGlobals: boolean;
  /**
   * The `dbeeSources` globs of every project in the workspace (the defaults and each db.yaml's own `sources`, see
   * `projectSources`): a dependency's change to such a file must select its dependents (see `dependencySources`).
   */
  customSources: string[];
}

/** Name of the named input holding a project's own sources (project-level unless nx.json defines it). */
export const SOURCES_INPUT = 'dbeeSources';

/** What dbee reads of a project, relative to its root (see `SOURCES_NAMED_INPUT`). */
export const SOURCE_GLOBS = [
  'db.yaml',
  '**/*.sql',
  '**/*.expand.yaml',
  'migrations/baseline.yaml',
  'smoke/**/*.yaml',
  'smoke/**/*.yml',
] as const;

/**
 * The files of one project that dbee reads: db.yaml, object and migration scripts, the migrations' baseline, smoke
 * checks, the `up`/`down` declarations of the expand/contract strategy. A project whose db.yaml lists other
 * `sources` globs has them too (`projectSources`). One glob with alternatives (`{a,b}`), which Nx's globs match file
 * for file as the six globs apart (the same files, the same hash): one entry in each target's `^` inputs instead of
 * six, in a configuration Nx merges, sends between its processes and writes to its graph cache on every command.
 */
export const SOURCES_NAMED_INPUT = [`{projectRoot}/{${SOURCE_GLOBS.join(',')}}`];

/**
 * The project-level `dbeeSources`: the default globs and db.yaml's own `sources` globs, relative to the project. A
 * negated glob (`!legacy/**`) only narrows what dbee reads; it is not an input (a file it excludes changes nothing,
 * and Nx would take it as an exclusion from every other input too).
 */
export function projectSources(sources: readonly string[] | undefined): string[] {
  const own = (sources ?? []).filter((glob) => !glob.startsWith('!')).map((glob) => `{projectRoot}/${glob}`);
  return [...new Set([...SOURCES_NAMED_INPUT, ...own])];
}

/**
 * The project-level named input holding the model inputs' own part (see `modelInputs`): one name in each target's
 * `inputs` instead of the same ten entries in five targets. Nx expands a named input where it hashes or selects a
 * task, so the hash and `nx affected`'s selection are those of the list itself; the inferred configuration, which
 * Nx merges, sends between its processes and writes to its graph cache on every command, is smaller by that much.
 */
export const MODEL_INPUT = 'dbeeModel';
/** The project-level named input holding the change inputs' own part (see `changeInputs`). */
export const CHANGE_INPUT = 'dbeeChanges';

/**
 * Everything the desired model is a function of: the project's sources, its dependencies' sources (their objects
 * are built first in the shadow database), dbee.yaml (variables), the environment variables both files refer to,
 * and dbee itself, so that a new version of the tool never serves results computed by the old one. The project's
 * own part is the named input `dbeeModel` (see `targetNamedInputs`); a named input cannot hold `^` entries (Nx:
 * "namedInputs definitions cannot start with ^"), so the dependencies' part is listed in the target.
 *
 * The dependencies count with the same globs as `dbeeSources`, prefixed with `^` (Nx applies them to every
 * project in the dependency closure), not with `^dbeeSources`: Nx fails every task hash with "Input 'dbeeSources'
 * is not defined" as soon as one dependency lacks the named input (verified: an `implicitDependencies` entry on a
 * non-dbee project is enough), and not with `^default`, which makes a dependency's README a cache miss. When
 * nx.json defines `dbeeSources`, every project has it, and `^dbeeSources` is the workspace's own definition.
 */
function modelInputs(ctx: TargetContext): Input[] {
  return [MODEL_INPUT, ...dependencySources(ctx)];
}

/**
 * The dependencies' sources: `^` with the default globs of `dbeeSources` and every project's own `sources` globs (a
 * `^` input cannot name one dependency, so the union stands for all), or `^dbeeSources` when nx.json defines it.
 */
function dependencySources(ctx: TargetContext): Input[] {
  if (ctx.inputs.workspaceSources) return [`^${SOURCES_INPUT}`];
  return [...new Set([...SOURCES_NAMED_INPUT, ...ctx.inputs.customSources])].map((glob) => `^${glob}`);
}

/**
 * What selects the targets that act on an environment (deploy, smoke-test, rollback, status) for `nx affected`: the
 * project's sources, its dependencies' sources, dbee.yaml, and the environment variables (the project's own part is
 * the named input `dbeeChanges`). Nx 24 selects a task when a changed file matches the task's inputs (not when the
 * file is in the task's project), and `^` inputs carry a change of a dependency to its dependents: a view changed in
 * core selects core, sales and reporting; a change to dbee.yaml selects every project; a file that no database
 * project reads (a README, the application's code, nx.json's `sharedGlobals`, dbee's own version) selects none.
 * These targets are never cached, so the hash is only read to select: the inputs say which files make a deployment
 * necessary, not what a deployment's result is a function of.
 */
function changeInputs(ctx: TargetContext): Input[] {
  return [CHANGE_INPUT, ...dependencySources(ctx)];
}

/** The project-level named inputs the targets' inputs name: `dbeeModel` and `dbeeChanges` (their own parts). */
export function targetNamedInputs(ctx: TargetContext): Record<string, Input[]> {
  return {
    [MODEL_INPUT]: [
      SOURCES_INPUT,
      '{workspaceRoot}/dbee.yaml',
      ...(ctx.inputs.sharedGlobals ? ['sharedGlobals'] : []),
      ...ctx.inputs.tool,
      ...ctx.inputs.env,
    ],
    [CHANGE_INPUT]: [SOURCES_INPUT, '{workspaceRoot}/dbee.yaml', ...ctx.inputs.env],
  };
}

function executor(command: string): string {
  return `@dbee/nx:${command}`;
}

function help(
  command: string,
  exampleOptions: Record<string, unknown>,
): { command: string; example: { options: Record<string, unknown> } } {
  return { command: `npx dbee ${command} --help`, example: { options: exampleOptions } };
}

export function buildTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('build'),
    options: { project: ctx.name, outputPath: '{workspaceRoot}/dist/dbee/{projectName}/build' },
    // The desired model is a pure function of its inputs: the same sources always build the same model.
    cache: true,
    inputs: modelInputs(ctx),
    outputs: ['{workspaceRoot}/dist/dbee/{projectName}/build'],
    dependsOn: [`^${ctx.options.buildTargetName}`],
    metadata: {
      technologies: ['dbee'],
      description: 'Builds the desired model of this database project from its sources in a shadow database.',
      help: help('build', { env: 'local' }),
    },
  };
}

export function diffTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('diff'),
    options: { project: ctx.name },
    // Cached while both sides are unchanged: the sources (inputs) and the live database (the runtime fingerprint,
    // which prints a nonce when the database cannot be reached, so a failure never yields a stable hash). Runtime
    // inputs see neither `--env` nor tokens, hence DBEE_ENV and the literal project root; the executor refuses an
    // `--env` that disagrees with the fingerprinted environment unless the cache is skipped.
    cache: true,
    inputs: [...modelInputs(ctx), { runtime: ctx.fingerprintCommand }],
    outputs: ['{workspaceRoot}/dist/dbee/{projectName}/diff'],
    // `-c markdown` (the CI pipeline's pull-request job): the report in Markdown, also written inside the outputs, so
    // that a cache hit restores it, for a job summary or a merge request artifact (`cat dist/dbee/*/diff/diff.md`).
    configurations: {
      markdown: { format: 'markdown', output: '{workspaceRoot}/dist/dbee/{projectName}/diff/diff.md' },
    },
    dependsOn: [ctx.options.buildTargetName],
    // Parallel on purpose, although it reads the live database: Nx never batches a task with `parallelism: false`,
    // and the batch executor (preferBatch) runs all diffs one after the other in ONE process, which is both what an
    // embedded database needs (one process at a time) and 30x faster than a fork per project. Outside a batch, the
    // lock that every database operation takes keeps them from overlapping.
    metadata: {
      technologies: ['dbee'],
      description:
        'Shows what would change in the live database to match the sources, with the hazards of each change.',
      help: help('diff', { format: 'markdown', failOnDiff: true }),
    },
  };
}

export function deployTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('deploy'),
    options: { project: ctx.name },
    // Never cached: it changes a database, and the database is not an output Nx could restore. The inputs are what
    // `nx affected -t deploy` selects by (see changeInputs).
    cache: false,
    inputs: changeInputs(ctx),
    outputs: [],
    // The dependencies are deployed first, to the same environment: `params: 'forward'` passes `--env=test` on to
    // them (a plain `^deploy` would deploy them to the default environment).
    dependsOn: [{ target: ctx.options.deployTargetName, dependencies: true, params: 'forward' }],
    // No `parallelism: false`: Nx never batches such a target, and the batch executor (preferBatch) is what runs
    // `nx affected -t deploy` / `run-many` in ONE process, in dependency order, holding each environment's lock
    // and connection once. Outside a batch, concurrent deploys to one database wait for the runner's lock.
    metadata: {
      technologies: ['dbee'],
      description: 'Deploys this database project to an environment, after the projects it depends on.',
      help: help('deploy', { env: 'test' }),
    },
  };
}

export function smokeTestTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('smoke-test'),
    options: { project: ctx.name },
    // Never cached: it checks a live database, whose state is not among the inputs. Selected with deploy (changeInputs).
    cache: false,
    inputs: changeInputs(ctx),
    outputs: [],
    // It connects to the environment's database; see deploy.
    parallelism: false,
    metadata: {
      technologies: ['dbee'],
      description: "Runs this project's smoke checks against the objects deployed on an environment.",
      help: help('smoke-test', { env: 'test' }),
    },
  };
}

export function rollbackTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('rollback'),
    options: { project: ctx.name },
    // Never cached: it changes a database. Selected with deploy (changeInputs).
    cache: false,
    inputs: changeInputs(ctx),
    outputs: [],
    // It changes the environment's database; see deploy.
    parallelism: false,
    metadata: {
      technologies: ['dbee'],
      description:
        'Undoes the last deployment of this project on an environment, using the rollback steps in its ledger.',
      help: help('rollback', { env: 'test', dryRun: true }),
    },
  };
}

export function planTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('plan'),
    options: { project: ctx.name, out: '{workspaceRoot}/dist/dbee/{projectName}/package' },
    // Not cached: a package records the git commit and the dbee version it was planned from, neither of which is
    // an input, and a package is an artifact to build once and promote (test, then prod), not to re-create.
    cache: false,
    inputs: modelInputs(ctx),
    outputs: ['{workspaceRoot}/dist/dbee/{projectName}/package'],
    // No dependsOn: a plan computes its model from the sources itself and does not read build's output.
    // Runs in parallel: a plan is computed from the sources in a shadow database of its own, without the target.
    metadata: {
      technologies: ['dbee'],
      description: 'Writes a deployable package (plan, step and rollback scripts, checksums) for an environment.',
      help: help('plan', { env: 'prod', out: 'dist/packages/sales' }),
    },
  };
}

export function statusTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('status'),
    options: { project: ctx.name },
    // Never cached: it reports the live state of a database. Selected with deploy (changeInputs).
    cache: false,
    inputs: changeInputs(ctx),
    outputs: [],
    // It reads the environment's database; see deploy.
    parallelism: false,
    metadata: {
      technologies: ['dbee'],
      description: "Shows this project's deployment history and state on an environment, from the ledger.",
      help: help('status', { env: 'test', format: 'json' }),
    },
  };
}

export function graphTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('graph'),
    options: { project: ctx.name, out: '{workspaceRoot}/dist/dbee/{projectName}/graph.html' },
    // The page is a pure function of the sources (and dbee): cached. With `--env`, the live database's pending change
    // is drawn too, which no input covers: run that with --skip-nx-cache.
    cache: true,
    inputs: modelInputs(ctx),
    outputs: ['{workspaceRoot}/dist/dbee/{projectName}/graph.html'],
    // No dependsOn: it parses the sources itself, and reads no database without `--env`.
    metadata: {
      technologies: ['dbee'],
      description:
        "Writes a page drawing this project's objects and their dependencies (and, with --env, what a deployment would change).",
      help: help('graph', { withDeps: true }),
    },
  };
}

export function docsTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('docs'),
    options: { project: ctx.name, out: '{workspaceRoot}/dist/dbee/{projectName}/docs' },
    // The site is a pure function of the sources (and dbee): cached; one changed file rebuilds one project's site. With
    // --env the board reads ledgers, which no input covers: run that with --skip-nx-cache.
    cache: true,
    inputs: modelInputs(ctx),
    outputs: ['{workspaceRoot}/dist/dbee/{projectName}/docs'],
    metadata: {
      technologies: ['dbee'],
      description:
        "Writes a site documenting this project's schemas and objects, with ER diagrams and search (and, with --env, a release board).",
      help: help('docs', { format: 'markdown' }),
    },
  };
}

export function checkTarget(ctx: TargetContext): TargetConfiguration {
  return {
    executor: executor('check'),
    options: { project: ctx.name },
    // Never cached: it checks a plan against a live database and the application's queries (pg_stat_statements is no
    // file). The dbt manifest named in check.dbt.manifest is an input, so that `nx affected -t check` selects the
    // check when the dbt project changes (CI runs `dbt parse`/`dbt compile` first; see docs/dbt.md).
    cache: false,
    inputs: [...changeInputs(ctx), ...(ctx.dbtManifest ? [`{workspaceRoot}/${ctx.dbtManifest}`] : [])],
    outputs: [],
    // It reads the environment's database; see deploy.
    parallelism: false,
    metadata: {
      technologies: ['dbee'],
      description:
        "Checks the application's queries and the dbt models (check.dbt.manifest) against what a deployment would change, on a scratch copy.",
      help: help('check', { env: 'test', format: 'markdown' }),
    },
  };
}

/** All targets of one project, keyed by their configured names, in the order a user meets them. */
export function buildTargets(ctx: TargetContext): Record<string, TargetConfiguration> {
  const o = ctx.options;
  return {
    [o.buildTargetName]: buildTarget(ctx),
    [o.diffTargetName]: diffTarget(ctx),
    [o.planTargetName]: planTarget(ctx),
    [o.deployTargetName]: deployTarget(ctx),
    [o.smokeTestTargetName]: smokeTestTarget(ctx),
    [o.rollbackTargetName]: rollbackTarget(ctx),
    [o.statusTargetName]: statusTarget(ctx),
    [o.graphTargetName]: graphTarget(ctx),
    [o.docsTargetName]: docsTarget(ctx),
    [o.checkTargetName]: checkTarget(ctx),
  };
}
