import type { Connection } from '@dbee/core';
import type { IntrospectScope } from './introspect';

/**
 * One line of text per definition of an object in scope, built by the catalog's own deparsers: schemas, relations
 * (kind, persistence, options, row security, owner, ACL, comment), columns (type, nullability, default, identity,
 * generation, collation, ACL, comment), constraints (pg_get_constraintdef, also on domains), indexes
 * (pg_get_indexdef), views and materialized views (pg_get_viewdef), routines (pg_get_functiondef, ACL, comment),
 * triggers (pg_get_triggerdef, enabled state), policies, types (enum labels in order, domain base/default/nullability,
 * range subtype), sequences (their parameters, not their current value) and extensions. Names, never oids, so that
 * equal definitions give equal lines in any two databases. Row data, statistics and row versions are not read.
 *
 * The lines are sorted and hashed inside the server: one round trip, one short string back. The database is
 * identified by the cluster's system identifier (a random value made by initdb, PGlite included) and the database
 * oid, so two databases never share a fingerprint even when their definitions are equal.
 */
export const FINGERPRINT_SQL = `
with ns as (
  select oid, nspname from pg_namespace where nspname = any($1::text[]) and nspname <> 'dbee'
), rel as (
  select c.oid, c.relname, c.relkind, ns.nspname, quote_ident(ns.nspname) || '.' || quote_ident(c.relname) as qname
  from pg_class c join ns on ns.oid = c.relnamespace
), typ as (
  select t.oid, t.typtype, t.typname, quote_ident(ns.nspname) || '.' || quote_ident(t.typname) as qname
  from pg_type t join ns on ns.oid = t.typnamespace
), defs (line) as (
  select concat_ws('|', 'n', nspname, pg_get_userbyid(n.nspowner), n.nspacl::text, obj_description(n.oid, 'pg_namespace'))
  from pg_namespace n where n.oid in (select oid from ns)
  union all
  select concat_ws('|', 'r', r.qname, c.relkind, c.relpersistence, c.reloptions::text, c.relrowsecurity, c.relforcerowsecurity,
                   pg_get_userbyid(c.relowner), c.relacl::text, pg_get_expr(c.relpartbound, c.oid), obj_description(c.oid, 'pg_class'),
                   case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end)
  from rel r join pg_class c on c.oid = r.oid
  union all
  select concat_ws('|', 'c', r.qname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                   a.attgenerated, pg_get_expr(d.adbin, d.adrelid), co.collname, a.attacl::text, col_description(a.attrelid, a.attnum))
  from rel r join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 0 and co.collname <> 'default'
  union all
  select concat_ws('|', 'k', coalesce(r.qname, t.qname), k.conname, pg_get_constraintdef(k.oid), k.convalidated, obj_description(k.oid, 'pg_constraint'))
  from pg_constraint k left join rel r on r.oid = k.conrelid left join typ t on t.oid = k.contypid
  where k.connamespace in (select oid from ns)
  union all
  select concat_ws('|', 'i', r.qname, pg_get_indexdef(i.indexrelid), i.indisclustered, i.indisreplident)
  from pg_index i join rel r on r.oid = i.indexrelid
  union all
  select concat_ws('|', 'f', quote_ident(ns.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                   p.prokind, case when p.prokind in ('f', 'p', 'w') then pg_get_functiondef(p.oid) else pg_get_function_result(p.oid) end,
                   pg_get_userbyid(p.proowner), p.proacl::text, obj_description(p.oid, 'pg_proc'))
  from pg_proc p join ns on ns.oid = p.pronamespace
  union all
  select concat_ws('|', 't', r.qname, g.tgname, pg_get_triggerdef(g.oid), g.tgenabled, obj_description(g.oid, 'pg_trigger'))
  from pg_trigger g join rel r on r.oid = g.tgrelid where not g.tgisinternal
  union all
  select concat_ws('|', 'p', r.qname, y.polname, y.polcmd, y.polpermissive,
                   (select string_agg(case when role = 0 then 'public' else pg_get_userbyid(role) end, ',' order by 1) from unnest(y.polroles) role),
                   pg_get_expr(y.polqual, y.polrelid), pg_get_expr(y.polwithcheck, y.polrelid))
  from pg_policy y join rel r on r.oid = y.polrelid
  union all
  select concat_ws('|', 'y', t.qname, t.typtype, format_type(b.typbasetype, b.typtypmod), b.typnotnull, b.typdefault,
                   pg_get_userbyid(b.typowner), b.typacl::text, obj_description(t.oid, 'pg_type'),
                   (select string_agg(quote_literal(e.enumlabel), ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid),
                   (select format_type(g.rngsubtype, null) from pg_range g where g.rngtypid = t.oid))
  from typ t join pg_type b on b.oid = t.oid
  where t.typtype in ('e', 'd', 'r', 'm', 'b') or (t.typtype = 'c' and (select relkind from pg_class where oid = b.typrelid) = 'c')
  union all
  select concat_ws('|', 's', r.qname, format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
  from pg_sequence s join rel r on r.oid = s.seqrelid
  union all
  select concat_ws('|', 'x', x.extname, x.extversion, ns.nspname) from pg_extension x join ns on ns.oid = x.extnamespace
)
select (select system_identifier::text from pg_control_system()) as system,
       (select oid::text from pg_database where datname = current_database()) as database,
       count(*) as lines,
       md5(coalesce(string_agg(line, E'\\n' order by line collate "C"), '')) as hash
from defs`;

/**
 * A value that changes whenever the definition of any object in `scope` changes, and differs between any two
 * databases (one catalog query, no definitions printed). Equal fingerprints mean a cached live model and diff can
 * be reused; a plan whose base fingerprint no longer matches is stale.
 */
export async function fingerprint(conn: Connection, scope: IntrospectScope): Promise<string> {
  const schemas = scope.schemas.filter((s) => s !== 'dbee');
  const r = await conn.query<{ system: unknown; database: unknown; lines: unknown; hash: unknown }>(FINGERPRINT_SQL, [schemas]);
  const row = r.rows[0]!;
  return `pg3:${String(row.system)}.${String(row.database)}:${String(row.lines)}:${String(row.hash)}`;
}
