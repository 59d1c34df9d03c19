import type { Connection, MissingRows, SampleCopied, SamplePurpose } from '@dbee/core';
import { DbeeError, ExitCode } from '@dbee/core/errors';
import { ident, literal } from '../render/quote';

/** A table as `schema.name` (unquoted), the key the sample is kept by. */
type TableName = string;

/** A foreign key of the copy, its child side given as the table rows are sampled from (a partition's: its root). */
interface ForeignKey {
  name: string;
  /** The table whose rows reference (the constraint's table, or the root of the partition tree it is on). */
  child: TableName;
  /** The constraint's own table (a partition, for a key declared on each partition as pg_dump prints them). */
  on: TableName;
  parent: TableName;
  columns: string[];
  referenced: string[];
  deferrable: boolean;
}

/** The copy's foreign keys (not a partition's clone of its parent's), each child side given as its tree's root. */
const FOREIGN_KEYS = `
SELECT c.conname AS name,
       cs.nspname || '.' || cc.relname AS on_table,
       rs.nspname || '.' || rc.relname AS child,
       ps.nspname || '.' || pc.relname AS parent,
       array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
       array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS referenced,
       c.condeferrable AS deferrable
  FROM pg_constraint c
  JOIN pg_class cc ON cc.oid = c.conrelid JOIN pg_namespace cs ON cs.oid = cc.relnamespace
  JOIN pg_class rc ON rc.oid = coalesce(pg_partition_root(c.conrelid), c.conrelid)
  JOIN pg_namespace rs ON rs.oid = rc.relnamespace
  JOIN pg_class pc ON pc.oid = c.confrelid JOIN pg_namespace ps ON ps.oid = pc.relnamespace
 WHERE c.contype = 'f' AND c.conparentid = 0
   AND cs.nspname NOT IN ('pg_catalog', 'information_schema')`;

/**
 * `DiffRole.copySample` for PostgreSQL: sample `tables` on the target, follow the copy's foreign keys to the rows the
 * sample references (read on the target by their keys, table after table until none is missing), then load it all
 * into the copy in one transaction: each enabled user trigger of those tables disabled, each of their foreign keys
 * made deferrable and deferred, the rows inserted (generated columns left to the copy, identity values kept), the
 * keys checked at once (`SET CONSTRAINTS ALL IMMEDIATE`), then triggers and keys put back as they were, and the
 * tables' sequences set to the target's values. Rows travel as JSON text, so every type goes back as it came.
 */
export async function copySample(
  from: Connection,
  to: Connection,
  tables: readonly { schema: string; name: string; limit: number }[],
  purpose: SamplePurpose = 'rollback-test',
): Promise<SampleCopied> {
  const limits = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t.limit]));
  const keys = (await to.query<ForeignKeyRow>(FOREIGN_KEYS)).rows.map(foreignKey);
  // One key per child, parent and columns (pg_dump declares a partitioned table's keys on each partition).
  const follow = [
    ...new Map(keys.map((k) => [JSON.stringify([k.child, k.parent, k.columns, k.referenced]), k])).values(),
  ];
  const rows = new Map<TableName, Set<string>>();
  let fresh = new Map<TableName, string[]>();
  const beyond = new Set<TableName>();
  for (const [table, limit] of limits) {
    if (limit <= 0) continue;
    // One row more than the limit says whether the table holds more (that row is not copied).
    const sampled = await readJson(
      from,
      `SELECT row_to_json(t)::text AS r FROM ${qualified(table)} AS t LIMIT ${Math.floor(limit) + 1}`,
    );
    if (sampled.length > Math.floor(limit)) {
      beyond.add(table);
      sampled.pop();
    }
    if (!sampled.length) continue;
    rows.set(table, new Set(sampled));
    fresh.set(table, sampled);
  }
  // The referenced rows, table after table: only those the sample names and the copy does not hold yet.
  while (fresh.size) {
    const next = new Map<TableName, string[]>();
    for (const [table, added] of fresh)
      for (const fk of follow.filter((k) => k.child === table)) {
        const wanted = referencedKeys(added, fk);
        if (!wanted.length) continue;
        if (limits.get(fk.parent) === 0)
          throw sampleError(
            purpose,
            `the sampled rows of ${table} reference ${wanted.length} row${wanted.length === 1 ? '' : 's'} of ${fk.parent} (${fk.name}), which verify.sampleTables gives 0 rows`,
            `give ${table} 0 rows too, or let ${fk.parent} be sampled (only the rows the sample references are read)`,
          );
        const found = await readJson(
          from,
          `SELECT row_to_json(p)::text AS r FROM ${qualified(fk.parent)} AS p WHERE (${fk.referenced.map((c) => `p.${ident(c)}`).join(', ')}) IN (SELECT ${fk.referenced.map(ident).join(', ')} FROM json_populate_recordset(NULL::${qualified(fk.parent)}, $1::json))`,
          [JSON.stringify(wanted)],
        );
        const have = rows.get(fk.parent) ?? new Set<string>();
        rows.set(fk.parent, have);
        for (const r of found)
          if (!have.has(r)) {
            have.add(r);
            next.set(fk.parent, [...(next.get(fk.parent) ?? []), r]);
          }
      }
    fresh = next;
  }
  if (rows.size) await load(from, to, rows, keys, purpose);
  return Object.assign(new Map([...rows].map(([t, r]) => [t, r.size])), { beyond });
}

