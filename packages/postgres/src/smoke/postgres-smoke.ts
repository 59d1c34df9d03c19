import type { Connection, DependencyNode, Engine, ObjectKey } from '@dbee/core';
import { catalogQuery } from '../connection/postgres-connection';

/** The smoke-check role of the PostgreSQL engine (`Engine.smoke`). */
export type PostgresSmokeDialect = NonNullable<Engine['smoke']>;

/**
 * A routine of kind `prokind` (a condition on it) with the key's signature exists: `to_regprocedure` of the signature
 * finds one. Asked first, by index: a routine of that schema and name whose argument types print as the key's argument
 * list (`oidvectortypes`, as the catalog prints them: dbee's keys are written so). When it is found, `to_regprocedure`
 * would find it too (a printed type name reads back as the same type, as `regprocedure` values do), so its parse of
 * the signature is skipped: 5-8 µs of server CPU a routine, about 10 ms for the 1,816 routines of a 5,000-object
 * project. Otherwise (another spelling such as `int`, a missing routine or type) the answer, or the error, is
 * `to_regprocedure`'s. `CASE` fixes the order; the planner may evaluate the arms of an `OR` either way.
 */
function routineExists(prokind: string): string {
  return `CASE WHEN EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = k.name AND n.nspname = k.nsp AND p.prokind ${prokind} AND oidvectortypes(p.proargtypes) = k.args)
    THEN true ELSE EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure(k.sig) AND prokind ${prokind}) END`;
}

/**
 * Per kind, the condition under which key `k` exists (`k`: ordinal, kind, schema, name, signature, parent schema,
 * parent name, argument list). Routines go through `to_regprocedure`, so argument types are resolved by PostgreSQL
 * itself (`int` and `integer` are the same): see `routineExists`. Kinds not listed are taken as present.
 */
const EXISTS_BY_KIND: Record<string, string> = {
  schema: `EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = k.name)`,
  extension: `EXISTS (SELECT 1 FROM pg_extension WHERE extname = k.name)`,
  role: `EXISTS (SELECT 1 FROM pg_roles WHERE rolname = k.name)`,
  table: `EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind IN ('r', 'p', 'f'))`,
  view: `EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind = 'v')`,
  'materialized-view': `EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind = 'm')`,
  sequence: `EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind = 'S')`,
  index: `EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind IN ('i', 'I'))`,
  type: `EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = k.nsp AND t.typname = k.name)`,
  domain: `EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = k.nsp AND t.typname = k.name AND t.typtype = 'd')`,
  function: routineExists(`IN ('f', 'w')`),
  procedure: routineExists(`= 'p'`),
  aggregate: routineExists(`= 'a'`),
  trigger: `EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = k.name AND n.nspname = k.psch AND c.relname = k.pname)`,
  policy: `EXISTS (SELECT 1 FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.polname = k.name AND n.nspname = k.psch AND c.relname = k.pname)`,
  constraint: `EXISTS (SELECT 1 FROM pg_constraint t JOIN pg_class c ON c.oid = t.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.conname = k.name AND n.nspname = k.psch AND c.relname = k.pname)`,
};

/**
 * One catalog query for every key, returning the ordinals of the keys that are not there: one anti-join per kind,
 * `UNION ALL`. (A single `CASE` over the kinds with a correlated `EXISTS` per branch took 140 ms for 1,500 keys of five
 * kinds, against 30 ms for the same keys one kind at a time.) Only the branches of the kinds asked about: planning
 * all sixteen took ~2 ms, paid by every project of a first deploy (each CREATE SCHEMA resets the session's plan cache).
 */
const missingObjectsSql = (kinds: readonly string[]) => `
WITH k AS MATERIALIZED (
  SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS k(i, kind, nsp, name, sig, psch, pname, args)
)
${kinds.map((kind) => `SELECT k.i FROM k WHERE k.kind = '${kind}' AND NOT ${EXISTS_BY_KIND[kind]}`).join('\nUNION ALL\n')}
ORDER BY 1`;

/**
 * The edges out of node `n` (a relation or a routine, by `n.classid` and `n.objid`) as the database records them, as
 * `(refclassid, refobjid)` rows: a relation's rewrite rules' dependencies (not the rule's own on its relation), a
 * routine's normal dependencies. Looked up by index (`pg_rewrite` by `ev_class`, `pg_depend` by depender), so the cost
 * is that of the node's own edges, whatever the size of the database.
 */
