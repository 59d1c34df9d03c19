import { partitionIndexes } from '@dbee/core/partition-indexes';
import type { Connection, IndexShape, ObjectKey, PlanStep, TablePartition, TakenNames } from '@dbee/core';
import { formatKey } from '@dbee/core/schema';
import { indexModel } from '@dbee/core/schema';
import type { Change, ChangeOf, SchemaModel, Table } from '@dbee/core/schema';
import { renderChange, type RenderedChange } from './render-change';
import { type PartitionBuild, partitionWiseIndex } from './partition-index';
import { ident, qualified } from './quote';
import { partitionTree } from '../catalog/partition-tree';

/**
 * One step of a change rendered with the safe rewrites (`deploy.safeRewrites`, `--safe`): its SQL, whether it
 * carries the change's hazards (the first step of a split change does), the lint rules the rewrite satisfies (their
 * hazards are not the step's), whether its hazards are judged as built online, and what the plan says about it.
 */
export interface SafeStep {
  sql: RenderedChange;
  hazards: boolean;
  online: boolean;
  satisfied: readonly string[];
  notes: string[];
}

/** PostgreSQL's limit on a name's length, in bytes. */
const NAME_BYTES = 63;

/**
 * The steps of `change` with the safe rewrites dbee can make itself, on a table the plan does not create (a new
 * table is empty: nothing waits on it, and its steps stay as they are):
 *
 * - an index (and the index of a new primary key or unique constraint) is built `CONCURRENTLY`, outside a
 *   transaction, as `deploy.online` does; on a partitioned table, which PostgreSQL cannot index concurrently, it is
 *   built per partition (`partitionWiseBuild`);
 * - a foreign key or check is added `NOT VALID` in one step and validated in the next, outside a transaction: the
 *   validation scans the table holding only a lock that blocks no reads or writes. A foreign key on or to a
 *   partitioned table is added valid at once (PostgreSQL refuses it NOT VALID);
 * - `SET NOT NULL` goes through a check: `CHECK (col IS NOT NULL) NOT VALID`, then `VALIDATE` outside a
 *   transaction, then `SET NOT NULL`, which finds the validated check and skips its scan, and drops the check.
 *
 * Any other change is one step, rendered as without the rewrites.
 */
