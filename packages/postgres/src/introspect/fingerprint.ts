import type { Connection } from '@dbee/core';
import type { IntrospectScope } from './introspect';

/**
 * Every catalog row that describes an object in scope, as `catalog oid:xmin`. Any DDL rewrites the rows it
 * touches, which gives them a new `xmin` (ALTER COLUMN ... DEFAULT replaces the pg_attrdef row, CREATE OR
 * REPLACE VIEW updates pg_rewrite, COMMENT writes pg_description, GRANT updates the ACL column, ADD VALUE
 * inserts into pg_enum); drops remove rows. Freezing keeps `xmin` readable, so an unchanged database hashes the
 * same. Hashed inside the server: one round trip, one short string back.
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
), rows as (
  select 'n' || oid || ':' || xmin as x from pg_namespace where oid in (select oid from ns)
  union all select 'c' || oid || ':' || xmin from rel
  union all select 'y' || oid || ':' || xmin from typ
  union all select 'p' || oid || ':' || xmin from pro
  union all select 'k' || oid || ':' || xmin from con
  union all select 't' || oid || ':' || xmin from trg
  union all select 'a' || attrelid || '.' || attnum || ':' || xmin from pg_attribute where attrelid in (select oid from rel) and attnum > 0
  union all select 'd' || oid || ':' || xmin from pg_attrdef where adrelid in (select oid from rel)
  union all select 'i' || indexrelid || ':' || xmin from pg_index where indrelid in (select oid from rel)
  union all select 'r' || oid || ':' || xmin from pg_rewrite where ev_class in (select oid from rel)
  union all select 'e' || oid || ':' || xmin from pg_enum where enumtypid in (select oid from typ)
  union all select 's' || seqrelid || ':' || xmin from pg_sequence where seqrelid in (select oid from rel)
  union all select 'x' || oid || ':' || xmin from pg_extension where extnamespace in (select oid from ns)
  union all select 'm' || classoid || '.' || objoid || '.' || objsubid || ':' || xmin from pg_description
    where objoid in (select oid from ns union all select oid from rel union all select oid from typ
                     union all select oid from pro union all select oid from con union all select oid from trg)
)
select md5(coalesce(string_agg(x, ',' order by x), '')) as fingerprint from rows`;

/**
 * A cheap value that changes whenever any object in `scope` changes (one catalog query, no definitions
 * printed). Equal fingerprints mean a cached live model and diff can be reused; a plan whose base fingerprint no
 * longer matches is stale.
 */
export async function fingerprint(conn: Connection, scope: IntrospectScope): Promise<string> {
  const schemas = scope.schemas.filter((s) => s !== 'dbee');
  const r = await conn.query<{ fingerprint: string }>(FINGERPRINT_SQL, [schemas]);
  return `pg1:${r.rows[0]!.fingerprint}`;
}
