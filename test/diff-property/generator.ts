/**
 * A seeded generator of schema pairs for the diff's property test: a random schema A and a schema B made from A
 * by random changes, both as SQL for one schema. Same seed, same pair. What B may change is what dbee claims to
 * converge without a migration (see the README's support table); new columns are appended, as the diff never
 * reorders columns.
 */

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Random {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}

interface Col {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  /** `serial`, `identity-always`, `identity-default` or null. */
  auto: 'serial' | 'identity-always' | 'identity-default' | null;
  comment: string | null;
  /** `COLLATE <schema>.co` (the spec's collation). */
  collate?: boolean;
}

interface Tab {
  name: string;
  cols: Col[];
  pk: boolean;
  checks: { name: string; expr: string }[];
  uniques: { name: string; cols: string[] }[];
  fk: { name: string; col: string; ref: string } | null;
  indexes: { name: string; def: string }[];
  rls: boolean;
  force: boolean;
  policies: { name: string; cmd: string; roles: string; using: string | null; check: string | null }[];
  grant: string | null;
  comment: string | null;
  /** Parent of an INHERITS child. */
  inherits: string | null;
  trigger: boolean;
  /** Options of an identity `id` (`START WITH 5 INCREMENT BY 2`...). */
  identityOptions?: string;
  /** The foreign key (`fk`) and the checks are added NOT VALID. */
  fkNotValid?: boolean;
  checksNotValid?: boolean;
  /** REPLICA IDENTITY other than DEFAULT (`index`: `USING INDEX` the primary key's). */
  replica?: 'full' | 'nothing' | 'index';
  /** A unique index (not a constraint) on `ukey`, which `refByIndex` of another table references. */
  uniqueIndex?: boolean;
  /** A foreign key to another table's unique index on `ukey`. */
  refByIndex?: string;
  /** A foreign key written as ALTER TABLE to a later table that references this one (a cycle). */
  cycleTo?: string;
}

/** The whole schema, as data, so that B is A with changes. */
export interface Spec {
  schema: string;
  enums: { name: string; values: string[] }[];
  domains: { name: string; base: string; check: string | null; notNull: boolean }[];
  sequences: { name: string; increment: number; start: number }[];
  tables: Tab[];
  partitioned: { name: string; parts: { name: string; from: number; to: number }[] } | null;
  views: { name: string; sql: string; comment: string | null }[];
  functions: { name: string; sql: string }[];
  extraRole: string;
  /** A libc collation `co` (`CREATE COLLATION`), used by columns marked `collate`. */
  collation?: boolean;
  /** Partition strategy of `partitioned`: range (default) or list with a default partition. */
  partitionBy?: 'range' | 'list';
  /** An index on the partitioned table (each partition gets one), and a partition's own index. */
  partitionIndex?: boolean;
  localPartitionIndex?: boolean;
  /** The first sequence is owned by this table's column `ukey` (`ALTER SEQUENCE ... OWNED BY`). */
  sequenceOwner?: string;
  /**
   * The partitioned table's index written as `CREATE INDEX ... ON ONLY`, each partition's own index (under the name
   * PostgreSQL gives the ones it makes) and `ALTER INDEX ... ATTACH PARTITION` (the same catalog as one CREATE INDEX).
   */
  partitionIndexAttached?: boolean;
  /** A local primary key (k, v) on the first partition; `USING INDEX` a unique index made first when `pkUsingIndex`. */
  localPartitionPk?: boolean;
  pkUsingIndex?: boolean;
  /** A trigger on the first partition (its own, not the parent's). */
  partitionTrigger?: boolean;
  /** Issue 59's classes (`thirdRound`), on a table `n3` of their own; absent: none of them. */
  third?: Third;
}

/** What issue 59 found the plans getting wrong, as data: B changes each independently of A. */
interface Third {
  /** Column `e` of `n3` takes enum `ne3_<enum>` (the other one does not exist: swapping drops the old enum). */
  enum: 'a' | 'b';
  /** Sequence `nq3` owned by `n3o.id` (`n3o` exists only then), by `n3.ukey`, or by nothing. */
  owner: 'n3o' | 'n3' | null;
  /** Columns of view `nv3` over `n3` (`nw3` over it selects `*`): reordered, renamed, retyped or removed between A and B. */
  view: 'a, b' | 'b, a' | 'a' | 'a AS x, b' | 'a, b::text AS b';
  /** Privileges of PUBLIC on `n3`, e.g. `ALL` or `SELECT, UPDATE`; null: none. */
  grant: string | null;
  /** Type of column `ts` of `n3`: `bigint` or `timestamp` (no cast between them). */
  ts: 'bigint' | 'timestamp';
}