export function safeSteps(change: Change, from: SchemaModel, to: SchemaModel, online: boolean): SafeStep[] {
  const before = indexModel(from);
  const existing = (table: ObjectKey) => before.tables.has(formatKey(table));
  const plain = (o = online, notes: string[] = []): SafeStep[] => [
    { sql: renderChange(change, { online: o }), hazards: true, online: o, satisfied: [], notes },
  ];
  const name = (k: ObjectKey) => `${k.schema ? `${k.schema}.` : ''}${k.name}`;
  const isNew = (table: ObjectKey) => `safe: not rewritten, ${name(table)} is created by this plan (it is empty)`;

  switch (change.kind) {
    case 'create-index':
    case 'drop-index': {
      const parent = change.index.table;
      const there = existing(parent) || before.views.has(formatKey(parent));
      if (!there || change.recreate?.cause === formatKey(parent)) return plain(online, online ? [] : [isNew(parent)]);
      if (change.kind === 'drop-index' && change.index.attrs['partitioned'] === true)
        return plain(false, [
          'safe: not dropped CONCURRENTLY, PostgreSQL cannot drop an index of a partitioned table concurrently',
        ]);
      if (change.kind === 'create-index') {
        const built = partitionWiseBuild(change, from, to);
        if (typeof built === 'string') return plain(false, [built]);
        if (built)
          return [
            {
              sql: built,
              hazards: true,
              online: true,
              satisfied: [],
              notes: [
                `safe: built per partition, outside a transaction (writes go on): ${name(change.index.key)} ON ONLY ${name(parent)}, each partition's index CONCURRENTLY, then attached`,
              ],
            },
          ];
      }
      return plain(true, online ? [] : ['safe: CONCURRENTLY, outside a transaction (writes to the table go on)']);
    }
    case 'add-constraint': {
      const c = change.constraint;
      if (!existing(change.table)) return plain(online, [isNew(change.table)]);
      if (c.kind === 'primary-key' || c.kind === 'unique') {
        const sql = renderChange(change, { online: true });
        if (sql.transactional)
          return plain(online, [
            `safe: constraint ${c.name} builds its index while writes wait: only a plain column list is built CONCURRENTLY first`,
          ]);
        return [
          {
            sql,
            hazards: true,
            online: true,
            satisfied: [],
            notes: online ? [] : ['safe: index built CONCURRENTLY, then adopted by the constraint'],
          },
        ];
      }
      if (c.kind !== 'foreign-key' && c.kind !== 'check') return plain();
      if (c.attrs['notValid'] === true) return plain();
      const sql = renderChange(change, { online });
      const [add, validate] = sql.statements;
      if (sql.statements.length !== 2 || !add || !validate || !/\bVALIDATE CONSTRAINT\b/.test(validate)) {
        return plain(online, [
          `safe: ${c.name} is added valid at once: PostgreSQL refuses a NOT VALID ${c.kind === 'check' ? 'check' : 'foreign key'} on or to a partitioned table`,
        ]);
      }
      return [
        {
          sql: { statements: [add], reverse: sql.reverse, transactional: true },
          hazards: true,
          online,
          satisfied: [],
          notes: [`safe: ${c.name} added NOT VALID (new rows are checked); the next step validates the existing rows`],
        },
        {
          sql: { statements: [validate], reverse: [], transactional: false },
          hazards: false,
          online,
          satisfied: [],
          notes: [`safe: validates ${c.name} outside a transaction: the scan blocks no reads or writes`],
        },
      ];
    }
    case 'alter-column-nullability': {
      if (!change.to) return plain();
      if (!existing(change.table)) return plain(online, [isNew(change.table)]);
      const table = qualified(change.table.schema, change.table.name);
      const check = ident(checkName(change.column));
      const column = ident(change.column);
      const setNotNull = renderChange(change, { online });
      return [
        {
          sql: {
            statements: [`ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID`],
            reverse: [`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${check}`],
            transactional: true,
          },
          hazards: true,
          online,
          satisfied: ['adding-not-nullable-field'],
          notes: [
            `safe: SET NOT NULL on ${name(change.table)}.${change.column} through a validated check: added NOT VALID here, validated in the next step, used by SET NOT NULL in the one after`,
          ],
        },
        {
          sql: { statements: [`ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}`], reverse: [], transactional: false },
          hazards: false,
          online,
          satisfied: [],
          notes: [`safe: validates the check outside a transaction: the scan blocks no reads or writes`],
        },
        {
          sql: {
            statements: [...setNotNull.statements, `ALTER TABLE ${table} DROP CONSTRAINT ${check}`],
            reverse: setNotNull.reverse,
            transactional: true,
          },
          hazards: false,
          online,
          satisfied: [],
          notes: ['safe: SET NOT NULL finds the validated check and skips the scan; the check is dropped'],
        },
      ];
    }
    default:
      return plain();
  }
}

/**
 * A new index of a partitioned table that exists, built without blocking writes (`deploy.online`, `--safe`):
 * PostgreSQL refuses `CREATE INDEX CONCURRENTLY` there, so it is made `ON ONLY` the table, then each partition's is
 * built `CONCURRENTLY` and attached (`partitionWiseIndex`, the recipe `dbee advise` writes too), outside a
 * transaction; the parent's becomes valid with the last attach. The partitions are the live model's; the
 * partitions' indexes get PostgreSQL's own names (`<partition>_<columns>_idx`, numbered past a name taken in either
 * model, cut to 63 bytes), the names a plain `CREATE INDEX` on the table gives them. Its reverse is the plain
 * create's, `DROP INDEX` of the parent's (which drops the attached ones with it).
 *
 * Null when the change is no such index (another index, or a table this plan creates); a note (why not) when the
 * plan creates or drops partitions of the table (which would then miss their index or be gone when it is built), or
 * when the index's definition is not one dbee can write for a partition.
 */
