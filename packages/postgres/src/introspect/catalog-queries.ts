/**
 * Catalog queries of the introspector: one per object class, each taking the schema names as `$1` (text[]).
 * They run with `search_path = pg_catalog`, so that every name PostgreSQL prints (format_type, pg_get_viewdef,
 * pg_get_constraintdef...) is schema-qualified unless it is in pg_catalog, whatever the session's path was.
 */

/** Schemas in scope, never the ledger's. */
const IN_SCOPE = `n.nspname = any($1::text[]) and n.nspname <> 'dbee'`;

/** Not a member of an extension (those are the extension's business). */
const notInExtension = (catalog: string, oid: string) =>
  `not exists (select 1 from pg_depend e where e.classid = '${catalog}'::regclass and e.objid = ${oid} and e.deptype = 'e')`;

/** `schema.collation` when a column's collation is not its type's default. */
const collationOf = (attribute: string, type: string) =>
  `(select quote_ident(cn.nspname) || '.' || quote_ident(co.collname) from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
     where co.oid = ${attribute}.attcollation and ${attribute}.attcollation <> ${type}.typcollation)`;

/**
 * Whether stored expression trees (pg_node_tree) hold an explicit cast of an array to another array type: an
 * ArrayCoerceExpr whose format is not `COERCE_IMPLICIT_CAST` (2). Printed, it looks like an implicit one, whose cast
 * `readBackForm` leaves out; an explicit one must stay.
 */
const explicitArrayCasts = (...trees: string[]) =>
  `coalesce(${trees.map((t) => `${t}::text ~ ':resulttypmod -?\\d+ :resultcollid \\d+ :coerceformat [013] '`).join(' or ')}, false)`;

/**
 * Objects of a schema of the classes the model does not hold, each with its definition as PostgreSQL prints it (see
 * `SchemaModel.unmodelled`): extended statistics, rules, aggregates, operators, operator classes and families, foreign
 * tables, typed tables, tables on another access method or in a tablespace, base types, a range type's options,
 * publications of its tables or of the schema, event triggers whose function is in it.
 */
