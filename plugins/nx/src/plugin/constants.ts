/**
 * Constants the plugin needs before it knows whether it must load @dbee/core: kept free of imports, so that an
 * answer from the inference cache loads nothing else (see create-nodes.ts).
 */

/** A database project's file (PROJECT_FILE in @dbee/core). */
export const PROJECT_FILE = 'db.yaml';

/** The workspace configuration (WORKSPACE_FILE in @dbee/core). */
export const WORKSPACE_FILE = 'dbee.yaml';

/** Every `db.yaml` is a database project. */
export const PROJECT_FILE_GLOB = `**/${PROJECT_FILE}`;

/** The fingerprint script of an installed @dbee/nx, relative to the workspace root. */
export const INSTALLED_FINGERPRINT_SCRIPT = 'node_modules/@dbee/nx/bin/fingerprint.js';

/** Key of the project metadata createNodes records for createDependencies. */
export const DBEE_METADATA = 'dbee';

/** What createNodes records about a database project in its Nx metadata. */
export interface DbeeProjectMetadata {
  /** dbee name (`sales`). */
  name: string;
  /** dbee names of the projects it depends on, as db.yaml lists them. */
  dependsOn: string[];
}
