import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
 * Issue #33 point 7: `extract` silently wrote nothing for aggregates, operators, text search configurations (written
 * since issue #72), extended statistics and rules, and wrote a range type's own functions (its constructors) as files that then fail to
 * build. Now what it cannot write is reported by name, and the range type's files build.
 */
describe.each<[Engine]>([['pglite'], ['postgres']])(
  'extract says what it does not write; a range type builds [%s]',
  (engine) => {
    const w = envWorkspace(engine, {
      'trg/db.yaml': 'version: 1\nname: trg\nengine: postgres\nschemas: [trg]\n',
      'trg/tables/orders.sql':
        'CREATE SCHEMA trg;\nCREATE TABLE trg.orders (id int PRIMARY KEY, touched timestamptz);\n',
      'trg/functions/touch.sql':
        'CREATE FUNCTION trg.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := now(); RETURN NEW; END $$;\n',
      'trg/triggers/orders_touch.sql':
        'CREATE TRIGGER orders_touch BEFORE UPDATE ON trg.orders FOR EACH ROW EXECUTE FUNCTION trg.touch();\n',
    });
    beforeAll(() => w.setup(), 120_000);
    afterAll(() => w.teardown());

    it("a whole extract into an existing project writes a changed trigger into its own file, not a second time into its table's", async () => {
      expect((await w.dbee('deploy', { project: 'trg', env: w.env(1) })).code).toBe(0);
      // Changed by hand: it fires on INSERT too.
      await w.exec(
        1,
        'DROP TRIGGER orders_touch ON trg.orders; CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON trg.orders FOR EACH ROW EXECUTE FUNCTION trg.touch();',
      );
      const r = await w.dbee('extract', { project: 'trg', env: w.env(1) });
      expect(r.code, r.stderr).toBe(0);
      const tree = listFiles(join(w.root, 'trg'));
      const texts = tree
        .filter((f) => f.endsWith('.sql'))
        .map((f) => [f, readFileSync(join(w.root, 'trg', f), 'utf8')] as const);
      const withTrigger = texts.filter(([, t]) => /CREATE TRIGGER orders_touch/.test(t)).map(([f]) => f);
      expect(withTrigger).toEqual(['triggers/orders_touch.sql']);
      expect(readFileSync(join(w.root, 'trg/triggers/orders_touch.sql'), 'utf8')).toMatch(
        /BEFORE INSERT OR UPDATE ON trg\.orders/,
      );
      expect(texts.filter(([, t]) => /CREATE TABLE trg\.orders/.test(t)).map(([f]) => f)).toEqual([
        'tables/orders.sql',
      ]);
      // The project still plans: deployed to the second environment, with the trigger as it is live.
      const d = await w.dbee('deploy', { project: 'trg', env: w.env(2) });
      expect(d.stderr).toBe('');
      expect(d.code).toBe(0);
      await w.exec(2, 'INSERT INTO trg.orders (id) VALUES (1)');
      expect(await w.query(2, 'SELECT touched IS NOT NULL AS touched FROM trg.orders')).toEqual([{ touched: true }]);
    });

    it('reports aggregates, operators, extended statistics and rules; writes text search configurations and no range constructor', async () => {
      await w.exec(
        1,
        `CREATE SCHEMA gaps;
       CREATE TABLE gaps.t (id int PRIMARY KEY, a int, b int, body text);
       CREATE TYPE gaps.floatrange AS RANGE (subtype = float8);
       CREATE AGGREGATE gaps.total(int) (sfunc = int4pl, stype = int, initcond = '0');
       CREATE AGGREGATE gaps.moving(int) (sfunc = int4pl, stype = int, initcond = '0', combinefunc = int4pl,
         msfunc = int4pl, minvfunc = int4mi, mstype = int, minitcond = '0', parallel = safe);
       COMMENT ON AGGREGATE gaps.moving(int) IS 'a sum over a moving frame';
       CREATE AGGREGATE gaps.pct(float8 ORDER BY anyelement) (stype = internal, sfunc = ordered_set_transition,
         finalfunc = percentile_disc_final, finalfunc_extra = true, finalfunc_modify = read_write);
       CREATE FUNCTION gaps.near(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT abs($1 - $2) < 2 $$;
       CREATE OPERATOR gaps.~~~ (leftarg = int, rightarg = int, function = gaps.near);
       CREATE TEXT SEARCH CONFIGURATION gaps.english_copy (COPY = pg_catalog.english);
       CREATE STATISTICS gaps.t_ab (dependencies) ON a, b FROM gaps.t;
       CREATE RULE t_no_delete AS ON DELETE TO gaps.t DO INSTEAD NOTHING;`,
      );
      const r = await w.dbee('extract', { project: 'gaps', env: w.env(1) });
      // A whole extract that cannot write every object did not do what was asked: exit 1, the rest written.
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('objects of gaps on');
      expect(r.stderr).toContain('the other files are written');
      for (const line of [
        'aggregate gaps.pct(double precision,anyelement)',
        'operator gaps.~~~(integer,integer)',
        'extended statistics gaps.t_ab',
        'rule t_no_delete on gaps.t',
      ]) {
        expect(r.stderr).toContain(`  ${line}`);
      }
      const files = listFiles(join(w.root, 'gaps', 'schema'));
      expect(files).toContain('gaps/types/floatrange.sql');
      expect(files).toContain('gaps/functions/near.sql');
      // Plain aggregates are written as the catalog has them (before: reported, not written).
      expect(readFileSync(join(w.root, 'gaps', 'schema', 'gaps/functions/total.sql'), 'utf8')).toBe(
        "CREATE AGGREGATE gaps.total(integer) (\n  SFUNC = int4pl,\n  STYPE = integer,\n  INITCOND = '0'\n);\n",
      );
      // Text search configurations are objects extract writes (issue #72): no longer a gap.
      expect(r.stderr).not.toContain('text search configuration');
      expect(files).toContain('gaps/text-search/english_copy.sql');
      // floatrange(float8, float8) and floatrange(float8, float8, text) come with the type.
      expect(files.filter((f) => f.includes('functions/floatrange'))).toEqual([]);
      // What was written builds: deployed to the second environment.
      const d = await w.dbee('deploy', { project: 'gaps', env: w.env(2) });
      expect(d.stderr).toBe('');
      expect(d.code).toBe(0);
      expect(await w.query(2, `SELECT gaps.floatrange(1, 2)::text AS r`)).toEqual([{ r: '[1,2)' }]);
      const aggregates = `SELECT p.proname, to_jsonb(a) - 'aggfnoid' AS row, obj_description(p.oid, 'pg_proc') AS comment
        FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'gaps' AND a.aggkind = 'n' ORDER BY 1`;
      const original = await w.query(1, aggregates);
      expect(original.map((r) => r['proname'])).toEqual(['moving', 'total']);
      expect(await w.query(2, aggregates)).toEqual(original);
      // A selection may not have asked for them: named in a warning, exit 0.
      const some = await w.dbee('extract', { project: 'gaps', env: w.env(1), objects: 'table:*' });
      expect(some.code, some.stderr).toBe(0);
      expect(some.stderr).toContain('warning: 4 objects of gaps on');
    });
  },
);
