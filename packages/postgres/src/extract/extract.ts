import { layoutFolder, layoutName as safe, type Connection, type ObjectKey } from '@dbee/core';
import {
  changeObjectKey,
  diffModels,
  restrictModel,
  type ManagedScope,
  type SchemaModel,
  type SchemaScope,
} from '@dbee/core/schema';
import type { ExtractedObject } from '@dbee/core';
import { introspect } from '../introspect';
import { newDatabaseModel } from '../shadow/new-database';
import { extensionFiles, notExtensionMember, readExtensionUse } from './extensions';
import { aggregateFiles } from './aggregates';
import { renderChange } from '../render/render-change';
import { sameDefinition } from '../compare/same-definition';
import { postgresFacts } from '../introspect/postgres-facts';

/**
 * The live objects of `scope` as source files in the project layout: `schema/<schema>/<kind>/<name>.sql`, one object
 * per file, its indexes, constraints added later, triggers, policies, comments and grants beside it;
 * `schema/<schema>/schema.sql` for the schema itself (its grants and comment). The statements are those dbee's own
 * renderer writes to create the objects from nothing (the differ's create order), so deploying the files to an empty
 * database gives the same model back. Deterministic: same catalog, same bytes.
 */
export async function extract(conn: Connection, scope: SchemaScope): Promise<ExtractedObject[]> {
  const model = await introspect(conn, scope);
  const files = extractModel(model, scope.manage);
  // Row-level security and policies the renderer did not write (introspectors that do not read them yet).
  await addRowSecurity(conn, scope, model, files);
  const written = new Set(model.extensions.map((e) => e.key.name));
  const extensions = extensionFiles(await readExtensionUse(conn, scope), files, written, (k) => fileOf(k, new Map()));
  // Aggregates are not in the model (diff does not compare them yet): written from the catalog as they are.
  const aggregates = await aggregateFiles(conn, scope);
  // An aggregate shares the file of its name with the routines of that name (their argument types tell them apart).
  const sameName = new Map<string, number>();
  for (const f of [...files.filter((x) => x.key.args), ...aggregates]) {
    const name = `${f.key.schema}.${f.key.name}`;
    sameName.set(name, (sameName.get(name) ?? 0) + 1);
  }
  for (const a of aggregates) a.path = fileOf(a.key, sameName);
  return [...files, ...extensions, ...aggregates].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Qualified names of the objects extensions own (`public.cube`, `public.ll_to_earth`): no project defines them, so
 * extract infers no `dependsOn` from them, whichever project owns the schema they are installed in.
 */
export async function extensionMembers(conn: Connection, scope: SchemaScope): Promise<string[]> {
  return [...(await readExtensionUse(conn, scope)).members.keys()].sort();
}

/** `ENABLE ROW LEVEL SECURITY` and `CREATE POLICY` statements appended to their table's file, when it has none yet. */
async function addRowSecurity(
  conn: Connection,
  scope: SchemaScope,
  model: SchemaModel,
  files: ExtractedObject[],
): Promise<void> {
  const r = await conn.query<{ schema: string; table_name: string; statement: string }>(
    `select n.nspname as schema, c.relname as table_name, s.statement from pg_class c join pg_namespace n on n.oid = c.relnamespace
     cross join lateral (
       select 0 as ord, '' as name, format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', n.nspname, c.relname) as statement where c.relrowsecurity
       union all select 0, '', format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', n.nspname, c.relname) where c.relforcerowsecurity
       union all
       select 1, p.polname, format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO %s%s%s', p.polname, n.nspname, c.relname,
                case when p.polpermissive then 'PERMISSIVE' else 'RESTRICTIVE' end,
                case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end,
                (select string_agg(case when role = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(role)) end, ', ' order by 1) from unnest(p.polroles) role),
                coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', ''),
                coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', ''))
       from pg_policy p where p.polrelid = c.oid
     ) s
     where n.nspname = any($1::text[]) and c.relkind in ('r', 'p')
     order by n.nspname, c.relname, s.ord, s.name`,
    [scope.schemas.filter((x) => x !== 'dbee')],
  );
  for (const row of r.rows) {
    const table = model.tables.find((t) => t.key.schema === row.schema && t.key.name === row.table_name);
    const file =
      table &&
      files.find((f) => f.key.kind === 'table' && f.key.schema === table.key.schema && f.key.name === table.key.name);
    if (!file) continue;
    const policy = /^CREATE POLICY (\S+) ON /.exec(row.statement)?.[1];
    const present = policy
      ? new RegExp(`CREATE POLICY ${policy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ON `).test(file.text)
      : file.text.includes(row.statement.replace(/^ALTER TABLE \S+ /, ''));
    if (!present) file.text += `\n${row.statement};\n`;
  }
}

const SERIAL: Record<string, { type: string; max: string }> = {
  integer: { type: 'serial', max: '2147483647' },
  bigint: { type: 'bigserial', max: '9223372036854775807' },
  smallint: { type: 'smallserial', max: '32767' },
};

/** A serial column's sequence whose options differ from those `serial` gives it: written as an `ALTER SEQUENCE`. */
export interface TunedSerial {
  table: ObjectKey;
  /** `ALTER SEQUENCE s CACHE 20 ...`: the options that differ from a new serial's. */
  statement: string;
}

/**
 * Serial columns as the sources write them (`id serial`): a column whose default is `nextval` of the sequence it
 * owns, named as `serial` names it (`<table>_<column>_seq`), loses the sequence and its
 * default. Written as a sequence, a CREATE SEQUENCE ... OWNED BY and the table's DEFAULT nextval(...) would need each
 * other first, and a sequence file would be a new object to the ledger of a database the serial made it on (a
 * deployment refused it: "already exists ... the ledger does not know it"). Options other than a new serial's
 * (`CACHE 20`, `INCREMENT`, `CYCLE`, another type...) are `tuned`: an `ALTER SEQUENCE` in the table's file. The
 * sequence's comment, grants and owner stay in the model: `extractModel` writes them in the table's file too.
 */
export function withSerials(model: SchemaModel): {
  model: SchemaModel;
  tuned: TunedSerial[];
  absorbed: Map<string, ObjectKey>;
} {
  const absorbed = new Map<string, ObjectKey>();
  const tuned: TunedSerial[] = [];
  const tables = model.tables.map((t) => ({
    ...t,
    columns: t.columns.map((c) => {
      const m = /^nextval\('([^']+)'::regclass\)$/.exec(c.default ?? '');
      if (!m) return c;
      const seq = model.sequences.find(
        (s) =>
          `${s.key.schema}.${s.key.name}` === m[1] &&
          s.ownedBy?.column === c.name &&
          s.ownedBy.table.schema === t.key.schema &&
          s.ownedBy.table.name === t.key.name,
      );
      const serial = SERIAL[c.type];
      if (!seq || !serial || seq.key.name !== `${t.key.name}_${c.name}_seq`) return c;
      // A serial's sequence is of its column's type; one whose column was retyped since (`integer` to `bigint`) keeps
      // its own: written as an `AS integer` of the ALTER SEQUENCE.
      const made = {
        ...seq,
        dataType: c.type,
        start: '1',
        increment: '1',
        min: '1',
        max: serial.max,
        cache: '1',
        cycle: false,
      };
      const options = ['dataType', 'start', 'increment', 'min', 'max', 'cache', 'cycle'] as const;
      if (options.some((o) => made[o] !== seq[o])) {
        const sql = renderChange({ kind: 'alter-sequence', from: made, to: seq }, { online: false }).statements;
        tuned.push({ table: t.key, statement: sql[0]! });
      }
      absorbed.set(`${seq.key.schema}.${seq.key.name}`, t.key);
      return {
        ...c,
        type: serial.type,
        default: null,
        dependsOn: c.dependsOn.filter(
          (d) => !(d.kind === 'sequence' && d.schema === seq.key.schema && d.name === seq.key.name),
        ),
      };
    }),
  }));
  if (!absorbed.size) return { model, tuned, absorbed };
  const gone = (k: ObjectKey) => k.kind === 'sequence' && absorbed.has(`${k.schema}.${k.name}`);
  return {
    model: {
      ...model,
      tables: tables.map((t) => ({ ...t, dependsOn: t.dependsOn.filter((d) => !gone(d)) })),
      sequences: model.sequences.filter((s) => !gone(s.key)),
    },
    tuned,
    absorbed,
  };
}

