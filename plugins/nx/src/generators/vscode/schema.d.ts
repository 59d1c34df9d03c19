/** Options of `nx g @dbee/nx:vscode` (see schema.json). */
export interface VscodeGeneratorSchema {
  /** The git ref the "diff against" task compares the working tree with. Default `main`. */
  base?: string;
}
