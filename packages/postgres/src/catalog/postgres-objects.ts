import type { Connection, ObjectKey, PlanStep } from '@dbee/core';
import { catalogQuery } from '../connection/postgres-connection';
import { ident, literal, qualified } from '../render/quote';

/**
 * Catalog lookups behind the deploy safety net on PostgreSQL: which objects exist (conflicts), their current
 * definitions (the ledger's previous definition, and the reverse of a replacing step), and how an existing object
 * is moved out of the way of a CREATE (conflict strategies `rename` and `drop`). Reads only; the statements it
 * returns run later, inside the step's transaction.
 */

/** How a key is looked up: a relation, routine or type by its qualified name, a sub-object by its table. */
interface Probe {
  category:
    | 'schema'
    | 'extension'
    | 'relation'
    | 'routine'
    | 'routine-name'
    | 'type'
    | 'collation'
    | 'text-search-dictionary'
    | 'text-search-configuration'
    | 'trigger'
    | 'policy'
    | 'constraint'
    | 'none';
  /** Qualified name for to_regclass/to_regtype/to_regprocedure, the schema (routine-name), or the parent table. */
  target: string;
  name: string;
  /** Argument types of a routine, joined by U+0001 (checked with to_regtype first: PostgreSQL 15 raises otherwise). */
  args: string;
}

const RELATION_KINDS = new Set(['table', 'view', 'materialized-view', 'sequence', 'index']);
const ROUTINE_KINDS = new Set(['function', 'procedure', 'aggregate']);

function parentName(key: ObjectKey): string {
  const parent = key.parent ?? '';
  const dot = parent.indexOf('.');
  return dot < 0 ? ident(parent) : qualified(parent.slice(0, dot), parent.slice(dot + 1));
}

function routineSignature(key: ObjectKey): string {
  return `${qualified(key.schema, key.name)}(${(key.args ?? []).join(', ')})`;
}

function probe(key: ObjectKey): Probe {
  const p = (category: Probe['category'], target: string, name = key.name, args = ''): Probe => ({
    category,
    target,
    name,
    args,
  });
  if (key.kind === 'schema') return p('schema', '', key.name);
  if (key.kind === 'extension') return p('extension', '', key.name);
  if (RELATION_KINDS.has(key.kind)) return p('relation', qualified(key.schema, key.name));
  if (ROUTINE_KINDS.has(key.kind)) {
    return key.args
      ? p('routine', routineSignature(key), key.name, key.args.join('\u0001'))
      : p('routine-name', key.schema);
  }
  if (key.kind === 'type' || key.kind === 'domain') return p('type', qualified(key.schema, key.name));
  if (key.kind === 'collation' || key.kind === 'text-search-dictionary' || key.kind === 'text-search-configuration')
    return p(key.kind, key.schema);
  if ((key.kind === 'trigger' || key.kind === 'policy' || key.kind === 'constraint') && key.parent)
    return p(key.kind, parentName(key));
  return p('none', '');
}

const ROUTINE_EXISTS = `(k.args = '' OR (SELECT bool_and(to_regtype(a) IS NOT NULL) FROM unnest(string_to_array(k.args, E'\\x01')) a))
          AND to_regprocedure(k.target) IS NOT NULL`;

/** Per probe category, the condition under which probe `k` exists. */
const EXISTS_BY_CATEGORY: Record<Exclude<Probe['category'], 'none'>, string> = {
  schema: `EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = k.name)`,
  extension: `EXISTS (SELECT 1 FROM pg_extension WHERE extname = k.name)`,
  relation: `to_regclass(k.target) IS NOT NULL`,
  routine: ROUTINE_EXISTS,
  'routine-name': `EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = k.target AND p.proname = k.name)`,
  type: `to_regtype(k.target) IS NOT NULL`,
  collation: `EXISTS (SELECT 1 FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace WHERE n.nspname = k.target AND co.collname = k.name)`,
  'text-search-dictionary': `EXISTS (SELECT 1 FROM pg_ts_dict d JOIN pg_namespace n ON n.oid = d.dictnamespace WHERE n.nspname = k.target AND d.dictname = k.name)`,
  'text-search-configuration': `EXISTS (SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace WHERE n.nspname = k.target AND c.cfgname = k.name)`,
  trigger: `EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(k.target) AND tgname = k.name)`,
  policy: `EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = to_regclass(k.target) AND polname = k.name)`,
  constraint: `EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(k.target) AND conname = k.name)`,
};