const UNMODELLED = `coalesce((select json_agg(json_build_object('what', u.what, 'name', u.name, 'definition', u.definition) order by u.what, u.name) from (
    select 'extended statistics' as what, quote_ident(s.stxname) as name, pg_get_statisticsobjdef(s.oid) as definition
      from pg_statistic_ext s where s.stxnamespace = n.oid and ${notInExtension('pg_statistic_ext', 's.oid')}
    union all
    select 'rule', quote_ident(r.rulename) || ' on ' || quote_ident(c.relname), pg_get_ruledef(r.oid)
      from pg_rewrite r join pg_class c on c.oid = r.ev_class
      where c.relnamespace = n.oid and r.rulename <> '_RETURN' and ${notInExtension('pg_class', 'c.oid')}
    union all
    select 'aggregate', quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           concat_ws(' ', a.aggtransfn::text, format_type(a.aggtranstype, null), a.aggfinalfn::text, a.aggcombinefn::text,
                     a.agginitval, a.aggsortop::text, a.aggkind)
      from pg_proc p join pg_aggregate a on a.aggfnoid = p.oid
      where p.pronamespace = n.oid and ${notInExtension('pg_proc', 'p.oid')}
    union all
    select 'operator', o.oid::regoperator::text, concat_ws(' ', o.oprcode::text, o.oprcom::text, o.oprnegate::text)
      from pg_operator o where o.oprnamespace = n.oid and ${notInExtension('pg_operator', 'o.oid')}
    union all
    select 'operator class', quote_ident(oc.opcname), (select amname from pg_am where oid = oc.opcmethod)
      from pg_opclass oc where oc.opcnamespace = n.oid and ${notInExtension('pg_opclass', 'oc.oid')}
    union all
    select 'operator family', quote_ident(f.opfname), (select amname from pg_am where oid = f.opfmethod)
      from pg_opfamily f where f.opfnamespace = n.oid and ${notInExtension('pg_opfamily', 'f.oid')}
    union all
    select 'foreign table', quote_ident(c.relname), null
      from pg_class c where c.relnamespace = n.oid and c.relkind = 'f' and ${notInExtension('pg_class', 'c.oid')}
    union all
    select 'publication', quote_ident(pb.pubname) || ' of ' || quote_ident(c.relname),
           concat_ws(' ', pg_get_expr(pr.prqual, pr.prrelid), pr.prattrs::text)
      from pg_publication_rel pr join pg_publication pb on pb.oid = pr.prpubid join pg_class c on c.oid = pr.prrelid
      where c.relnamespace = n.oid
    union all
    select 'publication', quote_ident(pb.pubname) || ' of the schema', null
      from pg_publication_namespace pn join pg_publication pb on pb.oid = pn.pnpubid where pn.pnnspid = n.oid
    union all
    select 'typed table', quote_ident(c.relname), format_type(c.reloftype, null)
      from pg_class c where c.relnamespace = n.oid and c.reloftype <> 0 and ${notInExtension('pg_class', 'c.oid')}
    union all
    select 'table access method', quote_ident(c.relname), am.amname
      from pg_class c join pg_am am on am.oid = c.relam
      where c.relnamespace = n.oid and c.relkind in ('r', 'm') and am.amname <> 'heap' and ${notInExtension('pg_class', 'c.oid')}
    union all
    select 'tablespace', quote_ident(c.relname), ts.spcname
      from pg_class c join pg_tablespace ts on ts.oid = c.reltablespace
      where c.relnamespace = n.oid and c.relkind in ('r', 'p', 'm', 'i', 'I') and ${notInExtension('pg_class', 'c.oid')}
    union all
    select 'base type', quote_ident(t.typname), concat_ws(' ', t.typinput::text, t.typoutput::text, t.typlen, t.typalign, t.typstorage)
      from pg_type t where t.typnamespace = n.oid and t.typtype in ('b', 'p') and t.typcategory <> 'A' and ${notInExtension('pg_type', 't.oid')}
    union all
    -- A range type is modelled by its subtype; its other options are read here.
    select 'range type options', quote_ident(t.typname),
           concat_ws(' ', (select quote_ident(opcname) from pg_opclass where oid = r.rngsubopc),
                     (select quote_ident(collname) from pg_collation where oid = r.rngcollation), r.rngcanonical::text, r.rngsubdiff::text)
      from pg_range r join pg_type t on t.oid = r.rngtypid where t.typnamespace = n.oid and ${notInExtension('pg_type', 't.oid')}
    union all
    select 'event trigger', quote_ident(e.evtname), concat_ws(' ', e.evtevent, e.evtenabled, e.evtfoid::regproc::text, e.evttags::text)
      from pg_event_trigger e join pg_proc p on p.oid = e.evtfoid where p.pronamespace = n.oid
  ) u), '[]'::json)`;

export const SCHEMAS_SQL = `
select n.oid, n.nspname as name, pg_get_userbyid(n.nspowner) as owner, ${UNMODELLED} as unmodelled, false as near
from pg_namespace n
where ${IN_SCOPE}
union all
-- Schemas whose names differ from one in scope only in case (SchemaModel.nearSchemas): what a name typed in db.yaml
-- without its quotes most likely meant.
select n.oid, n.nspname, null, null, true
from pg_namespace n
where not (${IN_SCOPE}) and exists (select 1 from unnest($1::text[]) x where lower(x) = lower(n.nspname))`;