/**
 * Seeds from which pairs draw issue 59's classes: the suite's seeds (1..30) keep their pairs and their cost (the
 * suite has those classes as minimal pairs in test/diff/third-round.test.ts); `npm run fuzz:diff` runs seeds above.
 */
export const THIRD_ROUND_FROM_SEED = 1000;

/** Draw issue 59's classes, each with chance `p` (else kept as in `from`). */
function thirdRound(seed: number, r: Random, from: Third | undefined, p: number): Third | undefined {
  if (seed < THIRD_ROUND_FROM_SEED) return undefined;
  if (!from && !r.chance(p)) return undefined;
  const t: Third = from ? { ...from } : { enum: 'a', owner: null, view: 'a, b', grant: null, ts: 'bigint' };
  if (r.chance(p)) t.enum = t.enum === 'a' ? 'b' : 'a';
  if (r.chance(p)) t.owner = r.pick(['n3o', 'n3', null] as const);
  if (r.chance(p)) t.view = r.pick(['a, b', 'b, a', 'a', 'a AS x, b', 'a, b::text AS b'] as const);
  if (r.chance(p)) t.grant = r.pick([null, 'ALL', 'SELECT', 'SELECT, UPDATE', 'INSERT, DELETE'] as const);
  if (r.chance(p)) t.ts = t.ts === 'bigint' ? 'timestamp' : 'bigint';
  return t;
}

/** The SQL of issue 59's objects (`spec.third`). */
function thirdSql(s: string, t: Third): string[] {
  return [
    `CREATE TYPE ${s}.ne3_${t.enum} AS ENUM ('x', 'y'${t.enum === 'b' ? ", 'z'" : ''})`,
    `CREATE TABLE ${s}.n3 (ukey integer, a integer, b integer, e ${s}.ne3_${t.enum} DEFAULT 'x', ts ${t.ts})`,
    ...(t.owner === 'n3o' ? [`CREATE TABLE ${s}.n3o (id integer)`] : []),
    `CREATE SEQUENCE ${s}.nq3`,
    ...(t.owner ? [`ALTER SEQUENCE ${s}.nq3 OWNED BY ${s}.${t.owner}.${t.owner === 'n3' ? 'ukey' : 'id'}`] : []),
    `CREATE VIEW ${s}.nv3 AS SELECT ${t.view} FROM ${s}.n3`,
    `CREATE VIEW ${s}.nw3 AS SELECT * FROM ${s}.nv3`,
    ...(t.grant ? [`GRANT ${t.grant} ON ${s}.n3 TO PUBLIC`] : []),
  ];
}

const BASE_TYPES = ['integer', 'bigint', 'text', 'numeric(10,2)', 'boolean', 'timestamptz', 'varchar(20)'];

