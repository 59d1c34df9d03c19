import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { managedScope } from '@dbee/core';
import { PgliteConnection } from '../connection/pglite-connection';
import { pgliteTemplate } from '../connection/pglite-template';
import { fingerprint, fingerprints, recordableFingerprints, stateOf } from './fingerprint';

/**
 * The position-free fingerprint a deployment records beside its fingerprint (one catalog query for both): the same
 * definitions with no column's position, so that a column a rollback puts back (it takes a new position) reads as the
 * state it was, and anything else that differs still differs.
 */
describe('the position-free fingerprint [pglite]', () => {
  const root = inject('pgliteTemplateRoot');
  let conn: PgliteConnection;
  const scope = { schemas: ['s'] };
  const read = async () => (await recordableFingerprints(conn, [scope]))[0]!;
  beforeAll(async () => {
    conn = await PgliteConnection.open(null, 'pglite:fingerprint', await pgliteTemplate(root));
  });
  afterAll(async () => {
    await conn?.close();
  });

  test('a table with the same columns at other positions: the same position-free fingerprint, another fingerprint', async () => {
    const table = `id int primary key, name text not null default 'x', note varchar(20) collate "C"`;
    await conn.execute(`create schema s; create table s.t (${table}); comment on column s.t.note is 'a note'`);
    const first = await read();
    expect(first.positionFree).toMatch(/^pg4np:\d+:[0-9a-f]{32}$/);
    // The fingerprint is the one `fingerprints` gives: the same query.
    expect(first.fingerprint).toBe((await fingerprints(conn, [scope]))[0]);

    // The same table again, its columns at positions 2, 3 and 4 (a first column dropped).
    await conn.execute(
      `drop table s.t; create table s.t (gone int, ${table}); alter table s.t drop column gone; comment on column s.t.note is 'a note'`,
    );
    const shifted = await read();
    expect(shifted.fingerprint).not.toBe(first.fingerprint);
    expect(shifted.positionFree).toBe(first.positionFree);

    // A column dropped and put back (as a rollback of its drop does) comes last.
    await conn.execute(`alter table s.t drop column name; alter table s.t add column name text not null default 'x'`);
    const putBack = await read();
    expect(putBack.fingerprint).not.toBe(first.fingerprint);
    expect(putBack.positionFree).toBe(first.positionFree);

    // Anything else of a column still counts: its type, its default, its comment.
    for (const change of [
      'alter table s.t alter column note type varchar(30)',
      "alter table s.t alter column name set default 'y'",
      "comment on column s.t.note is 'another note'",
    ]) {
      const before = await read();
      await conn.execute(change);
      expect((await read()).positionFree, change).not.toBe(before.positionFree);
    }
  });

  test('holds for a quoted name with a pipe and letters of several bytes, and positions of two digits', async () => {
    const columns = Array.from({ length: 12 }, (_, i) => `"Größe|${i}" int default ${i}`).join(', ');
    await conn.execute(`create schema r; create table r."Maß|t" (${columns})`);
    const other = { schemas: ['r'] };
    const first = (await recordableFingerprints(conn, [other]))[0]!;
    await conn.execute(
      `drop table r."Maß|t"; create table r."Maß|t" (gone int, ${columns}); alter table r."Maß|t" drop column gone`,
    );
    const shifted = (await recordableFingerprints(conn, [other]))[0]!;
    expect(shifted.fingerprint).not.toBe(first.fingerprint);
    expect(shifted.positionFree).toBe(first.positionFree);
    // A column's name is not its position: renamed, it differs.
    await conn.execute(`alter table r."Maß|t" rename column "Größe|11" to "Größe|12"`);
    expect((await recordableFingerprints(conn, [other]))[0]!.positionFree).not.toBe(first.positionFree);
  });
});

/**
 * The earlier format (`pg3`), read to compare with what an earlier dbee recorded, prints its lines exactly as that
 * dbee did: the state below is what it read of this schema (PGlite, taken before `pg4` was added).
 */
describe('the earlier fingerprint format [pglite]', () => {
  const root = inject('pgliteTemplateRoot');
  test('reads the lines an earlier dbee read; the current format prints the same lines where none of its additions is set', async () => {
    const conn = await PgliteConnection.open(null, 'pglite:fingerprint-pg3', await pgliteTemplate(root));
    try {
      await conn.execute(`create schema g;
        create type g.mood as enum ('sad', 'ok');
        create domain g.pos as int check (value > 0);
        create sequence g.seq start 5;
        create table g.t (id int generated always as identity primary key, n g.pos not null default 1, m g.mood, note text collate "C", unique (n, m));
        create table g.p (k int not null, v text) partition by range (k);
        create table g.p1 partition of g.p for values from (0) to (10);
        create index t_note on g.t (lower(note)) where note is not null;
        create view g.v as select id, n from g.t where m = 'ok';
        create function g.f(x int) returns int language sql as $$ select x + 1 $$;
        comment on table g.t is 'the t';`);
      const scope = { schemas: ['g'] };
      const earlier = await fingerprint(conn, scope, 'pg3:');
      expect(stateOf(earlier)).toBe('pg3:51:11dd30dcf53586a83552d395254dc212');
      // The current format prints the partitioned table's key and the partition's parent; without them, the same lines.
      const current = await fingerprint(conn, scope);
      expect(current).toMatch(/^pg4:/);
      expect(current.split(':').slice(2)).not.toEqual(earlier.split(':').slice(2));
      await conn.execute('drop table g.p');
      // A routine's and a type's ACL: null is read as its default in pg4 (PUBLIC's EXECUTE, USAGE), so where grants
      // are managed (every grantee, as this scope) those lines differ; where no grantee is, the same lines.
      const [before, now] = [await fingerprint(conn, scope, 'pg3:'), await fingerprint(conn, scope)];
      expect(now.split(':').slice(2)).not.toEqual(before.split(':').slice(2));
      const none = { schemas: ['g'], manage: managedScope(undefined, []) };
      const [pg3, pg4] = [await fingerprint(conn, none, 'pg3:'), await fingerprint(conn, none)];
      expect(pg4.split(':').slice(2)).toEqual(pg3.split(':').slice(2));
      await conn.execute('drop function g.f(int); drop view g.v; drop table g.t; drop domain g.pos; drop type g.mood');
      const [bare3, bare4] = [await fingerprint(conn, scope, 'pg3:'), await fingerprint(conn, scope)];
      expect(bare4.split(':').slice(2)).toEqual(bare3.split(':').slice(2));
    } finally {
      await conn.close();
    }
  });
});
