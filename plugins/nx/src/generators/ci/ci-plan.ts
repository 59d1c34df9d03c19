import { readNxJson, type Tree } from '@nx/devkit';
import { PROJECT_FILE, WORKSPACE_FILE, YamlFile, envRefs } from '@dbee/core';
import { GeneratorError, listOption, treeProjects } from '../workspace-projects';

/** What a generated pipeline is made of, read from the workspace (dbee.yaml, nx.json) and the generator's options. */
export interface CiPlan {
  /** The branch whose pushes deploy (`--mainBranch`, else nx.json `defaultBase`, else `main`). */
  mainBranch: string;
  /** Node.js major version of the jobs (`--nodeVersion`, default 20). */
  nodeVersion: string;
  /**
   * Environments in promotion order: pull requests are diffed against the first; on a push the release package is
   * built once, deployed to the first, then the same folder to each next one in turn.
   */
  environments: CiEnvironment[];
  /**
   * The projects a release packages (`--projects`, else every project of the workspace no other project depends on):
   * each package holds its project and the projects it depends on, so these cover the workspace.
   */
  projects: string[];
  /** What a push must change to start a release: dbee.yaml and the folders of the workspace's database projects. */
  releasePaths: string[];
  /**
   * dbee.yaml has `preview:` (docs/preview.md): each pull request gets a preview database made from the first
   * environment (created or updated on each push, dropped when it closes); `cleanup` when it sets `maxAge` or
   * `maxCount` (the close job then drops the orphans too). Null without `preview:`.
   */
  preview: { cleanup: boolean } | null;
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
  /**
   * `gates.requireTicket`: the job passes `--ticket "$DBEE_TICKET"`, a variable of the CI system set by whoever
   * approves the job (GitHub: an environment variable; GitLab: a variable of the manual job). Without it the
   * deployment refuses, exit 1.
   */
  ticket: boolean;
  /** `gates.promotedFrom`: the environments the package must have passed first (before this one in the pipeline). */
  promotedFrom: string[];
  /**
   * The variables of the promotion keys this job holds: the key of each later environment that promotes from this one
   * (to sign the record it writes into the package), and its own (to check the records it reads). Secrets.
   */
  promotionKeys: string[];
  /** Whether the job waits for a person (GitLab `when: manual`): a gated environment, or the last of several. */
  manual: boolean;
}

/** Options that shape the plan (see schema.json). */
export interface CiPlanOptions {
  environments?: string | string[];
  projects?: string | string[];
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
  let environments: Record<string, { connection?: Record<string, unknown>; gates?: Gates }>;
  let preview: CiPlan['preview'] = null;
  try {
    const config = YamlFile.parse(text, WORKSPACE_FILE).toJS() as { environments?: unknown; preview?: unknown } | null;
    environments = isRecord(config?.environments) ? (config.environments as typeof environments) : {};
    if (isRecord(config?.preview))
      preview = { cleanup: config.preview.maxAge !== undefined || config.preview.maxCount !== undefined };
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
  const gates = (name: string): Gates => (isRecord(environments[name]?.gates) ? environments[name]!.gates! : {});
  const promotedFrom = (name: string) => (Array.isArray(gates(name).promotedFrom) ? gates(name).promotedFrom! : []);
  const keyOf = (name: string) => (typeof gates(name).promotionKey === 'string' ? gates(name).promotionKey! : KEY);
  names.forEach((name, i) => {
    const missing = promotedFrom(name).filter((from) => !names.slice(0, i).includes(from));
    if (missing.length) {
      throw new GeneratorError(
        `${WORKSPACE_FILE}: ${name} is promoted from ${quoted(missing)} (gates.promotedFrom), which the pipeline does ` +
          `not deploy before it: name them first in --environments (${[...missing, ...names].join(',')})`,
      );
    }
  });
  return {
    mainBranch: branch,
    nodeVersion,
    projects: releaseProjects(tree, options.projects),
    releasePaths: [WORKSPACE_FILE, ...treeProjects(tree).map((p) => (p.root === '.' ? '**' : `${p.root}/**`))],
    preview,
    environments: names.map((name, i) => {
      const gated = gates(name).protected === true || gates(name).requireTicket !== undefined;
      const signs = names.filter((later) => promotedFrom(later).includes(name)).map(keyOf);
      const checks = promotedFrom(name).length ? [keyOf(name)] : [];
      return {
        name,
        secrets: variablesOf(environments[name]),
        protected: gates(name).protected === true,
        ticket: gates(name).requireTicket !== undefined && gates(name).requireTicket !== false,
        promotedFrom: promotedFrom(name),
        promotionKeys: [...new Set([...checks, ...signs])].sort(),
        manual: i > 0 && (gated || promotedFrom(name).length > 0 || i === names.length - 1),
      };
    }),
  };
}

/** The promotion key's variable when `gates.promotionKey` names none (docs/gates.md). */
const KEY = 'DBEE_PROMOTION_KEY';

/** The gates of dbee.yaml the pipeline writes a job for. */
interface Gates {
  protected?: unknown;
  requireTicket?: unknown;
  promotedFrom?: string[];
  promotionKey?: string;
}

/**
 * The projects a release packages: the ones asked for (each must be a project of the workspace), else those no other
 * project depends on (their packages hold the rest), by name.
 */
function releaseProjects(tree: Tree, asked: string | string[] | undefined): string[] {
  const projects = treeProjects(tree).map((p) => ({ ...p, dependsOn: dependsOnOf(tree, p.root) }));
  const names = projects.map((p) => p.name);
  const wanted = listOption(asked);
  if (wanted.length) {
    const unknown = wanted.filter((name) => !names.includes(name));
    if (unknown.length) {
      throw new GeneratorError(
        `--projects: ${quoted(unknown)} is no database project (projects: ${names.join(', ') || 'none'})`,
      );
    }
    return wanted;
  }
  const used = new Set(projects.flatMap((p) => p.dependsOn));
  const top = names.filter((name) => !used.has(name)).sort();
  if (!top.length) {
    throw new GeneratorError(
      'the workspace has no database project: add one (`nx g @dbee/nx:project`), then run this generator again',
    );
  }
  return top;
}

/** `dependsOn` of a project's db.yaml (none when it does not parse: the plugin reports that file). */
function dependsOnOf(tree: Tree, root: string): string[] {
  const file = root === '.' ? PROJECT_FILE : `${root}/${PROJECT_FILE}`;
  try {
    const yaml = YamlFile.parse(tree.read(file, 'utf-8') ?? '', file).toJS() as { dependsOn?: unknown } | null;
    return Array.isArray(yaml?.dependsOn) ? yaml.dependsOn.filter((d): d is string => typeof d === 'string') : [];
  } catch {
    return [];
  }
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
