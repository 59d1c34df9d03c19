/** Options of `@dbee/nx:deploy`; schema.json is the source of truth (descriptions, defaults, enums). */
export interface DeployExecutorOptions {
  /** dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. */
  project: string;
  /** Environment declared under `environments` in dbee.yaml. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. */
  env?: string;
  /** Show the plan and run the gates without changing anything: no DDL, no ledger rows. Default: `false`. */
  dryRun?: boolean;
  /** Deploy this package folder (written by `plan`) instead of planning from the sources. */
  package?: string;
  /** What to do with an object that already exists but is not managed by dbee: raise an error, rename it aside, or drop it. Default: the project's or environment's `deploy.ifExists`, else raise. */
  ifExists?: "raise" | "rename" | "drop";
  /** Hazard kinds to accept without stopping, e.g. `data-loss`. Default: the project's or environment's `deploy.allowHazards`, else none. */
  allowHazards?: ("data-loss" | "table-rewrite" | "long-lock" | "backward-incompatible" | "index-build")[];
  /** Answer yes to the confirmation; needed on protected environments when nobody can type the answer (CI). Default: `false`. */
  assumeYes?: boolean;
  /** Seconds of countdown after confirmation, during which Ctrl-C still cancels. Default: the environment's `gates.countdown` (3 on protected environments). */
  countdownFrom?: number;
  /** Write a JSON report of the deployment (steps, durations, outcomes) to this file. */
  report?: string;
  /** After a failed step, go on with the steps that do not depend on it instead of stopping. Default: `false`. */
  continueOnError?: boolean;
  /** Seconds to wait for another deployment's lock before failing. Default: the environment's `deploy.waitForLock`, else 60. */
  waitForLock?: number;
}