/**
 * Formatted keys of those `keys` that exist, in one catalog query. Its CASE has only the categories asked about:
 * each CREATE SCHEMA of a first deploy resets the session's plan cache, and planning all ten took ~0.7 ms a project.
 */
export async function existingObjects(
  conn: Connection,
  keys: ObjectKey[],
  format: (key: ObjectKey) => string,
): Promise<Set<string>> {
  const probes = keys.map(probe);
  const categories = [...new Set(probes.map((p) => p.category))]
    .filter((c): c is Exclude<Probe['category'], 'none'> => c !== 'none')
    .sort();
  if (categories.length === 0) return new Set();
  const r = await catalogQuery<{ i: number | string }>(
    conn,
    `SELECT k.i FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS k(category, target, name, args, i)
      WHERE CASE k.category
        ${categories.map((c) => `WHEN '${c}' THEN ${EXISTS_BY_CATEGORY[c]}`).join('\n        ')}
        ELSE false END`,
    [probes.map((x) => x.category), probes.map((x) => x.target), probes.map((x) => x.name), probes.map((x) => x.args)],
  );
  return new Set(r.rows.map((row) => format(keys[Number(row.i) - 1]!)));
}

/** The oid of a routine key, or null (unknown argument types count as absent). */
async function routineOid(conn: Connection, key: ObjectKey): Promise<{ oid: number; prokind: string } | null> {
  const probeKey = probe(key);
  if (probeKey.category !== 'routine') return null;
  const r = await conn.query<{ oid: number | null; prokind: string | null }>(
    `SELECT p.oid::int AS oid, p.prokind FROM (SELECT $1::text AS target, $2::text AS args) k
       LEFT JOIN pg_proc p ON p.oid = CASE WHEN ${ROUTINE_EXISTS} THEN to_regprocedure(k.target) END`,
    [probeKey.target, probeKey.args],
  );
  const row = r.rows[0];
  return row?.oid ? { oid: row.oid, prokind: row.prokind ?? 'f' } : null;
}

interface RelationRow {
  oid: number;
  relkind: string;
  reloptions: string[] | null;
}

