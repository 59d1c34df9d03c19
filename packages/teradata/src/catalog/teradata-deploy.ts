import {
  DbeeError,
  ExitCode,
  formatKey,
  type ConflictStrategy,
  type Connection,
  type ObjectKey,
  type ObjectKind,
  type Plan,
  type PlanStep,
} from '@dbee/core';
import { expandPlaceholders } from '../parse/placeholders';
import { normalizeName } from '../parse/teradata-identifiers';
import { teradataErrorCode } from '../connection/teradata-errors';
import { parseTeradata } from '../parse/teradata-parser';
import {
  backupName,
  definitionStatements,
  kindKeyword,
  qualifiedName,
  REPLACEABLE_KINDS,
  renderCopyData,
  renderDrop,
  renderRename,
  renderShow,
  SHOWABLE_KINDS,
  showText,
  tableColumns,
  toReplace,
} from '../render/teradata-renderer';

/**
 * Deploy semantics on Teradata, as functions that turn a plan step into the statements to run and the
 * compensating statements that undo them. DDL cannot be rolled back as a group on Teradata (a DDL statement must
 * end its transaction), so the undo is made from what the live database says *before* the change: the SHOW text
 * of the object being replaced, the name of the renamed-aside backup, or a DROP of what is created.
 *
 * Every returned statement is one request, run in its own transaction (auto-commit).
 */

/** `DBC.TablesV.TableKind` codes and the dbee kind they are. */
export const TABLE_KIND_CODES: Readonly<Record<string, ObjectKind>> = {
  T: 'table',
  O: 'table',
  Q: 'table',
  V: 'view',
  M: 'macro',
  P: 'procedure',
  E: 'procedure',
  F: 'function',
  A: 'function',
  R: 'function',
  B: 'function',
  S: 'function',
  L: 'function',
  I: 'join-index',
  N: 'hash-index',
  G: 'trigger',
  // A user-defined type, in SYSUDTLIB (Data Dictionary, "TablesV", TableKind U).
  U: 'type',
  // An authorization (TableKind X). A function mapping's TableKind is not in the pages read (verify): dbee finds one
  // with SHOW FUNCTION MAPPING instead (teradata-objects.ts).
  X: 'authorization',
};

export interface ObjectChangeOptions {
  /** What to do when a table (or join/hash index) to be created already exists. */
  ifExists: ConflictStrategy;
  /** With `rename`: copy the rows of the columns that survive into the new table. Default false. */
  copyData?: boolean;
  /** Time used in backup names. Default: now. */
  now?: Date;
  /** Values for `{{name}}` placeholders in the step's key and statements (expanded before looking at the database). */
  variables?: Record<string, string>;
}

/** A backup made by the `rename` strategy. */
export interface TableBackup {
  /** Database of the table and of its backup. */
  database: string;
  /** The backup's name, e.g. `ORDERS_BKP_20261121T103000`. */
  name: string;
  /** `formatKey` of the table it preserves. */
  of: string;
}

/** The statements for one step against one live database, and how to undo them. */
export interface ObjectChange {
  /** Statements to run, in order, each its own request. */
  statements: string[];
  /** Statements that undo `statements`, in order; null when the change cannot be undone (e.g. a DROP of a table). */
  reverse: string[] | null;
  /**
   * Per statement, what undoes it (`undo[i]` for `statements[i]`; null = cannot be undone); null when unknown.
   * `reverse` is these in reverse order; `reverseAfterFailure` uses them when a step fails half-way.
   */
  undo: (string[] | null)[] | null;
  backup?: TableBackup;
  /** The object's definition before the change (SHOW text), when it existed and SHOW applies. */
  previousDefinition: string | null;
  /** Whether the object existed before the change. */
  existed: boolean;
  /** True when the change loses rows (`drop` strategy on a table, or dropping a table). */
  dataLoss: boolean;
  /** Human notes about decisions made (`copied 3 surviving columns`, `already exists, left unchanged`). */
  notes: string[];
}

