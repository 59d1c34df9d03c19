import type { Connection, Engine, ObjectKey } from '@dbee/core';

/** The smoke-check role of the PostgreSQL engine (`Engine.smoke`). */
export type PostgresSmokeDialect = NonNullable<Engine['smoke']>;

/**
 * One catalog query for every key: each row is (ordinal, kind, schema, name, signature, parent schema, parent
 * name), and the query returns the ordinals of the keys that are not there. Routines go through
 * `to_regprocedure`, so argument types are resolved by PostgreSQL itself (`int` and `integer` are the same).
 */
const MISSING_OBJECTS = `
SELECT k.i
  FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
       AS k(i, kind, nsp, name, sig, psch, pname)
 WHERE NOT CASE k.kind
   WHEN 'schema' THEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = k.name)
   WHEN 'extension' THEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = k.name)
   WHEN 'role' THEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = k.name)
   WHEN 'table' THEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                              WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind IN ('r', 'p', 'f'))
   WHEN 'view' THEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind = 'v')
   WHEN 'materialized-view' THEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind = 'm')
   WHEN 'sequence' THEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind = 'S')
   WHEN 'index' THEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = k.nsp AND c.relname = k.name AND c.relkind IN ('i', 'I'))
   WHEN 'type' THEN EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                             WHERE n.nspname = k.nsp AND t.typname = k.name)
   WHEN 'domain' THEN EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                             WHERE n.nspname = k.nsp AND t.typname = k.name AND t.typtype = 'd')
   WHEN 'function' THEN EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure(k.sig) AND prokind IN ('f', 'w'))
   WHEN 'procedure' THEN EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure(k.sig) AND prokind = 'p')
   WHEN 'aggregate' THEN EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure(k.sig) AND prokind = 'a')
   WHEN 'trigger' THEN EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE t.tgname = k.name AND n.nspname = k.psch AND c.relname = k.pname)
   WHEN 'policy' THEN EXISTS (SELECT 1 FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE p.polname = k.name AND n.nspname = k.psch AND c.relname = k.pname)
   WHEN 'constraint' THEN EXISTS (SELECT 1 FROM pg_constraint t JOIN pg_class c ON c.oid = t.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE t.conname = k.name AND n.nspname = k.psch AND c.relname = k.pname)
   ELSE true END
 ORDER BY k.i`;

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

  async missingObjects(conn: Connection, keys: ObjectKey[]): Promise<ObjectKey[]> {
    if (keys.length === 0) return [];
    const parents = keys.map((k) => splitParent(k.parent));
    const r = await conn.query<{ i: number }>(MISSING_OBJECTS, [
      keys.map((_, i) => i),
      keys.map((k) => k.kind),
      keys.map((k) => k.schema),
      keys.map((k) => k.name),
      keys.map((k) => `${k.schema ? quote(k.schema) + '.' : ''}${quote(k.name)}(${(k.args ?? []).join(', ')})`),
      parents.map((p) => p[0]),
      parents.map((p) => p[1]),
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

  async typeNames(conn, typeIds) {
    if (typeIds.length === 0) return new Map();
    const r = await conn.query<{ oid: number | string; name: string }>(`SELECT oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1)`, [
      [...new Set(typeIds)],
    ]);
    return new Map(r.rows.map((row) => [Number(row.oid), row.name]));
  },

  routineCall(kind, name, argCount) {
    const args = Array.from({ length: argCount }, (_, i) => `$${i + 1}`).join(', ');
    return kind === 'procedure' ? `CALL ${name}(${args})` : `SELECT * FROM ${name}(${args})`;
  },
};
