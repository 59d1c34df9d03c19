-- The fingerprint's catalog query as it was before it read comments from pg_description itself (dbee main of
-- 2026-11-24): test/fleet/fingerprint-cost.test.ts checks that the current query gives the same value.
with ns as (
  select oid, nspname from pg_namespace where nspname = any($1::text[]) and nspname <> 'dbee'
), ext as materialized (
  -- Every extension's members, through pg_depend's index on the referenced object: a few rows, read once (a
  -- pg_depend scan per catalog cost ~0.5 ms each).
  select e.classid, e.objid from pg_extension x
  join pg_depend e on e.refclassid = 'pg_extension'::regclass and e.refobjid = x.oid and e.deptype = 'e'
), rel0 as (
  select c.oid, c.relname, c.relkind, ns.nspname, quote_ident(ns.nspname) || '.' || quote_ident(c.relname) as qname,
    coalesce((select i.indrelid from pg_index i where i.indexrelid = c.oid),
             (select d.refobjid from pg_depend d where c.relkind = 'S' and d.classid = 'pg_class'::regclass and d.objid = c.oid
                and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i') limit 1),
             c.oid) as base
  from pg_class c join ns on ns.oid = c.relnamespace
  where not exists (select 1 from ext where ext.classid = 'pg_class'::regclass and ext.objid = c.oid)
), rel as (
  select r.oid, r.relname, r.relkind, r.nspname, r.qname,
    case b.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' when 'm' then 'materialized-view'
      when 'S' then 'sequence' when 'c' then 'type' when 'f' then 'foreign-table' else 'index' end
      || ':' || bn.nspname || '.' || b.relname as ident
  from rel0 r join pg_class b on b.oid = r.base join pg_namespace bn on bn.oid = b.relnamespace
), typ as (
  select t.oid, t.typtype, t.typname, ns.nspname, quote_ident(ns.nspname) || '.' || quote_ident(t.typname) as qname,
    -- A table's row type and array type count as the table; an array type as its element type. (Joins, not
    -- correlated subqueries over the rel CTE: those would scan it once per type.)
    coalesce(r1.ident, r2.ident,
             case when e.oid is not null then case e.typtype when 'd' then 'domain' else 'type' end || ':' || en.nspname || '.' || e.typname end,
             case t.typtype when 'd' then 'domain' else 'type' end || ':' || ns.nspname || '.' || t.typname) as ident
  from pg_type t join ns on ns.oid = t.typnamespace
  left join rel r1 on r1.oid = t.typrelid
  left join pg_type e on e.oid = t.typelem and t.typcategory = 'A'
  left join rel r2 on r2.oid = e.typrelid
  left join pg_namespace en on en.oid = e.typnamespace
  where not exists (select 1 from ext where ext.classid = 'pg_type'::regclass and ext.objid = t.oid)
), defs (line, ident, nsp) as materialized (
  select concat_ws('|', 'n', nspname, case when $3 then pg_get_userbyid(n.nspowner) end, (select string_agg(a::text, ',' order by a::text) from unnest(n.nspacl) a
     where $2::text[] is null or (case when split_part(a::text, '=', 1) = '' then 'PUBLIC' else btrim(split_part(a::text, '=', 1), '"') end) = any($2::text[])), case when $4 then obj_description(n.oid, 'pg_namespace') end), 'schema:.' || nspname, nspname
  from pg_namespace n where n.oid in (select oid from ns)
  union all
  select concat_ws('|', 'r', r.qname, c.relkind, c.relpersistence, c.reloptions::text, c.relrowsecurity, c.relforcerowsecurity,
                   case when $3 then pg_get_userbyid(c.relowner) end, (select string_agg(a::text, ',' order by a::text) from unnest(c.relacl) a
     where $2::text[] is null or (case when split_part(a::text, '=', 1) = '' then 'PUBLIC' else btrim(split_part(a::text, '=', 1), '"') end) = any($2::text[])), pg_get_expr(c.relpartbound, c.oid), case when $4 then obj_description(c.oid, 'pg_class') end,
                   case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end,
                   -- Only when not the default, so that the lines of every other relation stay as they were.
                   case when c.relkind in ('r', 'p') and c.relreplident not in ('d', 'i') then 'replica identity ' || c.relreplident::text end,
                   case when c.relkind in ('i', 'I') and c.relispartition then 'attached' end), r.ident, r.nspname
  from rel r join pg_class c on c.oid = r.oid
  union all
  select concat_ws('|', 'c', r.qname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                   a.attgenerated, pg_get_expr(d.adbin, d.adrelid), co.collname, (select string_agg(a::text, ',' order by a::text) from unnest(a.attacl) a
     where $2::text[] is null or (case when split_part(a::text, '=', 1) = '' then 'PUBLIC' else btrim(split_part(a::text, '=', 1), '"') end) = any($2::text[])), case when $4 then col_description(a.attrelid, a.attnum) end), r.ident, r.nspname
  -- Each relation's columns by its oid (an index scan), not a hash of the whole pg_attribute: the query's cost then
  -- follows the project's size, not the database's (a batch fingerprints each of 200 projects of one database).
  from rel r cross join lateral (select * from pg_attribute a where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped offset 0) a
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 0 and co.collname <> 'default'
  union all
  select concat_ws('|', 'k', coalesce(r.qname, t.qname), k.conname, pg_get_constraintdef(k.oid), k.convalidated, case when $4 then obj_description(k.oid, 'pg_constraint') end),
         coalesce(r.ident, t.ident, 'constraint:' || k.conname), kn.nspname
  from pg_constraint k join ns kn on kn.oid = k.connamespace left join rel r on r.oid = k.conrelid left join typ t on t.oid = k.contypid
  union all
  select concat_ws('|', 'i', r.qname, pg_get_indexdef(i.indexrelid), i.indisclustered, i.indisreplident), r.ident, r.nspname
  from pg_index i join rel r on r.oid = i.indexrelid
  union all
  select concat_ws('|', 'f', quote_ident(ns.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                   p.prokind, case when p.prokind in ('f', 'p', 'w') then pg_get_functiondef(p.oid) else pg_get_function_result(p.oid) end,
                   case when $3 then pg_get_userbyid(p.proowner) end, (select string_agg(a::text, ',' order by a::text) from unnest(p.proacl) a
     where $2::text[] is null or (case when split_part(a::text, '=', 1) = '' then 'PUBLIC' else btrim(split_part(a::text, '=', 1), '"') end) = any($2::text[])), case when $4 then obj_description(p.oid, 'pg_proc') end),
         case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end || ':' || ns.nspname || '.' || p.proname, ns.nspname
  from pg_proc p join ns on ns.oid = p.pronamespace
  where not exists (select 1 from ext where ext.classid = 'pg_proc'::regclass and ext.objid = p.oid)
  union all
  select concat_ws('|', 't', r.qname, g.tgname, pg_get_triggerdef(g.oid), g.tgenabled, case when $4 then obj_description(g.oid, 'pg_trigger') end), r.ident, r.nspname
  from pg_trigger g join rel r on r.oid = g.tgrelid where not g.tgisinternal and g.tgparentid = 0
  union all
  select concat_ws('|', 'p', r.qname, y.polname, y.polcmd, y.polpermissive,
                   (select string_agg(case when role = 0 then 'public' else pg_get_userbyid(role) end, ',' order by 1) from unnest(y.polroles) role),
                   pg_get_expr(y.polqual, y.polrelid), pg_get_expr(y.polwithcheck, y.polrelid)), r.ident, r.nspname
  from pg_policy y join rel r on r.oid = y.polrelid
  union all
  select concat_ws('|', 'y', t.qname, t.typtype, format_type(b.typbasetype, b.typtypmod), b.typnotnull, b.typdefault,
                   case when $3 then pg_get_userbyid(b.typowner) end, (select string_agg(a::text, ',' order by a::text) from unnest(b.typacl) a
     where $2::text[] is null or (case when split_part(a::text, '=', 1) = '' then 'PUBLIC' else btrim(split_part(a::text, '=', 1), '"') end) = any($2::text[])), case when $4 then obj_description(t.oid, 'pg_type') end,
                   (select string_agg(quote_literal(e.enumlabel), ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid),
                   (select format_type(g.rngsubtype, null) from pg_range g where g.rngtypid = t.oid)), t.ident, t.nspname
  from typ t join pg_type b on b.oid = t.oid
  where t.typtype in ('e', 'd', 'r', 'm', 'b') or (t.typtype = 'c' and (select relkind from pg_class where oid = b.typrelid) = 'c')
  union all
  select concat_ws('|', 's', r.qname, format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle), r.ident, r.nspname
  from pg_sequence s join rel r on r.oid = s.seqrelid
  union all
  select concat_ws('|', 'o', quote_ident(ns.nspname) || '.' || quote_ident(co.collname), co.collprovider, co.collcollate, co.collctype,
                   coalesce(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale'), to_jsonb(co) ->> 'collicurules',
                   co.collisdeterministic, case when $3 then pg_get_userbyid(co.collowner) end, case when $4 then obj_description(co.oid, 'pg_collation') end),
         'collation:' || ns.nspname || '.' || co.collname, ns.nspname
  from pg_collation co join ns on ns.oid = co.collnamespace
  where not exists (select 1 from ext where ext.classid = 'pg_collation'::regclass and ext.objid = co.oid)
  union all
  select concat_ws('|', 'x', x.extname, x.extversion, ns.nspname), 'extension:' || ns.nspname || '.' || x.extname, ns.nspname from pg_extension x join ns on ns.oid = x.extnamespace
), -- Each scope ($5: its schemas and ignore patterns) gets the lines of its schemas (a hash join on the schema): one
-- query for the scopes of a whole batch, each hash equal to the one the scope alone would get.
scopes as (
  select s.i::int as i, array(select jsonb_array_elements_text(s.scope -> 'ignore')) as ignore
  from jsonb_array_elements($5::jsonb) with ordinality as s(scope, i)
), members as (
  select s.i::int as i, m.nsp
  from jsonb_array_elements($5::jsonb) with ordinality as s(scope, i) cross join lateral jsonb_array_elements_text(s.scope -> 'schemas') as m(nsp)
)
select sc.i,
       (select system_identifier::text from pg_control_system()) as system,
       (select oid::text from pg_database where datname = current_database()) as database,
       count(d.line) as lines,
       md5(coalesce(string_agg(d.line, E'\n' order by d.line collate "C"), '')) as hash
from scopes sc
left join (members m join defs d on d.nsp::text = m.nsp) on m.i = sc.i and not (d.ident ~ any(sc.ignore))
group by sc.i
order by sc.i
