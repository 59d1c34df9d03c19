import type { Connection, ExtractedObject, ObjectKey, OutsideUse } from '@dbee/core';
import type { SchemaScope } from '@dbee/core/schema';
import { notExtensionMember } from '../introspect/extension-member';
import { isPresentSchema } from '../shadow/new-database';

/** An installed extension: the schema its objects are in, and the extensions it needs first. */
interface InstalledExtension {
  name: string;
  schema: string;
  requires: string[];
  /** Its comment when it is not the one its control file gives (`COMMENT ON EXTENSION` was run), else null. */
  comment: string | null;
}

/** What extract needs to know of the database's extensions, read with three catalog queries. */
export interface ExtensionUse {
  /** `schema.name` of every object an extension owns (functions, types, relations, operator classes, ...) → extension. */
  members: Map<string, string>;
  /** Extensions the scope's objects depend on in the catalog (column types, index expressions, defaults, views). */
  dependedOn: Set<string>;
  installed: Map<string, InstalledExtension>;
}

const member = (catalog: string, oid: string) =>
  `join pg_depend d on d.classid = '${catalog}'::regclass and d.objid = ${oid} and d.refclassid = 'pg_extension'::regclass and d.deptype = 'e'`;

/** The namespace of a catalog row `(classid, objid)` of the kinds a project's objects are or use, as SQL. */
const namespaceOf = (classid: string, objid: string) => `case ${classid}
       when 'pg_class'::regclass then (select relnamespace from pg_class where oid = ${objid})
       when 'pg_type'::regclass then (select typnamespace from pg_type where oid = ${objid})
       when 'pg_proc'::regclass then (select pronamespace from pg_proc where oid = ${objid})
       when 'pg_constraint'::regclass then (select connamespace from pg_constraint where oid = ${objid})
       when 'pg_collation'::regclass then (select collnamespace from pg_collation where oid = ${objid})
       when 'pg_operator'::regclass then (select oprnamespace from pg_operator where oid = ${objid})
       when 'pg_attrdef'::regclass then (select c.relnamespace from pg_attrdef a join pg_class c on c.oid = a.adrelid where a.oid = ${objid})
       when 'pg_rewrite'::regclass then (select c.relnamespace from pg_rewrite r join pg_class c on c.oid = r.ev_class where r.oid = ${objid})
       when 'pg_trigger'::regclass then (select c.relnamespace from pg_trigger t join pg_class c on c.oid = t.tgrelid where t.oid = ${objid})
       when 'pg_policy'::regclass then (select c.relnamespace from pg_policy p join pg_class c on c.oid = p.polrelid where p.oid = ${objid})
       when 'pg_ts_config'::regclass then (select cfgnamespace from pg_ts_config where oid = ${objid})
       when 'pg_ts_dict'::regclass then (select dictnamespace from pg_ts_dict where oid = ${objid})
     end`;

export { notExtensionMember } from '../introspect/extension-member';

export async function readExtensionUse(conn: Connection, scope: SchemaScope): Promise<ExtensionUse> {
  const installed = await conn.query<{
    name: string;
    schema: string;
    requires: string[] | null;
    comment: string | null;
  }>(
    `select e.extname as name, n.nspname as schema,
            (select d.description from pg_description d where d.classoid = 'pg_extension'::regclass and d.objoid = e.oid
              and d.description is distinct from (select a.comment from pg_available_extensions a where a.name = e.extname)) as comment,
            (select array_agg(r.extname order by r.extname) from pg_depend d join pg_extension r on r.oid = d.refobjid
              where d.classid = 'pg_extension'::regclass and d.objid = e.oid and d.refclassid = 'pg_extension'::regclass) as requires
     from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname <> 'plpgsql'`,
  );
  const members = await conn.query<{ qualified: string; extension: string }>(
    `select n.nspname || '.' || x.name as qualified, e.extname as extension from (
       select p.proname as name, p.pronamespace as ns, d.refobjid as ext from pg_proc p ${member('pg_proc', 'p.oid')}
       union all select t.typname, t.typnamespace, d.refobjid from pg_type t ${member('pg_type', 't.oid')}
       union all select c.relname, c.relnamespace, d.refobjid from pg_class c ${member('pg_class', 'c.oid')}
       union all select o.opcname, o.opcnamespace, d.refobjid from pg_opclass o ${member('pg_opclass', 'o.oid')}
       union all select t.dictname, t.dictnamespace, d.refobjid from pg_ts_dict t ${member('pg_ts_dict', 't.oid')}
       union all select t.cfgname, t.cfgnamespace, d.refobjid from pg_ts_config t ${member('pg_ts_config', 't.oid')}
     ) x join pg_namespace n on n.oid = x.ns join pg_extension e on e.oid = x.ext`,
  );
  // The schema of each object whose catalog row depends on an extension's object: the object itself (relations,
  // columns, types, routines, constraints, text search configurations and dictionaries) or the table it belongs to
  // (defaults, rules of views, triggers, policies).
  const depended = await conn.query<{ extension: string }>(
    `select distinct e.extname as extension
     from pg_depend u
     join pg_depend m on m.classid = u.refclassid and m.objid = u.refobjid and m.refclassid = 'pg_extension'::regclass and m.deptype = 'e'
     join pg_extension e on e.oid = m.refobjid
     join pg_namespace n on n.oid = ${namespaceOf('u.classid', 'u.objid')}
     where u.deptype in ('n', 'a') and n.nspname = any($1::text[])
       and ${notExtensionMember('u.classid', 'u.objid')}`,
    [scope.schemas],
  );
  return {
    members: new Map(members.rows.map((r) => [r.qualified, r.extension])),
    dependedOn: new Set(depended.rows.map((r) => r.extension)),
    installed: new Map(
      installed.rows.map((r) => [
        r.name,
        { name: r.name, schema: r.schema, requires: r.requires ?? [], comment: r.comment },
      ]),
    ),
  };
}