export const TABLES_SQL = `
select c.oid, c.reltype, rt.typarray as reltype_array, n.nspname as schema, c.relname as name, c.relkind,
  c.relpersistence, c.reloptions::text[] as reloptions, pg_get_userbyid(c.relowner) as owner,
  case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as partition_key,
  case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end as partition_bound,
  (select json_build_object('schema', pn.nspname, 'name', pc.relname)
     from pg_inherits i join pg_class pc on pc.oid = i.inhparent join pg_namespace pn on pn.oid = pc.relnamespace
     where i.inhrelid = c.oid and c.relispartition) as partition_of,
  c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
  (select ic.relname from pg_index ri join pg_class ic on ic.oid = ri.indexrelid where ri.indrelid = c.oid and ri.indisreplident) as replident_index,
  (select ic.relname from pg_index ri join pg_class ic on ic.oid = ri.indexrelid where ri.indrelid = c.oid and ri.indisclustered) as cluster_index,
  (select json_agg(json_build_object('schema', pn.nspname, 'name', pc.relname) order by i.inhseqno)
     from pg_inherits i join pg_class pc on pc.oid = i.inhparent join pg_namespace pn on pn.oid = pc.relnamespace
     where i.inhrelid = c.oid and not c.relispartition) as inherits,
  (select json_agg(json_build_object(
      'oid', p.oid,
      'name', p.polname,
      'command', p.polcmd,
      'permissive', p.polpermissive,
      'roles', (select coalesce(array_agg(case when r = 0 then 'public' else quote_ident(pg_get_userbyid(r)) end), '{}')
                from unnest(p.polroles) r),
      'using', pg_get_expr(p.polqual, p.polrelid),
      'check', pg_get_expr(p.polwithcheck, p.polrelid),
      'explicitArrayCasts', ${explicitArrayCasts('p.polqual', 'p.polwithcheck')}
    ) order by p.polname)
     from pg_policy p where p.polrelid = c.oid) as policies,
  coalesce((
    select json_agg(json_build_object(
      'num', a.attnum,
      'name', a.attname,
      'type', format_type(a.atttypid, a.atttypmod),
      'notNull', a.attnotnull,
      'expr', pg_get_expr(d.adbin, d.adrelid),
      'explicitArrayCasts', ${explicitArrayCasts('d.adbin')},
      'generated', a.attgenerated,
      'identity', a.attidentity,
      -- An identity's sequence options, as the clause that sets them (all of them: the defaults depend on the type).
      'identityOptions', case when a.attidentity <> '' then (
        select concat_ws(' ', 'START WITH ' || s.seqstart, 'INCREMENT BY ' || s.seqincrement, 'MINVALUE ' || s.seqmin,
                         'MAXVALUE ' || s.seqmax, 'CACHE ' || s.seqcache, case when s.seqcycle then 'CYCLE' else 'NO CYCLE' end)
        from pg_depend dep join pg_sequence s on s.seqrelid = dep.objid
        where dep.classid = 'pg_class'::regclass and dep.refclassid = 'pg_class'::regclass and dep.refobjid = c.oid
          and dep.refobjsubid = a.attnum and dep.deptype = 'i' limit 1) end,
      'collation', ${collationOf('a', 't')},
      'local', a.attislocal,
      -- Per-column settings: SET STATISTICS (PostgreSQL 17 keeps the default as null, earlier ones as -1), the options
      -- PostgreSQL documents (an undocumented pg_attver=... entry some builds add to every column is left out), SET
      -- COMPRESSION and SET STORAGE when they are not the type's.
      'statistics', case when a.attstattarget >= 0 then a.attstattarget end,
      'options', (select array_agg(o order by o) from unnest(a.attoptions) o
                  where split_part(o, '=', 1) in ('n_distinct', 'n_distinct_inherited')),
      'compression', case a.attcompression when 'p' then 'pglz' when 'l' then 'lz4' end,
      'storage', case when a.attstorage <> t.typstorage then
        case a.attstorage when 'p' then 'plain' when 'e' then 'external' when 'm' then 'main' when 'x' then 'extended' end end
    ) order by a.attnum)
    from pg_attribute a
    join pg_type t on t.oid = a.atttypid
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  ), '[]'::json) as columns
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_type rt on rt.oid = c.reltype
where c.relkind in ('r', 'p') and ${IN_SCOPE} and ${notInExtension('pg_class', 'c.oid')}`;

