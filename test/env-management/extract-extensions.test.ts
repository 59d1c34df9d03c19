import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace } from './helpers';

/**
 * Issue #72 points 2, 4 and 5, on the server (PGlite ships none of these extensions; PostGIS comes from Debian's
 * `postgresql-15-postgis-3`, which `.ci/run` installs): a project in `geo` uses `cube`, `earthdistance`, `unaccent`
 * and PostGIS installed in `public`, which another project of the workspace owns.
 * - 2: extract left the extensions out, so the sources did not build; now it writes them, and they deploy first.
 * - 4: the extension's type `public.cube` made the new project depend on the project owning `public`.
 * - 5: every PostGIS database extracted with exit 1 over the rules of `geometry_columns`, the extension's view.
 */
describe('extract and the extensions a project uses [postgres]', () => {
  const w = envWorkspace(
    'postgres',
    {
      'base/db.yaml': 'version: 1\nname: base\nengine: postgres\nschemas: [public]\n',
      'base/legacy.sql': 'CREATE TABLE public.legacy (id int PRIMARY KEY);\n',
    },
    { extra: 'shadow: server\n' },
  );
  beforeAll(async () => {
    await w.setup();
    await w.exec(
      1,
      `CREATE EXTENSION cube; CREATE EXTENSION earthdistance; CREATE EXTENSION unaccent; CREATE EXTENSION postgis;
       CREATE TABLE public.legacy (id int PRIMARY KEY);
       CREATE SCHEMA geo;
       CREATE TABLE geo.places (id int PRIMARY KEY, name text NOT NULL, lat float8, lon float8, box public.cube,
         shape public.geometry(Point, 4326));
       CREATE INDEX places_earth ON geo.places USING gist (public.ll_to_earth(lat, lon));
       CREATE FUNCTION geo.plain(t text) RETURNS text LANGUAGE sql IMMUTABLE
         AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, t) $$;`,
    );
  }, 120_000);
  afterAll(() => w.teardown());

  it('writes the extensions the project uses, depends on no project for them, and deploys them first', async () => {
    const x = await w.dbee('extract', { project: 'geo', env: w.env(1) });
    expect(x.stderr).toBe('');
    expect(x.code).toBe(0);
    expect(readFileSync(join(w.root, 'geo/db.yaml'), 'utf8')).not.toContain('dependsOn');
    const extension = (name: string) =>
      readFileSync(join(w.root, `geo/schema/public/extensions/${name}.sql`), 'utf8').replace(/^--.*\n/, '');
    expect(extension('cube')).toBe('CREATE EXTENSION IF NOT EXISTS cube WITH SCHEMA public;\n');
    // earthdistance needs cube: CASCADE makes it wherever the deployment starts.
    expect(extension('earthdistance')).toBe(
      'CREATE EXTENSION IF NOT EXISTS earthdistance WITH SCHEMA public CASCADE;\n',
    );
    expect(extension('unaccent')).toBe('CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;\n');
    expect(extension('postgis')).toBe('CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;\n');

    const d = await w.dbee('deploy', { project: 'geo', env: w.env(2) });
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    // Each extension's step ran before every object that uses it.
    const steps = [...d.stdout.matchAll(/\] create (\S+)\n/g)].map((m) => m[1]!);
    const at = (key: string) => steps.indexOf(key);
    for (const e of ['cube', 'earthdistance'])
      expect(at(`extension:${e}`)).toBeLessThan(at('index:geo.places_earth@geo.places'));
    expect(at('extension:cube')).toBeLessThan(at('table:geo.places'));
    expect(at('extension:postgis')).toBeLessThan(at('table:geo.places'));
    expect(at('extension:unaccent')).toBeLessThan(at('function:geo.plain(text)'));
    for (const n of [1, 2] as const) {
      const diff = await w.dbee('diff', { project: 'geo', env: w.env(n) });
      expect(diff.stderr).toBe('');
      expect(diff.stdout).toContain('no differences');
    }
    expect(await w.query(2, `SELECT geo.plain('Crème brûlée') AS t`)).toEqual([{ t: 'Creme brulee' }]);
  });

  it("extracts a PostGIS database's public schema without the extension's own view and rules", async () => {
    const x = await w.dbee('extract', { project: 'everything', env: w.env(1), schemas: 'public' });
    expect(x.stderr).toBe('');
    expect(x.code).toBe(0);
    expect(x.stdout).not.toContain('geometry_columns');
    expect(x.stdout).toContain('everything/schema/public/extensions/postgis.sql');
  });
});
