import { afterEach, describe, expect, test } from 'vitest';
import { openShadow } from './open-shadow';
import { closeIdleEmbeddedShadow, embeddedShadowStats } from './embedded-shadow';
import { pgliteTemplate } from '../connection/pglite-template';

const target = { kind: 'embedded' as const, dataDir: null, description: 'test' };
const root = process.cwd();

/** Catalog rows a new shadow has, read by independent SQL: schemas (with owner, privileges, comment) and roles. */
const SNAPSHOT = `SELECT
  (SELECT json_agg(json_build_array(nspname, nspowner::regrole::text, nspacl::text, obj_description(oid, 'pg_namespace')) ORDER BY nspname) FROM pg_namespace) AS schemas,
  (SELECT json_agg(rolname ORDER BY rolname) FROM pg_roles) AS roles,
  (SELECT count(*) FROM pg_class) AS relations,
  current_setting('search_path') AS path, current_user AS usr`;

async function open(roles: string[] = []) {
  await pgliteTemplate(root);
  return openShadow('embedded', target, root, roles);
}

afterEach(closeIdleEmbeddedShadow);

describe('embedded shadows are wiped and reused within a process', () => {
  test('a disposed shadow is taken by the next one, as good as new: no schema, object, role or setting left', async () => {
    await closeIdleEmbeddedShadow();
    const first = await open();
    const fresh = (await first.conn.query(SNAPSHOT)).rows[0];
    await first.dispose();

    const used = await open(['app_reader']);
    await used.conn.execute(`CREATE SCHEMA sales;
      CREATE TABLE sales.orders (id integer PRIMARY KEY, note text);
      CREATE VIEW sales.v AS SELECT id FROM sales.orders;
      CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql AS 'SELECT 1';
      GRANT SELECT ON sales.orders TO app_reader;
      COMMENT ON SCHEMA public IS 'changed';
      REVOKE USAGE ON SCHEMA public FROM PUBLIC`);
    await used.conn.execute(`SET search_path = sales; PREPARE p AS SELECT 1; SET ROLE app_reader`);
    const before = { ...embeddedShadowStats };
    await used.dispose();

    const again = await open();
    expect(embeddedShadowStats.reused).toBe(before.reused + 1);
    expect(embeddedShadowStats.started).toBe(before.started);
    expect((await again.conn.query(SNAPSHOT)).rows[0]).toEqual(fresh);
    await again.dispose();
  });

  test('a disposed shadow is wiped when it is taken again, not when it is disposed (a command that ends pays nothing)', async () => {
    const used = await open();
    await used.conn.execute('CREATE SCHEMA sales; CREATE TABLE sales.orders (id integer PRIMARY KEY)');
    const { wiped, reused } = embeddedShadowStats;
    await used.dispose();
    expect(embeddedShadowStats.wiped).toBe(wiped);
    const again = await open();
    expect([embeddedShadowStats.wiped, embeddedShadowStats.reused]).toEqual([wiped + 1, reused + 1]);
    expect(
      (await again.conn.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'sales'`)).rows,
    ).toEqual([{ n: 0 }]);
    await again.dispose();
  });

  test('a shadow left in a failed transaction is rolled back and reused', async () => {
    const used = await open();
    await used.conn.execute('BEGIN');
    await expect(used.conn.execute('CREATE TABLE nowhere.t (id integer)')).rejects.toThrow(/nowhere/);
    await used.dispose();
    const reused = embeddedShadowStats.reused;
    const again = await open();
    expect(embeddedShadowStats.reused).toBe(reused + 1);
    expect((await again.conn.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await again.dispose();
  });

  test('a shadow holding something the wipe does not remove (a role made by the sources, an event trigger) is closed, not reused', async () => {
    for (const leftover of [
      'CREATE ROLE made_by_a_migration',
      `CREATE FUNCTION pg_catalog.dbee_test_et() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
       CREATE EVENT TRIGGER dbee_test ON ddl_command_start EXECUTE FUNCTION pg_catalog.dbee_test_et()`,
      'ALTER DATABASE postgres SET work_mem = 12345',
    ]) {
      const used = await open();
      await used.conn.execute(leftover);
      const { discarded, started } = embeddedShadowStats;
      await used.dispose();
      const next = await open();
      expect(embeddedShadowStats.discarded, leftover).toBe(discarded + 1);
      expect(embeddedShadowStats.started, leftover).toBe(started + 1);
      expect(
        (await next.conn.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'made_by_a_migration'`)).rows,
      ).toEqual([{ n: 0 }]);
      expect((await next.conn.query(`SELECT count(*)::int AS n FROM pg_event_trigger`)).rows).toEqual([{ n: 0 }]);
      await next.dispose();
    }
  });

  test('two shadows open at once are two databases; one is kept afterwards', async () => {
    const a = await open();
    const b = await open();
    await a.conn.execute('CREATE SCHEMA only_in_a');
    expect(
      (await b.conn.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'only_in_a'`)).rows,
    ).toEqual([{ n: 0 }]);
    await a.dispose();
    await b.dispose();
    const { reused, started } = embeddedShadowStats;
    const c = await open();
    const d = await open();
    expect([embeddedShadowStats.reused, embeddedShadowStats.started]).toEqual([reused + 1, started + 1]);
    await c.dispose();
    await d.dispose();
  });
});