/** `extract` on a model already read. */
export function extractModel(live: SchemaModel, manage?: ManagedScope): ExtractedObject[] {
  const { model, tuned, absorbed } = withSerials(live);
  // `public` is in every new database: what differs from initdb's is written, never a CREATE SCHEMA that fails. Seen
  // through the project's `manage:` as the live side is (a grant to PUBLIC the sources never name is not read there,
  // and is no REVOKE to write).
  const changes = diffModels(restrictModel(newDatabaseModel(model), manage), model, {
    sameDefinition,
    facts: postgresFacts,
  });
  const relations = new Map<string, ObjectKey>();
  for (const o of [...model.tables, ...model.views]) relations.set(`${o.key.schema}.${o.key.name}`, o.key);
  const routineCount = new Map<string, number>();
  for (const r of model.routines)
    routineCount.set(`${r.key.schema}.${r.key.name}`, (routineCount.get(`${r.key.schema}.${r.key.name}`) ?? 0) + 1);
  const files = new Map<string, { key: ObjectKey; statements: string[] }>();
  for (const change of changes) {
    const key = changeObjectKey(change);
    // Indexes, triggers, policies and constraints live with their table; sequences owned by a column too.
    let home: ObjectKey = key.parent ? (relations.get(key.parent) ?? key) : key;
    if (change.kind === 'create-sequence' && change.sequence.ownedBy) home = change.sequence.ownedBy.table;
    // A serial's sequence (its comment, grants, owner) is written with its table, as `serial` makes it there.
    if (key.kind === 'sequence') home = absorbed.get(`${key.schema}.${key.name}`) ?? home;
    const path = fileOf(home, routineCount);
    const sql = renderChange(change, { online: false });
    let file = files.get(path);
    if (!file) {
      file = { key: home, statements: [] };
      files.set(path, file);
    }
    file.statements.push(...sql.statements);
    // A serial's sequence options, right after the CREATE TABLE that makes it.
    if (change.kind === 'create-table')
      file.statements.push(
        ...tuned
          .filter((x) => x.table.schema === change.table.key.schema && x.table.name === change.table.key.name)
          .map((x) => x.statement),
      );
  }
  return [...files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, f]) => ({ key: f.key, path, text: f.statements.map((s) => s.trim() + ';\n').join('\n') }));
}

