import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * In-repository development only: makes sure Node can `require` dbee's TypeScript sources while a dbee command runs.
 *
 * Installed, @dbee/nx is compiled JavaScript (dist/) and this returns 'not-needed' at once. Inside the dbee
 * repository Nx loads this executor from its TypeScript source (Nx resolves a workspace plugin's sources first) and
 * registers its transpiler only while it loads the executor, removing it again before the executor runs (verified
 * with Nx 24.0.6: no `.ts` handler at run time). Modules dbee loads lazily, such as the engine package picked from
 * dbee.yaml, would then fail; tools/dev-register.js (swc plus @dbee/* -> sources) is registered instead. It is
 * never part of the published package: it sits outside plugins/nx.
 *
 * Returns what it did, for tests and debugging.
 */
export function ensureTypeScriptLoader(): 'present' | 'not-needed' | 'registered' | 'unavailable' {
  // Compiled (installed), or under Vitest, which runs the sources through its own module graph.
  if (!__filename.endsWith('.ts') || process.env.VITEST) return 'not-needed';
  const devRegister = join(__dirname, '..', '..', '..', '..', 'tools', 'dev-register.js');
  if (!existsSync(devRegister)) return 'unavailable';
  const registered = (globalThis as { __dbeeDevRegister?: boolean }).__dbeeDevRegister === true;
  require(devRegister);
  return registered ? 'present' : 'registered';
}
