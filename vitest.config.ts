import { accessSync, constants, mkdtempSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { LongFirstSequencer } from './test/support/sequencer';

/**
 * Tests run on the SOURCES, never on a build: the published packages point `exports` at dist/, so every @dbee/*
 * import is aliased here to its src/ (the same mapping as tsconfig.base.json `paths` for the type check). Processes
 * the tests start run the compiled dist/ instead (DBEE_USE_DIST below).
 */
const src = (dir: string) => resolve(__dirname, dir, 'src');

/**
 * Scratch files (workspaces, PGlite data folders, packages) on a RAM disk where the machine has one: a test copies
 * and removes a PGlite folder (24 MB; 39 MB when measured), which took about 0.6 s on this machine's disk and 0.05 s
 * in /dev/shm, and PGlite's own reads and writes of it are cheaper too. Every worker and every process a test starts inherits TMPDIR;
 * test/support/global-setup.ts removes the folder at the end. DBEE_TEST_TMPDIR=<folder> chooses another place.
 */
function scratchRoot(): string | undefined {
  if (process.env.DBEE_TEST_SCRATCH) return process.env.DBEE_TEST_SCRATCH; // this file evaluated again
  const base = process.env.DBEE_TEST_TMPDIR ?? '/dev/shm';
  try {
    accessSync(base, constants.W_OK);
    // A small /dev/shm (a container's 64 MB) would fill up: the run needs a few hundred MB at once.
    const free = statfsSync(base);
    if (!process.env.DBEE_TEST_TMPDIR && free.bavail * free.bsize < 2 * 1024 ** 3) return undefined;
    return mkdtempSync(join(base, 'dbee-test-'));
  } catch {
    return undefined; // no RAM disk: the system's temporary folder
  }
}
const scratch = scratchRoot();
if (scratch) process.env.TMPDIR = process.env.DBEE_TEST_SCRATCH = scratch;

// The machine's cache folder of dbee (its PGlite template: packages/postgres/src/connection/pglite-template.ts), the
// run's own: every process a test starts in a new workspace reads the template global-setup made there instead of
// running initdb (~2 s of CPU each), and no test reads or writes the user's ~/.cache. Removed by global-setup's teardown.
if (!process.env.DBEE_TEST_CACHE) {
  process.env.DBEE_TEST_CACHE = mkdtempSync(join(scratch ?? tmpdir(), 'dbee-test-cache-'));
  process.env.DBEE_CACHE_DIR = process.env.DBEE_TEST_CACHE;
}

// Server scratch databases are recycled within a worker under names starting with this (test/support/pg.ts); the
// run's global teardown drops what is left, and only this run's (another run may share the server).
process.env.DBEE_TEST_DB_POOL ??= `dbee_pool_${Date.now().toString(36)}_${process.pid}`;

// Processes the tests start (the dbee CLI, Nx and its plugin, the diff target's fingerprint script) run the compiled
// and bundled dist/ that test/support/global-setup.ts builds first (tsc -b and tools/bundle.js, both incremental), as
// installed dbee runs: about 0.4 s less per process than compiling the sources on the fly. The tests' own imports are the sources (aliases below).
process.env.DBEE_USE_DIST = '1';
export default defineConfig({
  resolve: {
    alias: [
      // Engines load lazily with require() in production; in tests from this module graph (see the file).
      { find: /^\.\/engine-packages$/, replacement: resolve(__dirname, 'test/support/engine-packages.ts') },
      // The same for the schemas a command loads with require() when it validates with them.
      { find: /^\.\.\/lazy-schemas$/, replacement: resolve(__dirname, 'test/support/lazy-schemas.ts') },
      { find: /^\.\/option-schemas$/, replacement: resolve(__dirname, 'test/support/option-schemas.ts') },
      // The same for the PostgreSQL engine's roles, loaded on first use.
      { find: /^(?:\.\.?\/)+lazy-roles$/, replacement: resolve(__dirname, 'test/support/lazy-roles.ts') },
      { find: /^@dbee\/core\/(options|schema|lsp)$/, replacement: `${src('packages/core')}/$1/index.ts` },
      { find: /^@dbee\/core\/(compile-cache|errors)$/, replacement: `${src('packages/core')}/$1.ts` },
      { find: /^@dbee\/core\/run$/, replacement: `${src('packages/core')}/operations/run.ts` },
      { find: /^@dbee\/core\/expand$/, replacement: `${src('packages/core')}/expand/expand-plan.ts` },
      { find: /^@dbee\/core\/expand-names$/, replacement: `${src('packages/core')}/expand/names.ts` },
      {
        find: /^@dbee\/core\/partition-indexes$/,
        replacement: `${src('packages/core')}/advise/partition-indexes.ts`,
      },
      {
        find: /^@dbee\/(core|postgres|teradata|cli)\/src\/(.*)$/,
        replacement: `${resolve(__dirname, 'packages')}/$1/src/$2`,
      },
      { find: /^@dbee\/cli\/run$/, replacement: `${src('packages/cli')}/run-command.ts` },
      { find: /^@dbee\/postgres\/engine$/, replacement: `${src('packages/postgres')}/engine.ts` },
      { find: /^@dbee\/teradata\/(.+)$/, replacement: `${src('packages/teradata')}/$1` },
      {
        find: /^@dbee\/(core|postgres|teradata|cli)$/,
        replacement: `${resolve(__dirname, 'packages')}/$1/src/index.ts`,
      },
      { find: /^@dbee\/nx$/, replacement: `${src('plugins/nx')}/index.ts` },
    ],
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'plugins/*/src/**/*.test.ts',
      'test/**/*.test.ts',
      // The long fault cases (test/faults/*.long.ts: kills of a large deployment, 20 parallel deployments) are
      // collected only by `npm run test:faults`, which sets DBEE_FAULTS_LONG; `npm test` does not collect them.
      ...(process.env.DBEE_FAULTS_LONG ? ['test/faults/**/*.long.ts'] : []),
      // The expand/contract scenario at 100,000 rows (test/expand/*.long.ts): `npm run test:expand-long` only.
      ...(process.env.DBEE_EXPAND_LONG ? ['test/expand/**/*.long.ts'] : []),
    ],

    // One PGlite data folder and one template dump per run, shared by every test file (test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup.ts'],
    sequence: { sequencer: LongFirstSequencer },
    reporters: ['verbose'],
    // Timeouts catch hangs, not slowness: the suite must pass on a loaded, shared 2-core machine, where a test that
    // takes 20 s when quiet can take minutes. No test relies on them for its verdict.
    testTimeout: 900_000,
    hookTimeout: 900_000,
    // Three workers on this 2-core machine: with two, a third of the CPU sat idle (a file waits on the server, a child
    // process, a lock it is testing), and three keep both cores busy. Measured, quiet machine, same commit: 268 s with
    // two, 245 s with three. Each worker holds one or two PGlite instances (~150 MB each); timeouts above allow for it.
    maxWorkers: 3,
    // A worker's test files share its modules (no fresh module graph per file): each file no longer re-imports and
    // re-compiles dbee, Nx's devkit and PGlite, and runs on code V8 has already optimised. `npm test` took ~349 s
    // against ~443 s isolated, and 6 min 49 s of CPU against 9 min 27 s. What a file changes for the files after it
    // must be undone: env stubs are restored (`vi.unstubAllEnvs`), setupFiles run again before every file, and the one
    // file that mocks a module (plugins/nx/src/executors/executors.test.ts) loads what it tests afresh and empties the
    // module registry when it ends.
    isolate: false,
  },
});
