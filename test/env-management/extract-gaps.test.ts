import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from './helpers';

function listFiles(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), rel + e.name + '/') : [rel + e.name])).sort();
}

/**
 * Issue #33 point 7: `extract` silently wrote nothing for aggregates, operators, text search configurations,
 * extended statistics and rules, and wrote a range type's own functions (its constructors) as files that then fail to
 * build. Now what it cannot write is reported by name, and the range type's files build.
 */
describe.each<[Engine]>([['pglite'], ['postgres']])('extract says what it does not write; a range type builds [%s]', (engine) => {
  const w = envWorkspace(engine, {});
  beforeAll(() => w.setup(), 120_000);
  afterAll(() => w.teardown());

  it('reports aggregates, operators, text search configurations, extended statistics and rules; writes no range constructor', async () => {
    await w.exec(
      1,
      `CREATE SCHEMA gaps;
       CREATE TABLE gaps.t (id int PRIMARY KEY, a int, b int, body text);
       CREATE TYPE gaps.floatrange AS RANGE (subtype = float8);
       CREATE AGGREGATE gaps.total(int) (sfunc = int4pl, stype = int, initcond = '0');
       CREATE FUNCTION gaps.near(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT abs($1 - $2) < 2 $$;
       CREATE OPERATOR gaps.~~~ (leftarg = int, rightarg = int, function = gaps.near);
       CREATE TEXT SEARCH CONFIGURATION gaps.english_copy (COPY = pg_catalog.english);
       CREATE STATISTICS gaps.t_ab (dependencies) ON a, b FROM gaps.t;
       CREATE RULE t_no_delete AS ON DELETE TO gaps.t DO INSTEAD NOTHING;`,
    );
    const r = await w.dbee('extract', { project: 'gaps', env: w.env(1) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('objects of gaps on');
    for (const line of [
      'aggregate gaps.total(integer)',
      'operator gaps.~~~(integer,integer)',
      'text search configuration gaps.english_copy',
      'extended statistics gaps.t_ab',
      'rule t_no_delete on gaps.t',
    ]) {
      expect(r.stderr).toContain(`  ${line}`);
    }
    const files = listFiles(join(w.root, 'gaps', 'schema'));
    expect(files).toContain('gaps/types/floatrange.sql');
    expect(files).toContain('gaps/functions/near.sql');
    // floatrange(float8, float8) and floatrange(float8, float8, text) come with the type.
    expect(files.filter((f) => f.includes('functions/floatrange'))).toEqual([]);
    // What was written builds: deployed to the second environment.
    const d = await w.dbee('deploy', { project: 'gaps', env: w.env(2) });
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    expect(await w.query(2, `SELECT gaps.floatrange(1, 2)::text AS r`)).toEqual([{ r: '[1,2)' }]);
  });
});
