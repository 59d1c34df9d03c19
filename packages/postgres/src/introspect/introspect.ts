import type { Connection, ObjectKey } from '@dbee/core';
import { outOfResources } from '@dbee/core/errors';
import { formatKey } from '@dbee/core/schema';
import type {
  Collation,
  Column,
  Comment,
  Constraint,
  ConstraintKind,
  DomainCheck,
  Extension,
  Index,
  Owner,
  Privilege,
  SchemaDefaultPrivilege,
  ReferentialAction,
  Routine,
  SchemaDef,
  SchemaModel,
  Sequence,
  Table,
  TextSearchConfiguration,
  TextSearchDictionary,
  TextSearchMapping,
  Trigger,
  TypeDef,
  View,
} from '@dbee/core/schema';
import { emptyModel, restrictModel, type SchemaScope } from '@dbee/core/schema';
import type { DefinitionForm } from '@dbee/core';
import { readBackForm } from '../compare/read-back-form';
import { inHalves, VIEW_NAMES_SQL, whenHeld } from './lock-table';
import { AGGREGATES_SQL, aggregateStatement, type AggregateRow } from './aggregate-rows';
import { loadPostgresParser } from '../parse/libpg';
import {
  COLLATIONS_SQL,
  COMMENTS_SQL,
  CONSTRAINTS_SQL,
  DEPENDENCIES_SQL,
  EXTENSIONS_SQL,
  INDEXES_SQL,
  PRIVILEGES_SQL,
  ROUTINES_SQL,
  SCHEMAS_SQL,
  SEQUENCES_SQL,
  TABLES_SQL,
  TEXT_SEARCH_CONFIGURATIONS_SQL,
  TEXT_SEARCH_DICTIONARIES_SQL,
  TRIGGERS_SQL,
  TYPES_SQL,
  VIEWS_SQL,
} from './catalog-queries';

/** Which part of a database to read: schemas (the ledger schema `dbee` is always left out) and what is managed there. */
export type IntrospectScope = SchemaScope;

/** What a new PostgreSQL object grants before any GRANT: `acldefault` for functions, procedures and types. */
export const POSTGRES_DEFAULT_PRIVILEGES: SchemaModel['defaultPrivileges'] = {
  function: [{ grantee: 'PUBLIC', privileges: ['EXECUTE'] }],
  procedure: [{ grantee: 'PUBLIC', privileges: ['EXECUTE'] }],
  type: [{ grantee: 'PUBLIC', privileges: ['USAGE'] }],
  domain: [{ grantee: 'PUBLIC', privileges: ['USAGE'] }],
};

/** Number of catalog queries `introspect` runs, whatever the size of the schema (search_path set and reset included). */
export const INTROSPECT_QUERY_COUNT = 18;

type Row = Record<string, unknown>;

/**
 * Read the live model of `scope` with a fixed number of catalog queries (one per object class, plus one for
 * dependencies), never one per object. Objects that belong to extensions are left out. Definitions are printed
 * by PostgreSQL itself, with `search_path` set to `pg_catalog` so every name is qualified.
 */
export async function introspect(
  conn: Connection,
  scope: IntrospectScope,
  side?: Connection | Promise<Connection | undefined>,
): Promise<SchemaModel> {
  const all = Object.keys(CATALOG_QUERIES) as (keyof Rows)[];
  // Plain aggregates only when asked for (`SchemaScope.aggregates`: a scratch copy), in the same request.
  return readModel(conn, scope, scope.aggregates ? [...all, 'aggregates'] : all, side);
}

/**
 * The tables and views of `scope` with their columns (`DiffRole.introspectRelations`): `introspect`'s queries of
 * schemas, tables and views alone, the rest of the model left empty.
 */
export async function introspectRelations(conn: Connection, scope: IntrospectScope): Promise<SchemaModel> {
  return readModel(conn, scope, ['schemas', 'tables', 'views']);
}

/** The model built from the catalog queries `all` (the others' rows empty), shared with `side` when there is one. */
async function readModel(
  conn: Connection,
  scope: IntrospectScope,
  all: readonly (keyof Rows)[],
  side?: Connection | Promise<Connection | undefined>,
): Promise<SchemaModel> {
  const params: unknown[] = [scope.schemas.filter((s) => s !== 'dbee')];
  // Narrowed to names (`SchemaScope.names`): the queries of named objects keep the rows of those names only.
  const names = scope.names ? [...scope.names] : null;
  if (names) params.push(names);
  const sqlOf = (q: keyof Rows) =>
    q === 'aggregates' ? AGGREGATES_SQL : names && NARROWED[q] ? NARROWED[q](CATALOG_QUERIES[q]) : CATALOG_QUERIES[q];
  // A narrowed query takes both; the others the schemas, or nothing (comments, dependencies read whole).
  const paramsOf = (q: keyof Rows) =>
    q !== 'aggregates' && names && NARROWED[q] ? params : UNSCOPED.has(q) ? undefined : params.slice(0, 1);
  // The parser builds the model from the rows, not the requests: loaded while they run. Awaited first, it let the
  // caller's next synchronous work (a cached desired model read and parsed, `diffSides`) run before anything was sent.
  const parser = loadPostgresParser();
  parser.catch(() => {}); // its failure is thrown below, after the reads
  // One after the other on a session: a pg client runs one query at a time anyway, and queues are deprecated there.
  // With a second session, each runs its share at the same time (shares of about equal cost at 5,000 objects).
  let serverVersion: number | undefined;
  const read = async (c: Connection, queries: readonly (keyof Rows)[]) => {
    const rows: Partial<Rows> = {};
    if (c.queryMany) {
      // A session's share in one request: the server's version, then each query, with the catalog settings for them.
      // The request is one transaction, which keeps the lock each printed view or column default takes (PostgreSQL's
      // deparser opens the relation) until its end: past the server's lock table (`max_locks_per_transaction` x its
      // sessions; about 7,000 on a default server) it fails with "out of shared memory" and changes nothing. Then
      // each query goes in a transaction of its own, as on a connection that sends one query at a time.
      try {
        const [version, ...answers] = await c.queryMany(
          [
            { sql: SERVER_VERSION_SQL },
            ...queries.map((q) => ({ sql: sqlOf(q), ...(paramsOf(q) ? { params: paramsOf(q) } : {}) })),
          ],
          CATALOG_SETTINGS,
        );
        if (c === conn) serverVersion = Number((version!.rows[0] as { version: string }).version);
        queries.forEach((q, i) => (rows[q] = answers[i]!.rows as Row[]));
        return rows;
      } catch (e) {
        if (!outOfResources(e)) throw e;
      }
    }
    return withCatalogSettings(c, async (server) => {
      if (c === conn) serverVersion = server.version;
      for (const q of queries)
        rows[q] =
          q === 'views'
            ? await readViews(c, sqlOf(q), paramsOf(q), names)
            : (await whenHeld(() => c.query<Row>(sqlOf(q), paramsOf(q)))).rows;
      return rows;
    });
  };
  const shared = all.filter((q) => ON_SIDE.has(q));
  const own = all.filter((q) => !ON_SIDE.has(q));
  // A second session that fails (its lock lost, say) leaves its share to the first: what the loss means is for the
  // lock's own check to say, before the next step. One still busy (a promise) takes its share if it is free before the
  // first session has read its own; otherwise the first reads both, one after the other (one query at a time on a
  // session), and the second is not waited for.
  const readShared = async (side: Connection | Promise<Connection | undefined>) => {
    const first = read(conn, own);
    const afterFirst = () => first.then(() => read(conn, shared));
    // A free one (no promise) takes its share at once, in the caller's tick as the first's.
    const free = 'then' in side ? await Promise.race([side, first.then(() => undefined)]) : side;
    return Promise.all([first, free ? read(free, shared).catch(afterFirst) : afterFirst()]);
  };
  const parts = side ? await readShared(side) : [await read(conn, all)];
  await parser;
  const none = Object.fromEntries([...Object.keys(CATALOG_QUERIES), 'aggregates'].map((q) => [q, []]));
  const model = new ModelBuilder().build(Object.assign(none, ...parts) as Rows);
  if (serverVersion) model.serverVersion = serverVersion;
  return restrictModel(model, scope.manage);
}

