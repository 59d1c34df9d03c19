import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogVersion, fingerprint, type IntrospectScope } from '../../packages/postgres/src/introspect';
import { ENGINES, openScratch, type Scratch } from './helpers';

/**
 * `catalogVersion` stands in for the fingerprint a deployment recorded (packages/core/src/runner/recorded-fingerprint.ts):
 * drift checks and a cached diff take that fingerprint while the database's version is still the recorded one, so
 * every change that moves a fingerprint must move the version, including changes outside the scope that the catalog's
 * deparsers print inside it (a referenced table's or type's name, an owner's or a grantee's name, a printing setting).
 * What names nothing in the database (a role of the server's that no object names) leaves it as it is: other
 * applications and databases of a shared server create roles.
 */
const SCOPE: IntrospectScope = { schemas: ['cv'] };

describe.each(ENGINES)('the catalog version [%s]', (engine) => {
  let s: Scratch;
  const tag = randomBytes(3).toString('hex');
  const role = `dbee_cv_${tag}`;
  const grantee = `dbee_cv_g_${tag}`;
  const state = async () => ({ version: await catalogVersion(s.conn), fingerprint: await fingerprint(s.conn, SCOPE) });

  beforeAll(async () => {
    s = await openScratch(engine);
    await s.conn.execute(`
      create role ${role};
      create role ${grantee};
      create schema other; create schema cv;
      create table other.base (id int primary key, d date default '2020-01-02');
      create type other.kind as enum ('a', 'b');
      create table cv.t (id int primary key, k other.kind, d date default '2020-01-02', n serial);
      create view cv.v as select b.id from other.base b join cv.t on t.id = b.id;
      create function cv.f() returns int language sql as $$ select 1 $$;
      alter function cv.f() owner to ${role};
      create sequence cv.s;
      grant select on cv.t to ${grantee};
    `);
  });

  afterAll(async () => {
    await s.conn
      .execute(
        `drop schema cv cascade; drop schema other cascade; drop role if exists ${role}; drop role if exists ${grantee}; drop role if exists ${grantee}_2`,
      )
      .catch(() => {});
    await s?.dispose();
  });

  it('stays equal while nothing changes, and a statistics update (ANALYZE) leaves it as it is', async () => {
    const before = await state();
    await s.conn.execute('analyze cv.t; analyze other.base');
    expect(await state()).toEqual(before);
  });

  const changes: [string, string][] = [
    [
      'a view body in scope',
      'create or replace view cv.v as select b.id from other.base b join cv.t on t.id = b.id where b.id > 0',
    ],
    ['a column added in scope', 'alter table cv.t add column note text'],
    ['a comment in scope', `comment on table cv.t is 'the table'`],
    ['a grant in scope', 'grant select on cv.t to public'],
    ['a table outside the scope that a view in it reads, renamed', 'alter table other.base rename to base2'],
    ['a type outside the scope that a column in it uses, renamed', 'alter type other.kind rename to kind2'],
    ['the owner of a function in scope, renamed', `alter role ${role} rename to ${role}_2`],
    ['a grantee of a table in scope, renamed', `alter role ${grantee} rename to ${grantee}_2`],
    ['the date style the defaults print in', `set datestyle = 'SQL, DMY'`],
  ];
  it('stays equal while a role that no object of the database names is created and renamed', async () => {
    const before = await state();
    const other = `dbee_cv_o_${tag}`;
    await s.conn.execute(`create role ${other}`);
    try {
      expect(await state()).toEqual(before);
      await s.conn.execute(`alter role ${other} rename to ${other}_2`);
      expect(await state()).toEqual(before);
    } finally {
      await s.conn.execute(`drop role if exists ${other}; drop role if exists ${other}_2`);
    }
  });

  it('changes when only pg_depend does (a sequence given an owning column)', async () => {
    const before = await state();
    await s.conn.execute('alter sequence cv.s owned by cv.t.id');
    expect((await state()).version).not.toBe(before.version);
  });

  it.each(changes)('changes with the fingerprint: %s', async (_what, sql) => {
    const before = await state();
    await s.conn.execute(sql);
    const after = await state();
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(after.version).not.toBe(before.version);
  });
});