/** The sample loaded into the copy in one transaction (see `copySample`); a failure refuses, naming what failed. */
async function load(
  from: Connection,
  to: Connection,
  rows: Map<TableName, Set<string>>,
  keys: ForeignKey[],
  purpose: SamplePurpose,
) {
  const tables = [...rows.keys()];
  const list = `ARRAY[${tables.map((t) => literal(qualified(t))).join(', ')}]::regclass[]`;
  // Triggers of the tables and of their partitions (a row inserted through the root fires the partition's).
  const triggers = (
    await to.query<{ on_table: string; name: string; enabled: string }>(
      `SELECT t.tgrelid::regclass::text AS on_table, t.tgname AS name, t.tgenabled AS enabled FROM pg_trigger t
        WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgparentid = 0
          AND coalesce(pg_partition_root(t.tgrelid), t.tgrelid) = ANY(${list})`,
    )
  ).rows;
  const involved = keys.filter((k) => rows.has(k.child) && !k.deferrable);
  const columns = await insertable(to, tables);
  const enable = (mode: string) => (mode === 'A' ? 'ENABLE ALWAYS' : mode === 'R' ? 'ENABLE REPLICA' : 'ENABLE');
  const before = [
    'BEGIN',
    ...triggers.map((t) => `ALTER TABLE ${t.on_table} DISABLE TRIGGER ${ident(t.name)}`),
    ...involved.map(
      (k) => `ALTER TABLE ${qualified(k.on)} ALTER CONSTRAINT ${ident(k.name)} DEFERRABLE INITIALLY DEFERRED`,
    ),
    'SET CONSTRAINTS ALL DEFERRED',
  ];
  const after = [
    ...involved.map((k) => `ALTER TABLE ${qualified(k.on)} ALTER CONSTRAINT ${ident(k.name)} NOT DEFERRABLE`),
    ...triggers.map((t) => `ALTER TABLE ${t.on_table} ${enable(t.enabled)} TRIGGER ${ident(t.name)}`),
    'COMMIT',
  ];
  try {
    for (const sql of before) await to.execute(sql);
    for (const [table, sample] of rows) {
      const cols = columns.get(table)!.map(ident).join(', ');
      await to.query(
        `INSERT INTO ${qualified(table)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM json_populate_recordset(NULL::${qualified(table)}, $1::json)`,
        [`[${[...sample].join(',')}]`],
      );
    }
    await to.execute('SET CONSTRAINTS ALL IMMEDIATE');
    for (const sql of after) await to.execute(sql);
  } catch (e) {
    await to.execute('ROLLBACK').catch(() => {});
    const err = e as { message?: string; detail?: string };
    throw sampleError(
      purpose,
      `${err.message ?? String(e)}${err.detail ? ` (${err.detail})` : ''}`,
      purpose === 'preview'
        ? "the base holds rows its own constraints do not accept (a NOT VALID key, say), or rows changed while they were read: run the command again, or take the table out of the project's referenceData"
        : 'the target holds rows its own constraints do not accept (a NOT VALID key, say), or rows changed while they were read: run the dry run again, or give the table 0 rows in verify.sampleTables',
    );
  }
  await sequencesAsOnTarget(from, to, tables);
}