export const CONSTRAINTS_SQL = `
select con.oid, n.nspname as schema, c.relname as table_name, con.conname as name, con.contype,
  pg_get_constraintdef(con.oid) as definition, con.condeferrable, con.condeferred, con.convalidated,
  case when con.contype = 'c' then pg_get_expr(con.conbin, con.conrelid) end as expression,
  ${explicitArrayCasts('con.conbin')} as explicit_array_casts,
  array(select a.attname from unnest(con.conkey) with ordinality k(num, ord)
        join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord)::text[] as columns,
  rn.nspname as ref_schema, rc.relname as ref_table, rc.relkind as ref_kind,
  array(select a.attname from unnest(con.confkey) with ordinality k(num, ord)
        join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord)::text[] as ref_columns,
  con.confupdtype, con.confdeltype, con.confmatchtype, c.relkind as table_kind,
  (select pc.conname from pg_constraint pc where pc.oid = con.conparentid) as attached_to,
  c.relkind = 'p' and con.contype in ('p', 'u', 'x')
    and not coalesce((select x.indisvalid from pg_index x where x.indexrelid = con.conindid), true) as incomplete,
  case when c.relkind = 'p' and con.contype in ('p', 'u', 'x') then
    array(select cn.nspname || '.' || cc.relname || '.' || ch.conname from pg_constraint ch
            join pg_class cc on cc.oid = ch.conrelid join pg_namespace cn on cn.oid = cc.relnamespace
           where ch.conparentid = con.oid order by 1)::text[] end as attached
from pg_constraint con
join pg_class c on c.oid = con.conrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_class rc on rc.oid = con.confrelid
left join pg_namespace rn on rn.oid = rc.relnamespace
where con.contype in ('p', 'u', 'c', 'f', 'x')
  and ((con.conislocal and con.conparentid = 0) or (con.conparentid <> 0 and con.contype in ('p', 'u', 'x')))
  and c.relkind in ('r', 'p') and ${IN_SCOPE} and ${notInExtension('pg_class', 'c.oid')}`;

export const INDEXES_SQL = `
select i.indexrelid as oid, n.nspname as schema, ic.relname as name, tn.nspname as table_schema,
  tc.relname as table_name, tc.relkind as table_kind, i.indisunique, pg_get_indexdef(i.indexrelid) as definition,
  ic.reloptions::text[] as reloptions,
  pg_get_expr(i.indpred, i.indrelid) as predicate, i.indexprs is not null as has_expressions,
  ${explicitArrayCasts('i.indexprs', 'i.indpred')} as explicit_array_casts,
  array(select a.attname from unnest(i.indkey::int2[]) with ordinality k(num, ord)
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.num
        where k.ord <= i.indnkeyatts order by k.ord)::text[] as columns,
  case when tc.relkind = 'p' then array(select hn.nspname || '.' || hc.relname from pg_inherits h join pg_class hc on hc.oid = h.inhrelid
                                          join pg_namespace hn on hn.oid = hc.relnamespace where h.inhparent = i.indexrelid order by 1)::text[] end as attached,
  tc.relkind = 'p' and not i.indisvalid as incomplete,
  (select pn.nspname || '.' || pc.relname from pg_inherits h join pg_class pc on pc.oid = h.inhparent
     join pg_namespace pn on pn.oid = pc.relnamespace where h.inhrelid = i.indexrelid) as attached_to,
  exists (select 1 from pg_inherits h join pg_index pi on pi.indexrelid = h.inhparent
          where h.inhrelid = i.indexrelid and pi.indisvalid) as attached_to_complete
from pg_index i
join pg_class ic on ic.oid = i.indexrelid
join pg_namespace n on n.oid = ic.relnamespace
join pg_class tc on tc.oid = i.indrelid
join pg_namespace tn on tn.oid = tc.relnamespace
where tc.relkind in ('r', 'p', 'm') and ${IN_SCOPE.replace(/n\.nspname/g, 'tn.nspname')}
  and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid and k.conrelid = i.indrelid and k.contype in ('p', 'u', 'x'))
  and ${notInExtension('pg_class', 'tc.oid')}`;

export const VIEWS_SQL = `
select c.oid, c.reltype, rt.typarray as reltype_array, n.nspname as schema, c.relname as name, c.relkind,
  c.reloptions::text[] as reloptions, pg_get_userbyid(c.relowner) as owner, pg_get_viewdef(c.oid) as definition,
  (select ic.relname from pg_index ri join pg_class ic on ic.oid = ri.indexrelid where ri.indrelid = c.oid and ri.indisclustered) as cluster_index,
  ${explicitArrayCasts(`(select r.ev_action from pg_rewrite r where r.ev_class = c.oid and r.rulename = '_RETURN')`)} as explicit_array_casts,
  coalesce((
    select json_agg(json_build_object('num', a.attnum, 'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) order by a.attnum)
    from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  ), '[]'::json) as columns
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_type rt on rt.oid = c.reltype
where c.relkind in ('v', 'm') and ${IN_SCOPE} and ${notInExtension('pg_class', 'c.oid')}`;

