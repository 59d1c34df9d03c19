import type { SchemaModel } from '../schema/model';
import type { RenameDeclaration } from '../schema/change';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../plan/serialize';

/** `release.json` of a package: what it was built from, and what a target must hold for it to apply. */
export interface ReleaseInfo {
  /** The project named on the command line (`dbee plan <project>`): its Nx deploy task runs the package. */
  target: string;
  /** Incremental packages (`--base`): the ref the change starts from and the commit it named. Null: a full-state package. */
  base: { ref: string; commit: string } | null;
  /** The sources the package leads to: the ref (null for the working tree) and its commit (`-dirty` when uncommitted). */
  head: { ref: string | null; commit: string | null };
  /**
   * The plan leads to the sources whose checksums the manifest holds (`manifest.sources`): a full-state or incremental
   * package, or a gap package of `--diff`; not one to another environment's state (`--against-env`) or to the sources
   * at `--head` alone. Only then does its deployment compare what it reached with the workspace's sources (when they
   * are those). Absent: a package of an older dbee, not compared.
   */
  toSources?: boolean;
  /**
   * Per project, the `{{variables}}` its sources and smoke checks use: names (a target environment must define
   * them all) and, for incremental packages, a hash of the values the statements were rendered with (their SQL is
   * rendered from models built with them, so a target must have the same values). Step keys keep their
   * placeholders too (`package-keys.ts`): each target makes its own.
   */
  variables: Record<
    string,
    {
      names: string[];
      renderedWith?: { environment: string; valuesHash: string };
      /**
       * Full-state packages: step keys with a name made from a placeholder that dbee could not keep as a template
       * (`package-keys.ts`), as `environment` names them, and the hash of its values: a target must have the same.
       */
      boundKeys?: { environment: string; valuesHash: string; keys: string[] };
    }
  >;
  /** Incremental packages: every object that differs between base and head, with both versions' statements. */
  preconditions: Precondition[];
  /** Each project's `dependsOn` at head: a dependency outside the package must already be deployed on the target. */
  dependsOn: Record<string, string[]>;
  /** Smoke check files of each project at head, as package-relative paths (under `smoke/`) → their source path. */
  smoke: Record<string, { file: string; source: string }[]>;
  /**
   * Written with `plan --strategy expand-contract` (or `deploy.strategy: expand-contract`): what
   * `deploy --package --strategy expand-contract` plans the release from instead of the sources.
   */
  expand?: PackagedExpand;
}

/** The expand-contract part of a package: the release's shape of its target project. */
export interface PackagedExpand {
  project: string;
  /** The desired model of the project at head (the sources the package was made from). */
  desired: SchemaModel;
  renames: RenameDeclaration[];
  /** The `<table>.expand.yaml` declarations, by `schema.table` (see `ExpandDeclarations.toJSON`). */
  declarations: Record<string, { file: string; columns: Record<string, { up?: string; down?: string }> }>;
}

/**
 * An object the package changes. The target's ledger must hold it at `base` (absent when null) or already at `head`
 * (the change is done: its steps are skipped). Statements are templates: the checksums are computed with the
 * target's variables, exactly as the ledger recorded them.
 */
export interface Precondition {
  project: string;
  key: string;
  base: string[] | null;
  head: string[] | null;
}

export const RELEASE_FILE = 'release.json';

/** Hash of the values of `names` (a value never appears in a package, only this hash). */
export function valuesHash(names: readonly string[], variables: Readonly<Record<string, string>>): string {
  return createHash('sha256')
    .update(canonicalJson(Object.fromEntries(names.map((n) => [n, variables[n] ?? null]))))
    .digest('hex');
}
