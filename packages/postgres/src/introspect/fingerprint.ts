import { createHash } from 'node:crypto';
import type { Connection, StateFingerprints } from '@dbee/core';
import { outOfResources } from '@dbee/core/errors';
import { type IntrospectScope, withCatalogSettings } from './introspect';
import { inHalves, VIEW_NAMES_SQL, whenHeld } from './lock-table';

/**
 * An ACL as text, with only the entries of the managed grantees ($2; null keeps every entry). The subquery only for an
 * ACL that is there: most columns and many objects have none, and a subquery run per line is a fifth of the query.
 */
const acl = (column: string) => `case when ${column} is not null then ${managedEntries(column)} end`;
/**
 * The ACL of an object whose default grants PUBLIC a privilege (a routine's EXECUTE, a type's USAGE), with the same
 * filter as `acl`: a null ACL read as the default it stands for (`acldefault`), so that `REVOKE EXECUTE ... FROM PUBLIC`
 * by hand, which leaves only the owner's entry, is not printed as the null ACL was (`pg4`; the model reads the same
 * effective privileges).
 */
const aclOrDefault = (column: string, kind: string, owner: string) =>
  managedEntries(`coalesce(${column}, acldefault('${kind}', ${owner}))`);
/** The entries of the ACL `value` whose grantee is managed ($2; null: every grantee), sorted, as one text. */
const managedEntries = (value: string) =>
  `(select string_agg(a::text, ',' order by a::text) from unnest(${value}) a
     where $2::text[] is null or (case when split_part(a::text, '=', 1) = '' then 'PUBLIC' else btrim(split_part(a::text, '=', 1), '"') end) = any($2::text[]))`;
/** An owner, only when owners are managed ($3). */
const owner = (column: string) => `case when $3 then pg_get_userbyid(${column}) end`;
/**
 * A comment, only when comments are managed ($4): `obj_description(oid, catalog)` (or `col_description` for a column's
 * `sub`) read from pg_description by its unique index, the value those functions give. Not the functions: they are SQL
 * functions PostgreSQL does not inline, run through the SQL function executor for every object (a quarter of the
 * query's server time on a 50-object project; test/fleet/fingerprint-cost.test.ts). One probe of the index per object
 * in scope, not a read of every row of pg_description first (most of them the system's own, about 5,000, hashed
 * again for each kind of object: half of the query's execution on a new target of a fleet, docs/fleets.md): the
 * query's cost follows the project's size, not the catalog's.
 */
const comment = (catalog: string, oid: string, sub = '0') =>
  `case when $4 then (select ds.description from pg_description ds where ds.objoid = ${oid} and ds.classoid = '${catalog}'::regclass and ds.objsubid = ${sub}) end`;
/** Not a member of an extension: looked up in the `ext` CTE (members found from pg_extension, by index). */
const notExtensionMember = (catalog: string, oid: string) =>
  `not exists (select 1 from ext where ext.classid = '${catalog}'::regclass and ext.objid = ${oid})`;

/**
 * One line of text per definition of an object in scope, built by the catalog's own deparsers: schemas, relations
 * (kind, persistence, options, row security, owner, ACL, comment, replica identity FULL/NOTHING, an index attached
 * to a partitioned index), columns (type, nullability, default, identity,
 * generation, collation, ACL, comment), constraints (pg_get_constraintdef, also on domains), indexes
 * (pg_get_indexdef), views and materialized views (pg_get_viewdef), routines (pg_get_functiondef, ACL, comment),
 * triggers (pg_get_triggerdef, enabled state), policies (and their comments, `pg4`), types (enum labels in order, domain base/default/nullability,
 * range subtype), sequences (their parameters, not their current value), collations, text search dictionaries and
 * configurations (their mappings) and extensions. Names, never oids, so that
 * equal definitions give equal lines in any two databases. Row data, statistics and row versions are not read.
 *
 * What the project does not manage is left out (`SchemaScope.manage`): ACL entries of other grantees ($2), owners
 * ($3), comments ($4), and every line of an object whose `kind:schema.name` matches an ignore pattern ($5; an
 * index, an owned sequence, a column, a row type or a trigger counts as its table). So is what PostgreSQL makes on
 * its own: internal triggers (foreign keys), triggers cloned onto partitions, and members of extensions.
 *
 * The lines are sorted and hashed inside the server: one round trip, one short string back. The same lines without the
 * position on a column's line (`unplaced`), hashed one by one and summed, give the position-free fingerprint
 * (`recordableFingerprints`); the first hash is unchanged by it. The database is
 * identified by the cluster's system identifier (a random value made by initdb, PGlite included) and the database
 * oid, so two databases never share a fingerprint even when their definitions are equal.
 */