export const ROUTINES_SQL = `
select p.oid, n.nspname as schema, p.proname as name, p.prokind,
  pg_get_function_identity_arguments(p.oid) as identity_args, pg_get_function_arguments(p.oid) as arguments,
  coalesce(pg_get_function_result(p.oid), '') as result, l.lanname as language, p.provolatile,
  pg_get_functiondef(p.oid) as definition, pg_get_userbyid(p.proowner) as owner,
  array(select format_type(u.t, null) from unnest(p.proargtypes::oid[]) with ordinality u(t, ord) order by u.ord)::text[] as arg_types
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_language l on l.oid = p.prolang
where p.prokind in ('f', 'p', 'w') and ${IN_SCOPE} and ${notInExtension('pg_proc', 'p.oid')}
  -- A range type's own constructors (internal dependencies) come and go with the type.
  and not exists (select 1 from pg_depend i where i.classid = 'pg_proc'::regclass and i.objid = p.oid and i.deptype = 'i')`;

export const TRIGGERS_SQL = `
select t.oid, n.nspname as schema, c.relname as table_name, c.relkind, t.tgname as name,
  pg_get_triggerdef(t.oid) as definition, ${explicitArrayCasts('t.tgqual')} as explicit_array_casts, t.tgenabled, t.tgconstraint <> 0 as is_constraint,
  pn.nspname as function_schema, p.proname as function_name,
  array(select format_type(u.t, null) from unnest(p.proargtypes::oid[]) with ordinality u(t, ord) order by u.ord)::text[] as function_args
from pg_trigger t
join pg_class c on c.oid = t.tgrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_proc p on p.oid = t.tgfoid
join pg_namespace pn on pn.oid = p.pronamespace
where not t.tgisinternal and t.tgparentid = 0 and ${IN_SCOPE} and ${notInExtension('pg_class', 'c.oid')}`;

export const SEQUENCES_SQL = `
select c.oid, n.nspname as schema, c.relname as name, format_type(s.seqtypid, null) as data_type,
  s.seqstart::text as start, s.seqincrement::text as increment, s.seqmin::text as min, s.seqmax::text as max,
  s.seqcache::text as cache, s.seqcycle as cycle, pg_get_userbyid(c.relowner) as owner,
  (select json_build_object('schema', tn.nspname, 'table', tc.relname, 'column', a.attname)
     from pg_depend d
     join pg_class tc on tc.oid = d.refobjid
     join pg_namespace tn on tn.oid = tc.relnamespace
     join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
     where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass
       and d.deptype = 'a' and d.refobjsubid > 0
     limit 1) as owned_by
from pg_sequence s
join pg_class c on c.oid = s.seqrelid
join pg_namespace n on n.oid = c.relnamespace
where ${IN_SCOPE}
  and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('i', 'e'))`;

export const TYPES_SQL = `
select t.oid, t.typarray, t.typrelid, n.nspname as schema, t.typname as name, t.typtype,
  pg_get_userbyid(t.typowner) as owner,
  case when t.typtype = 'e' then array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder)::text[] end as enum_values,
  case when t.typtype = 'c' then coalesce((
    select json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'collation', ${collationOf('a', 'at')}) order by a.attnum)
    from pg_attribute a join pg_type at on at.oid = a.atttypid
    where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped), '[]'::json) end as attributes,
  case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end as base_type,
  t.typnotnull, pg_get_expr(t.typdefaultbin, 0) as default_expr,
  ${explicitArrayCasts('t.typdefaultbin')} as default_explicit_array_casts,
  case when t.typtype = 'd' and t.typcollation <> bt.typcollation then
    (select quote_ident(cn.nspname) || '.' || quote_ident(co.collname) from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace where co.oid = t.typcollation)
  end as collation,
  case when t.typtype = 'd' then coalesce((
    select json_agg(json_build_object('oid', k.oid, 'name', k.conname, 'definition', pg_get_constraintdef(k.oid),
      'explicitArrayCasts', ${explicitArrayCasts('k.conbin')}) order by k.conname)
    from pg_constraint k where k.contypid = t.oid and k.contype = 'c'), '[]'::json) end as checks,
  case when t.typtype = 'r' then (select format_type(r.rngsubtype, null) from pg_range r where r.rngtypid = t.oid) end as subtype
from pg_type t
join pg_namespace n on n.oid = t.typnamespace
left join pg_type bt on bt.oid = t.typbasetype
where t.typtype in ('e', 'c', 'd', 'r') and ${IN_SCOPE}
  and (t.typtype <> 'c' or exists (select 1 from pg_class rc where rc.oid = t.typrelid and rc.relkind = 'c'))
  and ${notInExtension('pg_type', 't.oid')}`;

