import type { Client } from 'pg';

/**
 * Edit fuzzing over real schemas (issue 88, deliverable 3): the catalogue of edits a person types into psql, each a
 * form of `ALTER TABLE/INDEX/VIEW/MATERIALIZED VIEW/FUNCTION/TYPE/DOMAIN/POLICY/TRIGGER/SEQUENCE` (or the `CREATE`,
 * `DROP` and `COMMENT` beside them) from PostgreSQL's reference, made for an object of the schema chosen by the seed.
 * `test/diff-property/real-edits.ts` applies them by hand to one database and carries them to another through dbee
 * (extract, dry run, deploy); the two must then be equal.
 */

/** What an edit can be made on: the schema's objects as the catalog lists them (extensions' members left out). */
export interface Inventory {
  tables: {
    schema: string;
    name: string;
    columns: {
      name: string;
      type: string;
      notNull: boolean;
      hasDefault: boolean;
      identity: boolean;
      generated: boolean;
    }[];
    hasPrimaryKey: boolean;
    rls: boolean;
    unlogged: boolean;
  }[];
  /** Indexes that back no constraint. */
  indexes: { schema: string; name: string; table: string; expression: boolean }[];
  /** All indexes of tables and materialized views (a `CLUSTER ON` target). */
  anyIndexes: { schema: string; name: string; table: string; matview: boolean }[];
  constraints: { schema: string; table: string; name: string; type: 'c' | 'u' | 'f' | 'p' | 'x'; valid: boolean }[];
  views: { schema: string; name: string; columns: string[]; definition: string }[];
  matviews: { schema: string; name: string }[];
  functions: { schema: string; name: string; args: string; language: string; returnsTrigger: boolean }[];
  enums: { schema: string; name: string; values: string[] }[];
  composites: { schema: string; name: string }[];
  domains: { schema: string; name: string; type: string; notNull: boolean; hasDefault: boolean; checks: string[] }[];
  policies: { schema: string; table: string; name: string }[];
  triggers: { schema: string; table: string; name: string }[];
  sequences: { schema: string; name: string }[];
}