export type FingerprintFormat = 3 | 4;

/**
 * A column's default in `pg4`: a table's column only. A view's column default (`ALTER VIEW ... ALTER COLUMN ... SET
 * DEFAULT`) is not in the model, so the diff cannot put a hand edit of it back and the check does not compare it: `pg3`
 * printed it, and such an edit was drift that no object explained, which the next deployment then recorded as its own.
 */
const TABLE_DEFAULT = `case when r.relkind not in ('v', 'm') then pg_get_expr(d.adbin, d.adrelid) end`;
/** A column's comment (`pg4` prints none for a composite type's attribute). */
const COLUMN_COMMENT = comment('pg_class', 'a.attrelid', 'a.attnum');

/** `current` in the current format's query, `earlier` (the text an earlier dbee printed) in `pg3`'s. */
const inFormat = (format: FingerprintFormat, current: string, earlier: string) => (format >= 4 ? current : earlier);
/** `text` in the current format's query only. */
const since4 = (format: FingerprintFormat, text: string) => inFormat(format, text, '');

/**
 * The fingerprint query of a format. `pg4` (what a deployment records) prints what the model compares and no more
 * (test/runner/drift-coverage.test.ts):
 * - it adds, each only when set (a line with none of them is the line `pg3` printed): a partitioned table's key, a
 *   partition's parent and a table's inheritance parents; a table column's statistics target, options, compression,
 *   and storage when a column of variable length is not extended; a sequence's owning column; a policy's comment;
 * - it reads a routine's or a type's null ACL as its default (`aclOrDefault`): such a line differs from `pg3`'s where
 *   PUBLIC's grants are managed;
 * - it leaves out what `pg3` printed and the model does not hold (drift that no object of the diff explains): a view
 *   column's default (`TABLE_DEFAULT`) and a composite type's attribute's comment.
 * `pg3` is read only to compare with what an earlier dbee recorded.
 */
