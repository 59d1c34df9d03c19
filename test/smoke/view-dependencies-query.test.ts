import type { Connection } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { catalogQuery } from '../../packages/postgres/src/connection/postgres-connection';
import { VIEW_DEPENDENCIES } from '../../packages/postgres/src/smoke/postgres-smoke';
import { catalogConnections, withSchema } from './catalog-connections';
import { VIEW_DEPENDENCIES_BEFORE } from './view-dependencies-before';

/**
 * The smoke baseline's view-dependency query (`VIEW_DEPENDENCIES`) answers exactly as the query it replaced
 * (`VIEW_DEPENDENCIES_BEFORE`: every edge of the database read first) for the same database and views, on the server
 * and on PGlite, and what its plan handles does not grow with views and routines that are not under the views asked
 * about.
 */
const SCHEMA = `
CREATE SCHEMA a;
CREATE SCHEMA b;
CREATE TABLE a.t (id int PRIMARY KEY, x int, y text);
CREATE TYPE a.pair AS (l int, r int);
CREATE TYPE a.mood AS ENUM ('calm', 'loud');
CREATE DOMAIN a.posint AS int CHECK (VALUE > 0);
CREATE VIEW a.v1 AS SELECT id, x FROM a.t;
CREATE VIEW a.v2 AS SELECT id, x * 2 AS x2 FROM a.v1;
CREATE VIEW b.w1 AS SELECT v2.id, v2.x2 FROM a.v2;
CREATE VIEW b.cnt AS SELECT count(*) AS n FROM a.v1;
CREATE VIEW b.ex AS SELECT EXISTS (SELECT 1 FROM b.w1) AS e;
CREATE VIEW b.whole AS SELECT v FROM a.v1 v;
CREATE VIEW b.inv WITH (security_invoker = true) AS SELECT id FROM a.v1;
CREATE VIEW b.cnt_inv AS SELECT count(*) AS n FROM b.inv;
CREATE FUNCTION a.f_sql(i int) RETURNS int LANGUAGE sql AS $$ SELECT i + 1 $$;
CREATE FUNCTION a.f_sql(i text) RETURNS text LANGUAGE sql AS $$ SELECT i $$;
CREATE FUNCTION a.f_pl(p a.pair) RETURNS a.posint LANGUAGE plpgsql AS $$ BEGIN RETURN p.l; END $$;
CREATE FUNCTION a.f_atomic(i int) RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM a.v2 WHERE x2 > i; END;
CREATE FUNCTION a.f_rows(r a.t[]) RETURNS a.pair[] LANGUAGE sql AS $$ SELECT ARRAY[]::a.pair[] $$;
CREATE FUNCTION b.f_deep() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT a.f_atomic(1) + (SELECT count(*) FROM b.cnt); END;
CREATE VIEW b.uses AS SELECT a.f_sql(id) AS s, a.f_sql(y) AS t, a.f_atomic(x) AS c, a.f_pl(ROW(1, 2)::a.pair) AS p,
  a.f_rows(ARRAY[]::a.t[]) AS r, b.f_deep() AS d FROM a.t;
CREATE VIEW b.typed AS SELECT ARRAY['calm']::a.mood[] AS moods, 1::a.posint AS one, ROW(1, 2)::a.pair AS pr;
CREATE MATERIALIZED VIEW a.m AS SELECT id, x2 FROM a.v2 WITH NO DATA;
CREATE VIEW b.over_m AS SELECT id FROM a.m;
CREATE VIEW b.cnt_m AS SELECT count(*) AS n FROM a.m;
CREATE VIEW b.rowtype AS SELECT (w)::text AS w FROM b.w1 w;
`;

/** Every view and materialized view above, as the smoke baseline names them. */
const ALL = [
  'a.v1',
  'a.v2',
  'a.m',
  'b.w1',
  'b.cnt',
  'b.ex',
  'b.whole',
  'b.inv',
  'b.cnt_inv',
  'b.uses',
  'b.typed',
].concat(['b.over_m', 'b.cnt_m', 'b.rowtype']);
const qualified = (names: string[]) => names.map((n) => n.replace(/^([^.]+)\.(.+)$/, '"$1"."$2"'));

interface Row {
  node: string | null;
  deps: string[];
  overloads: number;
  opaque: string[] | null;
}