export function partitionWiseBuild(
  change: ChangeOf<'create-index'>,
  from: SchemaModel,
  to: SchemaModel,
): RenderedChange | string | null {
  const index = change.index;
  const table = index.table;
  if (index.attrs['partitioned'] !== true || change.recreate?.cause === formatKey(table)) return null;
  if (!from.tables.some((t) => t.key.schema === table.schema && t.key.name === table.name)) return null;
  const at = `${table.schema}.${table.name}`;
  const partitions = partitionsOf(from, at);
  const shape = (ps: TablePartition[]) => JSON.stringify(ps.map((p) => [p.schema, p.name, p.parent, p.leaf]));
  if (shape(partitions) !== shape(partitionsOf(to, at)))
    return `safe: not built per partition, this plan creates or drops partitions of ${at}: built on the partitioned table, blocking writes`;
  const definition = INDEX_DEFINITION.exec(index.definition);
  if (!definition)
    return `safe: not built per partition, dbee cannot write the definition of ${index.key.schema}.${index.key.name} for a partition: built on the partitioned table, blocking writes`;
  const [, unique = '', , rest] = definition;
  const parent: IndexShape = {
    schema: index.key.schema ?? table.schema ?? '',
    table: table.name,
    // PostgreSQL names a partition's index after its key columns, an expression `expr`.
    columns: [...index.columns, ...(index.expression ? ['expr'] : [])],
    name: index.key.name,
  };
  const create = (i: IndexShape, how: PartitionBuild) =>
    `CREATE ${unique}INDEX ${how === 'CONCURRENTLY' ? 'CONCURRENTLY ' : ''}${ident(i.name)} ON ${how === 'ONLY' ? 'ONLY ' : ''}${qualified(i.schema, i.table)} ${rest}`;
  const parts = partitionIndexes(parent, partitions, [], takenNames(index.key, from, to));
  return {
    statements: partitionWiseIndex(parent, parts, create),
    reverse: renderChange(change, { online: false }).reverse,
    transactional: false,
  };
}

/** `CREATE [UNIQUE] INDEX name ON [ONLY] table rest` (as `pg_get_indexdef` writes it): unique, name, rest. */
const NAME = String.raw`(?:"(?:[^"]|"")*"|[^\s".]+)`;
const INDEX_DEFINITION = new RegExp(
  String.raw`^CREATE (UNIQUE )?INDEX (${NAME}) ON (?:ONLY )?${NAME}(?:\.${NAME})? ([\s\S]+)$`,
);

/** The partitions of `table` (`schema.name`) in `model`, at every level, each after its parent. */
function partitionsOf(model: SchemaModel, table: string): TablePartition[] {
  const out: TablePartition[] = [];
  const parents = [table];
  for (let i = 0; i < parents.length && i < 10_000; i++) {
    const of = parents[i]!;
    const dot = of.indexOf('.');
    const children = model.tables
      .filter((t: Table) => t.attrs['partitionOf'] === of)
      .sort((a, b) => `${a.key.schema}.${a.key.name}`.localeCompare(`${b.key.schema}.${b.key.name}`));
    for (const t of children) {
      const schema = t.key.schema ?? '';
      out.push({
        schema,
        name: t.key.name,
        parent: { schema: of.slice(0, dot), name: of.slice(dot + 1) },
        leaf: typeof t.attrs['partitionBy'] !== 'string',
      });
      parents.push(`${schema}.${t.key.name}`);
    }
  }
  return out;
}

/**
 * The names of relations in either model, per schema: what a partition's index must not be named. A partitioned
 * index's partitions' indexes are not objects of the model (they come with it) but are named in its `attached`; but
 * those of `built`, the index whose partitions' indexes are being named (the desired model has them already).
 */
function takenNames(built: ObjectKey, ...models: SchemaModel[]): TakenNames {
  const taken: TakenNames = new Map();
  const add = (schema: string | undefined, name: string) => {
    const names = taken.get(schema ?? '') ?? new Set<string>();
    names.add(name);
    taken.set(schema ?? '', names);
  };
  for (const m of models) {
    for (const t of m.tables) {
      add(t.key.schema, t.key.name);
      for (const c of t.constraints) add(t.key.schema, c.name);
    }
    for (const x of [...m.views, ...m.sequences, ...m.types]) add(x.key.schema, x.key.name);
    for (const i of m.indexes) {
      add(i.key.schema, i.key.name);
      if (formatKey(i.key) === formatKey(built)) continue;
      for (const a of (i.attrs['attached'] as string[] | undefined) ?? []) {
        const dot = a.indexOf('.');
        add(a.slice(0, dot), a.slice(dot + 1));
      }
    }
  }
  return taken;
}