export function fingerprintSql(format: FingerprintFormat): string {
  return `
with ns as (
  select oid, nspname from pg_namespace where nspname = any($1::text[]) and nspname <> 'dbee'
), ext as materialized (
  -- Every extension's members, through pg_depend's index on the referenced object: a few rows, read once (a
  -- pg_depend scan per catalog cost ~0.5 ms each).
  select e.classid, e.objid from pg_extension x
  join pg_depend e on e.refclassid = 'pg_extension'::regclass and e.refobjid = x.oid and e.deptype = 'e'
), rel0 as (
  select c.oid, c.relname, c.relkind, ns.nspname, quote_ident(ns.nspname) || '.' || quote_ident(c.relname) as qname,
    coalesce(ix.indrelid,
             (select d.refobjid from pg_depend d where c.relkind = 'S' and d.classid = 'pg_class'::regclass and d.objid = c.oid
                and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i') limit 1),
             c.oid) as base
  from pg_class c join ns on ns.oid = c.relnamespace left join pg_index ix on ix.indexrelid = c.oid
  where ${notExtensionMember('pg_class', 'c.oid')}
), rel as (
  select r.oid, r.relname, r.relkind, r.nspname, r.qname,
    case b.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' when 'm' then 'materialized-view'
      when 'S' then 'sequence' when 'c' then 'type' when 'f' then 'foreign-table' else 'index' end
      || ':' || bn.nspname || '.' || b.relname as ident
  from rel0 r join pg_class b on b.oid = r.base join pg_namespace bn on bn.oid = b.relnamespace
), typ as (
  select t.oid, t.typtype, t.typname, ns.nspname, quote_ident(ns.nspname) || '.' || quote_ident(t.typname) as qname,
    -- What the type's own line prints, carried here: no second scan of pg_type for it.
    t.typbasetype, t.typtypmod, t.typnotnull, t.typdefault, t.typowner, t.typacl, t.typrelid,
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
  where ${notExtensionMember('pg_type', 't.oid')}
${since4(
  format,
  `), inh as (
  -- Each child's parents, in order: one pass over pg_inherits (a correlated subquery per relation cost the query
  -- about a tenth more on 1,000 objects).
  select h.inhrelid, string_agg(quote_ident(pn.nspname) || '.' || quote_ident(pc.relname), ',' order by h.inhseqno) as parents
  from pg_inherits h join pg_class pc on pc.oid = h.inhparent join pg_namespace pn on pn.oid = pc.relnamespace
  group by h.inhrelid`,
)}), defs (line, ident, nsp, pos, poslen) as materialized (
  -- \`pos\`, \`poslen\`: where a column's line holds its position (with the \`|\` after it), null on other lines.
  select concat_ws('|', 'n', nspname, ${owner('n.nspowner')}, ${acl('n.nspacl')}, ${comment('pg_namespace', 'n.oid')}), 'schema:.' || nspname, nspname, null::int, null::int
  from pg_namespace n where n.oid in (select oid from ns)
  union all
  select concat_ws('|', 'r', r.qname, c.relkind, c.relpersistence, c.reloptions::text, c.relrowsecurity, c.relforcerowsecurity,
                   ${owner('c.relowner')}, ${acl('c.relacl')}, pg_get_expr(c.relpartbound, c.oid), ${comment('pg_class', 'c.oid')},
                   case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end,
                   -- Only when not the default, so that the lines of every other relation stay as they were.
                   case when c.relkind in ('r', 'p') and c.relreplident not in ('d', 'i') then 'replica identity ' || c.relreplident::text end,
                   case when c.relkind in ('i', 'I') and c.relispartition then 'attached' end${since4(
                     format,
                     `,
                   case when c.relkind = 'p' then 'partition key ' || pg_get_partkeydef(c.oid) end,
                   case when c.relkind in ('r', 'p') then case when c.relispartition then 'partition of ' else 'inherits ' end || inh.parents end`,
                   )}), r.ident, r.nspname, null, null
  from rel r join pg_class c on c.oid = r.oid
  ${since4(format, 'left join inh on inh.inhrelid = c.oid')}
  union all
  select concat_ws('|', 'c', r.qname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                   a.attgenerated, ${inFormat(format, TABLE_DEFAULT, 'pg_get_expr(d.adbin, d.adrelid)')}, co.collname, ${acl('a.attacl')}, ${inFormat(format, `case when r.relkind <> 'c' then ${COLUMN_COMMENT} end`, COLUMN_COMMENT)}${since4(
                     format,
                     `,
                   -- One test of the settings most columns leave at their defaults, then their text. Storage only
                   -- of a column of variable length (a fixed-length one's is always plain), when not extended (numeric's
                   -- own main included: printed, but always alike). The options as stored, without the undocumented
                   -- pg_attver entry some builds add to every column: no subquery (with one, the query took about a
                   -- fifth longer on 1,000 objects, tools/bench/fingerprint-phases.ts).
                   case when r.relkind in ('r', 'p') and (a.attstattarget >= 0 or a.attoptions is not null or a.attcompression <> ''
                          or (a.attlen < 0 and a.attstorage <> 'x')) then concat_ws(' ',
                     'statistics ' || case when a.attstattarget >= 0 then a.attstattarget::text end,
                     'options ' || regexp_replace(a.attoptions::text, 'pg_attver=[^,}]*,?', '', 'g'),
                     case a.attcompression when 'p' then 'compression pglz' when 'l' then 'compression lz4' end,
                     case when a.attlen < 0 and a.attstorage <> 'x' then 'storage ' || a.attstorage::text end) end`,
                   )}), r.ident, r.nspname,
         -- After \`c|<name>|\`; the position is never null, so it is always there.
         length(r.qname) + 4, length(a.attnum::text) + 1
  -- Each relation's columns by its oid (an index scan), not a hash of the whole pg_attribute: the query's cost then
  -- follows the project's size, not the database's (a batch fingerprints each of 200 projects of one database).
  from rel r cross join lateral (select * from pg_attribute a where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped offset 0) a
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 0 and co.collname <> 'default'
  union all
  select concat_ws('|', 'k', coalesce(r.qname, t.qname), k.conname, pg_get_constraintdef(k.oid), k.convalidated, ${comment('pg_constraint', 'k.oid')}),
         coalesce(r.ident, t.ident, 'constraint:' || k.conname), kn.nspname, null, null
  from pg_constraint k join ns kn on kn.oid = k.connamespace left join rel r on r.oid = k.conrelid left join typ t on t.oid = k.contypid
  union all
  select concat_ws('|', 'i', r.qname, pg_get_indexdef(i.indexrelid), i.indisclustered, i.indisreplident), r.ident, r.nspname, null, null
  from pg_index i join rel r on r.oid = i.indexrelid
  union all
  select concat_ws('|', 'f', quote_ident(ns.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                   p.prokind, case when p.prokind in ('f', 'p', 'w') then pg_get_functiondef(p.oid) else pg_get_function_result(p.oid) end,
                   ${owner('p.proowner')}, ${inFormat(format, aclOrDefault('p.proacl', 'f', 'p.proowner'), acl('p.proacl'))}, ${comment('pg_proc', 'p.oid')}),
         case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end || ':' || ns.nspname || '.' || p.proname, ns.nspname, null, null
  from pg_proc p join ns on ns.oid = p.pronamespace
  where ${notExtensionMember('pg_proc', 'p.oid')}
  union all
  select concat_ws('|', 't', r.qname, g.tgname, pg_get_triggerdef(g.oid), g.tgenabled, ${comment('pg_trigger', 'g.oid')}), r.ident, r.nspname, null, null
  from pg_trigger g join rel r on r.oid = g.tgrelid where not g.tgisinternal and g.tgparentid = 0
  union all
  select concat_ws('|', 'p', r.qname, y.polname, y.polcmd, y.polpermissive,
                   (select string_agg(case when role = 0 then 'public' else pg_get_userbyid(role) end, ',' order by 1) from unnest(y.polroles) role),
                   pg_get_expr(y.polqual, y.polrelid), pg_get_expr(y.polwithcheck, y.polrelid)${since4(format, `, ${comment('pg_policy', 'y.oid')}`)}), r.ident, r.nspname, null, null
  from pg_policy y join rel r on r.oid = y.polrelid
  union all
  select concat_ws('|', 'y', t.qname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
                   ${owner('t.typowner')}, ${inFormat(format, aclOrDefault('t.typacl', 'T', 't.typowner'), acl('t.typacl'))}, ${comment('pg_type', 't.oid')},
                   (select string_agg(quote_literal(e.enumlabel), ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid),
                   (select format_type(g.rngsubtype, null) from pg_range g where g.rngtypid = t.oid)), t.ident, t.nspname, null, null
  from typ t
  where t.typtype in ('e', 'd', 'r', 'm', 'b') or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c')
  union all
  select concat_ws('|', 's', r.qname, format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle${since4(
    format,
    `,
                   (select 'owned by ' || quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) || '.' || quote_ident(a.attname)
                      from pg_depend d join pg_class tc on tc.oid = d.refobjid join pg_namespace tn on tn.oid = tc.relnamespace
                      join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                      where d.classid = 'pg_class'::regclass and d.objid = s.seqrelid and d.refclassid = 'pg_class'::regclass
                        and d.deptype = 'a' and d.refobjsubid > 0 limit 1)`,
  )}), r.ident, r.nspname, null, null
  from pg_sequence s join rel r on r.oid = s.seqrelid
  union all
  select concat_ws('|', 'o', quote_ident(ns.nspname) || '.' || quote_ident(co.collname), co.collprovider, co.collcollate, co.collctype,
                   coalesce(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale'), to_jsonb(co) ->> 'collicurules',
                   co.collisdeterministic, ${owner('co.collowner')}, ${comment('pg_collation', 'co.oid')}),
         'collation:' || ns.nspname || '.' || co.collname, ns.nspname, null, null
  from pg_collation co join ns on ns.oid = co.collnamespace
  where ${notExtensionMember('pg_collation', 'co.oid')}
  union all
  select concat_ws('|', 'sd', quote_ident(ns.nspname) || '.' || quote_ident(d.dictname),
                   (select tn.nspname || '.' || t.tmplname from pg_ts_template t join pg_namespace tn on tn.oid = t.tmplnamespace where t.oid = d.dicttemplate),
                   d.dictinitoption, ${owner('d.dictowner')}, ${comment('pg_ts_dict', 'd.oid')}),
         'text-search-dictionary:' || ns.nspname || '.' || d.dictname, ns.nspname, null, null
  from pg_ts_dict d join ns on ns.oid = d.dictnamespace
  where ${notExtensionMember('pg_ts_dict', 'd.oid')}
  union all
  select concat_ws('|', 'sc', quote_ident(ns.nspname) || '.' || quote_ident(c.cfgname),
                   (select pn.nspname || '.' || p.prsname from pg_ts_parser p join pg_namespace pn on pn.oid = p.prsnamespace where p.oid = c.cfgparser),
                   (select string_agg(m.maptokentype || ':' || dn.nspname || '.' || md.dictname, ',' order by m.maptokentype, m.mapseqno)
                      from pg_ts_config_map m join pg_ts_dict md on md.oid = m.mapdict join pg_namespace dn on dn.oid = md.dictnamespace
                      where m.mapcfg = c.oid),
                   ${owner('c.cfgowner')}, ${comment('pg_ts_config', 'c.oid')}),
         'text-search-configuration:' || ns.nspname || '.' || c.cfgname, ns.nspname, null, null
  from pg_ts_config c join ns on ns.oid = c.cfgnamespace
  where ${notExtensionMember('pg_ts_config', 'c.oid')}
  union all
  select concat_ws('|', 'x', x.extname, x.extversion, ns.nspname), 'extension:' || ns.nspname || '.' || x.extname, ns.nspname, null, null from pg_extension x join ns on ns.oid = x.extnamespace
), -- Each scope ($5: its schemas and ignore patterns) gets the lines of its schemas (a hash join on the schema): one
-- query for the scopes of a whole batch, each hash equal to the one the scope alone would get.
scopes as materialized (
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
       md5(coalesce(string_agg(d.line, E'\\n' order by d.line collate "C"), '')) as hash,
       -- The position-free fingerprint: the same lines without a column's position, each hashed and the hashes summed,
       -- as the catalog version sums row versions. Not a second sorted aggregate: at 11,000 lines that added a tenth to
       -- the query's server time, the sum a thirtieth.
       md5(coalesce(sum(hashtextextended(d.unplaced collate "C", 0)::numeric), 0)::text) as unplaced
from scopes sc
left join (members m join (select defs.*, case when pos is null then line else overlay(line placing '' from pos for poslen) end as unplaced from defs) d
  on d.nsp::text = m.nsp) on m.i = sc.i and not (d.ident ~ any(sc.ignore))
group by sc.i
order by sc.i`;
}