function fileOf(key: ObjectKey, routineCount: Map<string, number>): string {
  if (key.kind === 'schema') return `schema/${safe(key.name)}/schema.sql`;
  const folder = layoutFolder(key.kind);
  let name = key.name;
  // Overloads share a name: their argument types tell the files apart.
  if (key.args && (routineCount.get(`${key.schema}.${key.name}`) ?? 0) > 1)
    name += key.args.length ? `__${key.args.join('_')}` : '__noargs';
  return `schema/${safe(key.schema)}/${folder}/${safe(name)}.sql`;
}

/**
 * Objects of the scope that `extract` does not write as files yet: ordered-set aggregates, operators, extended statistics, rules
 * (extension members left out), as `kind identity` lines.
 */
export async function unwritten(conn: Connection, scope: SchemaScope): Promise<string[]> {
  const notInExtension = (catalog: string, oid: string) => notExtensionMember(`'${catalog}'::regclass`, oid);
  const r = await conn.query<{ line: string }>(
    `select kind || ' ' || identity as line from (
       select 'aggregate' as kind, p.oid::regprocedure::text as identity, p.pronamespace as ns from pg_proc p
         join pg_aggregate a on a.aggfnoid = p.oid
         -- Plain aggregates are written (aggregates.ts); ordered-set and hypothetical-set ones not yet.
         where p.prokind = 'a' and a.aggkind <> 'n' and ${notInExtension('pg_proc', 'p.oid')}
       union all select 'operator', o.oid::regoperator::text, o.oprnamespace from pg_operator o where ${notInExtension('pg_operator', 'o.oid')}
       union all select 'extended statistics', quote_ident(n.nspname) || '.' || quote_ident(s.stxname), s.stxnamespace
         from pg_statistic_ext s join pg_namespace n on n.oid = s.stxnamespace
         where ${notInExtension('pg_statistic_ext', 's.oid')} and ${notInExtension('pg_class', 's.stxrelid')}
       -- The rules of an extension's view (PostGIS's geometry_columns) come and go with the extension.
       union all select 'rule', quote_ident(r.rulename) || ' on ' || c.oid::regclass::text, c.relnamespace
         from pg_rewrite r join pg_class c on c.oid = r.ev_class
         where r.rulename <> '_RETURN' and ${notInExtension('pg_class', 'c.oid')}
     ) x join pg_namespace n on n.oid = x.ns
     where n.nspname = any($1::text[]) and n.nspname <> 'dbee'
     order by 1`,
    [scope.schemas],
  );
  return r.rows.map((row) => row.line);
}