interface LiveObject {
  kind: ObjectKind;
  code: string;
}

/** What exists at `key` in DBC (one catalog lookup), or null. */
export async function lookupObject(conn: Connection, key: ObjectKey): Promise<LiveObject | null> {
  if (key.kind === 'database' || key.kind === 'user') {
    const r = await conn.query<{ db_kind: string }>(
      'SELECT DBKind AS db_kind FROM DBC.DatabasesV WHERE UPPER(DatabaseName) = ?',
      [normalizeName(key.name)],
    );
    const row = r.rows[0];
    return row
      ? { kind: String(row.db_kind).trim() === 'U' ? 'user' : 'database', code: String(row.db_kind).trim() }
      : null;
  }
  if (key.kind === 'role') {
    const r = await conn.query('SELECT RoleName AS role_name FROM DBC.RoleInfoV WHERE UPPER(RoleName) = ?', [
      normalizeName(key.name),
    ]);
    return r.rows.length ? { kind: 'role', code: 'role' } : null;
  }
  if (key.kind === 'profile') {
    const r = await conn.query(
      'SELECT ProfileName AS profile_name FROM DBC.ProfileInfoV WHERE UPPER(ProfileName) = ?',
      [normalizeName(key.name)],
    );
    return r.rows.length ? { kind: 'profile', code: 'profile' } : null;
  }
  const r = await conn.query<{ table_kind: string }>(
    'SELECT TableKind AS table_kind FROM DBC.TablesV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?',
    [normalizeName(key.schema), normalizeName(key.name)],
  );
  const row = r.rows[0];
  if (!row) return null;
  const code = String(row.table_kind).trim();
  return { kind: TABLE_KIND_CODES[code] ?? 'other', code };
}

/**
 * The object's current DDL from `SHOW <kind> db.name` (every result set and row concatenated, `\r` made `\n`), or
 * null when it does not exist.
 */
export async function captureDefinition(conn: Connection, key: ObjectKey): Promise<string | null> {
  if (!SHOWABLE_KINDS.has(key.kind)) return null;
  try {
    const r = await conn.query(renderShow(key));
    const text = showText(r.rows);
    return text || null;
  } catch (error) {
    const code = teradataErrorCode(error);
    if (code !== null && [3807, 3802, 3824, 5495, 5589].includes(code)) return null;
    throw error;
  }
}

/** A join index, hash index or trigger defined on a table, with the DDL that creates it again. */
export interface TableDependent {
  key: ObjectKey;
  /** Its CREATE statement, from SHOW (captured before it is dropped). */
  definition: string;
}

/**
 * The join indexes, hash indexes and triggers defined on a table, each with its SHOW text: Teradata refuses to drop
 * a table while they exist (SQL Data Definition Language Syntax and Examples, DROP TABLE: "If the table to be dropped
 * has triggers, hash indexes, or join indexes associated with it, you must first drop those ... else the request
 * aborts"), so dbee drops them first and creates them again after. Three catalog queries: `DBC.JoinIndicesV`,
 * `DBC.HashIndicesV` (one row per index and base table) and `DBC.TriggersV` (by subject table). The column names of
 * these views are the Data Dictionary's as dbee reads them (verify on a live system: the live suite does).
 */