/**
 * The views query in a transaction of its own; when even that is more than the server's lock table holds (printing a
 * view locks it: some 650 views on a server of 10 locks per transaction and 10 connections), the views read in groups
 * by name (`inHalves`).
 */
async function readViews(
  c: Connection,
  sql: string,
  params: unknown[] | undefined,
  names: string[] | null,
): Promise<Row[]> {
  try {
    return (await c.query<Row>(sql, params)).rows;
  } catch (e) {
    if (!outOfResources(e)) throw e;
  }
  const schemas = params![0];
  const wanted = names ? new Set(names) : null;
  // The table may still be full (another session holds it: the shadow's build beside this read): wait for it as a part does.
  const listed = (await whenHeld(() => c.query<{ name: string }>(VIEW_NAMES_SQL, [schemas]))).rows.map((r) => r.name);
  const narrowed = NARROWED.views!(VIEWS_SQL);
  return inHalves(
    listed.filter((n) => !wanted || wanted.has(n)),
    async (part) => (await c.query<Row>(narrowed, [schemas, part])).rows,
    true,
  );
}

type CatalogRows = Omit<Rows, 'aggregates'>;

/** The catalog queries, in the order a single session sends them. */
const CATALOG_QUERIES: Record<keyof CatalogRows, string> = {
  schemas: SCHEMAS_SQL,
  tables: TABLES_SQL,
  constraints: CONSTRAINTS_SQL,
  indexes: INDEXES_SQL,
  views: VIEWS_SQL,
  routines: ROUTINES_SQL,
  triggers: TRIGGERS_SQL,
  sequences: SEQUENCES_SQL,
  types: TYPES_SQL,
  comments: COMMENTS_SQL,
  privileges: PRIVILEGES_SQL,
  extensions: EXTENSIONS_SQL,
  collations: COLLATIONS_SQL,
  textSearchDictionaries: TEXT_SEARCH_DICTIONARIES_SQL,
  textSearchConfigurations: TEXT_SEARCH_CONFIGURATIONS_SQL,
  deps: DEPENDENCIES_SQL,
};
/**
 * The queries a narrowed read (`SchemaScope.names`) filters, each kept to the rows of the objects named in `$2` (text[],
 * `schema.name`; what belongs to a table by its table's name). The others are read whole: schemas, extensions,
 * collations and text search objects are few; comments and dependencies are kept to the objects read when the model
 * is built (by oid).
 */
const NARROWED: Partial<Record<keyof CatalogRows, (sql: string) => string>> = {
  tables: (sql) => named(sql, 'schema', 'name'),
  constraints: (sql) => named(sql, 'schema', 'table_name'),
  indexes: (sql) => named(sql, 'table_schema', 'table_name'),
  views: (sql) => named(sql, 'schema', 'name'),
  routines: (sql) => named(sql, 'schema', 'name'),
  triggers: (sql) => named(sql, 'schema', 'table_name'),
  // A sequence named, or owned by a table named (a serial column's: no object of the sources names it).
  sequences: (sql) =>
    `${named(sql, 'schema', 'name')} or (q.owned_by->>'schema') || '.' || (q.owned_by->>'table') = any($2::text[])`,
  types: (sql) => named(sql, 'schema', 'name'),
  // The dependencies of the objects named (their relations, indexes, view rules, column defaults, routines, types,
  // constraints and triggers), and of every text search object (read whole).
  deps: (sql) => `${sql}
  and (d.classid in ('pg_ts_config'::regclass, 'pg_ts_dict'::regclass) or (d.classid, d.objid) in (
    select 'pg_class'::regclass, c.oid from ${NAMED_RELATIONS}
    union all select 'pg_class'::regclass, i.indexrelid from pg_index i join ${NAMED_RELATIONS} on c.oid = i.indrelid
    union all select 'pg_rewrite'::regclass, r.oid from pg_rewrite r join ${NAMED_RELATIONS} on c.oid = r.ev_class
    union all select 'pg_attrdef'::regclass, a.oid from pg_attrdef a join ${NAMED_RELATIONS} on c.oid = a.adrelid
    union all select 'pg_constraint'::regclass, k.oid from pg_constraint k join ${NAMED_RELATIONS} on c.oid = k.conrelid
    union all select 'pg_trigger'::regclass, g.oid from pg_trigger g join ${NAMED_RELATIONS} on c.oid = g.tgrelid
    union all select 'pg_type'::regclass, c.reltype from ${NAMED_RELATIONS}
    union all select 'pg_proc'::regclass, p.oid from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = any($1::text[]) and n.nspname || '.' || p.proname = any($2::text[])
    union all select 'pg_type'::regclass, t.oid from ${NAMED_TYPES}
    union all select 'pg_constraint'::regclass, k.oid from pg_constraint k join ${NAMED_TYPES} on t.oid = k.contypid))`,
  // Of each object's privileges (a relation, routine or type, by oid), those of the objects named; a schema's all.
  privileges: (sql) => `select q.* from (${sql}) q
where q.catalog in ('pg_namespace', 'pg_default_acl')
  or (q.catalog = 'pg_class' and exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.oid = q.oid and n.nspname || '.' || c.relname = any($2::text[])))
  or (q.catalog = 'pg_proc' and exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where p.oid = q.oid and n.nspname || '.' || p.proname = any($2::text[])))
  or (q.catalog = 'pg_type' and exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where t.oid = q.oid and n.nspname || '.' || t.typname = any($2::text[])))`,
};

