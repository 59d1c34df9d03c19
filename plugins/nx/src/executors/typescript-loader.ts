import Module from 'node:module';

/**
 * Makes sure Node can `require` TypeScript while a dbee command runs.
 *
 * Inside this repository (and any workspace that links dbee's sources) the @dbee packages are TypeScript. Nx
 * registers its transpiler only while it builds the project graph and loads the executor, and removes it again
 * before the executor runs (verified with Nx 24.0.6: no `.ts` handler at run time). Every module dbee loads
 * lazily, such as the engine package picked from dbee.yaml, then fails with `SyntaxError: Unexpected token
 * 'export'`. Published dbee is JavaScript, and there this does nothing.
 *
 * Returns what it did, for tests and debugging.
 */
export function ensureTypeScriptLoader(): 'present' | 'not-needed' | 'registered' | 'unavailable' {
  const extensions = (Module as unknown as { _extensions: Record<string, unknown> })._extensions;
  if (extensions['.ts']) return 'present';
  let cliEntry: string;
  try {
    cliEntry = require.resolve('@dbee/cli');
  } catch {
    return 'not-needed';
  }
  if (!/\.[cm]?ts$/.test(cliEntry)) return 'not-needed';
  for (const loader of ['@swc-node/register', 'ts-node/register/transpile-only']) {
    try {
      require(loader);
      return 'registered';
    } catch {
      // try the next one
    }
  }
  return 'unavailable';
}