export async function tableDependents(conn: Connection, key: ObjectKey): Promise<TableDependent[]> {
  const params = [normalizeName(key.schema), normalizeName(key.name)];
  const found = new Map<string, ObjectKey>();
  const add = (kind: ObjectKind, rows: { db: unknown; name: unknown }[]) => {
    for (const r of rows) {
      const k: ObjectKey = {
        kind,
        schema: String(r.db).trim().toUpperCase(),
        name: String(r.name).trim().toUpperCase(),
      };
      found.set(formatKey(k), k);
    }
  };
  const ji = await conn.query<{ db: unknown; name: unknown }>(
    'SELECT IndexDatabaseName AS db, IndexName AS name FROM DBC.JoinIndicesV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?',
    params,
  );
  add('join-index', ji.rows);
  const hi = await conn.query<{ db: unknown; name: unknown }>(
    'SELECT IndexDatabaseName AS db, IndexName AS name FROM DBC.HashIndicesV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?',
    params,
  );
  add('hash-index', hi.rows);
  const tr = await conn.query<{ db: unknown; name: unknown }>(
    'SELECT DatabaseName AS db, TriggerName AS name FROM DBC.TriggersV WHERE UPPER(SubjectTableDataBaseName) = ? AND UPPER(TableName) = ?',
    params,
  );
  add('trigger', tr.rows);
  const out: TableDependent[] = [];
  for (const k of found.values()) {
    const text = await captureDefinition(conn, k);
    const definition = text ? definitionStatements(text)[0] : undefined;
    if (!definition) {
      throw new DbeeError(
        `${k.kind} ${qualifiedName(k)} is defined on ${qualifiedName(key)}, but SHOW returned no definition for it, so dbee cannot create it again`,
        {
          code: 'DEPENDENT_UNKNOWN',
          hint: `drop ${qualifiedName(k)} yourself (and create it again after the deployment), or give dbee's user the rights to SHOW it`,
          exitCode: ExitCode.invalid,
        },
      );
    }
    out.push({ key: k, definition });
  }
  return out;
}

/** Column names of an existing table, upper case, in column order (`DBC.ColumnsV`). */
export async function liveColumns(conn: Connection, key: ObjectKey): Promise<string[]> {
  const r = await conn.query<{ column_name: string }>(
    'SELECT ColumnName AS column_name FROM DBC.ColumnsV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ? ORDER BY ColumnId',
    [normalizeName(key.schema), normalizeName(key.name)],
  );
  return r.rows.map((row) => normalizeName(String(row.column_name).trim()));
}

function expandKey(key: ObjectKey, variables: Record<string, string> | undefined): ObjectKey {
  if (!variables) return { ...key };
  return {
    ...key,
    schema: normalizeName(expandPlaceholders(key.schema, variables)),
    name: normalizeName(expandPlaceholders(key.name, variables)),
    ...(key.parent ? { parent: normalizeName(expandPlaceholders(key.parent, variables)) } : {}),
  };
}

/** Split a step's statements into the one that defines its object and the rest (COMMENT, GRANT, statistics). */
function definingStatement(statements: string[], key: ObjectKey): { index: number; kind: ObjectKind | null } {
  for (let i = 0; i < statements.length; i++) {
    const parsed = parseTeradata(statements[i]!, '<plan step>', { searchPath: key.schema ? [key.schema] : [] })[0];
    if (
      parsed?.key &&
      (parsed.action === 'create' || parsed.action === 'create-or-replace') &&
      parsed.key.name === normalizeName(key.name)
    ) {
      return { index: i, kind: parsed.key.kind };
    }
  }
  return { index: -1, kind: null };
}

/**
 * Plan one step against the live database: decide CREATE or REPLACE, apply the conflict strategy to an existing
 * table, and compute the compensating reverse from the object's current state. Only `create` and `replace` steps
 * are changed; other actions keep their statements and reverse (with placeholders expanded).
 *
 * - view, macro, procedure, function, trigger: `REPLACE ...`; reverse = `REPLACE` with the SHOW text captured
 *   now, or `DROP` when the object is new.
 * - table (and join/hash index): `CREATE`; reverse = `DROP`. When it exists: `raise` throws `OBJECT_EXISTS`;
 *   `rename` runs `RENAME TABLE t TO t_BKP_<time>`, the CREATE, then (copyData) `INSERT ... SELECT` of the
 *   surviving columns, with reverse `DROP t`, `RENAME t_BKP_<time> TO t`; `drop` runs `DROP` then `CREATE`, with
 *   reverse `DROP` and the old SHOW text (structure only: the rows are lost, `dataLoss` is set).
 *   Join and hash indexes hold no rows of their own, so `rename` and `drop` both drop and recreate them.
 * - database, user, role, profile: created when missing (reverse `DROP`), left unchanged when they exist.
 */
