import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { pgliteTemplate } from '../../packages/postgres/src/connection/pglite-template';

/**
 * Copy the initialised PGlite data folder made once per run (global-setup.ts) to `dataDir`: a fresh embedded
 * database for the price of a file copy instead of an initdb.
 */
export async function copyPgliteTemplate(dataDir: string): Promise<void> {
  // Imported here: modules that import this one also run outside Vitest (tools/diff-fuzz.ts), where 'vitest' throws.
  const { inject } = await import('vitest');
  cpSync(inject('pgliteDataDir'), dataDir, { recursive: true });
}

/**
 * An in-memory PGlite database started from dbee's template (the run's, global-setup.ts), as dbee starts a shadow:
 * about a third of a second, where `PgliteConnection.open(null, ...)` runs initdb (2-3 s of CPU). Outside Vitest
 * (tools/diff-fuzz.ts) the template is the repository's own `.dbee/cache`.
 */
export async function openMemoryPglite(description: string): Promise<PgliteConnection> {
  const root = process.env.VITEST ? (await import('vitest')).inject('pgliteTemplateRoot') : process.cwd();
  return PgliteConnection.open(null, description, await pgliteTemplate(root));
}

/**
 * Opens an embedded environment's data folder as a test reads or changes it. A folder no command has made yet starts as
 * dbee starts a new embedded environment (a copy of the run's folder made from dbee's template): `PgliteConnection.open`
 * of a missing folder would run PGlite's own initdb (2-3 s of CPU) for the same empty database.
 */
export async function openEmbeddedFolder(dataDir: string, description: string): Promise<PgliteConnection> {
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await copyPgliteTemplate(dataDir);
  return PgliteConnection.open(dataDir, description);
}