/** The relations named (`c`), as a join target (`... join ${NAMED_RELATIONS} on c.oid = ...`). */
const NAMED_RELATIONS = `(pg_class c join pg_namespace n on n.oid = c.relnamespace and n.nspname = any($1::text[])
      and n.nspname || '.' || c.relname = any($2::text[]))`;
/** The types named (`t`). */
const NAMED_TYPES = `(pg_type t join pg_namespace n on n.oid = t.typnamespace and n.nspname = any($1::text[])
      and n.nspname || '.' || t.typname = any($2::text[]))`;

/**
 * `sql` kept to the rows whose `schema.name` (its output columns) is one of `$2`. A plain subquery: PostgreSQL pulls it
 * up and filters the catalog's rows before it prints their definitions.
 */
const named = (sql: string, schema: string, name: string) =>
  `select q.* from (${sql}) q where q.${schema} || '.' || q.${name} = any($2::text[])`;

/** The queries that take no scope parameter. */
const UNSCOPED = new Set<keyof Rows>(['comments', 'deps']);
/** A second session's share: about half of the time at 5,000 objects (constraints, indexes, privileges, dependencies). */
const ON_SIDE = new Set<keyof Rows>(['constraints', 'indexes', 'privileges', 'deps', 'sequences', 'collations']);

/** The settings every catalog query runs with (see `withCatalogSettings`). */
const CATALOG_SETTINGS = { search_path: 'pg_catalog', jit: 'off' };
const SERVER_VERSION_SQL = `select current_setting('server_version_num') as version`;

/**
 * Run `fn` with `search_path = pg_catalog` and no JIT, putting the session's settings back afterwards. Without JIT: on a
 * large schema the estimated cost of some catalog queries passes `jit_above_cost`, and compiling them with LLVM costs
 * more than running them (tables and types at 5,000 objects: 33 and 37 ms of JIT for queries of 46 and 1 ms).
 */
export async function withCatalogSettings<T>(
  conn: Connection,
  fn: (server: { version: number }) => Promise<T>,
): Promise<T> {
  const r = await conn.query<{ old: string; old_jit: string | null; version: string }>(
    `select current_setting('search_path') as old, current_setting('jit', true) as old_jit,
            current_setting('server_version_num') as version,
            set_config('search_path', 'pg_catalog', false) as now,
            case when current_setting('jit', true) is not null then set_config('jit', 'off', false) end as jit`,
  );
  try {
    return await fn({ version: Number(r.rows[0]!.version) });
  } finally {
    await conn.query(
      `select set_config('search_path', $1, false), case when $2::text is not null then set_config('jit', $2, false) end`,
      [r.rows[0]!.old, r.rows[0]!.old_jit],
    );
  }
}

const str = (v: unknown): string => String(v);
/**
 * A definition as printed, in the form PostgreSQL reads back as the same tree (`readBackForm`): its printed array
 * casts left out unless the stored tree (`explicit`) holds an explicit one.
 */
const readBack = (text: string, form: DefinitionForm, explicit: unknown): string =>
  readBackForm(text, form, explicit !== true);
const readBackOrNull = (v: unknown, form: DefinitionForm, explicit: unknown): string | null =>
  v === null || v === undefined ? null : readBack(String(v), form, explicit);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** PostgreSQL arrays arrive as arrays from both drivers; tolerate the text form just in case. */
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v ? parseTextArray(String(v)) : []);
/** json columns arrive parsed from both drivers; tolerate text. */
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