/** The current format's query (`pg4`): what a deployment records and every fresh read compares. */
export const FINGERPRINT_SQL = fingerprintSql(4);

/**
 * A value that changes whenever the definition of any object in `scope` changes, and differs between any two
 * databases (one catalog query, no definitions printed). Equal fingerprints mean a cached live model and diff can
 * be reused; a plan whose base fingerprint no longer matches is stale.
 */
export async function fingerprint(conn: Connection, scope: IntrospectScope, like?: string): Promise<string> {
  return (await recordableFingerprints(conn, [scope], formatOf(like)))[0]!.fingerprint;
}

/**
 * The format of a recorded fingerprint (or position-free one): `pg3` for what an earlier dbee recorded, else the
 * current one. A fingerprint read to compare with a recorded one is read in the recorded one's format (`like`).
 */
export function formatOf(like: string | undefined): FingerprintFormat {
  return like !== undefined && /^pg3(np)?:/.test(like) ? 3 : 4;
}

/**
 * The fingerprints of many scopes, each equal to `fingerprint(conn, scope)`, in one catalog query per way the scopes
 * read definitions (managed grantees, owners, comments): an Nx batch records every deployment's at its end.
 */
export async function fingerprints(conn: Connection, scopes: readonly IntrospectScope[]): Promise<string[]> {
  return (await recordableFingerprints(conn, scopes)).map((f) => f.fingerprint);
}