const EDGES_OF_N = `
    SELECT d.refclassid, d.refobjid FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     WHERE n.classid = 'pg_class'::regclass AND r.ev_class = n.objid AND (d.refobjid <> r.ev_class OR d.refclassid <> 'pg_class'::regclass)
    UNION ALL
    SELECT d.refclassid, d.refobjid FROM pg_depend d
     WHERE n.classid = 'pg_proc'::regclass AND d.classid = 'pg_proc'::regclass AND d.objid = n.objid AND d.deptype = 'n'`;

/**
 * The direct dependencies of the views `$1` (qualified names) and of every view and routine under them, as the database
 * records them: a view's rewrite rule (relations, routines, types it uses), a routine's recorded dependencies (argument
 * and result types; what a `BEGIN ATOMIC` body uses). One row per node (`relation:s.n`, `routine:s.n`, `type:s.n`), its
 * dependencies as nodes, and a routine name's number of overloads. A row type stands for its relation, an array type for
 * its element type. The walk looks up each node's edges when it reaches it (`EDGES_OF_N`), twice (to find the nodes,
 * then to list their edges), and reads the rule text (`opaque`) of those nodes only: its cost follows the views asked
 * about and what is under them, not the database. (It read every edge of the database into a table first: 200-320 ms
 * of each deployment and rollback at 5,000 objects, most of it joining that table with the nodes without an index.)
 */
export const VIEW_DEPENDENCIES = `
WITH RECURSIVE node(classid, objid) AS (
  SELECT 'pg_class'::regclass::oid, x.c FROM unnest($1::text[]) t, LATERAL (SELECT to_regclass(t)::oid AS c) x WHERE x.c IS NOT NULL
  UNION
  SELECT e.refclassid, e.refobjid FROM node n, LATERAL (${EDGES_OF_N}) e
   WHERE e.refclassid = 'pg_proc'::regclass
      OR (e.refclassid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = e.refobjid) IN ('v', 'm'))
), edge AS (
  SELECT n.classid, n.objid, e.refclassid, e.refobjid FROM node n, LATERAL (${EDGES_OF_N}) e
  UNION ALL
  SELECT n.classid, n.objid, NULL, NULL FROM node n
), named AS (
  SELECT e.classid, e.objid, array_remove(array_agg(DISTINCT ${nodeName('e.refclassid', 'e.refobjid')}), NULL) AS deps
    FROM edge e GROUP BY e.classid, e.objid
)
SELECT ${nodeName('named.classid', 'named.objid')} AS node, named.deps,
       (SELECT count(*) FROM pg_proc p, pg_proc q WHERE named.classid = 'pg_proc'::regclass AND p.oid = named.objid AND q.pronamespace = p.pronamespace AND q.proname = p.proname)::int AS overloads,
       -- The views a view's query reads no column of: its rule records only the whole relation (no column), it has no
       -- whole-row reference (recorded as none), and they are not security_invoker (checked as another user under it).
       (SELECT array_agg(${nodeName("'pg_class'::regclass", 'o.refobjid')}) FROM (
          SELECT d.refobjid FROM pg_rewrite r
            JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
            JOIN pg_class c ON c.oid = d.refobjid AND c.relkind = 'v'
           WHERE named.classid = 'pg_class'::regclass AND r.ev_class = named.objid AND d.refobjid <> r.ev_class
             AND position(':varattno 0 ' IN r.ev_action::text) = 0
             AND coalesce(array_to_string(c.reloptions, ','), '') NOT ILIKE '%security_invoker%'
           GROUP BY d.refobjid HAVING bool_and(d.refobjsubid = 0)) o) AS opaque
  FROM named`;

/**
 * The views and materialized views standing on the objects `$1` (node kinds `relation`, `routine`, `type`), `$2`
 * (schemas) and `$3` (names), directly or through other views and routines, as the database records it: a view's
 * rewrite rule, a routine's normal dependencies (argument and result types, a `BEGIN ATOMIC` body). A relation stands
 * for its row type too, a type for its array type. Each node's dependents are looked up by index (`pg_depend` by what
 * is referenced, `pg_rewrite` by its oid): the cost follows what stands on the objects, not the database.
 */
