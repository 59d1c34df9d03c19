import { cpSync } from 'node:fs';
import { inject } from 'vitest';

/**
 * Copy the initialised PGlite data folder made once per run (global-setup.ts) to `dataDir`: a fresh embedded
 * database for the price of a file copy instead of an initdb.
 */
export function copyPgliteTemplate(dataDir: string): void {
  cpSync(inject('pgliteDataDir'), dataDir, { recursive: true });
}
