import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from './helpers';

function listFiles(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), rel + e.name + '/') : [rel + e.name]))
    .sort();
}

/**
 * Issue #72 point 1: `public` is in every new database. `extract --schemas public` wrote `CREATE SCHEMA public;`, the
 * deploy to a new database was refused (`schema:public already exists ... the ledger does not know it`), and `diff`
 * failed building the sources ("schema "public" already exists"). Now extract writes what differs from a new
 * database's `public` (here its comment), the sources deploy, diff and verify on a scratch copy, and undoing the first
 * deployment leaves `public` where it was.
 */
describe.each<[Engine]>([['pglite'], ['postgres']])('a project in public, extracted and deployed [%s]', (engine) => {
  const w = envWorkspace(engine, {});
  beforeAll(() => w.setup(), 120_000);
  afterAll(() => w.teardown());

  it('extracts public as what differs from a new database, deploys it to a new one and diffs empty', async () => {
    await w.exec(
      1,
      `COMMENT ON SCHEMA public IS 'the shop';
       CREATE TABLE public.items (id int PRIMARY KEY, name text NOT NULL);
       CREATE VIEW public.item_names AS SELECT name FROM public.items;`,
    );
    const x = await w.dbee('extract', { project: 'shop', env: w.env(1), schemas: 'public' });
    expect(x.stderr).toBe('');
    expect(x.code).toBe(0);
    const root = join(w.root, 'shop');
    const texts = listFiles(root)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => readFileSync(join(root, f), 'utf8'));
    expect(texts.filter((t) => /CREATE SCHEMA/.test(t))).toEqual([]);
    expect(readFileSync(join(root, 'schema/public/schema.sql'), 'utf8')).toBe(
      "COMMENT ON SCHEMA public IS 'the shop';\n",
    );

    const d = await w.dbee('deploy', { project: 'shop', env: w.env(2) });
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    for (const n of [1, 2] as const) {
      const diff = await w.dbee('diff', { project: 'shop', env: w.env(n) });
      expect(diff.stderr).toBe('');
      expect(diff.stdout).toContain('no differences');
      expect(diff.code).toBe(0);
    }
    expect(await w.query(2, `SELECT obj_description('public'::regnamespace) AS c`)).toEqual([{ c: 'the shop' }]);

    // A change is verified on a scratch copy of the target, which has `public` already.
    writeFileSync(
      join(root, 'schema/public/tables/items.sql'),
      readFileSync(join(root, 'schema/public/tables/items.sql'), 'utf8').replace(
        'name text NOT NULL',
        'name text NOT NULL,\n  note text',
      ),
    );
    const dry = await w.dbee('deploy', { project: 'shop', env: w.env(2), dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toContain('verified on a scratch copy');
    expect(dry.code).toBe(0);

    // Undoing the first deployment drops what it made, never `public`.
    const undo = await w.dbee('rollback', { project: 'shop', env: w.env(2), dryRun: true });
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).not.toMatch(/DROP SCHEMA/);
  });

  it('builds sources that say CREATE SCHEMA IF NOT EXISTS public; refuses a plain CREATE SCHEMA public with the fix', async () => {
    const root = join(w.root, 'shop');
    writeFileSync(
      join(root, 'schema/public/schema.sql'),
      "CREATE SCHEMA IF NOT EXISTS public;\nCOMMENT ON SCHEMA public IS 'the shop';\n",
    );
    const ok = await w.dbee('diff', { project: 'shop', env: w.env(1) });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    writeFileSync(
      join(root, 'schema/public/schema.sql'),
      "CREATE SCHEMA public;\nCOMMENT ON SCHEMA public IS 'the shop';\n",
    );
    const bad = await w.dbee('diff', { project: 'shop', env: w.env(1) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'shop/schema/public/schema.sql:1:1: CREATE SCHEMA public: every new PostgreSQL database has schema public already',
    );
    expect(bad.stderr).toContain('write CREATE SCHEMA IF NOT EXISTS public, or leave the statement out');
  });
});