/** A seeded source of choices (mulberry32): the same seed, the same edits. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T | null {
    return items.length ? items[this.int(items.length)]! : null;
  }
}

/** An identifier as SQL reads it back. */
export function qi(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
const qn = (o: { schema: string; name: string }) => `${qi(o.schema)}.${qi(o.name)}`;
const qt = (o: { schema: string; table: string }) => `${qi(o.schema)}.${qi(o.table)}`;

/** One kind of edit: the statement it is a form of, and the SQL for one object (null: nothing in the schema fits). */
export interface EditKind {
  name: string;
  form:
    | 'TABLE'
    | 'INDEX'
    | 'VIEW'
    | 'MATERIALIZED VIEW'
    | 'FUNCTION'
    | 'TYPE'
    | 'DOMAIN'
    | 'POLICY'
    | 'TRIGGER'
    | 'SEQUENCE';
  make(inv: Inventory, rng: Rng, tag: string): string | null;
}

type Table = Inventory['tables'][number];
type Column = Table['columns'][number];

/** A table and one of its columns that `accepts` takes. */
function column(inv: Inventory, rng: Rng, accepts: (c: Column, t: Table) => boolean): { t: Table; c: Column } | null {
  const pairs = inv.tables.flatMap((t) => t.columns.filter((c) => accepts(c, t)).map((c) => ({ t, c })));
  return rng.pick(pairs);
}
const plain = (c: Column) => !c.identity && !c.generated;
const tableOf = (inv: Inventory, rng: Rng, fit: (t: Table) => boolean = () => true) => rng.pick(inv.tables.filter(fit));
const on = <T>(x: T | null, f: (x: T) => string | null) => (x ? f(x) : null);

/** The catalogue: at least 60 kinds (real-edits.test.ts holds the count). */
export const EDITS: EditKind[] = [
  // ALTER TABLE
  {
    name: 'add column',
    form: 'TABLE',
    make: (i, r, tag) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} ADD COLUMN ${tag} text`),
  },
  {
    name: 'add column with default',
    form: 'TABLE',
    make: (i, r, tag) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} ADD COLUMN ${tag} integer DEFAULT 7`),
  },
  {
    name: 'add column NOT NULL with default',
    form: 'TABLE',
    make: (i, r, tag) =>
      on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} ADD COLUMN ${tag} boolean NOT NULL DEFAULT false`),
  },
  {
    name: 'add generated column',
    form: 'TABLE',
    make: (i, r, tag) =>
      on(
        column(i, r, (c) => c.type === 'integer' || c.type === 'bigint'),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ADD COLUMN ${tag} bigint GENERATED ALWAYS AS (${qi(c.name)} * 2) STORED`,
      ),
  },
  {
    name: 'add identity primary key',
    form: 'TABLE',
    make: (i, r, tag) =>
      on(
        tableOf(i, r, (t) => !t.hasPrimaryKey),
        (t) => `ALTER TABLE ${qn(t)} ADD COLUMN ${tag} bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY`,
      ),
  },
  {
    name: 'drop column',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c, t) => plain(c) && t.columns.length > 2 && !c.notNull),
        ({ t, c }) => `ALTER TABLE ${qn(t)} DROP COLUMN ${qi(c.name)}`,
      ),
  },
  {
    name: 'alter column type integer to bigint',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.type === 'integer' && plain(c)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} TYPE bigint`,
      ),
  },
  {
    name: 'alter column type varchar wider',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => /^character varying\(\d+\)$/.test(c.type)),
        ({ t, c }) =>
          `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} TYPE varchar(${Number(/\d+/.exec(c.type)![0]) + 10})`,
      ),
  },
  {
    name: 'alter column type to text',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => /^character varying/.test(c.type) && plain(c)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} TYPE text`,
      ),
  },
  {
    name: 'alter column collation',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.type === 'text' && plain(c)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} TYPE text COLLATE "C"`,
      ),
  },
  {
    name: 'set default',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => plain(c) && c.type === 'text'),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} SET DEFAULT 'fuzz'`,
      ),
  },
  {
    name: 'drop default',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.hasDefault && plain(c)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} DROP DEFAULT`,
      ),
  },
  {
    name: 'set not null',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => !c.notNull && plain(c)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} SET NOT NULL`,
      ),
  },
  {
    name: 'drop not null',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.notNull && plain(c)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} DROP NOT NULL`,
      ),
  },
  {
    name: 'set statistics',
    form: 'TABLE',
    make: (i, r) =>
      on(column(i, r, plain), ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} SET STATISTICS 500`),
  },
  {
    name: 'set n_distinct',
    form: 'TABLE',
    make: (i, r) =>
      on(column(i, r, plain), ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} SET (n_distinct = -0.02)`),
  },
  {
    name: 'set storage',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.type === 'text'),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} SET STORAGE EXTERNAL`,
      ),
  },
  {
    name: 'set compression',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.type === 'text'),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} SET COMPRESSION pglz`,
      ),
  },
  {
    name: 'add identity',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.notNull && !c.hasDefault && plain(c) && /^(integer|bigint)$/.test(c.type)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} ADD GENERATED BY DEFAULT AS IDENTITY`,
      ),
  },
  {
    name: 'set identity increment',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, (c) => c.identity),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ALTER COLUMN ${qi(c.name)} SET INCREMENT BY 5`,
      ),
  },
  {
    name: 'add check constraint',
    form: 'TABLE',
    make: (i, r, tag) =>
      on(
        column(i, r, (c) => /^(integer|bigint|smallint|numeric)/.test(c.type)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ADD CONSTRAINT ${tag} CHECK (${qi(c.name)} > -1000000)`,
      ),
  },
  {
    name: 'add check constraint NOT VALID',
    form: 'TABLE',
    make: (i, r, tag) =>
      on(
        column(i, r, (c) => /^(integer|bigint|smallint)/.test(c.type)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ADD CONSTRAINT ${tag} CHECK (${qi(c.name)} <> 0) NOT VALID`,
      ),
  },
  {
    name: 'add unique constraint',
    form: 'TABLE',
    make: (i, r, tag) =>
      on(
        column(i, r, (c) => !c.generated && /^(integer|bigint|text|character varying.*|uuid)$/.test(c.type)),
        ({ t, c }) => `ALTER TABLE ${qn(t)} ADD CONSTRAINT ${tag} UNIQUE (${qi(c.name)})`,
      ),
  },
  {
    name: 'add foreign key',
    form: 'TABLE',
    make: (i, r, tag) => {
      const target = r.pick(
        i.constraints
          .filter((k) => k.type === 'p')
          .flatMap((k) => {
            const t = i.tables.find((x) => x.schema === k.schema && x.name === k.table);
            return t ? [{ k, t }] : [];
          }),
      );
      if (!target) return null;
      const from = tableOf(i, r);
      if (!from) return null;
      // A new nullable column referencing the key's table (its key's first column type), so any rows fit.
      const key = i.constraints.find((k) => k === target.k);
      return key
        ? `ALTER TABLE ${qn(from)} ADD COLUMN ${tag}_ref bigint; ALTER TABLE ${qn(from)} ADD CONSTRAINT ${tag} FOREIGN KEY (${tag}_ref) REFERENCES ${qt(key)} NOT VALID`
        : null;
    },
  },
  {
    name: 'drop constraint',
    form: 'TABLE',
    make: (i, r) =>
      on(
        r.pick(i.constraints.filter((k) => k.type === 'c' || k.type === 'f')),
        (k) => `ALTER TABLE ${qt(k)} DROP CONSTRAINT ${qi(k.name)}`,
      ),
  },
  {
    name: 'validate constraint',
    form: 'TABLE',
    make: (i, r) =>
      on(
        r.pick(i.constraints.filter((k) => !k.valid)),
        (k) => `ALTER TABLE ${qt(k)} VALIDATE CONSTRAINT ${qi(k.name)}`,
      ),
  },
  {
    name: 'enable row level security',
    form: 'TABLE',
    make: (i, r) =>
      on(
        tableOf(i, r, (t) => !t.rls),
        (t) => `ALTER TABLE ${qn(t)} ENABLE ROW LEVEL SECURITY`,
      ),
  },
  {
    name: 'disable row level security',
    form: 'TABLE',
    make: (i, r) =>
      on(
        tableOf(i, r, (t) => t.rls),
        (t) => `ALTER TABLE ${qn(t)} DISABLE ROW LEVEL SECURITY`,
      ),
  },
  {
    name: 'force row level security',
    form: 'TABLE',
    make: (i, r) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} FORCE ROW LEVEL SECURITY`),
  },
  {
    name: 'set fillfactor',
    form: 'TABLE',
    make: (i, r) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} SET (fillfactor = 70)`),
  },
  {
    name: 'set autovacuum off',
    form: 'TABLE',
    make: (i, r) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} SET (autovacuum_enabled = false)`),
  },
  {
    name: 'cluster on',
    form: 'TABLE',
    make: (i, r) =>
      on(
        r.pick(i.anyIndexes.filter((x) => !x.matview)),
        (x) => `ALTER TABLE ${qi(x.schema)}.${qi(x.table)} CLUSTER ON ${qi(x.name)}`,
      ),
  },
  {
    name: 'set without cluster',
    form: 'TABLE',
    make: (i, r) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} SET WITHOUT CLUSTER`),
  },
  {
    name: 'replica identity full',
    form: 'TABLE',
    make: (i, r) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} REPLICA IDENTITY FULL`),
  },
  {
    name: 'replica identity nothing',
    form: 'TABLE',
    make: (i, r) => on(tableOf(i, r), (t) => `ALTER TABLE ${qn(t)} REPLICA IDENTITY NOTHING`),
  },
  {
    name: 'comment on table',
    form: 'TABLE',
    make: (i, r) => on(tableOf(i, r), (t) => `COMMENT ON TABLE ${qn(t)} IS 'fuzzed table'`),
  },
  {
    name: 'comment on column',
    form: 'TABLE',
    make: (i, r) =>
      on(
        column(i, r, () => true),
        ({ t, c }) => `COMMENT ON COLUMN ${qn(t)}.${qi(c.name)} IS 'fuzzed column'`,
      ),
  },
  {
    name: 'create table',
    form: 'TABLE',
    make: (i, r, tag) =>
      on(
        r.pick([...new Set(i.tables.map((t) => t.schema))]),
        (s) => `CREATE TABLE ${qi(s)}.${tag} (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '', at timestamptz)`,
      ),
  },
  // ALTER INDEX, CREATE/DROP INDEX
  {
    name: 'create index',
    form: 'INDEX',
    make: (i, r, tag) =>
      on(
        column(i, r, (c) => !/\[\]$|json$|^xml|^tsvector|^geo|^point/.test(c.type)),
        ({ t, c }) => `CREATE INDEX ${tag} ON ${qn(t)} (${qi(c.name)})`,
      ),
  },
  {
    name: 'create partial index',
    form: 'INDEX',
    make: (i, r, tag) =>
      on(
        column(i, r, (c) => /^(integer|bigint|text|timestamp.*|date)$/.test(c.type)),
        ({ t, c }) => `CREATE INDEX ${tag} ON ${qn(t)} (${qi(c.name)}) WHERE ${qi(c.name)} IS NOT NULL`,
      ),
  },
  {
    name: 'create index with include',
    form: 'INDEX',
    make: (i, r, tag) =>
      on(
        tableOf(
          i,
          r,
          (t) => t.columns.filter((c) => /^(integer|bigint)$/.test(c.type)).length > 0 && t.columns.length > 1,
        ),
        (t) => {
          const key = t.columns.find((c) => /^(integer|bigint)$/.test(c.type))!;
          const other = t.columns.find((c) => c !== key)!;
          return `CREATE INDEX ${tag} ON ${qn(t)} (${qi(key.name)}) INCLUDE (${qi(other.name)})`;
        },
      ),
  },
  {
    name: 'create unique index',
    form: 'INDEX',
    make: (i, r, tag) =>
      on(
        column(i, r, (c) => /^(integer|bigint|uuid)$/.test(c.type)),
        ({ t, c }) => `CREATE UNIQUE INDEX ${tag} ON ${qn(t)} (${qi(c.name)})`,
      ),
  },
  {
    name: 'drop index',
    form: 'INDEX',
    make: (i, r) => on(r.pick(i.indexes), (x) => `DROP INDEX ${qn(x)}`),
  },
  {
    name: 'alter index set fillfactor',
    form: 'INDEX',
    make: (i, r) =>
      on(r.pick(i.indexes.filter((x) => !x.expression)), (x) => `ALTER INDEX ${qn(x)} SET (fillfactor = 80)`),
  },
  {
    name: 'alter index rename',
    form: 'INDEX',
    make: (i, r, tag) => on(r.pick(i.indexes), (x) => `ALTER INDEX ${qn(x)} RENAME TO ${tag}`),
  },
  {
    name: 'alter index column statistics',
    form: 'INDEX',
    make: (i, r) =>
      on(
        r.pick(i.indexes.filter((x) => x.expression)),
        (x) => `ALTER INDEX ${qn(x)} ALTER COLUMN 1 SET STATISTICS 300`,
      ),
  },
  // ALTER VIEW, CREATE/DROP VIEW
  {
    name: 'create view',
    form: 'VIEW',
    make: (i, r, tag) =>
      on(
        column(i, r, () => true),
        ({ t, c }) => `CREATE VIEW ${qi(t.schema)}.${tag} AS SELECT ${qi(c.name)} FROM ${qn(t)}`,
      ),
  },
  {
    name: 'replace view appending a column',
    form: 'VIEW',
    make: (i, r, tag) =>
      on(
        r.pick(
          i.views.filter((v) => !/\bUNION\b|\bORDER BY\b|\bLIMIT\b|\bGROUP BY\b|\bDISTINCT\b/i.test(v.definition)),
        ),
        (v) => {
          const body = v.definition.trim().replace(/;$/, '');
          const from = body.search(/\n\s*FROM\b/i);
          if (from < 0) return null;
          return `CREATE OR REPLACE VIEW ${qn(v)} AS ${body.slice(0, from)}, 1 AS ${tag}${body.slice(from)}`;
        },
      ),
  },
  {
    name: 'alter view set security_barrier',
    form: 'VIEW',
    make: (i, r) => on(r.pick(i.views), (v) => `ALTER VIEW ${qn(v)} SET (security_barrier = true)`),
  },
  {
    name: 'alter view column default',
    form: 'VIEW',
    make: (i, r) =>
      on(r.pick(i.views), (v) => `ALTER VIEW ${qn(v)} ALTER COLUMN ${qi(v.columns[0]!)} SET DEFAULT NULL`),
  },
  {
    name: 'comment on view',
    form: 'VIEW',
    make: (i, r) => on(r.pick(i.views), (v) => `COMMENT ON VIEW ${qn(v)} IS 'fuzzed view'`),
  },
  { name: 'drop view', form: 'VIEW', make: (i, r) => on(r.pick(i.views), (v) => `DROP VIEW ${qn(v)}`) },
  // ALTER MATERIALIZED VIEW
  {
    name: 'create materialized view',
    form: 'MATERIALIZED VIEW',
    make: (i, r, tag) =>
      on(
        column(i, r, () => true),
        ({ t, c }) =>
          `CREATE MATERIALIZED VIEW ${qi(t.schema)}.${tag} AS SELECT ${qi(c.name)} FROM ${qn(t)} WITH NO DATA`,
      ),
  },
  {
    name: 'index on materialized view',
    form: 'MATERIALIZED VIEW',
    make: (i, r, tag) => on(r.pick(i.matviews), (m) => `CREATE INDEX ${tag} ON ${qn(m)} ((1))`),
  },
  {
    name: 'materialized view cluster on',
    form: 'MATERIALIZED VIEW',
    make: (i, r) =>
      on(
        r.pick(i.anyIndexes.filter((x) => x.matview)),
        (x) => `ALTER MATERIALIZED VIEW ${qi(x.schema)}.${qi(x.table)} CLUSTER ON ${qi(x.name)}`,
      ),
  },
  {
    name: 'materialized view set fillfactor',
    form: 'MATERIALIZED VIEW',
    make: (i, r) => on(r.pick(i.matviews), (m) => `ALTER MATERIALIZED VIEW ${qn(m)} SET (fillfactor = 90)`),
  },
  {
    name: 'comment on materialized view',
    form: 'MATERIALIZED VIEW',
    make: (i, r) => on(r.pick(i.matviews), (m) => `COMMENT ON MATERIALIZED VIEW ${qn(m)} IS 'fuzzed'`),
  },
  // ALTER FUNCTION
  {
    name: 'function set search_path',
    form: 'FUNCTION',
    make: (i, r) =>
      on(
        r.pick(i.functions),
        (f) => `ALTER FUNCTION ${qn(f)}(${f.args}) SET search_path = ${qi(f.schema)}, pg_catalog`,
      ),
  },
  {
    name: 'function set work_mem',
    form: 'FUNCTION',
    make: (i, r) => on(r.pick(i.functions), (f) => `ALTER FUNCTION ${qn(f)}(${f.args}) SET work_mem = '8MB'`),
  },
  {
    name: 'function cost',
    form: 'FUNCTION',
    make: (i, r) => on(r.pick(i.functions), (f) => `ALTER FUNCTION ${qn(f)}(${f.args}) COST 321`),
  },
  {
    name: 'function volatile',
    form: 'FUNCTION',
    make: (i, r) => on(r.pick(i.functions), (f) => `ALTER FUNCTION ${qn(f)}(${f.args}) VOLATILE`),
  },
  {
    name: 'function security definer',
    form: 'FUNCTION',
    make: (i, r) => on(r.pick(i.functions), (f) => `ALTER FUNCTION ${qn(f)}(${f.args}) SECURITY DEFINER`),
  },
  {
    name: 'function strict',
    form: 'FUNCTION',
    make: (i, r) =>
      on(r.pick(i.functions.filter((f) => !f.returnsTrigger)), (f) => `ALTER FUNCTION ${qn(f)}(${f.args}) STRICT`),
  },
  {
    name: 'function parallel safe',
    form: 'FUNCTION',
    make: (i, r) => on(r.pick(i.functions), (f) => `ALTER FUNCTION ${qn(f)}(${f.args}) PARALLEL SAFE`),
  },
  {
    name: 'comment on function',
    form: 'FUNCTION',
    make: (i, r) => on(r.pick(i.functions), (f) => `COMMENT ON FUNCTION ${qn(f)}(${f.args}) IS 'fuzzed function'`),
  },
  {
    name: 'create function',
    form: 'FUNCTION',
    make: (i, r, tag) =>
      on(
        r.pick([...new Set(i.tables.map((t) => t.schema))]),
        (s) =>
          `CREATE FUNCTION ${qi(s)}.${tag}(a integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $fz$ SELECT a + 1 $fz$`,
      ),
  },
  // ALTER TYPE, CREATE TYPE
  {
    name: 'enum add value',
    form: 'TYPE',
    make: (i, r, tag) => on(r.pick(i.enums), (e) => `ALTER TYPE ${qn(e)} ADD VALUE '${tag}'`),
  },
  {
    name: 'enum add value before',
    form: 'TYPE',
    make: (i, r, tag) =>
      on(r.pick(i.enums), (e) => `ALTER TYPE ${qn(e)} ADD VALUE '${tag}' BEFORE '${e.values[0]!.replace(/'/g, "''")}'`),
  },
  {
    name: 'enum rename value',
    form: 'TYPE',
    make: (i, r, tag) =>
      on(
        r.pick(i.enums),
        (e) => `ALTER TYPE ${qn(e)} RENAME VALUE '${e.values.at(-1)!.replace(/'/g, "''")}' TO '${tag}'`,
      ),
  },
  {
    name: 'composite add attribute',
    form: 'TYPE',
    make: (i, r, tag) => on(r.pick(i.composites), (c) => `ALTER TYPE ${qn(c)} ADD ATTRIBUTE ${tag} text`),
  },
  {
    name: 'create enum type',
    form: 'TYPE',
    make: (i, r, tag) =>
      on(r.pick([...new Set(i.tables.map((t) => t.schema))]), (s) => `CREATE TYPE ${qi(s)}.${tag} AS ENUM ('a', 'b')`),
  },
  {
    name: 'comment on type',
    form: 'TYPE',
    make: (i, r) => on(r.pick(i.enums), (e) => `COMMENT ON TYPE ${qn(e)} IS 'fuzzed type'`),
  },
  // ALTER DOMAIN
  {
    name: 'domain set default',
    form: 'DOMAIN',
    make: (i, r) =>
      on(r.pick(i.domains.filter((d) => /text|char/.test(d.type))), (d) => `ALTER DOMAIN ${qn(d)} SET DEFAULT ''`),
  },
  {
    name: 'domain drop default',
    form: 'DOMAIN',
    make: (i, r) => on(r.pick(i.domains.filter((d) => d.hasDefault)), (d) => `ALTER DOMAIN ${qn(d)} DROP DEFAULT`),
  },
  {
    name: 'domain add check',
    form: 'DOMAIN',
    make: (i, r, tag) =>
      on(
        r.pick(i.domains.filter((d) => /text|char/.test(d.type))),
        (d) => `ALTER DOMAIN ${qn(d)} ADD CONSTRAINT ${tag} CHECK (length(VALUE) < 100000)`,
      ),
  },
  {
    name: 'domain drop check',
    form: 'DOMAIN',
    make: (i, r) =>
      on(
        r.pick(i.domains.flatMap((d) => d.checks.map((c) => ({ d, c })))),
        ({ d, c }) => `ALTER DOMAIN ${qn(d)} DROP CONSTRAINT ${qi(c)}`,
      ),
  },
  {
    name: 'domain drop not null',
    form: 'DOMAIN',
    make: (i, r) => on(r.pick(i.domains.filter((d) => d.notNull)), (d) => `ALTER DOMAIN ${qn(d)} DROP NOT NULL`),
  },
  {
    name: 'create domain',
    form: 'DOMAIN',
    make: (i, r, tag) =>
      on(
        r.pick([...new Set(i.tables.map((t) => t.schema))]),
        (s) => `CREATE DOMAIN ${qi(s)}.${tag} AS integer CHECK (VALUE >= 0)`,
      ),
  },
  // ALTER POLICY, CREATE/DROP POLICY
  {
    name: 'alter policy using',
    form: 'POLICY',
    make: (i, r) => on(r.pick(i.policies), (p) => `ALTER POLICY ${qi(p.name)} ON ${qt(p)} USING (true)`),
  },
  {
    name: 'alter policy to public',
    form: 'POLICY',
    make: (i, r) => on(r.pick(i.policies), (p) => `ALTER POLICY ${qi(p.name)} ON ${qt(p)} TO PUBLIC`),
  },
  {
    name: 'create policy',
    form: 'POLICY',
    make: (i, r, tag) =>
      on(tableOf(i, r), (t) => `CREATE POLICY ${tag} ON ${qn(t)} AS RESTRICTIVE FOR SELECT USING (true)`),
  },
  {
    name: 'drop policy',
    form: 'POLICY',
    make: (i, r) => on(r.pick(i.policies), (p) => `DROP POLICY ${qi(p.name)} ON ${qt(p)}`),
  },
  // ALTER TABLE ... TRIGGER, CREATE/DROP TRIGGER
  {
    name: 'disable trigger',
    form: 'TRIGGER',
    make: (i, r) => on(r.pick(i.triggers), (g) => `ALTER TABLE ${qt(g)} DISABLE TRIGGER ${qi(g.name)}`),
  },
  {
    name: 'enable replica trigger',
    form: 'TRIGGER',
    make: (i, r) => on(r.pick(i.triggers), (g) => `ALTER TABLE ${qt(g)} ENABLE REPLICA TRIGGER ${qi(g.name)}`),
  },
  {
    name: 'drop trigger',
    form: 'TRIGGER',
    make: (i, r) => on(r.pick(i.triggers), (g) => `DROP TRIGGER ${qi(g.name)} ON ${qt(g)}`),
  },
  {
    name: 'create trigger',
    form: 'TRIGGER',
    make: (i, r, tag) => {
      const f = r.pick(i.functions.filter((x) => x.returnsTrigger && x.args === ''));
      const t = tableOf(i, r);
      return f && t
        ? `CREATE TRIGGER ${tag} BEFORE UPDATE ON ${qn(t)} FOR EACH ROW WHEN (false) EXECUTE FUNCTION ${qn(f)}()`
        : null;
    },
  },
  {
    name: 'comment on trigger',
    form: 'TRIGGER',
    make: (i, r) => on(r.pick(i.triggers), (g) => `COMMENT ON TRIGGER ${qi(g.name)} ON ${qt(g)} IS 'fuzzed trigger'`),
  },
  // ALTER SEQUENCE, CREATE SEQUENCE
  {
    name: 'sequence increment',
    form: 'SEQUENCE',
    make: (i, r) => on(r.pick(i.sequences), (s) => `ALTER SEQUENCE ${qn(s)} INCREMENT BY 3`),
  },
  {
    name: 'sequence cache',
    form: 'SEQUENCE',
    make: (i, r) => on(r.pick(i.sequences), (s) => `ALTER SEQUENCE ${qn(s)} CACHE 20`),
  },
  {
    name: 'sequence cycle',
    form: 'SEQUENCE',
    make: (i, r) => on(r.pick(i.sequences), (s) => `ALTER SEQUENCE ${qn(s)} CYCLE`),
  },
  {
    name: 'sequence maxvalue',
    form: 'SEQUENCE',
    make: (i, r) => on(r.pick(i.sequences), (s) => `ALTER SEQUENCE ${qn(s)} MAXVALUE 900000000`),
  },
  {
    name: 'create sequence',
    form: 'SEQUENCE',
    make: (i, r, tag) =>
      on(
        r.pick([...new Set(i.tables.map((t) => t.schema))]),
        (s) => `CREATE SEQUENCE ${qi(s)}.${tag} START 100 INCREMENT 10`,
      ),
  },
  {
    name: 'comment on sequence',
    form: 'SEQUENCE',
    make: (i, r) => on(r.pick(i.sequences), (s) => `COMMENT ON SEQUENCE ${qn(s)} IS 'fuzzed sequence'`),
  },
];

