import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace } from './helpers';

/**
 * Issue 88, the classes the edit fuzzer over the real corpus found (docs/diff-properties.md), each in one small case
 * on one project: A is a database a team made by hand, B the one dbee deploys A's extracted sources to.
 *
 * (a) a second `extract`, with the project's db.yaml there, wrote `REVOKE USAGE ON SCHEMA public FROM PUBLIC` (its
 *     manage.grants left PUBLIC out of the live side, not of a new database's); (b) a serial's sequence whose options
 *     were changed was written as a sequence file, which the deployment refused ("already exists ... the ledger does
 *     not know it"), and one whose column was retyped since (`integer` to `bigint`, the sequence left `AS integer`)
 *     was dropped by the plan before the default that needs it (Safecast seed 6 of the long run after); (c) its
 *     comment was left out; (d) the dry run's copy of B lacked the schema of an extension the
 *     tables' types come from (PostGIS in `postgis`; here citext in `ext`); (e) it lacked B's `ALTER DATABASE ...
 *     SET`, which a view reads through a function (compiled on the copy: its plan evaluates the setting).
 */
describe('extracted again, edited by hand, carried to another database [postgres]', () => {
  const w = envWorkspace('postgres', {}, { extra: 'shadow: server\n' });
  const root = () => join(w.root, 'shop');
  const file = (path: string) => readFileSync(join(root(), path), 'utf8');
  beforeAll(async () => {
    await w.setup();
    for (const n of [1, 2] as const)
      await w.exec(
        n,
        `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET app.tenant TO %L', current_database(), 'north'); END $$`,
      );
    await w.exec(
      1,
      `CREATE SCHEMA ext;
       CREATE EXTENSION citext WITH SCHEMA ext;
       CREATE TABLE public.items (id serial PRIMARY KEY, name ext.citext);
       CREATE TABLE public.logs (id serial PRIMARY KEY);
       CREATE FUNCTION public.tenant() RETURNS text LANGUAGE sql STABLE AS $$ SELECT current_setting('app.tenant') $$;
       CREATE VIEW public.mine AS SELECT * FROM public.items WHERE name = public.tenant();`,
    );
  }, 120_000);
  afterAll(() => w.teardown());

  it('a second extract of an unedited public writes nothing about it (a)', async () => {
    for (const step of ['extract', 'deploy', 'extract'] as const) {
      const r =
        step === 'extract'
          ? await w.dbee('extract', { project: 'shop', env: w.env(1), schemas: 'public' })
          : await w.dbee('deploy', { project: 'shop', env: w.env(2) });
      expect(r.code, `${step}: ${r.stderr}`).toBe(0);
    }
    expect(existsSync(join(root(), 'schema/public/schema.sql'))).toBe(false);
  });

  it("a serial's sequence options and comment are written with its table, verified on a copy and deployed (b-e)", async () => {
    await w.exec(
      1,
      `ALTER SEQUENCE public.items_id_seq CACHE 20 INCREMENT BY 5;
       ALTER TABLE public.logs ALTER COLUMN id TYPE bigint;
       COMMENT ON SEQUENCE public.items_id_seq IS 'item numbers';
       CREATE OR REPLACE FUNCTION public.tenant() RETURNS text LANGUAGE sql STABLE
         AS $$ SELECT lower(current_setting('app.tenant')) $$;`,
    );
    const x = await w.dbee('extract', { project: 'shop', env: w.env(1), schemas: 'public' });
    expect(x.code, x.stderr).toBe(0);
    expect(existsSync(join(root(), 'schema/public/sequences'))).toBe(false);
    expect(file('schema/public/tables/items.sql')).toContain(
      `);\n\nALTER SEQUENCE public.items_id_seq INCREMENT BY 5 CACHE 20;\n\nCOMMENT ON SEQUENCE public.items_id_seq IS 'item numbers';\n`,
    );
    expect(file('schema/public/tables/logs.sql')).toBe(
      'CREATE TABLE public.logs (\n  id bigserial NOT NULL,\n  CONSTRAINT logs_pkey PRIMARY KEY (id)\n);\n\nALTER SEQUENCE public.logs_id_seq AS integer MINVALUE 1 MAXVALUE 2147483647;\n',
    );

    const dry = await w.dbee('deploy', { project: 'shop', env: w.env(2), dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toContain('verified on a scratch copy');
    expect(dry.code).toBe(0);
    const d = await w.dbee('deploy', { project: 'shop', env: w.env(2) });
    expect(d.code, d.stderr).toBe(0);
    expect(
      await w.query(
        2,
        `SELECT seqrelid::regclass::text AS seq, seqcache::int AS cache, seqincrement::int AS increment,
                obj_description(seqrelid) AS comment, seqtypid::regtype::text AS type
         FROM pg_sequence WHERE seqrelid IN ('public.items_id_seq'::regclass, 'public.logs_id_seq'::regclass) ORDER BY 1`,
      ),
    ).toEqual([
      { seq: 'items_id_seq', cache: 20, increment: 5, comment: 'item numbers', type: 'integer' },
      { seq: 'logs_id_seq', cache: 1, increment: 1, comment: null, type: 'integer' },
    ]);
    expect(
      await w.query(
        2,
        `SELECT atttypid::regtype::text AS type FROM pg_attribute WHERE attrelid = 'public.logs'::regclass AND attname = 'id'`,
      ),
    ).toEqual([{ type: 'bigint' }]);
    for (const n of [1, 2] as const) {
      const diff = await w.dbee('diff', { project: 'shop', env: w.env(n) });
      expect(diff.stdout + diff.stderr).toContain('no differences');
    }
  });
});

/**
 * (f) The dry run's copy of B lacked the schemas of extensions the tables use in ways no column type shows: a default
 * calling a function of `uuid-ossp` in a schema of its own (eVaka's `ext.uuid_generate_v1mc()`, fuzzer seeds 1..8), and
 * the operator class an exclusion constraint takes from btree_gist in another ("data type uuid has no default operator
 * class for access method gist"; nothing in the constraint's text names that schema).
 */
describe('a dry run copies the schemas of the extensions a default and an exclusion constraint use [postgres]', () => {
  const w = envWorkspace('postgres', {}, { extra: 'shadow: server\n' });
  beforeAll(async () => {
    await w.setup();
    await w.exec(
      1,
      `CREATE SCHEMA gist;
       CREATE EXTENSION btree_gist WITH SCHEMA gist;
       CREATE SCHEMA util;
       CREATE EXTENSION "uuid-ossp" WITH SCHEMA util;
       CREATE TABLE public.bookings (
         id uuid DEFAULT util.uuid_generate_v4() NOT NULL,
         room uuid NOT NULL,
         during daterange NOT NULL,
         CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&)
       );`,
    );
  }, 120_000);
  afterAll(() => w.teardown());

  it('extracted, deployed, edited: the dry run is verified on a copy, and the deployment converges', async () => {
    const x = await w.dbee('extract', { project: 'rooms', env: w.env(1), schemas: 'public' });
    expect(x.code, x.stderr).toBe(0);
    const first = await w.dbee('deploy', { project: 'rooms', env: w.env(2) });
    expect(first.code, first.stderr).toBe(0);
    const table = join(w.root, 'rooms', 'schema/public/tables/bookings.sql');
    const text = readFileSync(table, 'utf8');
    expect(text).toContain('during daterange NOT NULL,\n');
    writeFileSync(table, text.replace('during daterange NOT NULL,\n', 'during daterange NOT NULL,\n  note text,\n'));
    const dry = await w.dbee('deploy', { project: 'rooms', env: w.env(2), dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toContain('verified on a scratch copy');
    expect(dry.code).toBe(0);
    const d = await w.dbee('deploy', { project: 'rooms', env: w.env(2) });
    expect(d.code, d.stderr).toBe(0);
    const diff = await w.dbee('diff', { project: 'rooms', env: w.env(2) });
    expect(diff.stdout).toContain('no differences');
  });
});