/** The columns an INSERT may name (not generated ones: the copy computes those). */
async function insertable(conn: Connection, tables: TableName[]): Promise<Map<TableName, string[]>> {
  const out = new Map<TableName, string[]>();
  for (const t of tables) {
    const cols = await conn.query<{ attname: string }>(
      `SELECT attname FROM pg_attribute WHERE attrelid = ${literal(qualified(t))}::regclass AND attnum > 0
          AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    );
    out.set(
      t,
      cols.rows.map((c) => c.attname),
    );
  }
  return out;
}

/** The sampled tables' own sequences (serial, identity) set as the target's, so new rows do not take sampled ids. */
async function sequencesAsOnTarget(from: Connection, to: Connection, tables: TableName[]): Promise<void> {
  for (const t of tables) {
    const seqs = await to.query<{ seq: string }>(
      `SELECT pg_get_serial_sequence(${literal(qualified(t))}, attname) AS seq FROM pg_attribute
        WHERE attrelid = ${literal(qualified(t))}::regclass AND attnum > 0 AND NOT attisdropped
          AND pg_get_serial_sequence(${literal(qualified(t))}, attname) IS NOT NULL`,
    );
    for (const { seq } of seqs.rows) {
      const v = (
        await from.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${seq}`)
      ).rows[0];
      if (v) await to.query(`SELECT setval(${literal(seq)}, ${Number(v.last_value)}, ${v.is_called})`);
    }
  }
}

/** The distinct non-null key values the rows name through `fk`, as objects of the referenced columns. */
function referencedKeys(rows: readonly string[], fk: ForeignKey): Record<string, unknown>[] {
  const seen = new Map<string, Record<string, unknown>>();
  for (const text of rows) {
    const row = JSON.parse(text) as Record<string, unknown>;
    const values = fk.columns.map((c) => row[c]);
    // MATCH SIMPLE: a key with a null column references nothing.
    if (values.some((v) => v === null || v === undefined)) continue;
    const id = JSON.stringify(values);
    if (!seen.has(id)) seen.set(id, Object.fromEntries(fk.referenced.map((c, i) => [c, values[i]])));
  }
  return [...seen.values()];
}

/**
 * `DiffRole.missingRows` for PostgreSQL: only a foreign key's referenced row absent from the copy (23503 with `is not
 * present in table`); the target is asked whether it holds that key (the values as the error prints them). `error` is
 * what a connection threw: its `DbeeError` (postgres-errors.ts) keeps the server's fields on the driver's error, its
 * cause.
 */
