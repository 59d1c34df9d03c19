import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodes } from '../index';
import { CORE_DB_YAML, SALES_DB_YAML, TestWorkspace } from '../testing/workspace';

let workspace: TestWorkspace | undefined;
afterEach(() => {
  workspace?.remove();
  delete process.env.DBEE_NX_PLUGIN_CACHE;
});

const FILES = { 'db/core/db.yaml': CORE_DB_YAML, 'db/sales/db.yaml': SALES_DB_YAML };

async function infer(ws: TestWorkspace): Promise<string> {
  return JSON.stringify(await createNodes[1](Object.keys(FILES), {}, ws.context()));
}

/** The cache folder of a workspace that is not the process's own: <root>/.nx/workspace-data/dbee-nx-plugin. */
function cacheDir(ws: TestWorkspace): string {
  return join(ws.root, '.nx', 'workspace-data', 'dbee-nx-plugin');
}

/** The cache's entry files, the one stored last first. */
function entryFiles(ws: TestWorkspace): string[] {
  if (!existsSync(cacheDir(ws))) return [];
  return readdirSync(cacheDir(ws))
    .map((f) => join(cacheDir(ws), f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

/** The entry stored last. */
function cacheFile(ws: TestWorkspace): string {
  return entryFiles(ws)[0] ?? join(cacheDir(ws), 'none');
}

describe('inference cache', () => {
  it('answers from the cache while nothing it depends on changed, and infers again after any change', async () => {
    const ws = (workspace = new TestWorkspace(FILES));
    const first = await infer(ws);
    expect(existsSync(cacheFile(ws))).toBe(true);

    // Mark the stored answer: a hit returns the mark, so the db.yaml files were not read again.
    writeFileSync(cacheFile(ws), readFileSync(cacheFile(ws), 'utf8').replace('"db-sales"', '"db-sales-from-cache"'));
    expect(await infer(ws)).toBe(first.replace('"db-sales"', '"db-sales-from-cache"'));

    ws.write({ 'db/sales/db.yaml': `${SALES_DB_YAML}searchPath: [sales, core]\n` });
    const edited = await infer(ws);
    expect(edited).toContain('"db-sales"');
    expect(edited).not.toContain('from-cache');

    ws.write({ 'dbee.yaml': readFileSync(join(ws.root, 'dbee.yaml'), 'utf8').replace('DBEE_TEST_URL', 'OTHER_URL') });
    expect(await infer(ws)).toContain('"env":"OTHER_URL"');
  });

  it('answers exactly what the inference answers, byte for byte', async () => {
    const ws = (workspace = new TestWorkspace(FILES));
    process.env.DBEE_NX_PLUGIN_CACHE = 'false';
    const inferred = await infer(ws);
    delete process.env.DBEE_NX_PLUGIN_CACHE;
    expect(await infer(ws)).toBe(inferred); // a miss, stored
    expect(entryFiles(ws)).toHaveLength(1);
    expect(await infer(ws)).toBe(inferred); // a hit
  });

  it('keeps one entry per branch, each read alone on a hit, the four stored last', async () => {
    const ws = (workspace = new TestWorkspace(FILES));
    const branch = (n: number) => ws.write({ 'db/sales/db.yaml': `${SALES_DB_YAML}# branch ${n}\n` });
    for (let n = 1; n <= 5; n++) {
      const before = new Set(entryFiles(ws));
      branch(n);
      await infer(ws);
      // The new entry, marked (a hit returns the mark) and dated n seconds into 2001: the order they were stored in.
      for (const file of entryFiles(ws).filter((f) => !before.has(f))) {
        writeFileSync(file, readFileSync(file, 'utf8').replace('"db-sales"', '"db-sales-from-cache"'));
        utimesSync(file, 978307200 + n, 978307200 + n);
      }
    }
    // Branches 2 to 5 are kept, one file each: a hit reads one inference, however many branches have entries.
    expect(entryFiles(ws)).toHaveLength(4);
    for (const file of entryFiles(ws)) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { results: unknown[] };
      expect(stored.results).toHaveLength(2);
    }
    for (const n of [2, 5, 3, 4]) {
      branch(n);
      expect(await infer(ws)).toContain('from-cache');
    }
    branch(1); // dropped: inferred again
    expect(await infer(ws)).not.toContain('from-cache');
    expect(entryFiles(ws)).toHaveLength(4);
  });

  it('infers again when other plugin options come in', async () => {
    const ws = (workspace = new TestWorkspace(FILES));
    await infer(ws);

    const prefixed = JSON.stringify(await createNodes[1](Object.keys(FILES), { projectPrefix: 'sql-' }, ws.context()));
    expect(prefixed).toContain('"sql-sales"');
  });

  it('never stores a failed inference, and can be turned off', async () => {
    const ws = (workspace = new TestWorkspace({ 'db/core/db.yaml': 'version: 1\nname: core\nengine: oracle\n' }));
    for (let i = 0; i < 2; i++)
      await expect(createNodes[1](['db/core/db.yaml'], {}, ws.context())).rejects.toThrow('Failed to create nodes');
    expect(existsSync(cacheFile(ws))).toBe(false);

    process.env.DBEE_NX_PLUGIN_CACHE = 'false';
    ws.write(FILES);
    await infer(ws);
    expect(existsSync(cacheFile(ws))).toBe(false);
  });
});