export async function planObjectChange(
  conn: Connection,
  step: PlanStep,
  options: ObjectChangeOptions,
): Promise<ObjectChange> {
  const vars = options.variables;
  const key = expandKey(step.objectKey, vars);
  const statements = step.statements.map((s) => (vars ? expandPlaceholders(s, vars) : s));
  const passThrough = (): ObjectChange => {
    const reverse = step.reverse ? step.reverse.map((s) => (vars ? expandPlaceholders(s, vars) : s)) : null;
    return {
      statements,
      reverse,
      undo: null,
      previousDefinition: null,
      existed: step.action !== 'create',
      dataLoss: false,
      notes: [],
    };
  };
  if (step.action === 'drop') return planDrop(conn, key, statements);
  if (step.action !== 'create' && step.action !== 'replace') return passThrough();

  const { index, kind: statementKind } = definingStatement(statements, key);
  if (index < 0) return passThrough();
  const kind = statementKind ?? key.kind;
  // COMMENT, COLLECT STATISTICS, GRANT: they go with the object, so undoing the object undoes them.
  const extras: Undoable[] = statements.filter((_, i) => i !== index).map((sql) => [sql, []]);
  const definition = statements[index]!;
  const live = await lookupObject(conn, { ...key, kind });
  const name = `${kind} ${qualifiedName(key)}`;
  const target = { ...key, kind };

  if (
    live &&
    live.kind !== kind &&
    !(kind === 'user' && live.kind === 'database') &&
    !(kind === 'database' && live.kind === 'user')
  ) {
    throw new DbeeError(
      `${qualifiedName(key)} exists as a ${live.kind} (TableKind ${live.code}) but the source defines a ${kind}`,
      {
        code: 'OBJECT_KIND_CONFLICT',
        hint: `drop or rename the existing ${live.kind} yourself, or rename the object in the source`,
        exitCode: ExitCode.invalid,
        details: { key: formatKey(key), live: live.kind, source: kind },
      },
    );
  }
  const facts = (existed: boolean, previousDefinition: string | null = null, notes: string[] = []) => ({
    existed,
    previousDefinition,
    dataLoss: false,
    notes,
  });

  const refuseExisting = () =>
    new DbeeError(`${name} already exists`, {
      code: 'OBJECT_EXISTS',
      hint: 'set ifExists: rename (keeps the old object as a backup; for a table, copyData: true brings its rows) or drop, in db.yaml conflicts or deploy settings; or drop it yourself',
      exitCode: ExitCode.invalid,
      details: { key: formatKey(target), strategy: 'raise' },
    });

  if (REPLACEABLE_KINDS.has(kind)) {
    const previous = live ? await captureDefinition(conn, target) : null;
    if (live && step.action === 'create') {
      // The step creates it, so the ledger does not know it: a conflict, whether the source says CREATE or REPLACE
      // (a REPLACE would overwrite it without a trace).
      if (options.ifExists === 'raise') throw refuseExisting();
      const replaced = previous ? definitionStatements(previous).map(toReplace) : null;
      if (options.ifExists === 'rename') {
        const bkp = backupName(key.name, options.now ?? new Date());
        const change = build(
          [
            [
              renderRename(target, bkp),
              [`RENAME ${kindKeyword(kind)} ${qualifiedName({ ...target, name: bkp })} TO ${qualifiedName(target)}`],
            ],
            [toReplace(definition), [renderDrop(target)]],
            ...extras,
          ],
          facts(true, previous, [`${name} renamed to ${bkp}`]),
        );
        return { ...change, backup: { database: key.schema, name: bkp, of: formatKey(target) } };
      }
      return build(
        [[renderDrop(target), replaced], [toReplace(definition), [renderDrop(target)]], ...extras],
        facts(true, previous, [`${name} is dropped and created again`]),
      );
    }
    const undo = live ? (previous ? definitionStatements(previous).map(toReplace) : null) : [renderDrop(target)];
    return build(
      [[toReplace(definition), undo], ...extras],
      facts(!!live, previous, live && !previous ? [`SHOW returned nothing for ${name}: no reverse`] : []),
    );
  }

  if (kind === 'database' || kind === 'user' || kind === 'role' || kind === 'profile') {
    if (live) return build([], facts(true, null, [`${name} already exists, left unchanged`]));
    return build([[definition, [renderDrop(target)]], ...extras], facts(false));
  }

  if (kind === 'table' || kind === 'join-index' || kind === 'hash-index') {
    if (!live) return build([[definition, [renderDrop(target)]], ...extras], facts(false));
    if (options.ifExists === 'raise') throw refuseExisting();
    const previous = await captureDefinition(conn, target);
    // Join indexes, hash indexes and triggers on the table: Teradata refuses to drop or rename it while they exist.
    // Dropped first, created again (from their SHOW text) once the new table exists.
    const dependents = kind === 'table' ? await tableDependents(conn, target) : [];
    const dropDependents: Undoable[] = dependents.map((d) => [renderDrop(d.key), [d.definition]]);
    const createDependents: Undoable[] = dependents.map((d) => [d.definition, [renderDrop(d.key)]]);
    if (kind === 'table' && options.ifExists === 'rename') {
      const bkp = backupName(key.name, options.now ?? new Date());
      const out: Undoable[] = [
        ...dropDependents,
        [
          renderRename(target, bkp),
          [`RENAME TABLE ${qualifiedName({ ...target, name: bkp })} TO ${qualifiedName(target)}`],
        ],
        [definition, [renderDrop(target)]],
      ];
      const notes: string[] = [`${name} renamed to ${bkp}`];
      if (options.copyData) {
        const before = await liveColumns(conn, target);
        const after = tableColumns(definition);
        if (!after) notes.push('copyData skipped: the new table has no column list');
        else {
          const surviving = after.filter((c) => before.includes(c));
          if (surviving.length) {
            // Undone by dropping the new table.
            out.push([renderCopyData(target, bkp, surviving), []]);
            notes.push(
              `copies ${surviving.length} surviving column${surviving.length > 1 ? 's' : ''}: ${surviving.join(', ')}`,
            );
          } else notes.push('copyData skipped: no column survives');
        }
      }
      return {
        ...build([...out, ...extras, ...createDependents], facts(true, previous, notes)),
        backup: { database: key.schema, name: bkp, of: formatKey(target) },
      };
    }
    const change = build(
      [
        ...dropDependents,
        [renderDrop(target), previous ? definitionStatements(previous) : null],
        [definition, [renderDrop(target)]],
        ...extras,
        ...createDependents,
      ],
      facts(
        true,
        previous,
        kind === 'table'
          ? [`${name} is dropped and recreated: its rows are lost`]
          : [`${name} is dropped and recreated`],
      ),
    );
    return { ...change, dataLoss: kind === 'table' };
  }

  // Secondary indexes and anything else: created as written; a secondary index is undone by dropping it.
  const parsed = parseTeradata(definition, '<plan step>', { searchPath: key.schema ? [key.schema] : [] })[0];
  if (kind === 'index' && parsed?.key) {
    return build(
      [[definition, [renderDrop(parsed.key, indexColumnsOf(definition, parsed.key.name))]], ...extras],
      facts(!!live),
    );
  }
  return { ...passThrough(), existed: !!live };
}