/** The temporary check's name: `<column>_not_null_dbee`, cut to PostgreSQL's 63 bytes. */
function checkName(column: string): string {
  const suffix = '_not_null_dbee';
  let base = column;
  while (Buffer.byteLength(base + suffix) > NAME_BYTES) base = base.slice(0, -1);
  return base + suffix;
}

/**
 * `SET lock_timeout` before the statements that need it: a statement that takes a lock blocking reads or writes
 * waits at most `ms` for it (a deployment queued behind a long transaction would otherwise block every query queued
 * behind it), one that only takes a lock blocking other DDL (`CONCURRENTLY`, `VALIDATE CONSTRAINT`) waits without
 * a timeout (a concurrent index build cut short leaves an invalid index). Set at the start of every step, and again
 * where the next statement needs the other value.
 */
export function withLockTimeout(statements: readonly string[], ms: number): string[] {
  const out: string[] = [];
  let current: number | null = null;
  for (const sql of statements) {
    const wanted = /\b(CONCURRENTLY|VALIDATE CONSTRAINT)\b/i.test(sql) ? 0 : ms;
    if (wanted !== current)
      out.push(`SET lock_timeout = ${wanted === 0 ? '0' : `'${wanted % 1000 ? `${wanted}ms` : `${wanted / 1000}s`}'`}`);
    current = wanted;
    out.push(sql);
  }
  return out;
}

/** `CREATE [UNIQUE] INDEX name ON table rest` as written in a source file: unique, name, table, rest. */
const WRITTEN = new RegExp(
  String.raw`^CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b|IF\s+NOT\s+EXISTS\b)(${NAME})\s+ON\s+(?!ONLY\b)(${NAME}(?:\.${NAME})?)\s+([\s\S]+?)\s*;?\s*$`,
  'i',
);

/**
 * A source file's `CREATE INDEX` on a partitioned table, built per partition (`partitionWiseIndex`) on the partitions
 * the catalog has now; what an earlier build of it left (stopped or failed: the index INVALID) is dropped first, in
 * the same step. A note (why not) when the statement is not one dbee can rewrite (no name, `IF NOT EXISTS`).
 */
async function partitionWiseSource(
  conn: Connection,
  sql: string,
  at: { schema: string; table: string; index: string },
): Promise<{ statements: string[]; notes: string[] } | string> {
  const m = WRITTEN.exec(sql);
  if (!m)
    return `safe: not built per partition, dbee cannot rewrite this statement for each partition of ${at.schema}.${at.table} (write CREATE INDEX name ON table ...): built on the partitioned table, blocking writes`;
  const [, unique = '', , , rest = ''] = m;
  const tree = await partitionTree(conn, at.schema, at.table, at.index);
  const left = tree.leftover;
  for (const x of [...(left?.attached ?? []), ...(left?.invalid ?? [])]) tree.taken.get(x.schema)?.delete(x.name);
  const parent: IndexShape = { schema: at.schema, table: at.table, columns: keyNames(rest), name: at.index };
  const create = (i: IndexShape, how: PartitionBuild) =>
    `CREATE ${unique.trim() ? 'UNIQUE ' : ''}INDEX ${how === 'CONCURRENTLY' ? 'CONCURRENTLY ' : ''}${ident(i.name)} ON ${how === 'ONLY' ? 'ONLY ' : ''}${qualified(i.schema, i.table)} ${rest}`;
  const build = partitionWiseIndex(parent, partitionIndexes(parent, tree.partitions, [], tree.taken), create);
  const name = `${at.schema}.${at.index}`;
  const notes = [
    `safe: built per partition, outside a transaction (writes go on): ${name} ON ONLY ${at.schema}.${at.table}, each partition's index CONCURRENTLY, then attached`,
  ];
  if (!left) return { statements: build, notes };
  const clear = [
    `DROP INDEX IF EXISTS ${qualified(at.schema, at.index)}`,
    ...left.invalid.map((i) => `DROP INDEX CONCURRENTLY IF EXISTS ${qualified(i.schema, i.name)}`),
  ];
  notes.push(
    `safe: an earlier build of ${name} stopped and left it INVALID: dropped first (the partitions' indexes attached to it with it${left.invalid.length ? `, and ${left.invalid.map((i) => `${i.schema}.${i.name}`).join(', ')}, INVALID` : ''})`,
  );
  return { statements: [...clear, ...build], notes };
}