/** The schema's objects an edit can be made on, read from the catalog of `client` (schemas `schemas`). */
export async function inventory(client: Client, schemas: readonly string[]): Promise<Inventory> {
  const q = async <T>(sql: string) => (await client.query(sql, [schemas])).rows as T[];
  // Objects that belong to an extension are the extension's: no edit is made on them.
  const notExt = (oid: string, catalog: string) =>
    `NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
  const tables = await q<Inventory['tables'][number] & { columns: Column[] }>(`
    SELECT n.nspname AS schema, c.relname AS name, c.relrowsecurity AS rls, c.relpersistence = 'u' AS unlogged,
      EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS "hasPrimaryKey",
      coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
        'notNull', a.attnotnull, 'hasDefault', a.atthasdef, 'identity', a.attidentity <> '', 'generated', a.attgenerated <> '')
        ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1) AND c.relkind = 'r' AND NOT c.relispartition AND ${notExt('c.oid', 'pg_class')}
    ORDER BY 1, 2`);
  const anyIndexes = await q<Inventory['anyIndexes'][number] & { constraint: boolean; expression: boolean }>(`
    SELECT n.nspname AS schema, i.relname AS name, t.relname AS "table", t.relkind = 'm' AS matview,
      EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.oid) AS constraint, x.indexprs IS NOT NULL AS expression
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = ANY($1) AND t.relkind IN ('r', 'm') AND NOT t.relispartition AND ${notExt('t.oid', 'pg_class')}
    ORDER BY 1, 2`);
  const constraints = await q<Inventory['constraints'][number]>(`
    SELECT n.nspname AS schema, t.relname AS "table", k.conname AS name, k.contype AS type, k.convalidated AS valid
    FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = ANY($1) AND t.relkind = 'r' AND NOT t.relispartition AND ${notExt('t.oid', 'pg_class')}
    ORDER BY 1, 2, 3`);
  const views = await q<Inventory['views'][number]>(`
    SELECT n.nspname AS schema, c.relname AS name, pg_get_viewdef(c.oid) AS definition,
      (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) AS columns
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1) AND c.relkind = 'v' AND ${notExt('c.oid', 'pg_class')}
      AND NOT EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid WHERE d.refobjid = c.oid AND w.ev_class <> c.oid)
    ORDER BY 1, 2`);
  const matviews = await q<Inventory['matviews'][number]>(`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1) AND c.relkind = 'm' AND ${notExt('c.oid', 'pg_class')} ORDER BY 1, 2`);
  const functions = await q<Inventory['functions'][number]>(`
    SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args,
      l.lanname AS language, p.prorettype = 'trigger'::regtype AS "returnsTrigger"
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
    WHERE n.nspname = ANY($1) AND p.prokind = 'f' AND l.lanname IN ('sql', 'plpgsql') AND ${notExt('p.oid', 'pg_proc')}
    ORDER BY 1, 2, 3`);
  const enums = await q<Inventory['enums'][number]>(`
    SELECT n.nspname AS schema, t.typname AS name,
      (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) AS values
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = ANY($1) AND t.typtype = 'e' AND ${notExt('t.oid', 'pg_type')} ORDER BY 1, 2`);
  const composites = await q<Inventory['composites'][number]>(`
    SELECT n.nspname AS schema, t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    JOIN pg_class c ON c.oid = t.typrelid
    WHERE n.nspname = ANY($1) AND t.typtype = 'c' AND c.relkind = 'c' AND ${notExt('t.oid', 'pg_type')} ORDER BY 1, 2`);
  const domains = await q<Inventory['domains'][number]>(`
    SELECT n.nspname AS schema, t.typname AS name, format_type(t.typbasetype, t.typtypmod) AS type,
      t.typnotnull AS "notNull", t.typdefault IS NOT NULL AS "hasDefault",
      coalesce((SELECT array_agg(k.conname ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), '{}') AS checks
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = ANY($1) AND t.typtype = 'd' AND ${notExt('t.oid', 'pg_type')} ORDER BY 1, 2`);
  const policies = await q<Inventory['policies'][number]>(`
    SELECT schemaname AS schema, tablename AS "table", policyname AS name FROM pg_policies
    WHERE schemaname = ANY($1) ORDER BY 1, 2, 3`);
  const triggers = await q<Inventory['triggers'][number]>(`
    SELECT n.nspname AS schema, c.relname AS "table", g.tgname AS name
    FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1) AND NOT g.tgisinternal AND c.relkind = 'r' AND NOT c.relispartition ORDER BY 1, 2, 3`);
  const sequences = await q<Inventory['sequences'][number]>(`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1) AND c.relkind = 'S' AND ${notExt('c.oid', 'pg_class')}
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')
    ORDER BY 1, 2`);
  return {
    tables,
    indexes: anyIndexes.filter((x) => !x.constraint && !x.matview),
    anyIndexes,
    constraints,
    views,
    matviews,
    functions,
    enums,
    composites,
    domains,
    policies,
    triggers,
    sequences,
  };
}

/**
 * The edits of one round: `count` kinds drawn by `seed` (each at most once), each made for an object the seed picks.
 * `tag` names what an edit creates (`fz<seed>_<n>`). A kind nothing in the schema fits is passed over.
 */
export function chooseEdits(inv: Inventory, seed: number, count: number): { kind: string; sql: string }[] {
  const rng = new Rng(seed);
  const order = EDITS.map((e) => ({ e, k: rng.next() })).sort((a, b) => a.k - b.k);
  const out: { kind: string; sql: string }[] = [];
  for (const { e } of order) {
    if (out.length >= count) break;
    const sql = e.make(inv, rng, `fz${seed}_${out.length}`);
    if (sql) out.push({ kind: e.name, sql });
  }
  return out;
}
