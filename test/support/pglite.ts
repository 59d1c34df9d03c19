import { cpSync } from 'node:fs';
import { PgliteConnection } from '../../packages/postgres/src/pglite-connection';
import { pgliteTemplate } from '../../packages/postgres/src/pglite-template';

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
