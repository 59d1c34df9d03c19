/** Options of `nx g @dbee/nx:init` (see schema.json). */
export interface InitGeneratorSchema {
  /** Prefix of the Nx project names; used only when the plugin is not in nx.json yet. Default `db-`. */
  projectPrefix?: string;
}
