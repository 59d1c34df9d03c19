import type { Connection } from '@dbee/core';
import type { IntrospectScope } from './introspect';

/**
 * Every catalog row that describes an object in scope, as `catalog oid:xmin`. Any DDL rewrites the rows it
 * touches, which gives them a new `xmin` (ALTER COLUMN ... DEFAULT replaces the pg_attrdef row, CREATE OR
 * REPLACE VIEW updates pg_rewrite, COMMENT writes pg_description, GRANT updates the ACL column, ADD VALUE
 * inserts into pg_enum); drops remove rows. Freezing keeps `xmin` readable, so an unchanged database hashes the
 * same. Hashed inside the server (a 64-bit hash per row, XORed, plus the row count): one round trip, no sort, one
 * short string back.
 */
export const FINGERPRINT_SQL = `
with ns as (
  select oid from pg_namespace where nspname = any($1::text[]) and nspname <> 'dbee'
), rel as (
  select oid, xmin from pg_class where relnamespace in (select oid from ns)
), typ as (
  select oid, xmin from pg_type where typnamespace in (select oid from ns)
), pro as (
  select oid, xmin from pg_proc where pronamespace in (select oid from ns)
), con as (
  select oid, xmin from pg_constraint where connamespace in (select oid from ns)
), trg as (
  select oid, xmin from pg_trigger where tgrelid in (select oid from rel)
), rows (catalog, id, sub, version) as (
  select 1, oid, 0, xmin from pg_namespace where oid in (select oid from ns)
  union all select 2, oid, 0, xmin from rel
  union all select 3, oid, 0, xmin from typ
  union all select 4, oid, 0, xmin from pro
  union all select 5, oid, 0, xmin from con
  union all select 6, oid, 0, xmin from trg
  union all select 7, attrelid, attnum, xmin from pg_attribute where attrelid in (select oid from rel) and attnum > 0
  union all select 8, oid, 0, xmin from pg_attrdef where adrelid in (select oid from rel)
  union all select 9, indexrelid, 0, xmin from pg_index where indrelid in (select oid from rel)
  union all select 10, oid, 0, xmin from pg_rewrite where ev_class in (select oid from rel)
  union all select 11, oid, 0, xmin from pg_enum where enumtypid in (select oid from typ)
  union all select 12, seqrelid, 0, xmin from pg_sequence where seqrelid in (select oid from rel)
  union all select 13, oid, 0, xmin from pg_extension where extnamespace in (select oid from ns)
  union all select 14 + (classoid::int8 << 8), objoid, objsubid, xmin from pg_description
    where objoid in (select oid from ns union all select oid from rel union all select oid from typ
                     union all select oid from pro union all select oid from con union all select oid from trg)
)
-- One 64-bit hash per row, combined with XOR: independent of row order, so nothing is sorted.
select count(*) as rows,
       coalesce(bit_xor(hashint8extended((id::int8 << 24) | (sub::int8 << 8) | (catalog & 255), (version::text::int8 << 20) | (catalog >> 8))), 0) as hash
from rows`;

/**
 * A cheap value that changes whenever any object in `scope` changes (one catalog query, no definitions
 * printed). Equal fingerprints mean a cached live model and diff can be reused; a plan whose base fingerprint no
 * longer matches is stale.
 */
export async function fingerprint(conn: Connection, scope: IntrospectScope): Promise<string> {
  const schemas = scope.schemas.filter((s) => s !== 'dbee');
  const r = await conn.query<{ rows: unknown; hash: unknown }>(FINGERPRINT_SQL, [schemas]);
  const row = r.rows[0]!;
  // bigint arrives as a string from pg and as a number or bigint from PGlite: print both as decimal text.
  return `pg2:${String(row.rows)}:${BigInt(String(row.hash)).toString(16)}`;
}