/**
 * `fingerprints`, each with its position-free fingerprint (`pg4np:<lines>:<hash>`; `format` 3: `pg3np`) from the same
 * catalog query: the hash of the same lines with no column's position in them. A column dropped and added again (a rollback puts back a
 * column a deployment dropped) takes a new position, and the fingerprint changes; the position-free one does not,
 * whatever else is equal. Without the database's identity: the state of the definitions, compared within one database.
 */
export async function recordableFingerprints(
  conn: Connection,
  scopes: readonly IntrospectScope[],
  format: FingerprintFormat = 4,
): Promise<{ fingerprint: string; positionFree: string }[]> {
  const out: { fingerprint: string; positionFree: string }[] = [];
  const groups = new Map<string, number[]>();
  scopes.forEach((scope, i) => {
    const m = scope.manage;
    const key = JSON.stringify(m ? [m.grantees, m.owners, m.comments] : null);
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  for (const members of groups.values()) {
    const m = scopes[members[0]!]!.manage;
    const each = members.map((i) => ({
      schemas: scopes[i]!.schemas.filter((s) => s !== 'dbee'),
      ignore: scopes[i]!.manage?.ignore ?? [],
    }));
    const params = [
      [...new Set(each.flatMap((e) => e.schemas))],
      m ? m.grantees : null,
      m ? m.owners : true,
      m ? m.comments : true,
      JSON.stringify(each),
    ];
    for (const row of await catalogRows(conn, params, format)) {
      out[members[Number(row.i) - 1]!] = {
        fingerprint: `pg${format}:${String(row.system)}.${String(row.database)}:${String(row.lines)}:${String(row.hash)}`,
        positionFree: `pg${format}np:${String(row.lines)}:${String(row.unplaced)}`,
      };
    }
  }
  return out;
}

/**
 * `fingerprints` without the database's identity (the cluster's system identifier and the database's oid): equal for
 * two databases whose definitions in scope are equal, so that a fleet builds one plan for every target in one state.
 *
 * The scopes' schemas are looked up by name first, and those missing reported (`missingSchemas`: a deployment's
 * conflict check then asks the catalog nothing about their objects). A database where no schema of any scope exists
 * (a new target of a fleet) has no line in any scope: its state is the empty one (`EMPTY_STATE`), told without the
 * catalog query, whose parsing and planning on a new session cost a fleet ~20 ms of server time per new target.
 */
export async function stateFingerprints(
  conn: Connection,
  scopes: readonly IntrospectScope[],
): Promise<StateFingerprints> {
  const schemas = [...new Set(scopes.flatMap((s) => s.schemas.filter((n) => n !== 'dbee')))];
  const found = await conn.query<{ names: string[] | null }>(
    `select array_agg(nspname::text) as names from pg_catalog.pg_namespace where nspname = any($1::text[])`,
    [schemas],
  );
  const present = new Set(found.rows[0]?.names ?? []);
  const missingSchemas = schemas.filter((s) => !present.has(s));
  if (present.size === 0) return { states: scopes.map(() => EMPTY_STATE), missingSchemas };
  const states = (await fingerprints(conn, scopes)).map((f) => stateOf(f)!);
  return { states, missingSchemas };
}

/**
 * A fingerprint of `fingerprints` without the database's identity (`pg4:<system>.<database>:<lines>:<hash>` ->
 * `pg4:<lines>:<hash>`, and as well for `pg3`): the state `stateFingerprints` reads. Null for any other value (an
 * older format, another engine's).
 */
export function stateOf(fingerprint: string): string | null {
  const m = /^(pg[34]):[^:]*:(\d+:[0-9a-f]+)$/.exec(fingerprint);
  return m ? `${m[1]}:${m[2]}` : null;
}

/** The state fingerprint of a scope without a line: none of its schemas exists (no line, the MD5 of nothing). */
export const EMPTY_STATE = `pg4:0:${createHash('md5').update('').digest('hex')}`;

/**
 * The session settings of the catalog query (local to its request): see `catalogRows`. No JIT, as for every prepared
 * catalog query (`PgConnection.queryPrepared`).
 */
const FINGERPRINT_SETTINGS = {
  search_path: 'pg_catalog',
  join_collapse_limit: '1',
  from_collapse_limit: '1',
};

type Row = { i: unknown; system: unknown; database: unknown; lines: unknown; hash: unknown; unplaced: unknown };

async function catalogRows(conn: Connection, params: unknown[], format: FingerprintFormat): Promise<Row[]> {
  const sql = queriesOf(format);
  try {
    return await fingerprintRows(conn, sql.plain, params);
  } catch (e) {
    if (!outOfResources(e)) throw e;
  }
  // More views than the server's lock table holds in one statement (printing one locks it): the views printed first,
  // in groups the server holds (`inHalves`), then the query takes their text from its parameters. The same lines.
  const printed = await withCatalogSettings(conn, async () => {
    const views = (await whenHeld(() => conn.query<{ oid: number }>(VIEW_NAMES_SQL, [params[0]]))).rows.map(
      (r) => r.oid,
    );
    return inHalves(
      views,
      async (part) =>
        (
          await conn.query<{ oid: number; def: string }>(
            `select oid, pg_get_viewdef(oid) as def from unnest($1::oid[]) oid`,
            [part],
          )
        ).rows,
    );
  });
  return whenHeld(() =>
    fingerprintRows(conn, sql.printedViews, [...params, printed.map((v) => v.oid), printed.map((v) => v.def)]),
  );
}

async function fingerprintRows(conn: Connection, sql: string, params: unknown[]): Promise<Row[]> {
  // The catalog's deparsers qualify names by the session's search_path (a deployment sets it): print them as the
  // introspector does, with pg_catalog only, so the fingerprint recorded by a deployment is the one status reads.
  // The joins run in the order written (each starts from the scope's few rows): a new session plans the query
  // once, and the planner's search of join orders was a fifth of that planning (a fleet plans it once per target).
  if (conn.queryPrepared) return (await conn.queryPrepared<Row>(sql, params, FINGERPRINT_SETTINGS)).rows;
  // Without prepared queries (PGlite, a plain connection): the same settings for the session, put back after.
  return withCatalogSettings(conn, async () => (await conn.query<Row>(sql, params)).rows);
}

/** A format's query with each view's printed text given (`$6` oids, `$7` their `pg_get_viewdef`), when it has one. */
const printedViewsSql = (sql: string) =>
  replaceOnce(
    replaceOnce(sql, 'then pg_get_viewdef(c.oid) end', 'then coalesce(pv.def, pg_get_viewdef(c.oid)) end'),
    'from rel r join pg_class c on c.oid = r.oid\n',
    'from rel r join pg_class c on c.oid = r.oid left join unnest($6::oid[], $7::text[]) pv(oid, def) on pv.oid = c.oid\n',
  );

/** The current format's queries, plain and with printed views. */
const CURRENT_QUERIES = { plain: FINGERPRINT_SQL, printedViews: printedViewsSql(FINGERPRINT_SQL) };
let earlierQueries: typeof CURRENT_QUERIES | undefined;
/** A format's queries; the earlier format's made when first asked for. */
function queriesOf(format: FingerprintFormat): typeof CURRENT_QUERIES {
  if (format === 4) return CURRENT_QUERIES;
  if (!earlierQueries) {
    const plain = fingerprintSql(3);
    earlierQueries = { plain, printedViews: printedViewsSql(plain) };
  }
  return earlierQueries;
}

function replaceOnce(text: string, from: string, to: string): string {
  if (text.split(from).length !== 2) throw new Error(`fingerprint query: expected one ${from}`);
  return text.replace(from, to);
}

/**
 * The catalogs whose rows the fingerprint query and the deparsers it calls read (directly, or to print a name: a
 * language, an operator class, a text search configuration...), present in every supported version.
 */
const CATALOGS = [
  'pg_namespace',
  'pg_class',
  'pg_attribute',
  'pg_attrdef',
  'pg_type',
  'pg_proc',
  'pg_constraint',
  'pg_index',
  'pg_trigger',
  'pg_policy',
  'pg_rewrite',
  'pg_depend',
  'pg_description',
  'pg_enum',
  'pg_range',
  'pg_sequence',
  'pg_extension',
  'pg_collation',
  'pg_language',
  'pg_am',
  'pg_amop',
  'pg_amproc',
  'pg_opclass',
  'pg_opfamily',
  'pg_operator',
  'pg_inherits',
  'pg_partitioned_table',
  'pg_foreign_table',
  'pg_foreign_server',
  'pg_foreign_data_wrapper',
  'pg_ts_config',
  'pg_ts_dict',
  'pg_ts_parser',
  'pg_ts_template',
  'pg_aggregate',
  'pg_transform',
  'pg_cast',
  'pg_conversion',
  'pg_init_privs',
  'pg_default_acl',
];

/** The settings that change how the deparsers print a definition (dates, intervals, numbers, quoting). */
const PRINT_SETTINGS = [
  'server_version_num',
  'DateStyle',
  'IntervalStyle',
  'TimeZone',
  'extra_float_digits',
  'bytea_output',
  'standard_conforming_strings',
  'quote_all_identifiers',
  'lc_monetary',
  'xmloption',
];

/**
 * The catalog version query (see `catalogVersion`): per catalog its row count and the sum of a 64-bit hash of each row
 * version's transaction id and place (`xmin`, `ctid`), no definition printed; the names of the roles this database's
 * objects name (owners, grantors and grantees of their ACLs, policies' roles: each has a row in `pg_shdepend` for this
 * database; the bootstrap superuser, which has none, always), which the definitions print; the settings that shape
 * what the deparsers print; the database's identity. Roles are the server's, not the database's: counting every one
 * made any role created anywhere on the server (another application's, another database's) a change here.
 */
export const CATALOG_VERSION_SQL = `select md5(concat_ws('|',
  (select system_identifier::text from pg_catalog.pg_control_system()),
  (select oid::text from pg_catalog.pg_database where datname = current_database()),
  ${PRINT_SETTINGS.map((s) => `current_setting('${s}')`).join(', ')},
  (select count(*) || ':' || coalesce(sum(hashtextextended(r.oid::text || ' ' || r.rolname, 0)), 0) from pg_catalog.pg_roles r
    where r.oid = 10 or r.oid in (select refobjid from pg_catalog.pg_shdepend
      where dbid = (select oid from pg_catalog.pg_database where datname = current_database()) and refclassid = 'pg_catalog.pg_authid'::regclass)),
  (select count(*) || ':' || coalesce(sum(hashtextextended(oid::text || ' ' || spcname, 0)), 0) from pg_catalog.pg_tablespace),
  ${CATALOGS.map((c) => `(select count(*) || ':' || coalesce(sum(hashtextextended(xmin::text || ctid::text, 0)), 0) from pg_catalog.${c})`).join(',\n  ')}
)) as version`;

/**
 * A value that changes whenever a row of a catalog the fingerprint depends on changes (every definition change is a
 * new row version, with its own transaction id and place), a role is renamed, a printing setting differs, or the
 * database is another; it also changes for what the fingerprint leaves out (any DDL in the database, a VACUUM FULL of
 * a catalog). Read before a fingerprint and recorded with it, it tells later whether that fingerprint is still the
 * live one in the same database: equal values there mean nothing the fingerprint reads has changed since. It reads
 * every catalog row once (about 45 ms on a new session for a 5,000-object database) where the fingerprint prints
 * every definition in scope (about 300 ms).
 *
 * Not a key across databases: two databases restored from one snapshot that change alike get equal values for
 * unequal definitions (row versions are counted per cluster). A deployment records it in its own database's ledger.
 */
export async function catalogVersion(conn: Connection): Promise<string> {
  const rows = conn.queryPrepared
    ? (await conn.queryPrepared<{ version: string }>(CATALOG_VERSION_SQL, [], FINGERPRINT_SETTINGS)).rows
    : await withCatalogSettings(conn, async () => (await conn.query<{ version: string }>(CATALOG_VERSION_SQL)).rows);
  return `pgv2:${rows[0]!.version}`;
}
