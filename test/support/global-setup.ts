import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { PgliteConnection } from '../../packages/postgres/src/connection/pglite-connection';
import { pgliteTemplate } from '../../packages/postgres/src/connection/pglite-template';
import { PgConnection } from '../../packages/postgres/src/connection/postgres-connection';
import { removeLeftShadows } from '../../packages/postgres/src/shadow/shadow-leftovers';
import { dropPooledDatabases, SERVER_URL } from './pg';

declare module 'vitest' {
  export interface ProvidedContext {
    /** An initialised PGlite data folder (initdb done): copy it, never open it in place. */
    pgliteDataDir: string;
    /** A workspace root whose `.dbee/cache` holds the PGlite template dump dbee itself makes (pglite-template.ts). */
    pgliteTemplateRoot: string;
  }
}

/** `npm test` sets it: the type check runs here, beside the build (see `typecheck`). */
const TYPECHECK = process.env.DBEE_TEST_TYPECHECK === '1';

/** Run tsc with `args` in the repository; `what` names the job in the error that carries tsc's output. */
async function tsc(args: string[], what: string): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  try {
    await promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), ...args], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`${what} failed (tsc ${args.join(' ')}):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/**
 * `tsc -b tsconfig.build.json`: the dist/ that processes started by the tests run (vitest.config.ts DBEE_USE_DIST).
 * With `--noCheck` when the type check below runs (it covers the same sources): 7.8 s instead of 10.8 s on a clean
 * clone.
 */
const build = async () => {
  await tsc(
    ['-b', 'tsconfig.build.json', ...(TYPECHECK ? ['--noCheck'] : [])],
    'building dist/ for the processes the tests start',
  );
  await bundle();
};

/**
 * tools/bundle.js after tsc: the processes run the bundles that the packages ship (one file per package instead of
 * ~350 modules a command), as installed dbee does. A package whose bundle is up to date is skipped (a few ms).
 */
async function bundle(): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  try {
    await promisify(execFile)(process.execPath, [join(root, 'tools', 'bundle.js')], { cwd: root });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`bundling dist/ failed (node tools/bundle.js):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/**
 * `npm test`'s type check of everything (sources, tests, tools), when DBEE_TEST_TYPECHECK=1 (package.json): beside
 * the build rather than before Vitest, so that the two compilers share the two cores (on a clean clone, 10.8 s +
 * 9.8 s one after the other, 15.5 s side by side). A type error fails the run before any test starts.
 */
const typecheck = async () => {
  if (TYPECHECK) await tsc(['-p', 'tsconfig.json', '--noEmit'], 'the type check');
};

/**
 * Once per `vitest run`, before any test file: the two PGlite starting points the database suites need, so that no
 * test file runs initdb for them (seconds of CPU each, paid by every file before): dbee's own template dump of a fresh
 * database, and a data folder made from it as dbee makes a new embedded environment's folder. Beside them, the
 * build of dist/ and (`npm test`) the type check.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'dbee-test-pglite-'));
  const dataDir = join(dir, 'data');
  const templateRoot = join(dir, 'workspace');
  const folder = async () => {
    const db = await PgliteConnection.open(dataDir, 'pglite:test-template', await pgliteTemplate(templateRoot));
    await db.close();
  };
  await Promise.all([folder(), build(), typecheck()]);
  project.provide('pgliteDataDir', dataDir);
  project.provide('pgliteTemplateRoot', templateRoot);
  return async () => {
    rmSync(dir, { recursive: true, force: true });
    // The server databases the workers kept for reuse (test/support/pg.ts).
    if (process.env.DBEE_TEST_DB_POOL) await dropPooledDatabases(process.env.DBEE_TEST_DB_POOL);
    // The server shadows the workers kept for their next command (packages/postgres/src/shadow/open-shadow.ts): a
    // worker ends without a command's end to drop it; its makers are gone now, so the next command would remove them.
    await removeWorkersShadows();
    // The run's machine cache of dbee (vitest.config.ts), inside the scratch folder where there is one.
    if (process.env.DBEE_TEST_CACHE) rmSync(process.env.DBEE_TEST_CACHE, { recursive: true, force: true });
    // The run's scratch folder (vitest.config.ts), with whatever a test left in it.
    if (process.env.DBEE_TEST_SCRATCH) rmSync(process.env.DBEE_TEST_SCRATCH, { recursive: true, force: true });
  };
}

async function removeWorkersShadows(): Promise<void> {
  const admin = await PgConnection.open({ connectionString: SERVER_URL }, 'test teardown');
  try {
    await removeLeftShadows(admin);
  } finally {
    await admin.close();
  }
}
