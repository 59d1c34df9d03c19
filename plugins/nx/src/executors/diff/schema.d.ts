/** Options of `@dbee/nx:diff`; schema.json is the source of truth (descriptions, defaults, enums). */
export interface DiffExecutorOptions {
  /** dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. */
  project: string;
  /** Environment declared under `environments` in dbee.yaml. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. */
  env?: string;
  /** Compare the live database of `env` with this environment's instead of with the sources. */
  againstEnv?: string;
  /** Git ref whose sources form the old side of the comparison, instead of a live database. */
  base?: string;
  /** Git ref whose sources form the new side of the comparison. Default: the working tree. */
  head?: string;
  /** Report format. Default: `"text"`. */
  format?: "text" | "json" | "markdown";
  /** Exit with code 1 when there is any change (a drift check for CI). Default: `false`. */
  failOnDiff?: boolean;
  /** Also write the report to this file (workspace-relative). */
  output?: string;
}
