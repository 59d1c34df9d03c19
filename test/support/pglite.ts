import { cpSync } from 'node:fs';

/**
 * Copy the initialised PGlite data folder made once per run (global-setup.ts) to `dataDir`: a fresh embedded
 * database for the price of a file copy instead of an initdb.
 */
export async function copyPgliteTemplate(dataDir: string): Promise<void> {
  // Imported here: modules that import this one also run outside Vitest (tools/diff-fuzz.ts), where 'vitest' throws.
  const { inject } = await import('vitest');
  cpSync(inject('pgliteDataDir'), dataDir, { recursive: true });
}
