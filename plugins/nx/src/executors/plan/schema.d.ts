/** Options of `@dbee/nx:plan`; schema.json is the source of truth (descriptions, defaults, enums). */
export interface PlanExecutorOptions {
  /** dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. */
  project: string;
  /** Environment declared under `environments` in dbee.yaml. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. */
  env?: string;
  /** Folder to write the package to (workspace-relative). The inferred target sets `dist/dbee/<nx project>/package`. */
  out?: string;
  /** package: a folder with a manifest, step and rollback scripts; json: the plan as one JSON file; bteq: a BTEQ script (Teradata). Default: package when `out` is set. */
  format?: "package" | "json" | "bteq";
}