/**
 * `DiffRole.extensionSchemas`: the schemas, outside `schemas`, of the installed extensions whose objects those of
 * `schemas` depend on in the catalog (a column's type, a default's function, an index's or exclusion constraint's
 * operator class).
 */
export async function extensionSchemas(conn: Connection, schemas: readonly string[]): Promise<string[]> {
  const r = await conn.query<{ schema: string }>(
    `select distinct x.nspname as schema
     from pg_depend u
     join pg_depend m on m.classid = u.refclassid and m.objid = u.refobjid and m.refclassid = 'pg_extension'::regclass and m.deptype = 'e'
     join pg_extension e on e.oid = m.refobjid
     join pg_namespace x on x.oid = e.extnamespace
     join pg_namespace n on n.oid = ${namespaceOf('u.classid', 'u.objid')}
     where u.deptype in ('n', 'a') and n.nspname = any($1::text[]) and not (x.nspname = any($1::text[]))
       and ${notExtensionMember('u.classid', 'u.objid')}
     order by 1`,
    [[...schemas]],
  );
  return r.rows.map((row) => row.schema);
}

/** `schema.name` pairs a file's text qualifies, as PostgreSQL prints them (`public.cube`, `"My".name`). */
export function qualifiedNames(text: string): string[] {
  return [...text.matchAll(/\b("?)([a-z_][a-z0-9_$]*)\1\.("?)([A-Za-z_][A-Za-z0-9_$]*)\3/g)].map(
    (m) => `${m[2]}.${m[4]}`,
  );
}

/**
 * Files for the extensions the extracted objects use that are installed outside the extracted schemas (`cube` in
 * `public` for a project in `geo`), with the extensions they need: `CREATE EXTENSION IF NOT EXISTS` (another project
 * or a DBA may have made it already), `CASCADE` for one that needs others. Used: the catalog records a dependency
 * (a column of its type, an index on its function), or a file names one of its objects (a function's body).
 */
export function extensionFiles(
  use: ExtensionUse,
  files: ExtractedObject[],
  written: Set<string>,
  pathOf: (key: ObjectKey) => string,
): ExtractedObject[] {
  const used = new Set(use.dependedOn);
  for (const f of files)
    for (const name of qualifiedNames(f.text)) {
      const extension = use.members.get(name);
      if (extension) used.add(extension);
    }
  const queue = [...used];
  while (queue.length) {
    for (const r of use.installed.get(queue.pop()!)?.requires ?? []) if (!used.has(r)) queue.push(r), used.add(r);
  }
  const out: ExtractedObject[] = [];
  // The file that makes each schema of their own: the first of its extensions (by name). A second file that made it
  // too would define the schema twice in the sources, which refuse that.
  const schemaMadeIn = new Map<string, string>();
  for (const name of [...used].sort()) {
    const e = use.installed.get(name);
    if (!e || written.has(name)) continue;
    const ident = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
    const key: ObjectKey = { kind: 'extension', schema: e.schema, name };
    const path = pathOf(key);
    const madeIn = schemaMadeIn.get(e.schema);
    if (!madeIn && !isPresentSchema(e.schema)) schemaMadeIn.set(e.schema, path);
    out.push({
      key,
      path,
      text:
        `-- Installed in schema ${e.schema}, outside the project's schemas: the project's objects use it.\n` +
        // A schema of its own (`postgis`) is made with it; `public` is in every database.
        (isPresentSchema(e.schema)
          ? ''
          : madeIn
            ? `-- Schema ${e.schema} is made in ${madeIn}.\n`
            : `CREATE SCHEMA IF NOT EXISTS ${ident(e.schema)};\n\n`) +
        `CREATE EXTENSION IF NOT EXISTS ${ident(name)} WITH SCHEMA ${ident(e.schema)}${e.requires.length ? ' CASCADE' : ''};\n` +
        (e.comment !== null ? `\nCOMMENT ON EXTENSION ${ident(name)} IS '${e.comment.replace(/'/g, "''")}';\n` : ''),
    });
  }
  return out;
}

