/** Options of `@dbee/nx:build`; schema.json is the source of truth (descriptions, defaults, enums). */
export interface BuildExecutorOptions {
  /** dbee project name: the `name` in db.yaml, without the Nx prefix (`sales`, not `db-sales`). The inferred target sets it. */
  project: string;
  /** Environment whose `variables` fill `{{name}}` placeholders in the sources. Default: the DBEE_ENV variable, else dbee.yaml's `defaultEnvironment`. */
  env?: string;
  /** Folder that receives model.json (the desired model). */
  outputPath?: string;
}
