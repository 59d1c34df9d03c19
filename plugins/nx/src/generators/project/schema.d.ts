/** Options of `nx g @dbee/nx:project` (see schema.json). */
export interface ProjectGeneratorSchema {
  /** dbee project name, e.g. `sales`. */
  name: string;
  /** Comma-separated owned schemas (or a list). Default: the name, with `-` as `_`. */
  schemas?: string | string[];
  /** Comma-separated dbee projects this one depends on (or a list). */
  dependsOn?: string | string[];
  /** Folder of the project, relative to the workspace root. Default `databases/<name>`. */
  directory?: string;
}