function parseTextArray(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, '');
  if (!inner) return [];
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|([^,]+)/g;
  for (const m of inner.matchAll(re)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

const ACTIONS: Record<string, ReferentialAction> = {
  a: 'no-action',
  r: 'restrict',
  c: 'cascade',
  n: 'set-null',
  d: 'set-default',
};
const MATCH: Record<string, 'simple' | 'full' | 'partial'> = { s: 'simple', f: 'full', p: 'partial' };
const CONSTRAINT_KINDS: Record<string, ConstraintKind> = {
  p: 'primary-key',
  u: 'unique',
  c: 'check',
  f: 'foreign-key',
  x: 'exclusion',
};
/** `pg_default_acl.defaclobjtype`: the kind of object the default privileges are for. */
const DEFAULT_ACL_KINDS: Record<string, string> = {
  r: 'tables',
  S: 'sequences',
  f: 'functions',
  T: 'types',
  n: 'schemas',
};
const VOLATILITY: Record<string, Routine['volatility']> = { i: 'immutable', s: 'stable', v: 'volatile' };

/** Strip the marker of a constraint that has not been validated yet: the state is `attrs.notValid` instead. */
const withoutNotValid = (definition: string) => definition.replace(/ NOT VALID$/, '');

interface Rows {
  schemas: Row[];
  tables: Row[];
  constraints: Row[];
  indexes: Row[];
  views: Row[];
  routines: Row[];
  triggers: Row[];
  sequences: Row[];
  types: Row[];
  comments: Row[];
  privileges: Row[];
  extensions: Row[];
  collations: Row[];
  textSearchDictionaries: Row[];
  textSearchConfigurations: Row[];
  deps: Row[];
  /** Plain aggregates (`AGGREGATES_SQL`), read only for `SchemaScope.aggregates`. */
  aggregates: Row[];
}

/** What an oid of a catalog stands for in the model. */
type Entity =
  | { is: 'schema'; obj: SchemaDef }
  | { is: 'table'; obj: Table; columns: Map<number, Column> }
  | { is: 'view'; obj: View; columns: Map<number, string> }
  | { is: 'index'; obj: Index }
  | { is: 'sequence'; obj: Sequence }
  | { is: 'routine'; obj: Routine }
  | { is: 'trigger'; obj: Trigger }
  | { is: 'type'; obj: TypeDef }
  | { is: 'constraint'; obj: Constraint; table: Table }
  /** A row-level security policy: held in its table's `attrs.policies`, its comment on the policy's own key. */
  | { is: 'policy'; obj: { key: ObjectKey } }
  | { is: 'domain-check'; obj: DomainCheck; domain: TypeDef }
  | { is: 'extension'; obj: Extension }
  | { is: 'collation'; obj: Collation }
  | { is: 'text-search'; obj: TextSearchDictionary | TextSearchConfiguration };

class ModelBuilder {
  /** `catalog:oid` -> entity. pg_type oids of tables, views and arrays point at what they stand for. */
  private readonly byOid = new Map<string, Entity>();
  private readonly model: SchemaModel = { ...emptyModel(), defaultPrivileges: POSTGRES_DEFAULT_PRIVILEGES };

  private set(catalog: string, oid: unknown, entity: Entity): void {
    if (oid === null || oid === undefined || String(oid) === '0') return;
    this.byOid.set(`${catalog}:${String(oid)}`, entity);
  }

  private get(catalog: string, oid: unknown): Entity | undefined {
    return this.byOid.get(`${catalog}:${String(oid)}`);
  }

  /** `formatKey` of a key of this model, once per key object: dependencies and sorting ask for each thousands of times. */
  private readonly ids = new WeakMap<ObjectKey, string>();
  private id(key: ObjectKey): string {
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = formatKey(key)));
    return id;
  }

  private own(target: ObjectKey, owner: unknown): void {
    this.model.owners.push({ target, owner: str(owner) } satisfies Owner);
  }

  build(rows: Rows): SchemaModel {
    const m = this.model;
    for (const r of rows.schemas) {
      if (r.near === true) {
        (m.nearSchemas ??= []).push(str(r.name));
        continue;
      }
      const obj: SchemaDef = { key: { kind: 'schema', schema: '', name: str(r.name) }, dependsOn: [], attrs: {} };
      m.schemas.push(obj);
      for (const u of json<{ what: string; name: string; definition: string | null }[] | null>(r.unmodelled) ?? [])
        (m.unmodelled ??= []).push({ schema: obj.key.name, ...u });
      this.set('pg_namespace', r.oid, { is: 'schema', obj });
      this.own(obj.key, r.owner);
    }
    for (const r of rows.extensions) {
      const obj: Extension = {
        key: { kind: 'extension', schema: str(r.schema), name: str(r.name) },
        version: str(r.version),
        dependsOn: [],
        attrs: {},
      };
      m.extensions.push(obj);
      this.set('pg_extension', r.oid, { is: 'extension', obj });
    }
    for (const r of rows.collations) {
      const provider = r.provider === 'i' ? 'icu' : r.provider === 'b' ? 'builtin' : 'libc';
      const obj: Collation = {
        key: { kind: 'collation', schema: str(r.schema), name: str(r.name) },
        provider,
        lcCollate: provider === 'libc' ? strOrNull(r.lc_collate) : null,
        lcCtype: provider === 'libc' ? strOrNull(r.lc_ctype) : null,
        locale: provider === 'libc' ? null : strOrNull(r.locale),
        deterministic: r.deterministic !== false,
        rules: strOrNull(r.rules),
        dependsOn: [],
        attrs: {},
      };
      (m.collations ??= []).push(obj);
      this.set('pg_collation', r.oid, { is: 'collation', obj });
      this.own(obj.key, r.owner);
    }
    this.buildTextSearch(rows.textSearchDictionaries, rows.textSearchConfigurations);
    this.buildTypes(rows.types);
    this.buildTables(rows.tables, rows.constraints);
    this.buildViews(rows.views);
    this.buildIndexes(rows.indexes);
    this.buildRoutines(rows.routines);
    this.buildAggregates(rows.aggregates);
    this.buildTriggers(rows.triggers);
    this.buildSequences(rows.sequences);
    this.buildDependencies(rows.deps);
    this.buildComments(rows.comments);
    this.buildPrivileges(rows.privileges);
    this.sortAll();
    return m;
  }

  private buildTextSearch(dictionaries: Row[], configurations: Row[]): void {
    for (const r of dictionaries) {
      const obj: TextSearchDictionary = {
        key: { kind: 'text-search-dictionary', schema: str(r.schema), name: str(r.name) },
        template: str(r.template),
        options: strOrNull(r.options),
        dependsOn: [],
        attrs: {},
      };
      (this.model.textSearchDictionaries ??= []).push(obj);
      this.set('pg_ts_dict', r.oid, { is: 'text-search', obj });
      this.own(obj.key, r.owner);
    }
    for (const r of configurations) {
      const obj: TextSearchConfiguration = {
        key: { kind: 'text-search-configuration', schema: str(r.schema), name: str(r.name) },
        parser: str(r.parser),
        mappings: json<TextSearchMapping[]>(r.mappings).map((m) => ({
          token: m.token,
          dictionaries: list(m.dictionaries),
        })),
        dependsOn: [],
        attrs: {},
      };
      (this.model.textSearchConfigurations ??= []).push(obj);
      this.set('pg_ts_config', r.oid, { is: 'text-search', obj });
      this.own(obj.key, r.owner);
    }
  }

  private buildTypes(rows: Row[]): void {
    for (const r of rows) {
      const base = {
        key: { kind: 'type', schema: str(r.schema), name: str(r.name) } as ObjectKey,
        dependsOn: [],
        attrs: {},
      };
      let obj: TypeDef;
      switch (r.typtype) {
        case 'e':
          obj = { ...base, variant: 'enum', values: list(r.enum_values) };
          break;
        case 'c':
          obj = {
            ...base,
            variant: 'composite',
            attributes: json<{ name: string; type: string; collation: string | null }[]>(r.attributes).map((a) => ({
              name: a.name,
              type: a.type,
              collation: a.collation ?? null,
            })),
          };
          break;
        case 'd':
          obj = {
            ...base,
            key: { ...base.key, kind: 'domain' },
            variant: 'domain',
            baseType: str(r.base_type),
            default: readBackOrNull(r.default_expr, 'expression', r.default_explicit_array_casts),
            notNull: r.typnotnull === true,
            collation: strOrNull(r.collation),
            checks: [],
          };
          for (const c of json<{ oid: unknown; name: string; definition: string; explicitArrayCasts: boolean }[]>(
            r.checks,
          )) {
            const definition = readBack(withoutNotValid(c.definition), 'constraint', c.explicitArrayCasts);
            const check: DomainCheck = { name: c.name, definition };
            obj.checks.push(check);
            this.set('pg_constraint', c.oid, { is: 'domain-check', obj: check, domain: obj });
          }
          break;
        default:
          obj = { ...base, variant: 'range', subtype: str(r.subtype) };
      }
      this.model.types.push(obj);
      const entity: Entity = { is: 'type', obj };
      this.set('pg_type', r.oid, entity);
      this.set('pg_type', r.typarray, entity);
      if (obj.variant === 'composite') this.set('pg_class', r.typrelid, entity);
      this.own(obj.key, r.owner);
    }
  }

  private buildTables(tables: Row[], constraints: Row[]): void {
    const byName = new Map<string, Table>();
    // A partition's inherited columns that are NOT NULL, and every table's NOT NULL columns, for `partitionNotNull`.
    const inheritedNotNull = new Map<Table, string[]>();
    const notNullOf = new Map<string, string[]>();
    for (const r of tables) {
      const key: ObjectKey = { kind: 'table', schema: str(r.schema), name: str(r.name) };
      const columns = new Map<number, Column>();
      const attrs: Table['attrs'] = {};
      if (r.relpersistence === 'u') attrs['persistence'] = 'unlogged';
      const reloptions = list(r.reloptions);
      if (reloptions.length) attrs['reloptions'] = reloptions.sort();
      if (r.partition_key) attrs['partitionBy'] = str(r.partition_key);
      const partitionOf = json<{ schema: string; name: string } | null>(r.partition_of);
      if (partitionOf) {
        attrs['partitionOf'] = `${partitionOf.schema}.${partitionOf.name}`;
        attrs['partitionBound'] = str(r.partition_bound);
      }
      // REPLICA IDENTITY, when not DEFAULT: `full`, `nothing` or `index:<name>` (USING INDEX).
      if (r.relreplident === 'f') attrs['replicaIdentity'] = 'full';
      else if (r.relreplident === 'n') attrs['replicaIdentity'] = 'nothing';
      else if (r.relreplident === 'i' && r.replident_index)
        attrs['replicaIdentity'] = `index:${str(r.replident_index)}`;
      // ALTER TABLE ... CLUSTER ON: the index CLUSTER uses when it names none (a constraint's index or an index).
      if (r.cluster_index) attrs['clusterOn'] = str(r.cluster_index);
      // Row-level security and policies are PostgreSQL details of the table: compared, and altered, with it.
      if (r.relrowsecurity) attrs['rowSecurity'] = true;
      if (r.relforcerowsecurity) attrs['forceRowSecurity'] = true;
      const policies = json<PolicyJson[] | null>(r.policies) ?? [];
      for (const p of policies) {
        const policy: ObjectKey = {
          kind: 'policy',
          schema: key.schema,
          name: p.name,
          parent: `${key.schema}.${key.name}`,
        };
        this.set('pg_policy', p.oid, { is: 'policy', obj: { key: policy } });
      }
      if (policies.length) {
        attrs['policies'] = policies.map((p) => ({
          name: p.name,
          command: POLICY_COMMANDS[p.command] ?? 'ALL',
          permissive: p.permissive,
          roles: [...p.roles].sort(),
          using: readBackOrNull(p.using, 'expression', p.explicitArrayCasts),
          check: readBackOrNull(p.check, 'expression', p.explicitArrayCasts),
        }));
      }
      const inherits = json<{ schema: string; name: string }[] | null>(r.inherits) ?? [];
      if (inherits.length) attrs['inherits'] = inherits.map((p) => `${p.schema}.${p.name}`);
      const table: Table = { key, columns: [], constraints: [], dependsOn: [], attrs };
      if (partitionOf) table.dependsOn.push({ kind: 'table', schema: partitionOf.schema, name: partitionOf.name });
      for (const p of inherits) table.dependsOn.push({ kind: 'table', schema: p.schema, name: p.name });
      let position = 0;
      for (const c of json<ColumnJson[]>(r.columns)) {
        position++;
        const expr = readBackOrNull(c.expr, 'expression', c.explicitArrayCasts);
        const col: Column = {
          name: c.name,
          type: c.type,
          default: c.generated ? null : expr,
          identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by-default' : null,
          generated: c.generated ? expr : null,
          collation: c.collation ?? null,
          notNull: c.notNull,
          position,
          dependsOn: [],
          attrs: {
            ...(c.generated === 'v' ? { generatedKind: 'virtual' } : {}),
            ...(c.identityOptions ? { identityOptions: c.identityOptions } : {}),
            ...columnSettings(c),
          },
        };
        columns.set(c.num, col);
        // Inherited columns belong to the parent: a partition's own definition has none of them.
        if (c.local) table.columns.push(col);
        else if (c.notNull) inheritedNotNull.set(table, [...(inheritedNotNull.get(table) ?? []), c.name]);
        if (c.notNull) notNullOf.set(formatKey(key), [...(notNullOf.get(formatKey(key)) ?? []), c.name]);
      }
      this.model.tables.push(table);
      byName.set(formatKey(key), table);
      const entity: Entity = { is: 'table', obj: table, columns };
      this.set('pg_class', r.oid, entity);
      this.set('pg_type', r.reltype, entity);
      this.set('pg_type', r.reltype_array, entity);
      this.own(key, r.owner);
    }
    // A partition can hold NOT NULL on a column its parent allows NULL in (its own primary key, SET NOT NULL): kept as
    // `attrs.partitionNotNull`, since the partition's inherited columns are not in its model.
    for (const [table, names] of inheritedNotNull) {
      const parent = typeof table.attrs['partitionOf'] === 'string' ? (table.attrs['partitionOf'] as string) : null;
      if (!parent) continue;
      const [ps, ...pn] = parent.split('.');
      const above = new Set(notNullOf.get(formatKey({ kind: 'table', schema: ps!, name: pn.join('.') })) ?? []);
      const own = names.filter((n) => !above.has(n)).sort();
      if (own.length) table.attrs['partitionNotNull'] = own;
    }
    for (const r of constraints) {
      const table = byName.get(formatKey({ kind: 'table', schema: str(r.schema), name: str(r.table_name) }));
      if (!table) continue;
      // A partition's key attached to its parent's comes with it (PostgreSQL makes it for each partition), unless it
      // was named by hand: then it is the partition's own, which the parent's takes in when added after it.
      const attachedTo = typeof r.attached_to === 'string' ? r.attached_to : null;
      if (attachedTo !== null && generatedConstraintName(str(r.name), str(r.table_name))) continue;
      const handNamed = list(r.attached)
        .map((q) => q.split('.'))
        .filter(([, t, name]) => !generatedConstraintName(String(name), String(t)))
        .map(([schema, name]): ObjectKey => ({ kind: 'table', schema: String(schema), name: String(name) }));
      const kind = CONSTRAINT_KINDS[str(r.contype)]!;
      const con: Constraint = {
        name: str(r.name),
        kind,
        columns: list(r.columns),
        expression: readBackOrNull(r.expression, 'expression', r.explicit_array_casts),
        references:
          kind === 'foreign-key'
            ? {
                table: { kind: 'table', schema: str(r.ref_schema), name: str(r.ref_table) },
                columns: list(r.ref_columns),
                onUpdate: ACTIONS[str(r.confupdtype)] ?? 'no-action',
                onDelete: ACTIONS[str(r.confdeltype)] ?? 'no-action',
                match: MATCH[str(r.confmatchtype)] ?? 'simple',
              }
            : null,
        deferrable: r.condeferrable === true,
        initiallyDeferred: r.condeferred === true,
        definition: readBack(withoutNotValid(str(r.definition)), 'constraint', r.explicit_array_casts),
        // The partitions whose keys named by hand this key takes in: added after them.
        dependsOn: handNamed,
        // PostgreSQL before 18 leaves the per-partition halves of a foreign key to a partitioned table NOT VALID
        // after VALIDATE CONSTRAINT: such a key is added valid at once (see the renderer).
        attrs: {
          ...(kind === 'foreign-key' && r.ref_kind === 'p' ? { referencesPartitioned: true } : {}),
          // A foreign key or check on a partitioned table cannot be added NOT VALID: the renderer adds it valid.
          ...((kind === 'foreign-key' || kind === 'check') && r.table_kind === 'p' ? { onPartitioned: true } : {}),
          // Not validated yet (ADD ... NOT VALID): compared, and kept so by the renderer.
          ...(r.convalidated === false ? { notValid: true } : {}),
          // A partitioned table's key whose index is invalid (added ON ONLY, not every partition's key attached): a
          // difference, as PostgreSQL then lets its partitions hold duplicates a complete one refuses.
          ...(r.incomplete === true ? { incomplete: true } : {}),
          // A partition's key named by hand, attached to its parent's (not compared: the parent's `incomplete` is).
          ...(attachedTo !== null ? { attachedTo } : {}),
        },
      };
      table.constraints.push(con);
      this.set('pg_constraint', r.oid, { is: 'constraint', obj: con, table });
    }
  }

  private buildViews(rows: Row[]): void {
    for (const r of rows) {
      const key: ObjectKey = {
        kind: r.relkind === 'm' ? 'materialized-view' : 'view',
        schema: str(r.schema),
        name: str(r.name),
      };
      const cols = json<{ num: number; name: string; type: string }[]>(r.columns);
      const reloptions = list(r.reloptions);
      const view: View = {
        key,
        definition: readBack(str(r.definition), 'query', r.explicit_array_casts),
        columns: cols.map((c) => ({ name: c.name, type: c.type })),
        dependsOn: [],
        dependsOnColumns: [],
        attrs: {
          ...(reloptions.length ? { reloptions: reloptions.sort() } : {}),
          // ALTER MATERIALIZED VIEW ... CLUSTER ON: the index CLUSTER uses when it names none (as a table's).
          ...(r.cluster_index ? { clusterOn: str(r.cluster_index) } : {}),
        },
      };
      this.model.views.push(view);
      const entity: Entity = { is: 'view', obj: view, columns: new Map(cols.map((c) => [c.num, c.name])) };
      this.set('pg_class', r.oid, entity);
      this.set('pg_type', r.reltype, entity);
      this.set('pg_type', r.reltype_array, entity);
      this.own(key, r.owner);
    }
  }

  private buildIndexes(rows: Row[]): void {
    for (const r of rows) {
      // A partition's index attached to a complete partitioned index comes with it (CREATE INDEX on the partitioned
      // table makes it), unless it was named by hand: then it is an object of its own, created before the
      // partitioned one, which takes it in under its name instead of making one.
      if (r.attached_to_complete === true && generatedIndexName(str(r.name), str(r.table_name))) continue;
      const table: ObjectKey = {
        kind: r.table_kind === 'm' ? 'materialized-view' : 'table',
        schema: str(r.table_schema),
        name: str(r.table_name),
      };
      const index: Index = {
        key: { kind: 'index', schema: str(r.schema), name: str(r.name), parent: `${table.schema}.${table.name}` },
        table,
        unique: r.indisunique === true,
        columns: list(r.columns),
        predicate: readBackOrNull(r.predicate, 'expression', r.explicit_array_casts),
        expression: r.has_expressions === true,
        definition: readBack(str(r.definition), 'statement', r.explicit_array_casts),
        dependsOn: [],
        // On a partitioned table: the partitions' indexes attached to it (`schema.name`), compared only while it is
        // `incomplete` (made ON ONLY, not every partition's index attached: invalid), when they are in the model too
        // as indexes `attachedTo` it. A complete one's are not compared (see the differ).
        attrs:
          r.table_kind === 'p'
            ? {
                partitioned: true,
                ...(list(r.attached).length ? { attached: list(r.attached) } : {}),
                ...(r.incomplete === true ? { incomplete: true } : {}),
              }
            : r.attached_to
              ? { attachedTo: str(r.attached_to) }
              : {},
      };
      // Its storage parameters (`WITH (...)`, also in the definition), in the catalog's order, which the definition
      // prints: what ALTER INDEX ... SET and RESET change in place.
      const reloptions = list(r.reloptions);
      if (reloptions.length) index.attrs['reloptions'] = reloptions;
      this.model.indexes.push(index);
      this.set('pg_class', r.oid, { is: 'index', obj: index });
    }
    // A partitioned index needs the partitions' indexes it attaches that are in the model (created first): every
    // one an incomplete index lists, those named by hand for a complete one.
    const bySchemaName = new Map(this.model.indexes.map((i) => [`${i.key.schema}.${i.key.name}`, i]));
    for (const i of this.model.indexes) {
      for (const name of (i.attrs['attached'] as string[] | undefined) ?? []) {
        const child = bySchemaName.get(name);
        if (child) i.dependsOn.push(child.key);
      }
    }
  }

  private buildRoutines(rows: Row[]): void {
    for (const r of rows) {
      const key: ObjectKey = {
        kind: r.prokind === 'p' ? 'procedure' : 'function',
        schema: str(r.schema),
        name: str(r.name),
        args: list(r.arg_types),
      };
      const routine: Routine = {
        key,
        identityArgs: str(r.identity_args),
        arguments: str(r.arguments),
        returnType: str(r.result),
        language: str(r.language),
        definition: str(r.definition),
        volatility: VOLATILITY[str(r.provolatile)] ?? 'volatile',
        dependsOn: [],
        attrs: r.prokind === 'w' ? { window: true } : {},
      };
      this.model.routines.push(routine);
      this.set('pg_proc', r.oid, { is: 'routine', obj: routine });
      this.own(key, r.owner);
    }
  }

  /** Plain aggregates as routines of kind `aggregate`, defined by their `CREATE AGGREGATE` (comments apart). */
  private buildAggregates(rows: Row[]): void {
    for (const r of rows) {
      const a = r as unknown as AggregateRow;
      const key: ObjectKey = { kind: 'aggregate', schema: a.schema, name: a.name, args: list(r['arg_types']) };
      const routine: Routine = {
        key,
        identityArgs: a.args,
        arguments: a.args,
        returnType: '',
        language: 'internal',
        definition: aggregateStatement({ ...a, comment: null }),
        volatility: 'volatile',
        dependsOn: [],
        attrs: {},
      };
      this.model.routines.push(routine);
      this.set('pg_proc', r['oid'], { is: 'routine', obj: routine });
    }
  }

  private buildTriggers(rows: Row[]): void {
    for (const r of rows) {
      const table: ObjectKey = {
        kind: r.relkind === 'v' ? 'view' : r.relkind === 'm' ? 'materialized-view' : 'table',
        schema: str(r.schema),
        name: str(r.table_name),
      };
      const trigger: Trigger = {
        key: { kind: 'trigger', schema: str(r.schema), name: str(r.name), parent: `${table.schema}.${table.name}` },
        table,
        function: {
          kind: 'function',
          schema: str(r.function_schema),
          name: str(r.function_name),
          args: list(r.function_args),
        },
        definition: readBack(str(r.definition), 'statement', r.explicit_array_casts),
        constraintTrigger: r.is_constraint === true,
        dependsOn: [],
        attrs: r.tgenabled && r.tgenabled !== 'O' ? { enabled: str(r.tgenabled) } : {},
      };
      this.model.triggers.push(trigger);
      this.set('pg_trigger', r.oid, { is: 'trigger', obj: trigger });
    }
  }

  private buildSequences(rows: Row[]): void {
    for (const r of rows) {
      const key: ObjectKey = { kind: 'sequence', schema: str(r.schema), name: str(r.name) };
      const owned = json<{ schema: string; table: string; column: string } | null>(r.owned_by);
      const seq: Sequence = {
        key,
        dataType: str(r.data_type),
        start: str(r.start),
        increment: str(r.increment),
        min: str(r.min),
        max: str(r.max),
        cache: str(r.cache),
        cycle: r.cycle === true,
        ownedBy: owned
          ? { table: { kind: 'table', schema: owned.schema, name: owned.table }, column: owned.column }
          : null,
        dependsOn: [],
        attrs: {},
      };
      this.model.sequences.push(seq);
      this.set('pg_class', r.oid, { is: 'sequence', obj: seq });
      this.own(key, r.owner);
    }
  }

  /** The key a dependency row refers to, and the column when it names one. */
  private referenced(
    catalog: string,
    oid: unknown,
    sub: number,
  ): { key: ObjectKey; column?: string; entity: Entity } | null {
    const e = this.get(catalog, oid);
    if (!e) return null;
    switch (e.is) {
      case 'table': {
        const col = sub > 0 ? e.columns.get(sub)?.name : undefined;
        return { key: e.obj.key, ...(col !== undefined ? { column: col } : {}), entity: e };
      }
      case 'view': {
        const col = sub > 0 ? e.columns.get(sub) : undefined;
        return { key: e.obj.key, ...(col !== undefined ? { column: col } : {}), entity: e };
      }
      case 'index':
      case 'sequence':
      case 'routine':
      case 'type':
      case 'collation':
      case 'text-search':
      case 'extension':
        return { key: e.obj.key, entity: e };
      default:
        return null;
    }
  }

  private buildDependencies(rows: Row[]): void {
    const seen = new Set<string>();
    const addKey = (list: ObjectKey[], key: ObjectKey, owner: string) => {
      const id = `${owner}>${this.id(key)}`;
      if (seen.has(id)) return;
      seen.add(id);
      list.push(key);
    };
    for (const r of rows) {
      const dependent = this.get(str(r.catalog), r.oid);
      if (!dependent) continue;
      const ref = this.referenced(str(r.ref_catalog), r.ref_oid, Number(r.ref_sub));
      if (!ref) continue;
      const sub = Number(r.sub);
      switch (dependent.is) {
        case 'table': {
          if (this.id(ref.key) === this.id(dependent.obj.key)) break;
          const tableId = this.id(dependent.obj.key);
          addKey(dependent.obj.dependsOn, ref.key, tableId);
          const col = sub > 0 ? dependent.columns.get(sub) : undefined;
          if (col) addKey(col.dependsOn, ref.key, `${tableId}#${col.name}`);
          break;
        }
        case 'view': {
          const v = dependent.obj;
          if (this.id(ref.key) === this.id(v.key)) break;
          addKey(v.dependsOn, ref.key, this.id(v.key));
          if (ref.column !== undefined && (ref.entity.is === 'table' || ref.entity.is === 'view')) {
            const id = `${this.id(v.key)}>${this.id(ref.key)}#${ref.column}`;
            if (!seen.has(id)) {
              seen.add(id);
              v.dependsOnColumns.push({ table: ref.key, column: ref.column });
            }
          }
          break;
        }
        case 'index':
          if (this.id(ref.key) !== this.id(dependent.obj.table))
            addKey(dependent.obj.dependsOn, ref.key, this.id(dependent.obj.key));
          break;
        case 'routine':
          if (this.id(ref.key) !== this.id(dependent.obj.key))
            addKey(dependent.obj.dependsOn, ref.key, this.id(dependent.obj.key));
          break;
        case 'trigger':
          if (this.id(ref.key) !== this.id(dependent.obj.table))
            addKey(dependent.obj.dependsOn, ref.key, this.id(dependent.obj.key));
          break;
        case 'type':
        case 'text-search':
          if (this.id(ref.key) !== this.id(dependent.obj.key))
            addKey(dependent.obj.dependsOn, ref.key, this.id(dependent.obj.key));
          break;
        case 'domain-check':
          if (this.id(ref.key) !== this.id(dependent.domain.key))
            addKey(dependent.domain.dependsOn, ref.key, this.id(dependent.domain.key));
          break;
        case 'constraint': {
          const { table, obj } = dependent;
          if (this.id(ref.key) === this.id(table.key) || ref.entity.is === 'index') break;
          addKey(obj.dependsOn, ref.key, `${this.id(table.key)}#${obj.name}`);
          // A foreign key's referenced table is not something the table itself needs to be created.
          if (obj.kind !== 'foreign-key') addKey(table.dependsOn, ref.key, this.id(table.key));
          break;
        }
        default:
          break;
      }
    }
  }

  private buildComments(rows: Row[]): void {
    for (const r of rows) {
      const e = this.get(str(r.catalog), r.oid);
      if (!e) continue;
      const sub = Number(r.sub);
      const text = str(r.description);
      let comment: Comment | null = null;
      switch (e.is) {
        case 'table': {
          const col = sub > 0 ? e.columns.get(sub) : undefined;
          if (sub > 0 && !col) break;
          comment = { target: e.obj.key, ...(col ? { column: col.name } : {}), text };
          break;
        }
        case 'view': {
          const col = sub > 0 ? e.columns.get(sub) : undefined;
          if (sub > 0 && !col) break;
          comment = { target: e.obj.key, ...(col ? { column: col } : {}), text };
          break;
        }
        case 'constraint':
          comment = { target: e.table.key, constraint: e.obj.name, text };
          break;
        case 'domain-check':
          comment = { target: e.domain.key, constraint: e.obj.name, text };
          break;
        case 'type':
          if (sub === 0) comment = { target: e.obj.key, text };
          break;
        default:
          comment = { target: e.obj.key, text };
      }
      if (comment) this.model.comments.push(comment);
    }
  }

  private buildPrivileges(rows: Row[]): void {
    const grouped = new Map<string, Privilege>();
    const defaults = new Map<string, SchemaDefaultPrivilege>();
    for (const r of rows) {
      if (r.catalog === 'pg_default_acl') {
        this.addSchemaDefault(defaults, r);
        continue;
      }
      const e = this.get(str(r.catalog), r.oid);
      // pg_type oids of tables and views stand for the relation elsewhere; privileges come from pg_class.
      if (!e || e.is === 'constraint' || e.is === 'domain-check' || (r.catalog === 'pg_type' && e.is !== 'type'))
        continue;
      const column = strOrNull(r.column_name) ?? undefined;
      const id = `${r.catalog}:${r.oid}:${column ?? ''}:${r.grantee}`;
      let p = grouped.get(id);
      if (!p) {
        p = {
          target: e.obj.key,
          ...(column !== undefined ? { column } : {}),
          grantee: str(r.grantee),
          privileges: [],
          grantable: [],
        };
        grouped.set(id, p);
      }
      p.privileges.push(str(r.privilege_type));
      if (r.is_grantable === true) p.grantable.push(str(r.privilege_type));
    }
    for (const p of grouped.values()) {
      p.privileges.sort();
      p.grantable.sort();
      this.model.privileges.push(p);
    }
    if (defaults.size) {
      const text = (d: SchemaDefaultPrivilege) => `${d.schema} ${d.role} ${d.on} ${d.grantee}`;
      this.model.schemaDefaults = [...defaults.values()].sort((a, b) => cmp(text(a), text(b)));
    }
  }

  /** One row of a schema's default privileges (`pg_default_acl`), grouped by schema, role, kind and grantee. */
  private addSchemaDefault(defaults: Map<string, SchemaDefaultPrivilege>, r: Row): void {
    // Oid 0: set without IN SCHEMA, for every schema (`schema: ''`).
    const schema = String(r.oid) === '0' ? null : this.get('pg_namespace', r.oid);
    if (schema !== null && schema?.is !== 'schema') return;
    const name = schema ? schema.obj.key.name : '';
    const [letter, role] = str(r.column_name).split(' ') as [string, string];
    const on = DEFAULT_ACL_KINDS[letter] ?? letter;
    const id = `${name} ${role} ${on} ${r.grantee}`;
    let d = defaults.get(id);
    if (!d) {
      d = { schema: name, role, on, grantee: str(r.grantee), privileges: [], grantable: [] };
      defaults.set(id, d);
    }
    d.privileges.push(str(r.privilege_type));
    if (r.is_grantable === true) d.grantable.push(str(r.privilege_type));
    d.privileges.sort();
    d.grantable.sort();
  }

  /** Deterministic order, whatever order the catalog returned rows in. */
  private sortAll(): void {
    const m = this.model;
    // Each list sorted by a text computed once per element, not twice per comparison.
    const sortBy = <T>(list: T[], text: (x: T) => string) => {
      const keyed = list.map((x) => ({ x, t: text(x) }));
      keyed.sort((a, b) => cmp(a.t, b.t));
      keyed.forEach((k, i) => (list[i] = k.x));
    };
    for (const list of [
      m.schemas,
      m.extensions,
      m.collations ?? [],
      m.textSearchDictionaries ?? [],
      m.textSearchConfigurations ?? [],
      m.tables,
      m.views,
      m.routines,
      m.triggers,
      m.sequences,
      m.types,
      m.indexes,
    ] as { key: ObjectKey }[][]) {
      sortBy(list, (o) => this.id(o.key));
    }
    const sortKeys = (keys: ObjectKey[]) => {
      if (keys.length > 1) sortBy(keys, (k) => this.id(k));
    };
    for (const t of m.tables) {
      t.constraints.sort((a, b) => cmp(a.name, b.name));
      sortKeys(t.dependsOn);
      for (const c of t.columns) sortKeys(c.dependsOn);
      for (const c of t.constraints) sortKeys(c.dependsOn);
    }
    for (const o of [
      ...m.views,
      ...m.routines,
      ...m.triggers,
      ...m.types,
      ...m.indexes,
      ...(m.textSearchDictionaries ?? []),
      ...(m.textSearchConfigurations ?? []),
    ])
      sortKeys(o.dependsOn);
    for (const v of m.views) sortBy(v.dependsOnColumns, (d) => `${this.id(d.table)}#${d.column}`);
    const sub = (x: { target: ObjectKey; column?: string; constraint?: string; grantee?: string }) =>
      `${this.id(x.target)}|${x.column ?? ''}|${x.constraint ?? ''}|${x.grantee ?? ''}`;
    sortBy(m.comments, sub);
    sortBy(m.privileges, sub);
    sortBy(m.owners, (o) => this.id(o.target));
  }
}

