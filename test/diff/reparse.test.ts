import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SchemaModel } from '../../packages/core/src/schema';
import { introspect } from '../../packages/postgres/src/introspect';
import { renderPlanSteps } from '../../packages/postgres/src/render';
import { sameDefinition } from '../../packages/postgres/src/compare/same-definition';
import { loadPostgresParser } from '../../packages/postgres/src/parse';
import { diffModels } from '../support/pg-diff';
import { applySteps, ENGINES, openScratch, type Scratch } from './helpers';

/**
 * Every object kind with a definition PostgreSQL prints, written in the forms it prints differently from the source
 * (IN lists → `= ANY (ARRAY[...])` with casts, BETWEEN, LIKE → `~~`, IS DISTINCT FROM, casts of literals, an
 * unaliased NULL in a UNION branch, ...). Some of them (an IN list on a varchar column, the NULL) it does not even
 * print the way it reads them back: created again from the printed text, they are stored as another tree.
 */
const FORMS = `
create schema rt;
create type rt.mood as enum ('sad', 'ok');
create domain rt.code as varchar(5) default 'a' check (value in ('a', 'b'));
create table rt.t (
  id int primary key,
  v varchar(10) check (v in ('a', 'b')),
  v1 varchar(10) check (v1 in ('a')),
  vn varchar(10) check (vn not in ('a', 'b')),
  c char(3) check (c in ('x', 'y')),
  tx text check (tx in ('a', 'b')) default 'z'::character varying,
  n numeric check (n between 0 and 10) default 1.5,
  nb numeric check (nb between symmetric 10 and 0),
  i int default -1 check (i is distinct from 3 and i is not distinct from i),
  s text check (s like 'x%' and s not ilike 'y%' and s similar to 'z%'),
  d date default '2020-01-01' check (d > '2000-01-01'),
  ts timestamptz default now() check (ts at time zone 'UTC' > '2000-01-01'),
  ts2 timestamp default current_timestamp,
  iv interval default '1 day',
  arr text[] default '{}' check (array_length(arr, 1) < 3),
  arr2 varchar[] default array['a', 'b']::varchar[],
  m rt.mood default 'ok' check (m in ('ok', 'sad')),
  cd rt.code,
  g text generated always as (coalesce(v, 'none') || substring(s from 1 for 2)) stored,
  e numeric check (extract(year from d) > 1999 and nullif(n, 0) is not null and case when n > 1 then true else false end),
  b bool check (b is not true or (i, n) > (1, 2)),
  jb jsonb default '{}'::jsonb check (jb ? 'x' or jb @> '{"a":1}')
);
create index t_v on rt.t (v) where v in ('a', 'b');
create index t_e on rt.t (lower(s), (n::int)) where d between '2020-01-01' and '2021-01-01';
create table rt.rc (release int, country varchar(10) check (country in ('a', 'b')));
create table rt.ruc (release int);
create view rt.release_countries as
  select release, country from (select release, country from rt.rc union all select release, null from rt.ruc) q;
create view rt.v2 as select id, v, 'k' as k from rt.t union select 1, 'x', 'y' union select id, v::text, null from rt.ruc, rt.t;
create view rt.v3 as select id from rt.t where v in ('a', 'b') and s like 'x%' and n between 1 and 2 and i is distinct from 1;
create view rt.v5 as select v, count(*) from rt.t group by rollup (v) having count(*) > 1 order by 1;
create view rt.v6 as values (1, 'a'::varchar), (2, null);
create view rt.v7 as select id, v from rt.t intersect select release, null from rt.ruc except select 1, 'a';
create view rt.v8 as select id, row_number() over (partition by v order by id) from rt.t where v = any ('{a,b}'::varchar[]);
create materialized view rt.mv as select release, country from rt.rc where country in ('a', 'b') union all select release, null from rt.ruc;
alter table rt.t enable row level security;
create policy p on rt.t using (v in ('a', 'b')) with check (n between 0 and 1);
create function rt.f() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger tr before update on rt.t for each row when (new.v in ('a', 'b') and old.n between 1 and 2) execute function rt.f();
`;

const SCOPE = { schemas: ['rt'] };
const options = { sameDefinition };

/** The schema of `model` created in `into` from the definitions the catalog printed, as extract and clone write them. */
async function createFrom(into: Scratch, model: SchemaModel): Promise<SchemaModel> {
  const empty = await introspect(into.conn, SCOPE);
  await applySteps(into.conn, renderPlanSteps(diffModels(empty, model, options), { from: empty, to: model }));
  return introspect(into.conn, SCOPE);
}

