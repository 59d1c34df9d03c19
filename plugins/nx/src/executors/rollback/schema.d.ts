/** Options of `@dbee/nx:rollback`; schema.json is the source of truth (descriptions, defaults, enums). */
export interface RollbackExecutorOptions {
  /** dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. */
  project: string;
  /** Environment declared under `environments` in dbee.yaml. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. */
  env?: string;
  /** Deployment id (every later one is undone; 0 undoes all) or migration version (`V3`) to go back to. Default: undo the last deployment. */
  to?: string;
  /** Go back to the sources at this git ref: the diff from the live database to them. */
  toRef?: string;
  /** Undo the deployment that applied this package folder (written by `plan --out`). */
  package?: string;
  /** Accept what cannot be undone (steps without a reverse, lost data) and drift. Default: `false`. */
  force?: boolean;
  /** No smoke checks, no countdown, maintenance windows bypassed; still the lock, the ledger and --assume-yes. Default: `false`. */
  emergency?: boolean;
  /** Show the rollback plan without changing anything. Default: `false`. */
  dryRun?: boolean;
  /** Answer yes to the confirmation; needed on protected environments when nobody can type the answer (CI). Default: `false`. */
  assumeYes?: boolean;
}
