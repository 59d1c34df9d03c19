/**
 * The environment of a process a test starts as a user would (the dbee CLI, Nx, a CI script): this process's, without
 * dbee's and Nx's variables and Vitest's marker, but with the run's own cache folder (`DBEE_CACHE_DIR`, set by
 * vitest.config.ts: the PGlite template global-setup made there), so that no test reads or writes the user's
 * ~/.cache/dbee.
 */
export function childEnvironment(): Record<string, string | undefined> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DBEE_') && !k.startsWith('NX_') && k !== 'VITEST'),
  );
  return process.env.DBEE_CACHE_DIR ? { ...clean, DBEE_CACHE_DIR: process.env.DBEE_CACHE_DIR } : clean;
}