export const DEPENDENT_VIEWS = `
WITH RECURSIVE k(node, nsp, name) AS MATERIALIZED (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
), node(classid, objid) AS (
  SELECT 'pg_class'::regclass::oid, c.oid FROM k JOIN pg_namespace n ON n.nspname = k.nsp
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = k.name WHERE k.node = 'relation'
  UNION
  SELECT 'pg_proc'::regclass::oid, p.oid FROM k JOIN pg_namespace n ON n.nspname = k.nsp
    JOIN pg_proc p ON p.pronamespace = n.oid AND p.proname = k.name WHERE k.node = 'routine'
  UNION
  SELECT 'pg_type'::regclass::oid, t.oid FROM k JOIN pg_namespace n ON n.nspname = k.nsp
    JOIN pg_type t ON t.typnamespace = n.oid AND t.typname = k.name WHERE k.node = 'type'
  UNION
  SELECT e.classid, e.objid FROM node x, LATERAL (
    SELECT 'pg_type'::regclass::oid AS classid, c.reltype AS objid FROM pg_class c
     WHERE x.classid = 'pg_class'::regclass AND c.oid = x.objid AND c.reltype <> 0
    UNION ALL
    SELECT 'pg_type'::regclass::oid, t.typarray FROM pg_type t
     WHERE x.classid = 'pg_type'::regclass AND t.oid = x.objid AND t.typarray <> 0
    UNION ALL
    SELECT 'pg_class'::regclass::oid, r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
     WHERE d.refclassid = x.classid AND d.refobjid = x.objid AND d.classid = 'pg_rewrite'::regclass AND r.ev_class <> x.objid
    UNION ALL
    SELECT 'pg_proc'::regclass::oid, d.objid FROM pg_depend d
     WHERE d.refclassid = x.classid AND d.refobjid = x.objid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'n'
  ) e
)
SELECT DISTINCT n.nspname AS schema, c.relname AS name, c.relkind AS relkind
  FROM node x JOIN pg_class c ON c.oid = x.objid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE x.classid = 'pg_class'::regclass AND c.relkind IN ('v', 'm')
 ORDER BY 1, 2`;

/**
 * How many views, materialized views and other rewrite rules the database holds besides its system catalogs' (which
 * initdb created below the first normal object id, 16384): each view and materialized view has one `_RETURN` rule.
 * No more than the project's own views: no other view can stand on what the project changed, and the walk is not
 * sent (at 5,000 objects, walking up from the 80 objects an incremental deployment changed visits 492 views of the
 * project itself, 50-80 ms, to find none of another; this count takes 1-2 ms).
 */
const USER_RULES = `SELECT count(*)::int AS n FROM pg_rewrite WHERE ev_class >= 16384`;

/** A SQL expression naming the object (`classid`, `objid`) as a dependency node, or NULL for other objects. */
function nodeName(classid: string, objid: string): string {
  return `(CASE ${classid}
    WHEN 'pg_class'::regclass THEN (SELECT 'relation:' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ${objid})
    WHEN 'pg_proc'::regclass THEN (SELECT 'routine:' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = ${objid})
    WHEN 'pg_type'::regclass THEN (SELECT CASE WHEN r.relid IS NOT NULL THEN (SELECT 'relation:' || rn.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace rn ON rn.oid = c.relnamespace WHERE c.oid = r.relid)
        ELSE 'type:' || n.nspname || '.' || coalesce((SELECT e.typname FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'), t.typname) END
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        CROSS JOIN LATERAL (SELECT (SELECT c.oid FROM pg_class c WHERE c.relkind <> 'c' AND c.oid = coalesce(nullif(t.typrelid, 0), (SELECT nullif(e.typrelid, 0) FROM pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A'))) AS relid) r WHERE t.oid = ${objid})
  END)`;
}