async function relation(conn: Connection, key: ObjectKey): Promise<RelationRow | null> {
  const r = await conn.query<RelationRow>(
    `SELECT c.oid::int AS oid, c.relkind::text AS relkind, c.reloptions FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [qualified(key.schema, key.name)],
  );
  return r.rows[0] ?? null;
}

/**
 * The current definition of an object as a statement that recreates it, or null when it does not exist or its
 * kind is not covered. Views and routines come back as `CREATE OR REPLACE`, so they can serve as the reverse of
 * a step that replaced them. A table comes back as its columns and constraints (a record, not a restore: rows
 * are not part of a definition).
 */
export async function captureDefinition(conn: Connection, key: ObjectKey): Promise<string | null> {
  const name = qualified(key.schema, key.name);
  switch (key.kind) {
    case 'view':
    case 'materialized-view':
    case 'function':
    case 'procedure':
      // One catalog query, the one that reads many at once.
      return (await captureDefinitions(conn, [key]))[0] ?? null;
    case 'trigger': {
      const r = await conn.query<{ def: string }>(
        'SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2',
        [parentName(key), key.name],
      );
      const def = r.rows[0]?.def;
      return def
        ? def.replace(/^CREATE (CONSTRAINT )?TRIGGER/, (m, c: string | undefined) =>
            c ? m : 'CREATE OR REPLACE TRIGGER',
          )
        : null;
    }
    case 'index': {
      const rel = await relation(conn, key);
      if (!rel || (rel.relkind !== 'i' && rel.relkind !== 'I')) return null;
      const r = await conn.query<{ def: string }>('SELECT pg_get_indexdef($1::oid) AS def', [rel.oid]);
      return r.rows[0]!.def;
    }
    case 'constraint': {
      const r = await conn.query<{ def: string }>(
        'SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2',
        [parentName(key), key.name],
      );
      const def = r.rows[0]?.def;
      return def ? `ALTER TABLE ${parentName(key)} ADD CONSTRAINT ${ident(key.name)} ${def}` : null;
    }
    case 'policy': {
      const r = await conn.query<{
        permissive: string;
        roles: string[];
        cmd: string;
        qual: string | null;
        with_check: string | null;
      }>(
        `SELECT permissive, roles::text[] AS roles, cmd, qual, with_check FROM pg_policies WHERE format('%I.%I', schemaname, tablename) = $1 AND policyname = $2`,
        [parentName(key), key.name],
      );
      const p = r.rows[0];
      if (!p) return null;
      return (
        `CREATE POLICY ${ident(key.name)} ON ${parentName(key)} AS ${p.permissive} FOR ${p.cmd} TO ${p.roles.map((x) => (x === 'public' ? 'PUBLIC' : ident(x))).join(', ')}` +
        (p.qual ? ` USING (${p.qual})` : '') +
        (p.with_check ? ` WITH CHECK (${p.with_check})` : '')
      );
    }
    case 'table':
      return tableDefinition(conn, key);
    case 'sequence': {
      const r = await conn.query<{ def: string }>(
        `SELECT format('CREATE SEQUENCE %s AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s%s', $1::text,
                       format_type(seqtypid, NULL), seqincrement, seqmin, seqmax, seqstart, seqcache, CASE WHEN seqcycle THEN ' CYCLE' ELSE '' END) AS def
           FROM pg_sequence WHERE seqrelid = to_regclass($1)`,
        [name],
      );
      return r.rows[0]?.def ?? null;
    }
    case 'type':
    case 'domain':
      return typeDefinition(conn, key);
    case 'schema': {
      const r = await conn.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [key.name]);
      return r.rows.length ? `CREATE SCHEMA ${ident(key.name)}` : null;
    }
    default:
      return null;
  }
}

/**
 * `captureDefinition` of each of `keys`, in order: the views (`CREATE OR REPLACE VIEW` / `CREATE MATERIALIZED VIEW` with
 * their options, from `pg_get_viewdef(oid, true)`) and routines (`pg_get_functiondef`; aggregates and routines named
 * without their arguments give null) in one catalog query, any other kind one by one.
 */
export async function captureDefinitions(conn: Connection, keys: readonly ObjectKey[]): Promise<(string | null)[]> {
  const out: (string | null)[] = keys.map(() => null);
  const views: number[] = [];
  const routines: { i: number; target: string; args: string }[] = [];
  for (const [i, key] of keys.entries()) {
    if (key.kind === 'view' || key.kind === 'materialized-view') views.push(i);
    else if (key.kind === 'function' || key.kind === 'procedure') {
      const p = probe(key);
      if (p.category === 'routine') routines.push({ i, target: p.target, args: p.args });
    } else out[i] = await captureDefinition(conn, key);
  }
  if (!views.length && !routines.length) return out;
  const r = await conn.query<{ i: number; relkind: string | null; reloptions: string[] | null; def: string | null }>(
    `SELECT k.i::int AS i, c.relkind::text AS relkind, c.reloptions, pg_get_viewdef(c.oid, true) AS def
       FROM unnest($1::int[], $2::text[]) AS k(i, target) JOIN pg_class c ON c.oid = to_regclass(k.target)
      WHERE c.relkind IN ('v', 'm')
     UNION ALL
     SELECT k.i::int, NULL, NULL, pg_get_functiondef(p.oid)
       FROM unnest($3::int[], $4::text[], $5::text[]) AS k(i, target, args)
       JOIN pg_proc p ON p.oid = CASE WHEN ${ROUTINE_EXISTS} THEN to_regprocedure(k.target) END
      WHERE p.prokind <> 'a'`,
    [
      views,
      views.map((i) => qualified(keys[i]!.schema, keys[i]!.name)),
      routines.map((x) => x.i),
      routines.map((x) => x.target),
      routines.map((x) => x.args),
    ],
  );
  for (const row of r.rows) {
    const i = Number(row.i);
    const def = (row.def ?? '').trim();
    if (!row.relkind) {
      out[i] = def;
      continue;
    }
    const name = qualified(keys[i]!.schema, keys[i]!.name);
    const body = def.replace(/;$/, '');
    const options = row.reloptions?.length ? ` WITH (${row.reloptions.join(', ')})` : '';
    out[i] =
      row.relkind === 'v'
        ? `CREATE OR REPLACE VIEW ${name}${options} AS\n${body}`
        : `CREATE MATERIALIZED VIEW ${name}${options} AS\n${body}`;
  }
  return out;
}

/** A `CREATE OR REPLACE` of a view or routine, alone: see `ObjectCatalog.replacesOnlyItself`. */
const REPLACES_ONLY_ITSELF = /^\s*CREATE\s+OR\s+REPLACE\s+(VIEW|FUNCTION|PROCEDURE)\s/i;

/**
 * Whether `step` replaces an existing view or routine by one `CREATE OR REPLACE` and nothing else: such a statement keeps
 * the object's name, columns (a view may only add some at the end), arguments and result type, so no other object's
 * definition as `captureDefinition` reads it changes (a new overload would: it is a `create`, never one of these).
 */
export function replacesOnlyItself(step: PlanStep): boolean {
  return (
    step.action === 'replace' &&
    (step.objectKey.kind === 'view' || step.objectKey.kind === 'function' || step.objectKey.kind === 'procedure') &&
    step.statements.length === 1 &&
    REPLACES_ONLY_ITSELF.test(step.statements[0]!)
  );
}

async function tableDefinition(conn: Connection, key: ObjectKey): Promise<string | null> {
  const r = await conn.query<{ def: string | null }>(
    `SELECT format(E'CREATE TABLE %s (\\n  %s\\n)', $1::text, string_agg(line, E',\\n  ' ORDER BY ord)) AS def FROM (
       SELECT a.attnum AS ord, format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
              || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
              || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED'
                      WHEN d.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid) ELSE '' END
              || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END AS line
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
       UNION ALL
       SELECT 100000 + row_number() OVER (ORDER BY conname), format('CONSTRAINT %I %s', conname, pg_get_constraintdef(oid))
         FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype <> 'n'
     ) cols
     HAVING count(*) > 0`,
    [qualified(key.schema, key.name)],
  );
  return r.rows[0]?.def ?? null;
}

async function typeDefinition(conn: Connection, key: ObjectKey): Promise<string | null> {
  const name = qualified(key.schema, key.name);
  const r = await conn.query<{
    typtype: string;
    oid: number;
    base: string | null;
    labels: string[] | null;
    attrs: string | null;
    checks: string | null;
    notnull: boolean;
  }>(
    `SELECT t.typtype::text AS typtype, t.oid::int AS oid,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
            (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid) AS labels,
            (SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
               FROM pg_attribute WHERE attrelid = t.typrelid AND attnum > 0 AND NOT attisdropped) AS attrs,
            (SELECT string_agg(format(' CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)), '' ORDER BY conname)
               FROM pg_constraint WHERE contypid = t.oid) AS checks,
            t.typnotnull AS notnull
       FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
      WHERE t.oid = to_regtype($1) AND (t.typrelid = 0 OR c.relkind = 'c')`,
    [name],
  );
  const t = r.rows[0];
  if (!t) return null;
  if (t.typtype === 'e') return `CREATE TYPE ${name} AS ENUM (${(t.labels ?? []).map(literal).join(', ')})`;
  if (t.typtype === 'c') return `CREATE TYPE ${name} AS (${t.attrs ?? ''})`;
  if (t.typtype === 'd') return `CREATE DOMAIN ${name} AS ${t.base}${t.notnull ? ' NOT NULL' : ''}${t.checks ?? ''}`;
  return null;
}

/** `name` plus `_bak_<stamp>`, shortened to PostgreSQL's 63-byte identifiers. */
export function backupName(name: string, stamp: string): string {
  const suffix = `_bak_${stamp}`;
  let base = name;
  while (Buffer.byteLength(base + suffix) > 63) base = base.slice(0, -1);
  return base + suffix;
}

/**
 * The schema that keeps the backups made in `schema` (`<schema>_dbee_bak`): outside the project's schemas, so a
 * backup is never part of its diff, drift or fingerprint; the ledger records each one for `dbee cleanup`.
 */
export function backupSchema(schema: string): string {
  let base = schema;
  while (Buffer.byteLength(base + '_dbee_bak') > 63) base = base.slice(0, -1);
  return base + '_dbee_bak';
}

/** Statements that move a renamed backup into the backup schema, and back. */
function intoBackupSchema(
  what: string,
  schema: string,
  renamed: string,
  args = '',
): { before: string; after: string; back: string; unmake: string } {
  const bak = backupSchema(schema);
  return {
    before: `CREATE SCHEMA IF NOT EXISTS ${ident(bak)}`,
    after: `ALTER ${what} ${qualified(schema, renamed)}${args} SET SCHEMA ${ident(bak)}`,
    back: `ALTER ${what} ${qualified(bak, renamed)}${args} SET SCHEMA ${ident(schema)}`,
    // Undone, the backup schema goes too when nothing else is kept in it.
    unmake: `DO $dbee$ BEGIN DROP SCHEMA IF EXISTS ${ident(bak)}; EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $dbee$`,
  };
}

const ALTER_RELATION: Record<string, string> = {
  r: 'TABLE',
  p: 'TABLE',
  v: 'VIEW',
  m: 'MATERIALIZED VIEW',
  S: 'SEQUENCE',
  i: 'INDEX',
  I: 'INDEX',
  f: 'FOREIGN TABLE',
};

/**
 * Statements that move an existing object out of the way of a CREATE. `rename` keeps it under a backup name, with
 * its data; a table's (or materialized view's) indexes and owned sequences are renamed with it, so that the new
 * object's indexes and sequences get their usual names. Tables, views, routines and types are then moved into the
 * backup schema (`backupSchema`), out of the project's diff and drift; other kinds stay where they are. `drop` drops it, without CASCADE: objects that depend on
 * it make the step fail rather than vanish silently.
 */
export async function setAside(
  conn: Connection,
  key: ObjectKey,
  strategy: 'rename' | 'drop',
  stamp: string,
): Promise<{ statements: string[]; reverse: string[] | null; backup: ObjectKey | null } | null> {
  const backupKey = (name: string): ObjectKey => ({ ...key, name });
  const renamed = backupName(key.name, stamp);
  const name = qualified(key.schema, key.name);
  if (RELATION_KINDS.has(key.kind)) {
    const rel = await relation(conn, key);
    if (!rel) return null;
    const what = ALTER_RELATION[rel.relkind];
    if (!what) return null;
    if (strategy === 'drop') {
      // Rows of tables and sequence positions cannot come back; views and indexes can be recreated.
      const reverse =
        rel.relkind === 'v' || rel.relkind === 'i' || rel.relkind === 'I' || rel.relkind === 'm'
          ? await captureReverse(conn, key, rel.relkind)
          : null;
      return { statements: [`DROP ${what} ${name}`], reverse, backup: null };
    }
    const statements = [`ALTER ${what} ${name} RENAME TO ${ident(renamed)}`];
    const reverse = [`ALTER ${what} ${qualified(key.schema, renamed)} RENAME TO ${ident(key.name)}`];
    if (rel.relkind === 'r' || rel.relkind === 'p' || rel.relkind === 'm') {
      const deps = await conn.query<{ name: string; kind: string }>(
        `SELECT c.relname AS name, c.relkind::text AS kind FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = $1::oid
         UNION
         SELECT c.relname, c.relkind::text FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
          WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1::oid
            AND d.deptype IN ('a', 'i') AND c.relkind = 'S'
         ORDER BY 1`,
        [rel.oid],
      );
      for (const d of deps.rows) {
        const alter = d.kind === 'S' ? 'SEQUENCE' : 'INDEX';
        const moved = backupName(d.name, stamp);
        statements.push(`ALTER ${alter} ${qualified(key.schema, d.name)} RENAME TO ${ident(moved)}`);
        reverse.push(`ALTER ${alter} ${qualified(key.schema, moved)} RENAME TO ${ident(d.name)}`);
      }
    }
    if (['r', 'p', 'v', 'm'].includes(rel.relkind)) {
      // Indexes and owned sequences go along with their table.
      const move = intoBackupSchema(what, key.schema, renamed);
      return {
        statements: [move.before, ...statements, move.after],
        reverse: [move.back, ...reverse, move.unmake],
        backup: { ...key, schema: backupSchema(key.schema), name: renamed },
      };
    }
    return { statements, reverse, backup: backupKey(renamed) };
  }
  if (ROUTINE_KINDS.has(key.kind)) {
    const routine = await routineOid(conn, key);
    if (!routine) return null;
    const what = routine.prokind === 'a' ? 'AGGREGATE' : 'ROUTINE';
    const signature = routineSignature(key);
    if (strategy === 'drop') {
      return {
        statements: [`DROP ${what} ${signature}`],
        reverse: routine.prokind === 'a' ? null : await captureReverse(conn, key, 'f'),
        backup: null,
      };
    }
    const args = `(${(key.args ?? []).join(', ')})`;
    const move = intoBackupSchema(what, key.schema, renamed, args);
    return {
      statements: [move.before, `ALTER ${what} ${signature} RENAME TO ${ident(renamed)}`, move.after],
      reverse: [
        move.back,
        `ALTER ${what} ${qualified(key.schema, renamed)}${args} RENAME TO ${ident(key.name)}`,
        move.unmake,
      ],
      backup: { ...key, schema: backupSchema(key.schema), name: renamed },
    };
  }
  const existing = await captureDefinition(conn, key);
  switch (key.kind) {
    case 'type':
    case 'domain': {
      const t = await conn.query<{ typtype: string }>(
        'SELECT typtype::text AS typtype FROM pg_type WHERE oid = to_regtype($1)',
        [name],
      );
      const kind = t.rows[0]?.typtype;
      if (!kind) return null;
      const what = kind === 'd' ? 'DOMAIN' : 'TYPE';
      if (strategy === 'drop')
        return { statements: [`DROP ${what} ${name}`], reverse: existing ? [existing] : null, backup: null };
      const move = intoBackupSchema(what, key.schema, renamed);
      return {
        statements: [move.before, `ALTER ${what} ${name} RENAME TO ${ident(renamed)}`, move.after],
        reverse: [
          move.back,
          `ALTER ${what} ${qualified(key.schema, renamed)} RENAME TO ${ident(key.name)}`,
          move.unmake,
        ],
        backup: { ...key, schema: backupSchema(key.schema), name: renamed },
      };
    }
    case 'schema': {
      if (existing === null) return null;
      if (strategy === 'drop')
        return { statements: [`DROP SCHEMA ${ident(key.name)}`], reverse: [existing], backup: null };
      return {
        statements: [`ALTER SCHEMA ${ident(key.name)} RENAME TO ${ident(renamed)}`],
        reverse: [`ALTER SCHEMA ${ident(renamed)} RENAME TO ${ident(key.name)}`],
        backup: backupKey(renamed),
      };
    }
    case 'trigger':
    case 'policy': {
      if (existing === null) return null;
      const what = key.kind.toUpperCase();
      const on = parentName(key);
      if (strategy === 'drop')
        return { statements: [`DROP ${what} ${ident(key.name)} ON ${on}`], reverse: [existing], backup: null };
      return {
        statements: [`ALTER ${what} ${ident(key.name)} ON ${on} RENAME TO ${ident(renamed)}`],
        reverse: [`ALTER ${what} ${ident(renamed)} ON ${on} RENAME TO ${ident(key.name)}`],
        backup: backupKey(renamed),
      };
    }
    case 'constraint': {
      if (existing === null) return null;
      const on = parentName(key);
      if (strategy === 'drop')
        return {
          statements: [`ALTER TABLE ${on} DROP CONSTRAINT ${ident(key.name)}`],
          reverse: [existing],
          backup: null,
        };
      return {
        statements: [`ALTER TABLE ${on} RENAME CONSTRAINT ${ident(key.name)} TO ${ident(renamed)}`],
        reverse: [`ALTER TABLE ${on} RENAME CONSTRAINT ${ident(renamed)} TO ${ident(key.name)}`],
        backup: backupKey(renamed),
      };
    }
    default:
      return null;
  }
}

async function captureReverse(conn: Connection, key: ObjectKey, relkind: string): Promise<string[] | null> {
  const kind = relkind === 'v' ? 'view' : relkind === 'm' ? 'materialized-view' : relkind === 'f' ? key.kind : 'index';
  const def = await captureDefinition(conn, { ...key, kind: kind as ObjectKey['kind'] });
  return def ? [def] : null;
}

/**
 * A statement that copies the rows of the columns both tables have (by name) from `backup` into `table`, then moves
 * the new table's serial and identity sequences past the copied values. One `DO` block: the column list is read
 * from the catalog when it runs, after the new table exists.
 */
export function renderCopyData(backup: ObjectKey, table: ObjectKey): string {
  const from = literal(qualified(backup.schema, backup.name));
  const to = literal(qualified(table.schema, table.name));
  return `DO $dbee$
DECLARE
  cols text;
  col record;
BEGIN
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
    FROM pg_attribute a
    JOIN pg_attribute b ON b.attrelid = ${from}::regclass AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped
   WHERE a.attrelid = ${to}::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
  IF cols IS NOT NULL THEN
    EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s', ${to}, cols, cols, ${from});
  END IF;
  FOR col IN SELECT a.attname, pg_get_serial_sequence(${to}, a.attname) AS seq
               FROM pg_attribute a WHERE a.attrelid = ${to}::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
    IF col.seq IS NOT NULL THEN
      EXECUTE format('SELECT setval(%L, COALESCE((SELECT max(%I) FROM %s), 0) + 1, false)', col.seq, col.attname, ${to});
    END IF;
  END LOOP;
END
$dbee$`;
}

/** The rows of `table`, counting at most `limit`; null when it does not exist (`ObjectCatalog.rowsUpTo`). */
export async function rowsUpTo(conn: Connection, table: ObjectKey, limit: number): Promise<number | null> {
  const name = qualified(table.schema, table.name);
  const found = await conn.query<{ relkind: string }>(
    `SELECT c.relkind::text AS relkind FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [name],
  );
  if (!found.rows[0]) return null;
  const r = await conn.query<{ n: number | string }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${name} LIMIT ${Math.max(0, Math.floor(limit))}) AS t`,
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** `pg_class.reltuples` of `table`; null when it was never analysed or does not exist (`ObjectCatalog.rowsEstimate`). */
export async function rowsEstimate(conn: Connection, table: ObjectKey): Promise<number | null> {
  const r = await conn.query<{ n: number | string | null }>(
    'SELECT c.reltuples::bigint AS n FROM pg_class c WHERE c.oid = to_regclass($1)',
    [qualified(table.schema, table.name)],
  );
  const n = r.rows[0]?.n;
  return n === undefined || n === null || Number(n) < 0 ? null : Number(n);
}
