import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { PgliteConnection } from '../connection/pglite-connection';
import { pgliteTemplate } from '../connection/pglite-template';
import { fingerprints, recordableFingerprints } from './fingerprint';

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
    expect(first.positionFree).toMatch(/^pg3np:\d+:[0-9a-f]{32}$/);
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