/** Comments on anything the model can hold; mapped to objects by oid, so one query serves every class. */
export const COMMENTS_SQL = `
select d.classoid::regclass::text as catalog, d.objoid as oid, d.objsubid as sub, d.description
from pg_description d
where d.classoid in ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass, 'pg_namespace'::regclass,
                     'pg_constraint'::regclass, 'pg_trigger'::regclass, 'pg_extension'::regclass, 'pg_collation'::regclass,
                     'pg_ts_config'::regclass, 'pg_ts_dict'::regclass, 'pg_policy'::regclass)
  and (d.objoid >= 16384 or d.classoid = 'pg_namespace'::regclass)`;

const grantee = `case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end as grantee, a.privilege_type, a.is_grantable`;

/**
 * Effective privileges (the defaults when an ACL is null), the owner's own left out; and the default privileges set
 * in the schemas (`pg_default_acl`, its oid the schema's, `column_name` the object type's letter and the role).
 */
export const PRIVILEGES_SQL = `
select 'pg_class' as catalog, c.oid, null::text as column_name, ${grantee}
from pg_class c join pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's'::"char" else 'r'::"char" end, c.relowner))) a
where c.relkind in ('r', 'p', 'v', 'm', 'S') and ${IN_SCOPE} and a.grantee <> c.relowner
union all
select 'pg_class', c.oid, att.attname::text, ${grantee}
from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(att.attacl) a
where att.attacl is not null and att.attnum > 0 and not att.attisdropped and c.relkind in ('r', 'p', 'v', 'm')
  and ${IN_SCOPE} and a.grantee <> c.relowner
union all
select 'pg_proc', p.oid, null, ${grantee}
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
where p.prokind in ('f', 'p', 'w') and ${IN_SCOPE} and a.grantee <> p.proowner
union all
select 'pg_type', t.oid, null, ${grantee}
from pg_type t join pg_namespace n on n.oid = t.typnamespace
cross join lateral aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
where t.typtype in ('e', 'c', 'd', 'r') and ${IN_SCOPE} and a.grantee <> t.typowner
  and (t.typtype <> 'c' or exists (select 1 from pg_class rc where rc.oid = t.typrelid and rc.relkind = 'c'))
union all
select 'pg_namespace', n.oid, null, ${grantee}
from pg_namespace n
cross join lateral aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
where ${IN_SCOPE} and a.grantee <> n.nspowner
union all
select 'pg_default_acl', n.oid, concat_ws(' ', d.defaclobjtype::text, pg_get_userbyid(d.defaclrole)), ${grantee}
from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace
cross join lateral aclexplode(d.defaclacl) a
where ${IN_SCOPE}
union all
-- Without IN SCHEMA (defaclnamespace 0): for every schema, so read whatever the scope.
select 'pg_default_acl', 0::oid, concat_ws(' ', d.defaclobjtype::text, pg_get_userbyid(d.defaclrole)), ${grantee}
from pg_default_acl d
cross join lateral aclexplode(d.defaclacl) a
where d.defaclnamespace = 0`;

/**
 * Collations defined in the schemas. The locale column is `colliculocale` on PostgreSQL 15 and 16 and `colllocale`
 * from 17, and `collicurules` exists from 16: read through to_jsonb so one query serves them all.
 */
export const COLLATIONS_SQL = `
select co.oid, n.nspname as schema, co.collname as name, co.collprovider::text as provider, co.collcollate as lc_collate,
  co.collctype as lc_ctype, coalesce(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale') as locale,
  co.collisdeterministic as deterministic, to_jsonb(co) ->> 'collicurules' as rules, pg_get_userbyid(co.collowner) as owner
from pg_collation co join pg_namespace n on n.oid = co.collnamespace
where ${IN_SCOPE} and ${notInExtension('pg_collation', 'co.oid')}`;