/** A statement and the statements that undo it (null: cannot be undone). */
type Undoable = [statement: string, undo: string[] | null];

function build(
  pairs: Undoable[],
  rest: Pick<ObjectChange, 'existed' | 'previousDefinition' | 'dataLoss' | 'notes'>,
): ObjectChange {
  const undo = pairs.map((p) => p[1]);
  return { statements: pairs.map((p) => p[0]), reverse: reverseOf(undo, undo.length), undo, ...rest };
}

function reverseOf(undo: (string[] | null)[], count: number): string[] | null {
  const done = undo.slice(0, count);
  if (done.some((u) => u === null)) return null;
  return (done as string[][]).reverse().flat();
}

/**
 * The statements that undo the part of a change that ran before `failedIndex` failed: `statements[0..failedIndex-1]`
 * succeeded (each is its own transaction), the failed one left nothing behind. Null when that part cannot be undone.
 * E.g. with `rename`, a failed CREATE (index 1) is undone by renaming the backup back.
 */
export function reverseAfterFailure(change: ObjectChange, failedIndex: number): string[] | null {
  if (!change.undo) return failedIndex === 0 ? [] : null;
  return reverseOf(change.undo, failedIndex);
}

function indexColumnsOf(sql: string, name: string): string[] | undefined {
  if (!name.startsWith('UNNAMED_')) return undefined;
  const m = /INDEX\s*(?:ALL\s*)?\(([^)]*)\)/i.exec(sql);
  return m ? m[1]!.split(',').map((c) => c.trim().replace(/^"|"$/g, '').toUpperCase()) : undefined;
}