/** A schema of the server's own (its catalog, information schema, TOAST and temporary schemas). */
const SYSTEM_SCHEMA = `(s.nspname in ('pg_catalog', 'information_schema') or s.nspname like 'pg\\_toast%' or s.nspname like 'pg\\_temp%')`;

/**
 * `ExtractRole.outsideUses`: the objects of other schemas (not the server's, not an extension's) that the scope's
 * objects depend on in the catalog, or that a written file qualifies by name (a routine's body, which the catalog does
 * not record), each with the objects that use it, as `pg_identify_object` names them (always schema-qualified).
 */
export async function outsideUses(
  conn: Connection,
  scope: SchemaScope,
  files: readonly ExtractedObject[],
): Promise<OutsideUse[]> {
  const byCatalog = await conn.query<{ schema: string; object: string; used_by: string }>(
    `select s.nspname as schema, r.type || ' ' || replace(r.identity, 'pg_catalog.', '') as object,
            u.type || ' ' || replace(u.identity, 'pg_catalog.', '') as used_by
     from pg_depend d
     join pg_namespace n on n.oid = ${namespaceOf('d.classid', 'd.objid')}
     join pg_namespace s on s.oid = ${namespaceOf('d.refclassid', 'd.refobjid')}
     cross join lateral pg_identify_object(d.refclassid, d.refobjid, 0) r
     -- A view's rule and a column's default are said as the view and the table they belong to.
     cross join lateral pg_identify_object(
       case when d.classid in ('pg_rewrite'::regclass, 'pg_attrdef'::regclass) then 'pg_class'::regclass else d.classid end,
       case d.classid when 'pg_rewrite'::regclass then (select ev_class from pg_rewrite where oid = d.objid)
                      when 'pg_attrdef'::regclass then (select adrelid from pg_attrdef where oid = d.objid)
                      else d.objid end,
       case when d.classid in ('pg_rewrite'::regclass, 'pg_attrdef'::regclass) then 0 else d.objsubid end) u
     where d.deptype in ('n', 'a') and n.nspname = any($1::text[]) and not (s.nspname = any($1::text[]))
       and not ${SYSTEM_SCHEMA}
       and ${notExtensionMember('d.classid', 'd.objid')} and ${notExtensionMember('d.refclassid', 'd.refobjid')}
       -- An array type stands for its element type, which the same column depends on too.
       and not (d.refclassid = 'pg_type'::regclass and exists (select 1 from pg_type t where t.oid = d.refobjid and t.typcategory = 'A'))`,
    [scope.schemas],
  );
  // Names the files qualify in other schemas (bodies): the routines, relations and types of those names.
  const own = new Set(scope.schemas);
  const named = new Map<string, Set<string>>();
  for (const f of files)
    for (const name of qualifiedNames(f.text)) {
      if (own.has(name.slice(0, name.indexOf('.')))) continue;
      const user = `${f.key.kind} ${f.key.schema ? `${f.key.schema}.` : ''}${f.key.name}`;
      named.set(name, (named.get(name) ?? new Set()).add(user));
    }
  const byName = named.size
    ? await conn.query<{ schema: string; object: string; qualified: string }>(
        `select s.nspname as schema, r.type || ' ' || replace(r.identity, 'pg_catalog.', '') as object,
                s.nspname || '.' || x.name as qualified
         from (select 'pg_proc'::regclass as classid, p.oid as objid, p.pronamespace as ns, p.proname::text as name from pg_proc p
               union all select 'pg_class'::regclass, c.oid, c.relnamespace, c.relname::text from pg_class c where c.relkind <> 'i'
               union all select 'pg_type'::regclass, t.oid, t.typnamespace, t.typname::text from pg_type t
                 where t.typrelid = 0 and t.typcategory <> 'A') x
         join pg_namespace s on s.oid = x.ns
         cross join lateral pg_identify_object(x.classid, x.objid, 0) r
         where s.nspname || '.' || x.name = any($1::text[]) and not ${SYSTEM_SCHEMA}
           and ${notExtensionMember('x.classid', 'x.objid')}`,
        [[...named.keys()]],
      )
    : { rows: [] };
  const out = new Map<string, OutsideUse>();
  const add = (schema: string, object: string, users: Iterable<string>) => {
    const o = out.get(object) ?? { schema, object, usedBy: [] };
    for (const u of users) if (!o.usedBy.includes(u)) o.usedBy.push(u);
    out.set(object, o);
  };
  for (const r of byCatalog.rows) add(r.schema, r.object, [r.used_by]);
  for (const r of byName.rows) add(r.schema, r.object, named.get(r.qualified) ?? []);
  return [...out.values()]
    .map((o) => ({ ...o, usedBy: o.usedBy.sort() }))
    .sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
}