/** `schema.name`, each part quoted when it needs to be (`pg_catalog."default"`): the form both sides print. */
const qualifiedName = (schema: string, name: string) => `quote_ident(${schema}) || '.' || quote_ident(${name})`;

export const TEXT_SEARCH_DICTIONARIES_SQL = `
select d.oid, n.nspname as schema, d.dictname as name, ${qualifiedName('tn.nspname', 't.tmplname')} as template,
  d.dictinitoption as options, pg_get_userbyid(d.dictowner) as owner
from pg_ts_dict d join pg_namespace n on n.oid = d.dictnamespace
join pg_ts_template t on t.oid = d.dicttemplate join pg_namespace tn on tn.oid = t.tmplnamespace
where ${IN_SCOPE} and ${notInExtension('pg_ts_dict', 'd.oid')}`;

/** Configurations with their mappings: per token type of the parser (in its order), the dictionaries in order. */
export const TEXT_SEARCH_CONFIGURATIONS_SQL = `
select c.oid, n.nspname as schema, c.cfgname as name, ${qualifiedName('pn.nspname', 'p.prsname')} as parser,
  pg_get_userbyid(c.cfgowner) as owner,
  coalesce((select json_agg(json_build_object('token', tt.alias, 'dictionaries', m.dictionaries) order by tt.tokid)
     from ts_token_type(c.cfgparser) tt
     join (select cm.maptokentype, array_agg(${qualifiedName('dn.nspname', 'd.dictname')} order by cm.mapseqno) as dictionaries
           from pg_ts_config_map cm join pg_ts_dict d on d.oid = cm.mapdict join pg_namespace dn on dn.oid = d.dictnamespace
           where cm.mapcfg = c.oid group by cm.maptokentype) m on m.maptokentype = tt.tokid), '[]'::json) as mappings
from pg_ts_config c join pg_namespace n on n.oid = c.cfgnamespace
join pg_ts_parser p on p.oid = c.cfgparser join pg_namespace pn on pn.oid = p.prsnamespace
where ${IN_SCOPE} and ${notInExtension('pg_ts_config', 'c.oid')}`;

export const EXTENSIONS_SQL = `
select e.oid, e.extname as name, n.nspname as schema, e.extversion as version, pg_get_userbyid(e.extowner) as owner
from pg_extension e join pg_namespace n on n.oid = e.extnamespace
where ${IN_SCOPE}`;

/**
 * Dependencies between user objects, in one query: view rules are reported as their view, column defaults as
 * their table column. Mapped to model objects by oid; rows about objects out of scope are dropped there.
 */
export const DEPENDENCIES_SQL = `
select
  case when d.classid in ('pg_rewrite'::regclass, 'pg_attrdef'::regclass) then 'pg_class' else d.classid::regclass::text end as catalog,
  coalesce(r.ev_class, ad.adrelid, d.objid) as oid,
  coalesce(ad.adnum, d.objsubid) as sub,
  -- A type, function or relation that belongs to an extension stands for the extension (a column of type hstore
  -- depends on extension hstore).
  case when x.refobjid is not null then 'pg_extension' else d.refclassid::regclass::text end as ref_catalog,
  coalesce(x.refobjid, d.refobjid) as ref_oid, case when x.refobjid is not null then 0 else d.refobjsubid end as ref_sub
from pg_depend d
left join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and r.oid = d.objid
left join pg_attrdef ad on d.classid = 'pg_attrdef'::regclass and ad.oid = d.objid
left join pg_depend x on x.classid = d.refclassid and x.objid = d.refobjid and x.objsubid = 0 and x.deptype = 'e'
where d.deptype in ('n', 'a') and d.objid >= 16384 and d.refobjid >= 16384
  and d.classid in ('pg_class'::regclass, 'pg_rewrite'::regclass, 'pg_attrdef'::regclass, 'pg_proc'::regclass,
                    'pg_type'::regclass, 'pg_constraint'::regclass, 'pg_trigger'::regclass, 'pg_ts_config'::regclass,
                    'pg_ts_dict'::regclass)
  and d.refclassid in ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass, 'pg_collation'::regclass,
                       'pg_ts_config'::regclass, 'pg_ts_dict'::regclass, 'pg_ts_template'::regclass)`;