/**
 * The key columns' names of an index's `[USING method] (elements) ...` as PostgreSQL names a partition's index after
 * them: a column's name, `expr` for an expression.
 */
function keyNames(rest: string): string[] {
  const open = rest.indexOf('(');
  if (open < 0) return [];
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let from = open + 1;
  for (let i = open + 1; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === '"') quoted = !quoted;
    if (quoted) continue;
    if (ch === '(') depth++;
    else if (ch === ')' && depth-- === 0) {
      parts.push(rest.slice(from, i));
      break;
    } else if (ch === ',' && depth === 0) {
      parts.push(rest.slice(from, i));
      from = i + 1;
    }
  }
  return parts.map((p) => {
    const c = /^\s*("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)(\s|$)/.exec(p);
    if (!c) return 'expr';
    return c[1]!.startsWith('"') ? c[1]!.slice(1, -1).replace(/""/g, '"') : c[1]!.toLowerCase();
  });
}

/** Comments and blanks before a statement's first word. */
const LEADING = /^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/;

/**
 * A step planned from a source file, with the safe rewrites (`Engine.diff.safeSourceStep`): a lone `CREATE [UNIQUE]
 * INDEX` on a table that exists (and is not partitioned) is built `CONCURRENTLY` outside a transaction, and every
 * statement runs under the lock timeout (`withLockTimeout`). The table's kind is read from the catalog.
 */
export async function safeSourceStep(
  conn: Connection,
  step: PlanStep,
  safe: { lockTimeoutMs: number },
): Promise<Pick<PlanStep, 'statements' | 'reverse' | 'transactional' | 'notes'>> {
  let { statements, reverse, transactional } = step;
  const notes = [...(step.notes ?? [])];
  const k = step.objectKey;
  const sql = statements.length === 1 ? statements[0]! : '';
  const lead = LEADING.exec(sql)?.[0] ?? '';
  const create = /^CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)/i.exec(sql.slice(lead.length));
  if (k.kind === 'index' && step.action === 'create' && create && k.parent) {
    const dot = k.parent.indexOf('.');
    const [schema, table] = dot > 0 ? [k.parent.slice(0, dot), k.parent.slice(dot + 1)] : [k.schema, k.parent];
    const r = await conn.query<{ relkind: string }>(
      'SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
      [schema, table],
    );
    const kind = r.rows[0]?.relkind;
    const built =
      kind === 'p' ? await partitionWiseSource(conn, sql.slice(lead.length), { schema, table, index: k.name }) : null;
    if (!kind) notes.push(`safe: not rewritten, ${schema}.${table} is created by this plan (it is empty)`);
    else if (built) {
      if (typeof built === 'string') notes.push(built);
      else {
        statements = built.statements;
        transactional = false;
        notes.push(...built.notes);
      }
    } else if (kind === 'p' || /\bON\s+ONLY\b/i.test(sql))
      notes.push(
        'safe: not built CONCURRENTLY, PostgreSQL cannot build an index of a partitioned table concurrently (do it per partition, then attach)',
      );
    else {
      const at = lead.length + create[0].length;
      statements = [`${sql.slice(0, at)}CONCURRENTLY ${sql.slice(at)}`];
      reverse = reverse?.map((s) => s.replace(/^(\s*DROP\s+INDEX\s+)(?!CONCURRENTLY\b)/i, '$1CONCURRENTLY ')) ?? null;
      transactional = false;
      notes.push('safe: CONCURRENTLY, outside a transaction (writes to the table go on)');
    }
  }
  return {
    statements: withLockTimeout(statements, safe.lockTimeoutMs),
    reverse: reverse?.length ? withLockTimeout(reverse, safe.lockTimeoutMs) : reverse,
    transactional,
    ...(notes.length ? { notes } : {}),
  };
}