async function planDrop(conn: Connection, key: ObjectKey, statements: string[]): Promise<ObjectChange> {
  const previous = await captureDefinition(conn, key);
  const isTable = key.kind === 'table';
  // A dropped table's rows cannot come back; its structure can, but an empty table is not an undo.
  const reverse =
    previous && !isTable
      ? definitionStatements(previous).map((s) => (REPLACEABLE_KINDS.has(key.kind) ? toReplace(s) : s))
      : null;
  // Teradata refuses to drop a table with join indexes, hash indexes or triggers on it: they go first (and cannot
  // come back without the table), and the plan says so.
  const dependents = isTable && previous ? await tableDependents(conn, key) : [];
  return {
    statements: [...dependents.map((d) => renderDrop(d.key)), ...statements],
    reverse,
    undo: statements.length === 1 && !dependents.length ? [reverse] : null,
    previousDefinition: previous,
    existed: previous !== null,
    dataLoss: isTable,
    notes: [
      ...(previous ? [] : [`${key.kind} ${qualifiedName(key)} does not exist`]),
      ...dependents.map((d) => `${d.key.kind} ${qualifiedName(d.key)} is defined on it: dropped first`),
    ],
  };
}

/** Options of {@link prepareTeradataPlan}: the strategy may depend on the step (db.yaml `conflicts` globs). */
export interface PreparePlanOptions extends Omit<ObjectChangeOptions, 'ifExists' | 'copyData'> {
  ifExists: ConflictStrategy | ((step: PlanStep) => ConflictStrategy);
  copyData?: boolean | ((step: PlanStep) => boolean);
}

/**
 * Run {@link planObjectChange} for every step, in order, before anything is applied: the result is a plan whose
 * statements and reverses are exact for this database (and can be exported with `toBteq`). A `raise` conflict
 * fails here, with nothing applied yet.
 */
export async function prepareTeradataPlan(
  conn: Connection,
  plan: Plan,
  options: PreparePlanOptions,
): Promise<{ plan: Plan; changes: ObjectChange[] }> {
  const changes: ObjectChange[] = [];
  const steps: PlanStep[] = [];
  for (const step of plan.steps) {
    const change = await planObjectChange(conn, step, {
      ...options,
      ifExists: typeof options.ifExists === 'function' ? options.ifExists(step) : options.ifExists,
      copyData: typeof options.copyData === 'function' ? options.copyData(step) : options.copyData,
    });
    changes.push(change);
    steps.push({ ...step, statements: change.statements, reverse: change.reverse });
  }
  return { plan: { ...plan, steps }, changes };
}
