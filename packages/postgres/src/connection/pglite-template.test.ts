import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { PgliteConnection } from './pglite-connection';
import { machineCacheDir, pgliteTemplate, removeStaleTemplates } from './pglite-template';

/**
 * The template every shadow and new embedded database starts from (made once per run by test/support/global-setup.ts
 * with this module's own code): only the `postgres` database, and each start a database of its own.
 */
describe('the PGlite template [pglite]', () => {
  const root = inject('pgliteTemplateRoot');
  let a: PgliteConnection;
  let b: PgliteConnection;
  beforeAll(async () => {
    const template = await pgliteTemplate(root);
    [a, b] = [
      await PgliteConnection.open(null, 'pglite:a', template),
      await PgliteConnection.open(null, 'pglite:b', template),
    ];
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  test('holds the postgres database only, and is cached under a name that says so', async () => {
    const { rows } = await a.query<{ datname: string }>('select datname from pg_database order by datname');
    expect(rows.map((r) => r.datname)).toEqual(['postgres']);
    expect((await a.query<{ db: string }>('select current_database() as db')).rows[0]!.db).toBe('postgres');
    const files = readdirSync(join(root, '.dbee', 'cache')).filter((f) => f.startsWith('pglite-'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^pglite-[\w.-]+-2\.tar$/);
  });

  test('each start is a database of its own: what one does the next does not see', async () => {
    await a.execute('create table only_in_a (id int)');
    const seen = await b.query("select 1 from pg_class where relname = 'only_in_a'");
    expect(seen.rows).toEqual([]);
    const again = await PgliteConnection.open(null, 'pglite:c', await pgliteTemplate(root));
    try {
      expect((await again.query("select 1 from pg_class where relname = 'only_in_a'")).rows).toEqual([]);
    } finally {
      await again.close();
    }
  });
});

describe("the machine's cache of the template", () => {
  test('is DBEE_CACHE_DIR, else $XDG_CACHE_HOME/dbee, else ~/.cache/dbee', () => {
    expect(machineCacheDir({ DBEE_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(machineCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(join('/x', 'dbee'));
    expect(machineCacheDir({})).toMatch(/[/\\]\.cache[/\\]dbee$/);
  });

  test("starts a new workspace's first database from it: no initdb, nothing written in the workspace", () => {
    // The run's machine cache (vitest.config.ts sets DBEE_CACHE_DIR) holds the template global-setup made through
    // this module: a process in a workspace that has none reads it. Had it run initdb, it would have written the
    // workspace's copy first (as every process in a new workspace did before, a dump of 25 MB and ~2 s of CPU each).
    const machine = process.env.DBEE_CACHE_DIR!;
    expect(readdirSync(machine).filter((f) => /^pglite-.+\.tar$/.test(f))).toHaveLength(1);
    const root = mkdtempSync(join(tmpdir(), 'dbee-tpl-new-'));
    try {
      const module = join(__dirname, '..', '..', 'dist', 'connection', 'pglite-template.js');
      const script = `require(${JSON.stringify(module)}).pgliteTemplate(${JSON.stringify(root)}).then(async (b) => console.log((await b.arrayBuffer()).byteLength))`;
      const bytes = Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
      expect(bytes).toBeGreaterThan(1_000_000);
      expect(existsSync(join(root, '.dbee', 'cache'))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('stale templates', () => {
  test('are removed from the cache folder, the current one and files being written are kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbee-tpl-cache-'));
    try {
      for (const name of [
        'pglite-0.3.1.tar',
        'pglite-0.5.16.tar',
        'pglite-0.5.16-2.tar',
        'pglite-0.5.16-2.tar.77.tmp',
        'parse',
        'other.tar',
      ]) {
        writeFileSync(join(dir, name), 'x');
      }
      removeStaleTemplates(dir, join(dir, 'pglite-0.5.16-2.tar'));
      expect(readdirSync(dir).sort()).toEqual([
        'other.tar',
        'parse',
        'pglite-0.5.16-2.tar',
        'pglite-0.5.16-2.tar.77.tmp',
      ]);
      removeStaleTemplates(join(dir, 'missing'), join(dir, 'missing', 'x.tar')); // no folder: nothing to do
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
