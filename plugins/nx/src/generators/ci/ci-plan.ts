import { readNxJson, type Tree } from '@nx/devkit';
import { WORKSPACE_FILE, YamlFile, envRefs } from '@dbee/core';
import { GeneratorError, listOption } from '../workspace-projects';

/** What a generated pipeline is made of, read from the workspace (dbee.yaml, nx.json) and the generator's options. */
export interface CiPlan {
  /** The branch whose pushes deploy (`--mainBranch`, else nx.json `defaultBase`, else `main`). */
  mainBranch: string;
  /** Node.js major version of the jobs (`--nodeVersion`, default 20). */
  nodeVersion: string;
  /** Environments in promotion order: pull requests are diffed against the first, pushes deploy to each in turn. */
  environments: CiEnvironment[];
}

/** One environment of dbee.yaml as a pipeline deploys to it. */
export interface CiEnvironment {
  /** Its name under `environments` in dbee.yaml (`test`), also the CI environment's name. */
  name: string;
  /** The `${VAR}` variables its settings read (`DBEE_TEST_URL`): secrets of the CI system, never in the file. */
  secrets: string[];
  /**
   * `gates.protected` in dbee.yaml: a deployment waits for someone to type the environment's name, which no one can
   * in CI; the job passes `--assumeYes`, and the CI environment's approval (required reviewers, a manual job) stands
   * for the typed confirmation.
   */
  protected: boolean;
}

/** Options that shape the plan (see schema.json). */
export interface CiPlanOptions {
  environments?: string | string[];
  mainBranch?: string;
  nodeVersion?: string;
}

/**
 * Reads dbee.yaml: the environments to deploy to (`--environments`, else every environment that is not embedded,
 * in the file's order) and the variables each one's settings read. Refuses, naming what to do, a workspace without
 * dbee.yaml, an unknown environment, an embedded one (a CI runner's PGlite folder is gone when the job ends), or none.
 */
export function ciPlan(tree: Tree, options: CiPlanOptions): CiPlan {
  const text = tree.read(WORKSPACE_FILE, 'utf-8');
  if (text === null) {
    throw new GeneratorError(
      `${WORKSPACE_FILE} not found: run \`nx add @dbee/nx\` first, then add the environments CI deploys to`,
    );
  }
  let environments: Record<string, { connection?: Record<string, unknown>; gates?: { protected?: unknown } }>;
  try {
    const config = YamlFile.parse(text, WORKSPACE_FILE).toJS() as { environments?: unknown } | null;
    environments = isRecord(config?.environments) ? (config.environments as typeof environments) : {};
  } catch (e) {
    throw new GeneratorError(`${(e as Error).message}\nfix ${WORKSPACE_FILE}, then run this generator again`);
  }
  const embedded = (name: string) =>
    isRecord(environments[name]?.connection) && 'embedded' in environments[name]!.connection!;
  const asked = listOption(options.environments);
  const names = asked.length ? asked : Object.keys(environments).filter((name) => !embedded(name));
  const unknown = names.filter((name) => !isRecord(environments[name]));
  if (unknown.length) {
    const declared = Object.keys(environments).join(', ') || 'none';
    throw new GeneratorError(
      `--environments: ${quoted(unknown)} not declared in ${WORKSPACE_FILE} (environments: ${declared})`,
    );
  }
  const local = names.filter(embedded);
  if (local.length) {
    throw new GeneratorError(
      `--environments: ${quoted(local)} is embedded (PGlite in a folder, gone when the CI job ends): name server environments`,
    );
  }
  if (!names.length) {
    throw new GeneratorError(
      `${WORKSPACE_FILE} declares no server environment for CI to deploy to: add one (for example \`test:\` with ` +
        '`engine: postgres` and ' +
        '`connection: { url: ${DBEE_TEST_URL} }`), then run this generator again',
    );
  }
  const branch = (options.mainBranch ?? readNxJson(tree)?.defaultBase ?? 'main').trim();
  if (!/^[\w./-]+$/.test(branch)) throw new GeneratorError(`--mainBranch "${branch}" is not a branch name`);
  const nodeVersion = String(options.nodeVersion ?? '20').trim();
  if (!/^\d+(\.\d+){0,2}$/.test(nodeVersion)) {
    throw new GeneratorError(`--nodeVersion "${nodeVersion}" is not a Node.js version (20, 22.12)`);
  }
  return {
    mainBranch: branch,
    nodeVersion,
    environments: names.map((name) => ({
      name,
      secrets: variablesOf(environments[name]),
      protected: environments[name]?.gates?.protected === true,
    })),
  };
}

/**
 * The deploy command of an environment's job: the affected projects only, in dependency order, and `--assumeYes`
 * where dbee.yaml protects the environment (see CiEnvironment.protected). Each deployment's output is printed in full
 * through the pipeline's NX_DEFAULT_OUTPUT_STYLE=static (each deployment printed once, see dependenciesToEcho in
 * executors/run-batch.ts).
 */
export function deployCommand(env: CiEnvironment): string {
  return `npx nx affected -t deploy --excludeTaskDependencies${env.protected ? ' --assumeYes' : ''}`;
}

/** The `${VAR}` an environment's settings read (an escaped `$${VAR}` is text), sorted; DBEE_ENV is set by the job. */
function variablesOf(environment: unknown): string[] {
  const refs = envRefs(JSON.stringify(environment).replace(/\$\$\{/g, ''));
  return [...new Set(refs)].filter((v) => v !== 'DBEE_ENV').sort();
}

function quoted(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