/** The query's rows on `conn` for `views`, in an order of their own (arrays that are sets sorted). */
async function rows(conn: Connection, sql: string, views: string[]): Promise<Row[]> {
  const r = await catalogQuery<Row>(conn, sql, [qualified(views)]);
  return r.rows
    .map((row) => ({ ...row, deps: [...row.deps].sort(), opaque: row.opaque ? [...row.opaque].sort() : null }))
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

/**
 * How many rows the query's plan handled for `views` (`EXPLAIN ANALYZE` of its generic plan, as dbee runs it: every
 * node's rows times its loops, and the rows its filters removed): a count that follows what the query reads.
 */
async function rowsHandled(conn: Connection, sql: string, views: string[]): Promise<number> {
  await conn.execute(
    `SET plan_cache_mode = force_generic_plan; SET jit = off; PREPARE dbee_deps_probe(text[]) AS ${sql}`,
  );
  try {
    const literal = `ARRAY[${qualified(views)
      .map((v) => `'${v.replace(/'/g, "''")}'`)
      .join(', ')}]::text[]`;
    const r = await conn.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE dbee_deps_probe(${literal})`,
    );
    const raw = r.rows[0]!['QUERY PLAN'];
    const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
    return handled(plan[0]!.Plan);
  } finally {
    await conn.execute('DEALLOCATE dbee_deps_probe; RESET plan_cache_mode; RESET jit');
  }
}
interface PlanNode {
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}
function handled(p: PlanNode): number {
  const removed =
    (p['Rows Removed by Filter'] ?? 0) +
    (p['Rows Removed by Join Filter'] ?? 0) +
    (p['Rows Removed by Index Recheck'] ?? 0);
  return p['Actual Rows'] * p['Actual Loops'] + removed + (p.Plans ?? []).reduce((n, c) => n + handled(c), 0);
}

/** Views and routines in a schema of their own that nothing asked about uses: `count` of each. */
const unrelated = (count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      `CREATE VIEW z.v${i} AS SELECT id, x FROM a.t WHERE id > ${i};\n` +
      `CREATE FUNCTION z.f${i}(i int) RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM z.v${i} WHERE x > i; END;\n` +
      `CREATE VIEW z.w${i} AS SELECT z.f${i}(id) AS n FROM z.v${i};`,
  ).join('\n');

const TRANSPORTS = catalogConnections('dbee_smokedeps');

describe.each(TRANSPORTS)('the view-dependency query [%s]', (_name, open) => {
  const opened = withSchema(open, SCHEMA);

  it('answers as the query it replaced: every view together, each one alone, names that are no view', async () => {
    const conn = opened();
    const sets = [ALL, ...ALL.map((v) => [v]), ['a.t', 'a.nothing', 'b.cnt'], []];
    for (const views of sets) {
      expect(await rows(conn, VIEW_DEPENDENCIES, views), views.join(', ')).toEqual(
        await rows(conn, VIEW_DEPENDENCIES_BEFORE, views),
      );
    }
    // What the comparison covered: views over views and other schemas' views, routines under views and under routines,
    // overloads, row, array, domain and enum types, views that read no column of a view (opaque) and those that do.
    const list = await rows(conn, VIEW_DEPENDENCIES, ALL);
    const all = new Map(list.map((r) => [r.node, r]));
    expect(all.get('relation:b.w1')?.deps).toEqual(['relation:a.v2']);
    expect(all.get('relation:b.uses')?.deps).toEqual(
      expect.arrayContaining(['routine:a.f_sql', 'routine:a.f_atomic', 'routine:a.f_rows', 'routine:b.f_deep']),
    );
    expect(all.get('routine:b.f_deep')?.deps).toEqual(expect.arrayContaining(['routine:a.f_atomic', 'relation:b.cnt']));
    expect(all.get('routine:a.f_atomic')?.deps).toEqual(expect.arrayContaining(['relation:a.v2']));
    // A table's row type, and an array of it, is the table; a composite type (CREATE TYPE ... AS), and an array of it,
    // is a type: the names a change set's keys have (stale-views.ts nodeOf), so that a change reaches what uses it.
    expect(all.get('routine:a.f_rows')?.deps).toEqual(expect.arrayContaining(['relation:a.t', 'type:a.pair']));
    expect(all.get('relation:b.typed')?.deps).toEqual(expect.arrayContaining(['type:a.pair']));
    for (const r of list) expect(r.deps, r.node ?? '').not.toEqual(expect.arrayContaining(['type:a.t']));
    for (const r of list) expect(r.deps, r.node ?? '').not.toEqual(expect.arrayContaining(['relation:a.pair']));
    expect(all.get('relation:b.typed')?.deps).toEqual(expect.arrayContaining(['type:a.mood', 'type:a.posint']));
    expect(list.filter((r) => r.node === 'routine:a.f_sql').map((r) => r.overloads)).toEqual([2, 2]);
    expect(all.get('relation:b.cnt')?.opaque).toEqual(['relation:a.v1']);
    expect(all.get('relation:b.ex')?.opaque).toEqual(['relation:b.w1']);
    for (const v of ['b.whole', 'b.cnt_inv', 'b.cnt_m', 'b.rowtype'])
      expect(all.get(`relation:${v}`)?.opaque).toBeNull();
  });

  it('handles as many rows whatever else the database holds', async () => {
    const conn = opened();
    const before = await rowsHandled(conn, VIEW_DEPENDENCIES, ['b.uses']);
    await conn.execute(`CREATE SCHEMA z;\n${unrelated(60)}`);
    try {
      expect(await rowsHandled(conn, VIEW_DEPENDENCIES, ['b.uses'])).toBe(before);
      expect(await rows(conn, VIEW_DEPENDENCIES, [...ALL, 'z.w7'])).toEqual(
        await rows(conn, VIEW_DEPENDENCIES_BEFORE, [...ALL, 'z.w7']),
      );
    } finally {
      await conn.execute('DROP SCHEMA z CASCADE');
    }
  });
});
