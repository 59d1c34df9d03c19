/** Options of the `@dbee/nx` plugin, set under `plugins[].options` in nx.json. */
export interface DbeePluginOptions {
  /** Prefix of the Nx project name; the project `sales` becomes `db-sales`. Default `db-`. */
  projectPrefix?: string;
  /** Name of the target that builds the desired model from the sources. Default `build`. */
  buildTargetName?: string;
  /** Name of the target that compares the sources with a live database. Default `diff`. */
  diffTargetName?: string;
  /** Name of the target that applies the sources to a database. Default `deploy`. */
  deployTargetName?: string;
  /** Name of the target that runs the smoke checks. Default `smoke-test`. */
  smokeTestTargetName?: string;
  /** Name of the target that undoes a deployment. Default `rollback`. */
  rollbackTargetName?: string;
  /** Name of the target that writes a deployable package. Default `plan`. */
  planTargetName?: string;
  /** Name of the target that shows what is deployed where. Default `status`. */
  statusTargetName?: string;
  /** Name of the target that draws the objects and their dependencies as a page. Default `graph`. */
  graphTargetName?: string;
  /** Name of the target that writes the project's documentation site (`dbee docs`). Default `docs`. */
  docsTargetName?: string;
  /** Name of the target that checks the application's queries and the dbt models against a release. Default `check`. */
  checkTargetName?: string;
  /**
   * What the diff target's runtime input fingerprints. `environment` (default): the whole environment's database,
   * one command identical for every project, which Nx runs once per invocation (a change anywhere in the database
   * recomputes every diff). `project`: the project's own schemas, one command per project (a change elsewhere keeps
   * the project's cached diff, at the cost of one fingerprint process per project).
   */
  fingerprintScope?: 'environment' | 'project';
}

export type NormalizedOptions = Required<DbeePluginOptions>;

export function normalizeOptions(options: DbeePluginOptions | undefined): NormalizedOptions {
  return {
    projectPrefix: options?.projectPrefix ?? 'db-',
    buildTargetName: options?.buildTargetName ?? 'build',
    diffTargetName: options?.diffTargetName ?? 'diff',
    deployTargetName: options?.deployTargetName ?? 'deploy',
    smokeTestTargetName: options?.smokeTestTargetName ?? 'smoke-test',
    rollbackTargetName: options?.rollbackTargetName ?? 'rollback',
    planTargetName: options?.planTargetName ?? 'plan',
    statusTargetName: options?.statusTargetName ?? 'status',
    graphTargetName: options?.graphTargetName ?? 'graph',
    checkTargetName: options?.checkTargetName ?? 'check',
    docsTargetName: options?.docsTargetName ?? 'docs',
    fingerprintScope: options?.fingerprintScope === 'project' ? 'project' : 'environment',
  };
}
