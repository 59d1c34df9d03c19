/** Options of `@dbee/nx:smoke-test`; schema.json is the source of truth (descriptions, defaults, enums). */
export interface SmokeTestExecutorOptions {
  /** dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. */
  project: string;
  /** Environment declared under `environments` in dbee.yaml. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. */
  env?: string;
}
