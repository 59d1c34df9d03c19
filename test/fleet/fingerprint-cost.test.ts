import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgConnection } from '@dbee/postgres';
import { fingerprint, fingerprints, type IntrospectScope } from '../../packages/postgres/src/introspect';
import { scratchDatabase } from '../support/pg';

/**
 * The fingerprint a deployment records is read from its database after the steps: on a new target of a fleet, on a
 * session of its own, once per target (docs/fleets.md). What it costs the server is per target, so it is kept cheap,
 * and its value must not move: every recorded fingerprint and every plan cache keyed on one would read as drift.
 */
const BEFORE = readFileSync(join(__dirname, 'fingerprint-before.sql'), 'utf8');

/** Objects of every kind the query prints, with comments, grants and owners on each where PostgreSQL has them. */
const SCHEMA = `
  create schema fa; create schema fb;
  comment on schema fa is 'schema a'; grant usage on schema fa to public;
  create collation fa.nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
  comment on collation fa.nocase is 'no case';
  create extension if not exists pg_trgm schema fb;
  create type fa.mood as enum ('sad', 'ok', 'happy'); comment on type fa.mood is 'a mood';
  create domain fa.pos as integer default 1 not null constraint pos_check check (value > 0);
  comment on constraint pos_check on domain fa.pos is 'positive';
  create type fa.span as range (subtype = integer);
  create type fa.pair as (a integer, b text); comment on type fa.pair is 'a pair';
  create sequence fa.free_seq increment 5 start 10; comment on sequence fa.free_seq is 'free';
  create table fa.t (
    id bigint generated always as identity primary key,
    name text collate fa.nocase not null default 'x',
    mood fa.mood, amount fa.pos, twice bigint generated always as (id * 2) stored,
    tags text[], ids fa.pos[], serialcol serial
  );
  comment on table fa.t is 'the table'; comment on column fa.t.name is 'its name';
  comment on constraint t_pkey on fa.t is 'the key';
  grant select on fa.t to public; grant update (name) on fa.t to public;
  alter table fa.t replica identity full; alter table fa.t enable row level security;
  create index t_name on fa.t (name) where id > 0; comment on index fa.t_name is 'by name';
  create table fa.child (t_id bigint references fa.t, note text check (note <> ''));
  create policy only_ok on fa.t for select to public using (mood = 'ok');
  create table fa.part (k int, v text) partition by range (k);
  create table fa.part_1 partition of fa.part for values from (0) to (10);
  create index part_k on fa.part (k);
  create view fa.v as select id, name from fa.t where id > 0; comment on view fa.v is 'a view';
  comment on column fa.v.name is 'the name, seen';
  create materialized view fb.mv as select count(*) as n from fa.t with no data;
  create function fa.f(a integer) returns integer language sql immutable as $$ select a + 1 $$;
  comment on function fa.f(integer) is 'plus one'; revoke execute on function fa.f(integer) from public;
  create procedure fa.p() language plpgsql as $$ begin perform 1; end $$;
  create aggregate fa.total(integer) (sfunc = int4pl, stype = integer, initcond = '0');
  create function fa.trg() returns trigger language plpgsql as $$ begin return new; end $$;
  create trigger t_touch before update on fa.t for each row execute function fa.trg();
  comment on trigger t_touch on fa.t is 'touches';
  alter table fa.t disable trigger t_touch;
`;

const scopes: IntrospectScope[] = [
  { schemas: ['fa', 'fb'] },
  { schemas: ['fa'], manage: { grantees: ['PUBLIC'], owners: false, comments: true, ignore: [] } },
  { schemas: ['fa', 'fb'], manage: { grantees: null, owners: true, comments: false, ignore: ['^table:fa\\.child$'] } },
  { schemas: ['fb', 'fa', 'missing'], manage: { grantees: [], owners: true, comments: true, ignore: ['^view:'] } },
];

/**
 * The value the query of `fingerprint-before.sql` gives, with the parameters and the settings `fingerprints` ran it with
 * then (search_path, and JIT off: with the server's default `jit = on` this query's estimated cost is above
 * `jit_above_cost`, and each run compiled it with LLVM first, 0.1-0.2 s of server CPU on a quiet machine and seconds
 * under the suite's load, for the same result).
 */
