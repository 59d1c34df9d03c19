'use strict';
/**
 * In-repository development only (never shipped): lets Node run dbee's TypeScript SOURCES with no build step.
 *
 * The published packages point `main`/`exports` at compiled `dist/`. Inside this repository we want every process
 * (tools/run.js, `npx dbee` through packages/cli/bin/dbee.js, plugins/nx/bin/fingerprint.js, and Nx given
 * `NODE_OPTIONS=--require <repo>/tools/dev-register.js`) to run the sources instead, with no build step. (Processes
 * the tests start run the dist/ the test run builds, with DBEE_USE_DIST=1: see vitest.config.ts.) This module:
 *
 *   1. registers @swc-node/register (a root devDependency) so `require` of `.ts` works, and
 *   2. hooks Node's module resolution: `@dbee/<pkg>` and its subpaths resolve through the package's `exports`
 *      with the custom condition "@dbee/source" (which maps to `src/`), and any file resolved under a dbee
 *      package's `dist/` is replaced by its source under `src/` (e.g. executors.json paths read by Nx).
 *
 * Loading it twice is harmless. Vitest does not use it (vitest.config.ts aliases the same names to sources).
 */
const Module = require('node:module');
const { existsSync, readFileSync } = require('node:fs');
const { join, resolve, sep, dirname } = require('node:path');

const REPO = resolve(__dirname, '..');
const PACKAGES = {
  '@dbee/core': join(REPO, 'packages', 'core'),
  '@dbee/postgres': join(REPO, 'packages', 'postgres'),
  '@dbee/teradata': join(REPO, 'packages', 'teradata'),
  '@dbee/cli': join(REPO, 'packages', 'cli'),
  '@dbee/nx': join(REPO, 'plugins', 'nx'),
};
const CONDITION = '@dbee/source';

if (!global.__dbeeDevRegister) {
  global.__dbeeDevRegister = true;
  process.env.SWC_NODE_PROJECT ??= join(REPO, 'tsconfig.base.json');
  require(require.resolve('@swc-node/register', { paths: [REPO] }));

  const exportsCache = new Map();
  /** The source file for `@dbee/<pkg>[/subpath]` from the package's exports ("@dbee/source" condition), or undefined. */
  function sourceOf(request) {
    const match = /^(@dbee\/[a-z]+)(\/.*)?$/.exec(request);
    if (!match || !PACKAGES[match[1]]) return undefined;
    const dir = PACKAGES[match[1]];
    const subpath = `.${match[2] ?? ''}`;
    if (!exportsCache.has(dir))
      exportsCache.set(dir, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports ?? {});
    const entry = exportsCache.get(dir)[subpath];
    if (typeof entry === 'string') return join(dir, entry);
    if (entry && typeof entry === 'object' && entry[CONDITION]) return join(dir, entry[CONDITION]);
    // Not exported (e.g. @dbee/nx/bin/fingerprint.js, executors.json): the file itself.
    return subpath === '.' ? undefined : join(dir, subpath);
  }

  /** `<pkg>/dist/x/y(.js)` -> `<pkg>/src/x/y.ts` when that source exists. */
  function fromDist(file) {
    for (const dir of Object.values(PACKAGES)) {
      const dist = join(dir, 'dist') + sep;
      if (!file.startsWith(dist)) continue;
      const rest = file.slice(dist.length).replace(/\.(js|d\.ts)$/, '');
      for (const candidate of [join(dir, 'src', `${rest}.ts`), join(dir, 'src', rest, 'index.ts')]) {
        if (existsSync(candidate)) return candidate;
      }
    }
    return undefined;
  }

  const original = Module._resolveFilename;
  Module._resolveFilename = function resolveDbeeSources(request, parent, isMain, options) {
    const source = sourceOf(request);
    if (source) return original.call(this, source, parent, isMain, options);
    let resolved;
    try {
      resolved = original.call(this, request, parent, isMain, options);
    } catch (error) {
      // A relative path into a dist/ that was never built (Nx resolving executors.json paths, for instance).
      if (request.startsWith('.') && error && error.code === 'MODULE_NOT_FOUND') {
        const base = options?.paths?.[0] ?? (parent?.filename ? dirname(parent.filename) : process.cwd());
        const mapped = fromDist(resolve(base, request));
        if (mapped) return mapped;
      }
      throw error;
    }
    return fromDist(resolved) ?? resolved;
  };
}

module.exports = { REPO, PACKAGES };