/** A row of `pg_policy` as the tables query returns it. */
interface PolicyJson {
  oid: number;
  name: string;
  command: string;
  permissive: boolean;
  roles: string[];
  using: string | null;
  check: string | null;
  explicitArrayCasts: boolean;
}

/** `pg_policy.polcmd` → the command a `CREATE POLICY ... FOR` names. */
const POLICY_COMMANDS: Record<string, string> = { '*': 'ALL', r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE' };

interface ColumnJson {
  num: number;
  name: string;
  type: string;
  notNull: boolean;
  expr: string | null;
  explicitArrayCasts: boolean;
  generated: string;
  identity: string;
  /** The identity's sequence options as a clause (`START WITH 1 INCREMENT BY 1 ... NO CYCLE`); null: no identity. */
  identityOptions: string | null;
  collation: string | null;
  local: boolean;
  /** SET STATISTICS target; null: the default. */
  statistics: number | null;
  /** Documented per-column options (`n_distinct=-0.02`), sorted; null: none. */
  options: string[] | null;
  /** SET COMPRESSION (`pglz`, `lz4`); null: the server's default_toast_compression. */
  compression: string | null;
  /** SET STORAGE when not the type's own (`plain`, `external`, `main`, `extended`); null: the type's. */
  storage: string | null;
}

/**
 * A column's settings that ALTER TABLE ... ALTER COLUMN sets (`Column.attrs`, compared by the differ as an
 * `alter-column-settings` change): `statistics`, `options`, `compression`, `storage`, each only when set.
 */
function columnSettings(c: ColumnJson): Column['attrs'] {
  const out: Column['attrs'] = {};
  if (c.statistics !== null && c.statistics !== undefined) out['statistics'] = Number(c.statistics);
  const options = list(c.options);
  if (options.length) out['options'] = options;
  if (c.compression) out['compression'] = c.compression;
  if (c.storage) out['storage'] = c.storage;
  return out;
}

/**
 * Whether `name` is one PostgreSQL makes for the key of a partition of `table` it creates itself (the parent's primary
 * key, unique or exclusion constraint): `<table>_pkey`, `<table>_<columns>_key`, `<table>_<columns>_excl`, with a
 * number when taken, shortened to fit 63 bytes.
 */
function generatedConstraintName(name: string, table: string): boolean {
  return /_(pkey|key|excl)\d*$/.test(name) && name.startsWith(table.slice(0, 20));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether `name` is one PostgreSQL makes for an index of `table` it creates itself (CREATE INDEX on a partitioned
 * table, for each partition): `<table>_<columns>_idx`, with a number when taken, the first two parts shortened to
 * fit 63 bytes.
 */
function generatedIndexName(name: string, table: string): boolean {
  return /_idx\d*$/.test(name) && name.startsWith(`${table.slice(0, 20)}`);
}
