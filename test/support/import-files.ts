import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { DbeeAggregateError, DbeeError } from '../../packages/core/src/errors';

/**
 * The unit tests of `dbee import`'s readers (packages/core/src/import): a folder of files for one test, removed after
 * it, and the problems a reader threw, each as `file:line message`.
 */
export function importFolders(prefix: string): (files: Record<string, string>) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (files) => {
    const root = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(root);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    return root;
  };
}

/** The messages of what a reader threw (one error or several), with their file and line; none when it threw nothing. */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    const all = e instanceof DbeeAggregateError ? e.errors : e instanceof DbeeError ? [e] : null;
    if (!all) throw e;
    return all.map((x) => `${x.location?.file}:${x.location?.line} ${x.message}`);
  }
  return [];
}