async function oldValue(conn: PgConnection, scope: IntrospectScope): Promise<string> {
  const m = scope.manage;
  const schemas = scope.schemas.filter((s) => s !== 'dbee');
  const params = [
    schemas,
    m ? m.grantees : null,
    m ? m.owners : true,
    m ? m.comments : true,
    JSON.stringify([{ schemas, ignore: m?.ignore ?? [] }]),
  ];
  const rows = await conn.queryPrepared!<Record<string, unknown>>(BEFORE, params, {
    search_path: 'pg_catalog',
    jit: 'off',
  });
  const r = rows.rows[0]!;
  return `pg3:${String(r.system)}.${String(r.database)}:${String(r.lines)}:${String(r.hash)}`;
}

describe('the recorded fingerprint, cheaper with the same value [postgres]', () => {
  let db: { url: string; drop(): Promise<void> };
  let conn: PgConnection;
  beforeAll(async () => {
    db = await scratchDatabase('dbee_fingerprint_cost');
    conn = await PgConnection.open({ connectionString: db.url }, 'postgres:fingerprint');
    await conn.execute(SCHEMA);
  }, 60_000);
  afterAll(async () => {
    await conn?.close();
    await db?.drop();
  });

  it('gives the value the query gave before, for every kind of object and every way a scope reads them', async () => {
    // The earlier format (`pg3`, read to compare with what an earlier dbee recorded) is that query's, line for line.
    for (const scope of scopes) expect(await fingerprint(conn, scope, 'pg3:')).toBe(await oldValue(conn, scope));
    // A batch of scopes: each the value it gets alone.
    const alone: string[] = [];
    for (const scope of scopes) alone.push(await fingerprint(conn, scope));
    expect(await fingerprints(conn, scopes)).toEqual(alone);
  });

  it('still changes when a comment, a column comment, a type or a grant changes, and only where the scope reads it', async () => {
    const changes = [
      "comment on table fa.t is 'another'",
      "comment on column fa.t.name is 'another name'",
      "comment on constraint t_pkey on fa.t is 'another key'",
      "comment on function fa.f(integer) is 'another'",
      "comment on trigger t_touch on fa.t is 'another'",
      "comment on type fa.mood is 'another'",
      "comment on collation fa.nocase is 'another'",
      "comment on schema fa is 'another'",
      'alter domain fa.pos set default 2',
      "alter type fa.mood add value 'glad'",
      'grant insert on fa.t to public',
    ];
    for (const sql of changes) {
      const was = await fingerprints(conn, scopes);
      await conn.execute(sql);
      const now = await fingerprints(conn, scopes);
      expect(now[0], sql).not.toBe(was[0]);
      // Comments are not read by a scope that does not manage them.
      if (sql.startsWith('comment')) expect(now[2], sql).toBe(was[2]);
      for (const scope of scopes) expect(await fingerprint(conn, scope, 'pg3:'), sql).toBe(await oldValue(conn, scope));
    }
  });

  it('runs no SQL function per object: comments are read from pg_description by its index', async () => {
    // obj_description and col_description are SQL functions that PostgreSQL cannot inline: run per object through
    // the SQL function executor, they were about a third of the query's execution on a 50-object project.
    await conn.execute("BEGIN; SET LOCAL track_functions = 'all'");
    try {
      await fingerprint(conn, scopes[0]!);
      const calls = await conn.query<{ n: string | null }>(
        `SELECT sum(pg_stat_get_xact_function_calls(p.oid))::text AS n FROM pg_proc p
          WHERE p.proname IN ('obj_description', 'col_description')`,
      );
      expect(Number(calls.rows[0]!.n ?? 0)).toBe(0);
    } finally {
      await conn.execute('ROLLBACK');
    }
  });

  it("reads an object's comment by pg_description's index, not by reading all of pg_description first", async () => {
    // pg_description holds a comment for most of the system's own objects (about 5,000 rows): reading them all and
    // hashing them for every kind of object was half of the query's execution on a new target of a fleet, where
    // the project's own objects need one probe of the index each.
    await conn.execute('BEGIN');
    try {
      await fingerprint(conn, scopes[0]!);
      const scans = await conn.query<{ seq: string; idx: string }>(
        `SELECT seq_scan::text AS seq, idx_scan::text AS idx FROM pg_stat_xact_sys_tables WHERE relid = 'pg_description'::regclass`,
      );
      expect(Number(scans.rows[0]!.seq)).toBe(0);
      // The comments are read: by the index.
      expect(Number(scans.rows[0]!.idx)).toBeGreaterThan(0);
    } finally {
      await conn.execute('ROLLBACK');
    }
  });
});