function quote(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function splitParent(parent: string | undefined): [string | null, string | null] {
  if (!parent) return [null, null];
  const dot = parent.indexOf('.');
  return dot < 0 ? [null, parent] : [parent.slice(0, dot), parent.slice(dot + 1)];
}

/** Smoke checks on PostgreSQL (a server or PGlite: the same catalog). */
export const postgresSmoke: PostgresSmokeDialect = {
  timeoutStatement: (ms) => `SET LOCAL statement_timeout = ${Math.max(1, Math.round(ms))}`,
  boundsOneQuery: (conn) => conn.queryPrepared !== undefined,

  async missingObjects(conn: Connection, keys: ObjectKey[], timeoutMs?: number): Promise<ObjectKey[]> {
    const kinds = [...new Set(keys.map((k) => k.kind))].filter((kind) => Object.hasOwn(EXISTS_BY_KIND, kind)).sort();
    if (kinds.length === 0) return [];
    const parents = keys.map((k) => splitParent(k.parent));
    // A bound of its own (`boundsOneQuery`): the query's statement_timeout set in its request, for it alone.
    const bounded =
      timeoutMs !== undefined && conn.queryPrepared
        ? <Row>(sql: string, params: unknown[]) =>
            conn.queryPrepared!<Row>(sql, params, { statement_timeout: String(Math.max(1, Math.round(timeoutMs))) })
        : <Row>(sql: string, params: unknown[]) => catalogQuery<Row>(conn, sql, params);
    const r = await bounded<{ i: number }>(missingObjectsSql(kinds), [
      keys.map((_, i) => i),
      keys.map((k) => k.kind),
      keys.map((k) => k.schema),
      keys.map((k) => k.name),
      keys.map((k) => `${k.schema ? quote(k.schema) + '.' : ''}${quote(k.name)}(${(k.args ?? []).join(', ')})`),
      parents.map((p) => p[0]),
      parents.map((p) => p[1]),
      keys.map((k) => (k.args ?? []).join(', ')),
    ]);
    return r.rows.map((row) => keys[Number(row.i)]!);
  },

  compileStatement(key) {
    if (key.kind !== 'view' && key.kind !== 'materialized-view') return null;
    const name = `${key.schema ? quote(key.schema) + '.' : ''}${quote(key.name)}`;
    if (key.kind === 'view') return `SELECT * FROM ${name} LIMIT 0`;
    // A materialized view created WITH NO DATA cannot be read until refreshed: its query is what must compile.
    const literal = `'${name.replace(/'/g, "''")}'`;
    return `DO $dbee$ BEGIN EXECUTE 'SELECT * FROM (' || rtrim(pg_get_viewdef(${literal}::regclass), '; ') || ') q LIMIT 0'; END $dbee$`;
  },

  async viewDependencies(conn, views) {
    if (views.length === 0) return new Map();
    const r = await catalogQuery<{ node: string | null; deps: string[]; overloads: number; opaque: string[] | null }>(
      conn,
      VIEW_DEPENDENCIES,
      [views.map((v) => `${quote(v.schema)}.${quote(v.name)}`)],
    );
    const nodes = new Map<string, DependencyNode>();
    for (const row of r.rows) {
      if (row.node === null) continue;
      const known = nodes.get(row.node);
      const dependsOn = [...new Set([...(known?.dependsOn ?? []), ...row.deps])];
      nodes.set(row.node, {
        dependsOn,
        ...(row.overloads ? { overloads: row.overloads } : {}),
        ...(row.opaque?.length ? { opaque: row.opaque } : {}),
      });
    }
    return nodes;
  },

  async dependentViews(conn, objects, own) {
    if (objects.length === 0) return [];
    const views = own.filter((k) => k.kind === 'view' || k.kind === 'materialized-view').length;
    if ((await catalogQuery<{ n: number }>(conn, USER_RULES, [])).rows[0]!.n <= views) return [];
    const r = await catalogQuery<{ schema: string; name: string; relkind: string }>(conn, DEPENDENT_VIEWS, [
      objects.map((o) => o.node),
      objects.map((o) => o.schema),
      objects.map((o) => o.name),
    ]);
    return r.rows.map((row) => ({
      kind: row.relkind === 'm' ? 'materialized-view' : 'view',
      schema: row.schema,
      name: row.name,
    }));
  },

  async typeNames(conn, typeIds) {
    if (typeIds.length === 0) return new Map();
    const r = await catalogQuery<{ oid: number | string; name: string }>(
      conn,
      `SELECT oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1)`,
      [[...new Set(typeIds)]],
    );
    return new Map(r.rows.map((row) => [Number(row.oid), row.name]));
  },

  routineCall(kind, name, argCount) {
    const args = Array.from({ length: argCount }, (_, i) => `$${i + 1}`).join(', ');
    return kind === 'procedure' ? `CALL ${name}(${args})` : `SELECT * FROM ${name}(${args})`;
  },
};