describe.each(ENGINES)('definitions PostgreSQL reads back as other trees [%s]', (engine) => {
  let origin: Scratch;
  let copy: Scratch;
  let again: Scratch;
  let original: SchemaModel;
  let copied: SchemaModel;

  beforeAll(async () => {
    await loadPostgresParser();
    [origin, copy, again] = await Promise.all([openScratch(engine), openScratch(engine), openScratch(engine)]);
    await origin.conn.execute(FORMS);
    original = await introspect(origin.conn, SCOPE);
    copied = await createFrom(copy, original);
  });

  afterAll(async () => {
    await Promise.all([origin, copy, again].filter(Boolean).map((s) => s.dispose()));
  });

  test('a schema created from its printed definitions is the same catalog text as its origin', () => {
    // PostgreSQL's printed forms of these would be stored as other trees (an IN list's ARRAY cast moved onto its
    // elements, a UNION branch's unaliased NULL named after its type): the introspected definitions are the forms it
    // reads back as the same tree, so the copy prints exactly as its origin and a plain text comparison sees no change.
    const check = (m: SchemaModel) =>
      m.tables.find((t) => t.key.name === 'rc')!.constraints.find((c) => c.name === 'rc_country_check')!.definition;
    expect(check(original)).toBe(
      "CHECK (((country)::text = ANY (ARRAY['a'::character varying, 'b'::character varying])))",
    );
    expect(check(copied)).toBe(check(original));
    const view = (m: SchemaModel) => m.views.find((v) => v.key.name === 'release_countries')!.definition;
    expect(view(original)).toContain('NULL::character varying AS "?column?"');
    expect(view(copied)).toBe(view(original));
    expect(diffModels(original, copied)).toEqual([]);
    expect(diffModels(copied, original)).toEqual([]);
  });

  test("the printed definitions of the copy are the origin's, as PostgreSQL prints them", async () => {
    const printed = async (s: Scratch) =>
      (
        await s.conn.query<{ d: string }>(
          `select pg_get_constraintdef(oid) as d from pg_constraint where connamespace = 'rt'::regnamespace
           union all select pg_get_viewdef(c.oid) from pg_class c where c.relnamespace = 'rt'::regnamespace and c.relkind in ('v', 'm')
           union all select pg_get_indexdef(indexrelid) from pg_index i join pg_class c on c.oid = i.indrelid where c.relnamespace = 'rt'::regnamespace
           union all select pg_get_triggerdef(oid) from pg_trigger where tgrelid = 'rt.t'::regclass
           union all select concat_ws(' ', pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)) from pg_policy
           union all select pg_get_expr(adbin, adrelid) from pg_attrdef where adrelid = 'rt.t'::regclass
           order by 1`,
        )
      ).rows.map((r) => r.d);
    expect(await printed(copy)).toEqual(await printed(origin));
  });

  test('an explicit cast of an array keeps its printed form (leaving it out would change the definition)', async () => {
    // Printed like the implicit coercion above, but made by hand: the stored tree tells them apart.
    await origin.conn.execute(`create table rt.x (a int[] default array[1]::bigint[]::int[],
      b int[] check (b = array[1]::bigint[]::int[] and b::text = any (array['a'::varchar])))`);
    const x = (await introspect(origin.conn, SCOPE)).tables.find((t) => t.key.name === 'x')!;
    expect(x.columns[0]!.default).toBe('(ARRAY[(1)::bigint])::integer[]');
    expect(x.constraints[0]!.definition).toContain('(ARRAY[(1)::bigint])::integer[]');
    await origin.conn.execute('drop table rt.x');
  });

  test('a copy of the copy is the same catalog text (the printed form is a fixed point from then on)', async () => {
    const twice = await createFrom(again, copied);
    expect(diffModels(copied, twice)).toEqual([]);
    expect(diffModels(original, twice, options)).toEqual([]);
  });

  test('a real change to a re-parsed definition is still a change', async () => {
    await copy.conn.execute(`
      alter table rt.rc drop constraint rc_country_check, add constraint rc_country_check check (country in ('a', 'c'));
      create or replace view rt.release_countries as
        select release, country from (select release, country from rt.rc union all select release, 'x' from rt.ruc) q;
      drop index rt.t_v; create index t_v on rt.t (v) where v in ('a');`);
    const edited = await introspect(copy.conn, SCOPE);
    expect(
      diffModels(original, edited, options)
        .map((c) => c.kind)
        .sort(),
    ).toEqual(['add-constraint', 'create-index', 'drop-constraint', 'drop-index', 'replace-view']);
  });
});
