/** Options of `@dbee/nx:rollback`; schema.json is the source of truth (descriptions, defaults, enums). */
export interface RollbackExecutorOptions {
  /** dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. */
  project: string;
  /** Environment declared under `environments` in dbee.yaml. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. */
  env?: string;
  /** Deployment id to roll back to (the deployments after it are undone). Default: undo the last deployment. */
  to?: string;
  /** Roll back to the sources at this git ref instead of a recorded deployment. */
  toRef?: string;
  /** Roll back with the rollback scripts of this package folder (written by `plan`). */
  package?: string;
  /** Roll back even when the database has drifted from what the ledger recorded. Default: `false`. */
  force?: boolean;
  /** Bypass the maintenance windows of the environment; the ledger records that the gate was bypassed. Default: `false`. */
  emergency?: boolean;
  /** Show the rollback plan without changing anything. Default: `false`. */
  dryRun?: boolean;
  /** Answer yes to the confirmation; needed on protected environments when nobody can type the answer (CI). Default: `false`. */
  assumeYes?: boolean;
}