export async function missingRows(
  error: unknown,
  copy: Connection,
  target: Connection | null,
): Promise<MissingRows | null> {
  const e = serverError(error);
  const m = e.code === '23503' ? /^Key \((.+)\)=\((.*)\) is not present in table "(.+)"\.$/.exec(e.detail ?? '') : null;
  if (!m || !e.constraint || !e.schema || !e.table) return null;
  const fk = (
    await copy.query<{ parent: string; referenced: string[] }>(
      `SELECT ps.nspname || '.' || pc.relname AS parent,
              array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS referenced
         FROM pg_constraint c JOIN pg_class pc ON pc.oid = c.confrelid JOIN pg_namespace ps ON ps.oid = pc.relnamespace
        WHERE c.contype = 'f' AND c.conname = $1 AND c.conrelid = $2::regclass`,
      [e.constraint, `${ident(e.schema)}.${ident(e.table)}`],
    )
  ).rows[0];
  if (!fk) return null;
  const rows = `(${m[1]})=(${m[2]})`;
  if (!target) return { table: fk.parent, rows, onTarget: null };
  // The key as the error prints it: each value's text, joined by ", " (ri_ReportViolation).
  const printed = fk.referenced.map((c) => `coalesce(p.${ident(c)}::text, 'null')`).join(` || ', ' || `);
  const held = await target
    .query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${qualified(fk.parent)} AS p WHERE ${printed} = $1) AS held`,
      [m[2]],
    )
    .then(
      (r) => r.rows[0]?.held === true,
      () => false,
    );
  return { table: fk.parent, rows, onTarget: held };
}

/** The server's error under the `DbeeError`s a connection wraps it in (`mapPostgresError` keeps it as the cause). */
function serverError(error: unknown): {
  code?: string;
  detail?: string;
  constraint?: string;
  schema?: string;
  table?: string;
} {
  let e = error;
  while (e instanceof DbeeError && e.cause !== undefined) e = e.cause;
  return (e ?? {}) as ReturnType<typeof serverError>;
}

interface ForeignKeyRow {
  name: string;
  on_table: string;
  child: string;
  parent: string;
  columns: string[];
  referenced: string[];
  deferrable: boolean;
}

function foreignKey(r: ForeignKeyRow): ForeignKey {
  return {
    name: r.name,
    on: r.on_table,
    child: r.child,
    parent: r.parent,
    columns: r.columns,
    referenced: r.referenced,
    deferrable: r.deferrable,
  };
}

async function readJson(conn: Connection, sql: string, params?: unknown[]): Promise<string[]> {
  return (await conn.query<{ r: string }>(sql, params)).rows.map((x) => x.r);
}

function qualified(table: TableName): string {
  const dot = table.indexOf('.');
  return `${ident(table.slice(0, dot))}.${ident(table.slice(dot + 1))}`;
}

function sampleError(purpose: SamplePurpose, what: string, hint: string): DbeeError {
  if (purpose === 'preview')
    return new DbeeError(`preview: the base's reference rows cannot be loaded into the preview: ${what}`, {
      code: 'PREVIEW_REFERENCE_DATA',
      hint,
      exitCode: ExitCode.invalid,
    });
  return new DbeeError(`rollback test: the sample of the target's rows cannot be loaded into the copy: ${what}`, {
    code: 'ROLLBACK_TEST_SAMPLE',
    hint,
    exitCode: ExitCode.invalid,
  });
}

/**
 * `DiffRole.maintainedColumns` for PostgreSQL: the columns of `tables` that an enabled BEFORE UPDATE row trigger's
 * function assigns (`NEW.col := ...` or `NEW.col = ...` in its source), each with the trigger's name.
 */
export async function maintainedColumns(
  conn: Connection,
  tables: readonly string[],
): Promise<{ table: string; column: string; trigger: string }[]> {
  if (!tables.length) return [];
  const rows = (
    await conn.query<{ on_table: string; trigger: string; src: string; columns: string[] }>(
      `SELECT n.nspname || '.' || c.relname AS on_table, t.tgname AS trigger, p.prosrc AS src,
              array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND (t.tgtype & 1) = 1 AND (t.tgtype & 2) = 2 AND (t.tgtype & 16) = 16
          AND n.nspname || '.' || c.relname = ANY($1::text[])`,
      [[...tables]],
    )
  ).rows;
  const out: { table: string; column: string; trigger: string }[] = [];
  for (const r of rows) {
    const assigned = new Set(
      [...r.src.matchAll(/\bNEW\s*\.\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*:?=(?!=)/gi)].map(
        (m) => m[1] ?? m[2]!.toLowerCase(),
      ),
    );
    for (const column of r.columns)
      if (assigned.has(column)) out.push({ table: r.on_table, column, trigger: r.trigger });
  }
  return out;
}
