import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { PgliteConnection } from '../../packages/postgres/src/pglite-connection';
import { pgliteTemplate } from '../../packages/postgres/src/pglite-template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** An initialised PGlite data folder (initdb done): copy it, never open it in place. */
    pgliteDataDir: string;
    /** A workspace root whose `.dbee/cache` holds the PGlite template dump dbee itself makes (pglite-template.ts). */
    pgliteTemplateRoot: string;
  }
}

/** `tsc -b tsconfig.build.json`: the dist/ that processes started by the tests run (vitest.config.ts DBEE_USE_DIST). */
async function build(): Promise<void> {
  const root = resolve(__dirname, '..', '..');
  try {
    await promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-b', 'tsconfig.build.json'], { cwd: root });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`building dist/ for the processes the tests start failed (tsc -b tsconfig.build.json):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/**
 * Once per `vitest run`, before any test file: the two PGlite starting points the database suites need, so that no
 * test file runs initdb for them (seconds of CPU each, paid by every file before): dbee's own template dump of a fresh
 * database, and a data folder made from it as dbee makes a new embedded environment's folder. Beside them, the
 * build of dist/.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'dbee-test-pglite-'));
  const dataDir = join(dir, 'data');
  const templateRoot = join(dir, 'workspace');
  const folder = async () => {
    const db = await PgliteConnection.open(dataDir, 'pglite:test-template', await pgliteTemplate(templateRoot));
    await db.close();
  };
  await Promise.all([folder(), build()]);
  project.provide('pgliteDataDir', dataDir);
  project.provide('pgliteTemplateRoot', templateRoot);
  return () => {
    rmSync(dir, { recursive: true, force: true });
    // The run's scratch folder (vitest.config.ts), with whatever a test left in it.
    if (process.env.DBEE_TEST_SCRATCH) rmSync(process.env.DBEE_TEST_SCRATCH, { recursive: true, force: true });
  };
}
