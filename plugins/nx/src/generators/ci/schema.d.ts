/** Options of `nx g @dbee/nx:ci` (see schema.json). */
export interface CiGeneratorSchema {
  /** `github` (.github/workflows/dbee.yml) or `gitlab` (.gitlab-ci.yml). */
  provider: 'github' | 'gitlab' | string;
  /** Environments of dbee.yaml in promotion order, comma-separated. Default: every environment that is not embedded. */
  environments?: string | string[];
  /** Projects a release packages, comma-separated. Default: every project no other project depends on. */
  projects?: string | string[];
  /** The branch whose pushes deploy. Default: nx.json `defaultBase`, else `main`. */
  mainBranch?: string;
  /** Node.js version of the jobs. Default `20`. */
  nodeVersion?: string;
  /** Replace an existing pipeline file that differs. Default false. */
  overwrite?: boolean;
}