function defaultFor(type: string, r: Random): string | null {
  if (!r.chance(0.4)) return null;
  switch (type) {
    case 'integer':
    case 'bigint':
      return String(r.int(0, 9));
    case 'text':
    case 'varchar(20)':
      return `'d${r.int(0, 9)}'`;
    case 'numeric(10,2)':
      return '1.5';
    case 'boolean':
      return r.pick(['true', 'false']);
    case 'timestamptz':
      return 'now()';
    default:
      return null;
  }
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/** A random schema A for `seed`, in `schema`. */
export function generateSpec(seed: number, schema: string, role: string): Spec {
  const r = new Random(rng(seed));
  const spec: Spec = {
    schema,
    enums: [],
    domains: [],
    sequences: [],
    tables: [],
    partitioned: null,
    views: [],
    functions: [],
    extraRole: role,
  };
  for (let i = 0; i < r.int(0, 2); i++)
    spec.enums.push({ name: `e${i}`, values: ['a', 'b', 'c', 'd'].slice(0, r.int(2, 4)) });
  for (let i = 0; i < r.int(0, 1); i++)
    spec.domains.push({
      name: `dom${i}`,
      base: r.pick(['integer', 'text']),
      check: r.chance(0.5) ? 'VALUE IS NOT NULL' : null,
      notNull: false,
    });
  for (let i = 0; i < r.int(0, 1); i++)
    spec.sequences.push({ name: `seq${i}`, increment: r.int(1, 3), start: r.int(1, 100) });
  const nTables = r.int(1, 4);
  for (let i = 0; i < nTables; i++)
    spec.tables.push(randomTable(r, spec, `t${i}`, i > 0 ? `t${r.int(0, i - 1)}` : null));
  if (r.chance(0.2) && spec.tables.length) {
    const parent = spec.tables[0]!;
    spec.tables.push({
      ...emptyTable(`c0`),
      cols: [{ name: 'extra', type: 'text', notNull: false, default: null, auto: null, comment: null }],
      inherits: parent.name,
    });
  }
  if (r.chance(0.3))
    spec.partitioned = {
      name: 'pt',
      parts: [{ name: 'pt_1', from: 0, to: 100 }, ...(r.chance(0.5) ? [{ name: 'pt_2', from: 100, to: 200 }] : [])],
    };
  addViews(r, spec);
  addFunctions(r, spec);
  // Drawn from a stream of their own, so that the schemas above stay what they were for every seed.
  const extra = new Random(rng(seed ^ 0x9e3779b9));
  if (extra.chance(0.15)) toggleCollation(extra, spec);
  // Issue 35's properties, from a third stream (the schemas above stay what they were for every seed).
  secondRound(new Random(rng(seed ^ 0x85ebca6b)), spec, 0.3);
  // Issue 59's classes, from a fourth stream.
  const third = thirdRound(seed, new Random(rng(seed ^ 0x165667b1)), undefined, 0.3);
  if (third) spec.third = third;
  return spec;
}

/**
 * Set or clear, each with chance `p`, what issue 35 found the diff missing: identity options, NOT VALID foreign keys
 * and checks, replica identity, a unique index referenced by a foreign key, a foreign-key cycle written as ALTERs,
 * an owned sequence, policies over a column, and indexes of a partitioned table and of one partition.
 */
function secondRound(r: Random, spec: Spec, p: number): void {
  const tables = spec.tables.filter((t) => !t.inherits);
  for (const t of tables) {
    const id = t.cols.find((c) => c.name === 'id')!;
    if (r.chance(p))
      t.identityOptions = id.auto?.startsWith('identity')
        ? `START WITH ${r.int(1, 50)} INCREMENT BY ${r.int(1, 5)}${r.chance(0.3) ? ' CACHE 4' : ''}${r.chance(0.2) ? ' CYCLE' : ''}`
        : undefined;
    if (r.chance(p)) t.fkNotValid = !t.fkNotValid;
    if (r.chance(p)) t.checksNotValid = !t.checksNotValid;
    if (r.chance(p)) t.replica = r.pick([undefined, 'full', 'nothing', 'index'] as const);
    if (r.chance(p)) {
      const c = t.cols.find((x) => x.name !== 'id' && (x.type === 'integer' || x.type === 'text'));
      if (c && r.chance(0.5))
        t.policies = [
          ...t.policies.filter((x) => x.name !== 'p_col'),
          { name: 'p_col', cmd: 'SELECT', roles: 'PUBLIC', using: `${c.name} IS NOT NULL`, check: null },
        ];
      else t.policies = t.policies.filter((x) => x.name !== 'p_col');
    }
  }
  if (tables.length >= 2 && r.chance(p)) {
    const [a, b] = [tables[0]!, tables[1]!];
    a.uniqueIndex = !a.uniqueIndex;
    b.refByIndex = a.uniqueIndex ? a.name : undefined;
  }
  if (tables.length >= 2 && r.chance(p)) {
    // tables[1] may reference tables[0] (its fk); tables[0] references tables[1] back.
    const [a, b] = [tables[0]!, tables[1]!];
    a.cycleTo = a.cycleTo ? undefined : b.name;
  }
  if (spec.sequences.length && tables.length && r.chance(p))
    spec.sequenceOwner = spec.sequenceOwner ? undefined : tables[tables.length - 1]!.name;
  if (spec.partitioned && r.chance(p)) spec.partitionIndex = !spec.partitionIndex;
  if (spec.partitioned && r.chance(p)) spec.localPartitionIndex = !spec.localPartitionIndex;
  // From a stream of their own, so that the draws above stay what they were for every seed.
  const more = new Random(rng(Math.floor(r.next() * 0xffffffff) ^ 0x1b873593));
  for (const t of tables) {
    if (t.identityOptions && more.chance(p))
      t.identityOptions = `${t.identityOptions.replace(/ MINVALUE .*$/, '')} MINVALUE 1 MAXVALUE ${more.int(1000, 1000000)}`;
  }
  if (spec.partitioned) {
    if (more.chance(p)) spec.partitionIndexAttached = !spec.partitionIndexAttached;
    if (more.chance(p)) spec.localPartitionPk = !spec.localPartitionPk;
    if (more.chance(p)) spec.pkUsingIndex = !spec.pkUsingIndex;
    if (more.chance(p)) spec.partitionTrigger = !spec.partitionTrigger;
  }
}

/** Add the collation and move a text column to it, or move every column off it and drop it. */
function toggleCollation(r: Random, spec: Spec): void {
  const text = spec.tables.flatMap((t) =>
    t.cols.filter((c) => (c.type === 'text' || c.type === 'varchar(20)') && !c.auto),
  );
  if (spec.collation) {
    spec.collation = false;
    for (const c of text) delete c.collate;
  } else if (text.length) {
    spec.collation = true;
    r.pick(text).collate = true;
  }
}

/** Move the range bounds of the partitions, add a partition, or switch to list partitioning with a default. */
function changePartitioning(r: Random, spec: Spec): void {
  const p = spec.partitioned;
  if (!p) return;
  switch (r.int(0, 2)) {
    case 0:
      p.parts[0]!.to = 50;
      if (p.parts[1]) p.parts[1].from = 50;
      break;
    case 1:
      p.parts.push({
        name: `pt_${p.parts.length + 1}`,
        from: p.parts[p.parts.length - 1]!.to,
        to: p.parts[p.parts.length - 1]!.to + 100,
      });
      break;
    default:
      spec.partitionBy = 'list';
  }
}

function emptyTable(name: string): Tab {
  return {
    name,
    cols: [],
    pk: false,
    checks: [],
    uniques: [],
    fk: null,
    indexes: [],
    rls: false,
    force: false,
    policies: [],
    grant: null,
    comment: null,
    inherits: null,
    trigger: false,
  };
}

function randomColumn(r: Random, spec: Spec, name: string): Col {
  const kinds = [
    ...BASE_TYPES,
    ...spec.enums.map((e) => `${spec.schema}.${e.name}`),
    ...spec.domains.map((d) => `${spec.schema}.${d.name}`),
  ];
  const type = r.pick(kinds);
  let def = defaultFor(type, r);
  const e = spec.enums.find((x) => `${spec.schema}.${x.name}` === type);
  if (e && r.chance(0.5)) def = `'${e.values[0]}'::${type}`;
  if (spec.sequences.length && (type === 'integer' || type === 'bigint') && r.chance(0.2))
    def = `nextval('${spec.schema}.${spec.sequences[0]!.name}'::regclass)`;
  return {
    name,
    type,
    notNull: r.chance(0.2) && def !== null,
    default: def,
    auto: null,
    comment: r.chance(0.15) ? `column ${name}` : null,
  };
}

function randomTable(r: Random, spec: Spec, name: string, fkTarget: string | null): Tab {
  const t = emptyTable(name);
  const id: Col = {
    name: 'id',
    type: 'integer',
    notNull: true,
    default: null,
    auto: r.pick(['serial', 'identity-always', 'identity-default', null] as const),
    comment: null,
  };
  t.cols.push(id);
  t.pk = true;
  for (let i = 0; i < r.int(1, 4); i++) t.cols.push(randomColumn(r, spec, `c${i}`));
  if (r.chance(0.3)) {
    const num = t.cols.find((c) => c.type === 'integer' && c.name !== 'id');
    if (num) t.checks.push({ name: `${name}_chk`, expr: `${num.name} >= 0` });
  }
  if (r.chance(0.3)) {
    const c = r.pick(t.cols.filter((x) => x.name !== 'id'));
    t.uniques.push({ name: `${name}_${c.name}_uq`, cols: [c.name] });
  }
  if (fkTarget && r.chance(0.4)) {
    t.cols.push({ name: 'ref_id', type: 'integer', notNull: false, default: null, auto: null, comment: null });
    t.fk = { name: `${name}_ref_fk`, col: 'ref_id', ref: fkTarget };
  }
  if (r.chance(0.5)) {
    const c = r.pick(t.cols);
    t.indexes.push({
      name: `${name}_i0`,
      def: r.chance(0.3) ? `(${c.name}) WHERE (${c.name} IS NOT NULL)` : `(${c.name})`,
    });
  }
  if (r.chance(0.25)) {
    t.rls = true;
    t.force = r.chance(0.3);
    t.policies.push({
      name: 'p_read',
      cmd: 'SELECT',
      roles: r.pick(['PUBLIC', spec.extraRole]),
      using: 'id > 0',
      check: null,
    });
  }
  if (r.chance(0.4)) t.grant = r.pick(['SELECT', 'SELECT, INSERT', 'UPDATE']);
  if (r.chance(0.2)) t.comment = `table ${name}`;
  t.trigger = r.chance(0.2);
  return t;
}

function addViews(r: Random, spec: Spec): void {
  spec.views = [];
  const base = spec.tables.filter((t) => !t.inherits)[0];
  if (!base || !r.chance(0.7)) return;
  const cols = base.cols.slice(0, r.int(1, base.cols.length)).map((c) => c.name);
  spec.views.push({
    name: 'v0',
    sql: `SELECT ${cols.join(', ')} FROM ${spec.schema}.${base.name}`,
    comment: r.chance(0.2) ? 'view v0' : null,
  });
  if (r.chance(0.6)) spec.views.push({ name: 'v1', sql: `SELECT ${cols[0]} FROM ${spec.schema}.v0`, comment: null });
}

function addFunctions(r: Random, spec: Spec): void {
  spec.functions = [];
  const s = spec.schema;
  const styles = [
    `CREATE FUNCTION ${s}.f_sql(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT x + ${r.int(1, 9)} $$`,
    `CREATE FUNCTION ${s}.f_atomic(x integer) RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT x * ${r.int(2, 9)}; END`,
    `CREATE FUNCTION ${s}.f_plpgsql(x text) RETURNS text LANGUAGE plpgsql AS $body$ BEGIN RETURN x || '${r.int(0, 9)}'; END $body$`,
    `CREATE PROCEDURE ${s}.p_noop() LANGUAGE plpgsql AS $$ BEGIN PERFORM ${r.int(1, 9)}; END $$`,
  ];
  for (const f of styles) if (r.chance(0.35)) spec.functions.push({ name: /FUNCTION|PROCEDURE/.exec(f)![0], sql: f });
}

/** B: A with random changes (each kind the diff claims to converge). */
export function mutateSpec(a: Spec, seed: number): Spec {
  const r = new Random(rng(seed ^ 0x5bd1e995));
  const b = clone(a);
  const changes = r.int(1, 4);
  for (let k = 0; k < changes; k++) {
    const t = b.tables.length ? r.pick(b.tables.filter((x) => !x.inherits)) : undefined;
    switch (r.int(0, 15)) {
      case 0:
        if (t) {
          // A column added to a table with rows takes NULL or its default there: no NOT NULL domain without one.
          const c = randomColumn(r, b, `n${k}`);
          if (b.domains.some((d) => `${b.schema}.${d.name}` === c.type && d.check)) c.type = 'text';
          if (c.type === 'text' && c.default && !/^'/.test(c.default)) c.default = null;
          t.cols.push(c);
        }
        break;
      case 1:
        if (t && t.cols.length > 2) {
          const c = t.cols[t.cols.length - 1]!;
          if (c.name !== 'ref_id') {
            t.cols.pop();
            t.uniques = t.uniques.filter((u) => !u.cols.includes(c.name));
            t.indexes = t.indexes.filter((i) => !i.def.includes(`(${c.name})`));
            t.checks = t.checks.filter((x) => !x.expr.includes(c.name));
            t.policies = t.policies.filter((x) => !`${x.using ?? ''} ${x.check ?? ''}`.includes(c.name));
          }
        }
        break;
      case 2:
        if (t) {
          const c = r.pick(t.cols.filter((x) => x.name !== 'id' && x.name !== 'ref_id').concat([]));
          if (
            c &&
            ['integer', 'bigint', 'text', 'varchar(20)'].includes(c.type) &&
            !t.checks.some((x) => x.expr.includes(c.name))
          ) {
            c.type = c.type === 'integer' ? 'bigint' : c.type === 'varchar(20)' ? 'text' : c.type;
          }
        }
        break;
      case 3:
        if (t) {
          const c = t.cols.find((x) => x.name === 'id')!;
          c.auto = r.pick(['serial', 'identity-always', 'identity-default', null] as const);
        }
        break;
      case 4:
        if (t) {
          const c = r.pick(t.cols.filter((x) => x.name !== 'id'));
          if (c) {
            c.default = defaultFor(c.type, r);
            if (c.default === null) c.notNull = false;
          }
        }
        break;
      case 5:
        if (b.enums.length) {
          const e = r.pick(b.enums);
          if (r.chance(0.5)) e.values.push(`x${k}`);
          else if (e.values.length > 2) {
            const gone = e.values.pop()!;
            // Defaults naming the value go too; rows never hold it (the test inserts defaults only).
            for (const tab of b.tables)
              for (const c of tab.cols) if (c.default === `'${gone}'::${b.schema}.${e.name}`) c.default = null;
          }
        }
        break;
      case 6:
        if (t) {
          t.rls = !t.rls || r.chance(0.5);
          t.force = r.chance(0.3);
          if (t.policies.length && r.chance(0.5)) {
            // An INSERT policy has only a WITH CHECK expression (PostgreSQL refuses a USING one): that is the one
            // changed. The same draws as before, so every other pair of a seed is the same.
            const first = t.policies[0]!;
            const expression = `id > ${r.int(1, 9)}`;
            if (first.cmd === 'INSERT') first.check = expression;
            else first.using = expression;
          } else
            t.policies.push({
              name: `p${k}`,
              cmd: r.pick(['ALL', 'INSERT', 'UPDATE', 'DELETE']),
              roles: b.extraRole,
              using: r.chance(0.5) ? 'true' : null,
              check: 'id > 0',
            });
          const p = t.policies[t.policies.length - 1]!;
          if (p.cmd === 'INSERT') p.using = null;
          if (p.cmd === 'DELETE') p.check = null;
          if (p.using === null && p.check === null) p.using = 'true';
        }
        break;
      case 7:
        if (t) t.indexes = t.indexes.length ? [] : [{ name: `${t.name}_i1`, def: `(${r.pick(t.cols).name})` }];
        break;
      case 8:
        if (t && t.indexes.length)
          t.indexes[0]!.def = `(${t.cols
            .map((c) => c.name)
            .slice(0, 2)
            .join(', ')})`;
        break;
      case 9:
        addViews(r, b);
        break;
      case 10:
        addFunctions(r, b);
        break;
      case 11:
        if (t) t.grant = r.pick([null, 'SELECT', 'SELECT, UPDATE', 'INSERT']);
        break;
      case 12:
        if (t) t.comment = r.chance(0.5) ? null : `changed ${k}`;
        break;
      case 13:
        if (b.sequences.length) b.sequences[0]!.increment = r.int(1, 5);
        break;
      case 14:
        if (t) t.trigger = !t.trigger;
        break;
      case 15:
        // A check added to a domain that columns use would meet their NULLs: only domains nobody uses gain one.
        if (b.domains.length) {
          const d = b.domains[0]!;
          const used = b.tables.some((x) => x.cols.some((c) => c.type === `${b.schema}.${d.name}`));
          d.check = d.check ? null : used ? null : 'VALUE IS NOT NULL';
        }
        break;
    }
  }
  // Views name the columns they read: keep them valid after columns are dropped.
  const present = (table: string, col: string) =>
    b.tables.find((x) => x.name === table)?.cols.some((c) => c.name === col);
  b.views = b.views.filter((v) => {
    const m = /^SELECT (.+) FROM \S+\.(\w+)$/.exec(v.sql);
    if (!m || m[2] === 'v0') return true;
    return m[1]!.split(', ').every((c) => present(m[2]!, c));
  });
  if (!b.views.some((v) => v.name === 'v0')) b.views = [];
  // Partitioning and collation changes: from a stream of their own (the changes above stay what they were).
  const extra = new Random(rng(seed ^ 0x27d4eb2d));
  if (extra.chance(0.2)) changePartitioning(extra, b);
  if (extra.chance(0.15)) toggleCollation(extra, b);
  secondRound(new Random(rng(seed ^ 0xc2b2ae35)), b, 0.2);
  const third = thirdRound(seed, new Random(rng(seed ^ 0xd3a2646c)), b.third, 0.3);
  if (third) b.third = third;
  for (const t of b.tables) {
    if (t.identityOptions && !t.cols.find((c) => c.name === 'id')!.auto?.startsWith('identity'))
      t.identityOptions = undefined;
  }
  return b;
}

function colSql(c: Col, schema: string): string {
  if (c.auto === 'serial') return `${c.name} serial`;
  let s = `${c.name} ${c.type}`;
  if (c.collate) s += ` COLLATE ${schema}.co`;
  if (c.auto === 'identity-always') s += ' GENERATED ALWAYS AS IDENTITY';
  if (c.auto === 'identity-default') s += ' GENERATED BY DEFAULT AS IDENTITY';
  if (c.default !== null && !c.auto) s += ` DEFAULT ${c.default}`;
  if (c.notNull && !c.auto) s += ' NOT NULL';
  return s;
}

/** The SQL that builds `spec` in an empty schema (the schema itself included). */
export function specSql(spec: Spec): string {
  const s = spec.schema;
  const out: string[] = [`CREATE SCHEMA ${s}`];
  for (const e of spec.enums)
    out.push(`CREATE TYPE ${s}.${e.name} AS ENUM (${e.values.map((v) => `'${v}'`).join(', ')})`);
  for (const d of spec.domains)
    out.push(
      `CREATE DOMAIN ${s}.${d.name} AS ${d.base}${d.check ? ` CONSTRAINT ${d.name}_chk CHECK (${d.check})` : ''}`,
    );
  if (spec.collation) out.push(`CREATE COLLATION ${s}.co (provider = libc, locale = 'C')`);
  for (const q of spec.sequences)
    out.push(`CREATE SEQUENCE ${s}.${q.name} INCREMENT BY ${q.increment} START WITH ${q.start}`);
  const hasTrigger = spec.tables.some((t) => t.trigger) || (spec.partitioned && spec.partitionTrigger);
  if (hasTrigger)
    out.push(`CREATE FUNCTION ${s}.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
  for (const t of spec.tables) {
    const items = t.cols.map((c) => {
      const sql = colSql(c, s);
      return c.name === 'id' && t.identityOptions && c.auto?.startsWith('identity')
        ? sql.replace(/AS IDENTITY$/, `AS IDENTITY (${t.identityOptions})`)
        : sql;
    });
    // `ukey` first (never dropped, so columns added later land after it on both sides): the unique index a foreign
    // key references, and the column a sequence is owned by.
    if (!t.inherits) items.unshift('ukey integer');
    if (t.pk && !t.inherits) items.push(`CONSTRAINT ${t.name}_pkey PRIMARY KEY (id)`);
    if (!t.checksNotValid) for (const c of t.checks) items.push(`CONSTRAINT ${c.name} CHECK (${c.expr})`);
    for (const u of t.uniques) items.push(`CONSTRAINT ${u.name} UNIQUE (${u.cols.join(', ')})`);
    out.push(
      `CREATE TABLE ${s}.${t.name} (\n  ${items.join(',\n  ')}\n)${t.inherits ? ` INHERITS (${s}.${t.inherits})` : ''}`,
    );
  }
  for (const t of spec.tables)
    if (t.uniqueIndex) out.push(`CREATE UNIQUE INDEX ${t.name}_ukey ON ${s}.${t.name} (ukey)`);
  for (const t of spec.tables) {
    const nv = (yes: boolean | undefined) => (yes ? ' NOT VALID' : '');
    if (t.fk)
      out.push(
        `ALTER TABLE ${s}.${t.name} ADD CONSTRAINT ${t.fk.name} FOREIGN KEY (${t.fk.col}) REFERENCES ${s}.${t.fk.ref} (id)${nv(t.fkNotValid)}`,
      );
    if (t.checksNotValid)
      for (const c of t.checks)
        out.push(`ALTER TABLE ${s}.${t.name} ADD CONSTRAINT ${c.name} CHECK (${c.expr}) NOT VALID`);
    if (t.refByIndex && spec.tables.some((x) => x.name === t.refByIndex && x.uniqueIndex)) {
      out.push(
        `ALTER TABLE ${s}.${t.name} ADD CONSTRAINT ${t.name}_ukey_fk FOREIGN KEY (ukey) REFERENCES ${s}.${t.refByIndex} (ukey)`,
      );
    }
    if (t.cycleTo && spec.tables.some((x) => x.name === t.cycleTo))
      out.push(
        `ALTER TABLE ${s}.${t.name} ADD CONSTRAINT ${t.name}_cycle_fk FOREIGN KEY (id) REFERENCES ${s}.${t.cycleTo} (id) NOT VALID`,
      );
    if (t.replica)
      out.push(
        `ALTER TABLE ${s}.${t.name} REPLICA IDENTITY ${t.replica === 'index' ? `USING INDEX ${t.name}_pkey` : t.replica.toUpperCase()}`,
      );
    for (const i of t.indexes) out.push(`CREATE INDEX ${i.name} ON ${s}.${t.name} ${i.def}`);
    if (t.rls) out.push(`ALTER TABLE ${s}.${t.name} ENABLE ROW LEVEL SECURITY`);
    if (t.force) out.push(`ALTER TABLE ${s}.${t.name} FORCE ROW LEVEL SECURITY`);
    for (const p of t.policies) {
      out.push(
        `CREATE POLICY ${p.name} ON ${s}.${t.name} FOR ${p.cmd} TO ${p.roles}${p.using ? ` USING (${p.using})` : ''}${p.check ? ` WITH CHECK (${p.check})` : ''}`,
      );
    }
    if (t.grant) out.push(`GRANT ${t.grant} ON ${s}.${t.name} TO ${spec.extraRole}`);
    if (t.comment) out.push(`COMMENT ON TABLE ${s}.${t.name} IS '${t.comment}'`);
    for (const c of t.cols) if (c.comment) out.push(`COMMENT ON COLUMN ${s}.${t.name}.${c.name} IS '${c.comment}'`);
    if (t.trigger)
      out.push(
        `CREATE TRIGGER ${t.name}_touch BEFORE UPDATE ON ${s}.${t.name} FOR EACH ROW EXECUTE FUNCTION ${s}.touch()`,
      );
  }
  if (spec.partitioned) {
    const list = spec.partitionBy === 'list';
    out.push(
      `CREATE TABLE ${s}.${spec.partitioned.name} (k integer NOT NULL, v text DEFAULT 'x') PARTITION BY ${list ? 'LIST' : 'RANGE'} (k)`,
    );
    for (const p of spec.partitioned.parts) {
      const bound = list ? `IN (${p.from}, ${p.from + 1})` : `FROM (${p.from}) TO (${p.to})`;
      out.push(`CREATE TABLE ${s}.${p.name} PARTITION OF ${s}.${spec.partitioned.name} FOR VALUES ${bound}`);
    }
    if (list)
      out.push(`CREATE TABLE ${s}.${spec.partitioned.name}_default PARTITION OF ${s}.${spec.partitioned.name} DEFAULT`);
    const first = spec.partitioned.parts[0];
    // Either the partitioned table's index or a partition's own equal one: with both, PostgreSQL's CREATE INDEX on the
    // parent takes the partition's in (attached under its name), which the diff does not plan (docs/diff-properties.md).
    const pt = spec.partitioned.name;
    if (spec.partitionIndex && spec.partitionIndexAttached) {
      out.push(`CREATE INDEX ${pt}_v ON ONLY ${s}.${pt} (v)`);
      for (const part of [...spec.partitioned.parts.map((x) => x.name), ...(list ? [`${pt}_default`] : [])])
        out.push(
          `CREATE INDEX ${part}_v_idx ON ${s}.${part} (v)`,
          `ALTER INDEX ${s}.${pt}_v ATTACH PARTITION ${s}.${part}_v_idx`,
        );
    } else if (spec.partitionIndex) out.push(`CREATE INDEX ${pt}_v ON ${s}.${pt} (v)`);
    else if (spec.localPartitionIndex && first) out.push(`CREATE INDEX ${first.name}_v ON ${s}.${first.name} (v)`);
    if (spec.localPartitionPk && first) {
      if (spec.pkUsingIndex)
        out.push(
          `CREATE UNIQUE INDEX ${first.name}_kv ON ${s}.${first.name} (k, v)`,
          `ALTER TABLE ${s}.${first.name} ADD CONSTRAINT ${first.name}_pkey PRIMARY KEY USING INDEX ${first.name}_kv`,
        );
      else out.push(`ALTER TABLE ${s}.${first.name} ADD CONSTRAINT ${first.name}_pkey PRIMARY KEY (k, v)`);
    }
    if (spec.partitionTrigger && first)
      out.push(
        `CREATE TRIGGER ${first.name}_touch BEFORE UPDATE ON ${s}.${first.name} FOR EACH ROW EXECUTE FUNCTION ${s}.touch()`,
      );
  }
  if (spec.sequenceOwner && spec.sequences.length && spec.tables.some((t) => t.name === spec.sequenceOwner)) {
    out.push(`ALTER SEQUENCE ${s}.${spec.sequences[0]!.name} OWNED BY ${s}.${spec.sequenceOwner}.ukey`);
  }
  for (const v of spec.views) {
    out.push(`CREATE VIEW ${s}.${v.name} AS ${v.sql}`);
    if (v.comment) out.push(`COMMENT ON VIEW ${s}.${v.name} IS '${v.comment}'`);
  }
  for (const f of spec.functions) out.push(f.sql);
  if (spec.third) out.push(...thirdSql(s, spec.third));
  return out.join(';\n') + ';\n';
}
