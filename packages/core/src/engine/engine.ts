import { DbeeError } from '../errors';
import type { ObjectKey } from '../model/object-key';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Plan, PlanStep } from '../plan/plan';
import type { RenderMode } from '../plan/render-mode';
import type { Change, RenameDeclaration } from '../schema/change';
import type { SchemaModel } from '../schema/model';
import type { SameDefinition } from '../schema/definition-form';
import type { ManagedScope, SchemaScope } from '../schema/managed-scope';
import type { Table } from '../schema/model';
import type { SmokeCheck } from '../model/smoke-check';
import type { EngineFacts, KeyNameRules, ParsedType, SourceParser } from '../model/engine-facts';

export type { EngineFacts, KeyNameRules, ParsedType, SourceParser } from '../model/engine-facts';
import type { Connection } from './connection';
export type {
  BatchResult,
  Connection,
  DatabaseNotice,
  QueryResult,
  ResultField,
  StatementDescription,
} from './connection';
import type { AdviseRole, StatisticsAdviceRole } from './advise-role';
import type { BackfillRole } from './backfill-role';
import type { BlueGreenRole } from './blue-green-role';
import type { ImportRole } from './import-role';
import type { LockTimeouts } from './lock-timeouts';
export type { LockTimeouts } from './lock-timeouts';

/** A plan step as an engine renders it from a change: the planner adds order, project, source and checksum. */
export type RenderedStep = Omit<PlanStep, 'order' | 'project' | 'source' | 'checksum'>;

/**
 * How an engine behaves, as data: flags that change how core runs statements. Core branches on these flags and on
 * the presence of an engine's roles (`Engine.diff`...), never on an engine's name.
 */
export interface EngineCapabilities {
  /** DDL can share a transaction with later statements and be rolled back (PostgreSQL: yes; Teradata: no). */
  transactionalDdl: boolean;
  /**
   * An object that exists although the ledger does not know it is a conflict even when the source replaces it
   * (`REPLACE VIEW`): the conflict strategy applies and what it replaced is kept (Teradata). Default false: a
   * `CREATE OR REPLACE` never conflicts (PostgreSQL).
   */
  replaceConflicts?: boolean;
  /**
   * How the parser writes a source's identifier in an object key: unquoted, and double-quoted. Default PostgreSQL's:
   * an unquoted name folded to lower case, a quoted one kept as is. Teradata: upper case, quoted or not. A package
   * keeps names made from `{{placeholders}}` as templates and makes each target's keys with this rule.
   */
  keyNames?: KeyNameRules;
}

/** A held deployment lock. `release` is idempotent. */
export interface LockHandle {
  release(): Promise<void>;
  /**
   * Why the lock is no longer held (its session was terminated, timed out, or the lock file was taken over), or
   * null while it is. Checked before every step; one cheap round trip at most. Absent: the lock cannot be lost
   * (an in-memory database).
   */
  lost?(): Promise<string | null>;
  /**
   * Mark `conn` as a working session of this lock's holder, so that a later lock taker can tell a live deployment
   * (whose lock session was lost) from a dead one: it waits for such sessions to end before it marks anything
   * interrupted (PostgreSQL: `application_name`, checked in `pg_stat_activity` of the same database).
   */
  attach?(conn: Connection): Promise<void>;
  /**
   * An SQL integer expression that a working session (see `attach`) evaluates inside its own requests and
   * transactions: 1 while this lock is held; once it is lost, evaluating it raises. The runner multiplies each step's
   * ledger row by it (the row is written last, right before the step's transaction commits), so that no transaction
   * commits after the lock is lost, even in a request of many steps; on an error it asks `lost` whether the lock is
   * gone. PostgreSQL: a per-holder advisory lock held by the lock's session, tried from the working session. Absent:
   * the lock is checked between requests only (`lost`).
   */
  guard?: string;
  /**
   * The lock's own session, for read-only catalog queries that may run while the working session runs others (the
   * fingerprint a deployment records, read while its smoke baseline runs; a rollback's drift check, while it plans).
   * It holds nothing but the lock: a query there sees what the working session has committed, and waits for no lock
   * of the working session once its transactions have ended. Absent: there is one session (PGlite, a lock file).
   */
  session?: Connection;
}

export interface LockOptions {
  /** How long to keep trying before giving up, in milliseconds. */
  timeoutMs: number;
  /** Who is asking, recorded where the engine can (lock row) and used in the holder message. */
  owner: LockOwner;
  /** Called when the lock is busy, with the holder if known, before each retry. */
  onWait?: (holder: LockOwner | undefined) => void;
  /**
   * A reader that changes nothing on the target (`dbee check`): it takes no deployment lock where readers need none,
   * so that it neither waits for a deployment nor makes one (or another check) wait; the handle holds nothing. Where
   * the target cannot be shared (an embedded database's folder, one process at a time) the lock is taken as usual.
   */
  reader?: boolean;
}

export interface LockOwner {
  user: string;
  host: string;
  pid: number;
  since: string;
  deploymentId?: string;
}

/** The ledger tables as versioned DDL: `migrations[i]` upgrades the ledger from version i to i + 1. */
export interface LedgerDialect {
  /** Schema (PostgreSQL) or database (Teradata) holding the ledger tables. */
  schema: string;
  /** Numbered upgrade scripts, each a list of statements. */
  migrations: string[][];
  /**
   * The latest version's tables created directly, for a database without a ledger: the same tables, columns, keys,
   * indexes and triggers as running every upgrade in turn (tested against it), with less DDL (no columns added
   * afterwards, no keys created to be dropped again). Optional: without it a new ledger runs every upgrade.
   */
  fresh?: string[];
  /**
   * Feature tables that a new ledger (`fresh`) leaves out, by name: the statements that create one with its indexes,
   * exactly as the versioned upgrades do, written to run again harmlessly (`CREATE TABLE IF NOT EXISTS`). The first
   * deployment that writes one creates it (`Ledger.ensureTable`: under the deployment lock, in the transaction of its
   * first row where there is one); every reader treats a missing one as empty (`Ledger.hasTable`). A database fleet
   * pays for the tables of the features it uses, not for all of them. Optional (Teradata: the ledger has every table).
   */
  lazyTables?: Record<string, readonly string[]>;
  /**
   * A scalar SQL expression naming the `lazyTables` that exist, separated by spaces (null when none): read with the
   * ledger's version, so that a ledger that has them costs no round trip more. Needed with `lazyTables`.
   */
  presentTables?: string;
  /** Positional parameter marker for the n-th (1-based) parameter. */
  param(n: number): string;
  /** SQL expression for the current timestamp. */
  now: string;
  /**
   * The ledger table of backfill cursors (`expand/backfill.ts`), when the engine runs backfills (PostgreSQL:
   * `backfills`); forgetting a migration (its rollback) forgets its backfills with it, so that it runs whole again.
   */
  backfills?: string;
  /**
   * The table recording which `migrations` have run (one row per version, column `version`). Default
   * `ledger_version` (PostgreSQL); Teradata: `schema_version`.
   */
  versionTable?: string;
  /**
   * How a ledger table or column name is written in SQL. Default: as is (PostgreSQL's names are plain lower-case
   * words). Teradata double-quotes every name, because several (`error`, `summary`, `version`...) are reserved there.
   */
  quote?(identifier: string): string;
  /** The parameter value of a boolean. Default: the boolean itself (PostgreSQL); Teradata binds 1 and 0. */
  bool?(value: boolean): unknown;
  /**
   * Whether JSON columns (`summary`, `statements`, `hazards`, `ledger_before`...) are plain text columns, read back as
   * strings, rather than a JSON type the driver parses (PostgreSQL's `jsonb`). Core always writes JSON text, and
   * parses what it reads when this is true, so both engines give the same rows. Default false.
   */
  jsonAsText?: boolean;
  /**
   * The expression of JSON column `column` with the JSON object `param` (a parameter marker or literal, JSON text)
   * merged in, its keys winning: a deployment's summary is then updated by one statement, without reading it first
   * (PostgreSQL: `coalesce(summary, '{}'::jsonb) || $1::jsonb`). Optional: without it, the summary is read, merged and
   * written (Teradata, whose JSON columns are text).
   */
  mergeJson?(column: string, param: string): string;
  /**
   * The expression of JSON array column `column` with the JSON value `param` (a parameter marker, JSON text) appended
   * (PostgreSQL: `coalesce(column, '[]'::jsonb) || jsonb_build_array(param::jsonb)`). Optional: without it, the array is
   * read, appended to and written.
   */
  appendJson?(column: string, param: string): string;
  /**
   * Whether an INSERT can compute its own key and return it (`INSERT ... RETURNING`): a deployment row then takes the
   * next id (`MAX(id) + 1`, under the deployment lock) in the statement that writes it, one request instead of a read
   * and a write. Default false (Teradata).
   */
  returning?: boolean;
  /**
   * Whether the DDL of one upgrade can run in one transaction with the row that records it. Default true
   * (PostgreSQL). False (Teradata: a DDL statement must end its transaction): each statement runs on its own, then
   * the version row is written; an upgrade interrupted half-way is finished by the next run (`appliedBefore`).
   */
  transactionalDdl?: boolean;
  /**
   * With `transactionalDdl: false`: whether `error`, raised by a statement of an upgrade, says that the statement took
   * effect before (the table or column is there: a run killed between two statements of the upgrade made it), so that
   * the next run goes on with the upgrade instead of failing on its first statement for ever. E.g. Teradata's 3803
   * (table exists) and 3933 (column exists). Default: none.
   */
  appliedBefore?(error: unknown): boolean;
  /**
   * The clause that makes an INSERT into `objects` replace the row of the same project and object key, e.g.
   * `ON CONFLICT (project, object_key) DO UPDATE SET checksum = EXCLUDED.checksum, ...` (PostgreSQL): one statement
   * instead of a DELETE and an INSERT. Given the quoted column names it must set. Optional (Teradata: DELETE, INSERT).
   */
  upsertObject?(set: readonly string[]): string;
  /**
   * Whether a deployment's steps leave their objects' state to one statement when it closes (`Ledger.fold`) instead of
   * an `objects` row each: the step's `steps` row (object key, checksum, action) already says it, and readers merge
   * the applied steps of a deployment not yet folded into what `objects` holds. Needs window functions and
   * `upsertObject`. Default false (Teradata: an `objects` row per step).
   */
  foldsObjects?: boolean;
  /**
   * What lets a step's ledger rows travel in the same request as its statements (PostgreSQL): values written as SQL
   * literals, and the step's start and duration read from the server's clock around its statements (the client
   * cannot time a statement inside a request). Without it, the rows are written with parameters after the step's
   * statements ran, one round trip each (Teradata). See `runner/journal.ts`.
   */
  inline?: LedgerInlining;
}

/** How ledger rows are written inline, as SQL text (see `LedgerDialect.inline`). */
export interface LedgerInlining {
  /** A parameter value as an SQL literal: string, number, boolean, Date or null; e.g. `E'it''s'`. */
  literal(value: unknown): string;
  /**
   * Expression marking a step's start, local to the transaction, e.g. `set_config('dbee.step_started', ...)`; the runner
   * selects it (with `asyncCommit` for a transaction's first step) in one statement before the step's own.
   */
  markStart: string;
  /** Expression of the marked start, written to `started_at`. */
  startedAt: string;
  /** Expression of the whole milliseconds since the mark, written to `duration_ms`. */
  elapsedMs: string;
  /**
   * Expression selected at a step transaction's start so that its COMMIT does not wait for the disk, e.g.
   * `set_config('synchronous_commit', 'off', true)`. Safe because a step and its ledger rows commit together and in
   * order: a server crash can lose only the newest step transactions, whole, so the ledger still says exactly what
   * ran; the deployment's closing row commits durably, which flushes every step before it. Used only on connections
   * with `executeBatch` (a server, whose WAL writer flushes within a second), never on an embedded database. Optional.
   */
  asyncCommit?: string;
  /**
   * What frames a whole deployment on such a connection: `start`, an expression the statement of the deployment's
   * opening row selects (e.g. `set_config('synchronous_commit', 'off', false)`: the opening row and the session's
   * later commits, its step rows outside requests among them, do not wait for the disk); `end`, a statement run right
   * before the closing row, in its request, which then commits as the server is configured (durably by default) and so
   * flushes every commit before it. Same safety argument and restriction as `asyncCommit`. Optional.
   */
  asyncSession?: { start: string; end: string };
  /**
   * Several writes, each to a different ledger table, as one statement (PostgreSQL: the first ones as data-modifying
   * `WITH` queries of the last; they all see the ledger as it was before the statement, see `Ledger.inlineAll`). A
   * step's rows then cost one statement instead of four. Optional.
   */
  chain?(statements: readonly string[]): string;
  /**
   * Statements the session keeps by name (PostgreSQL: `PREPARE name AS ...`, `EXECUTE name(...)`): a step's ledger
   * statement is then parsed, analysed and planned once per session instead of once per step (its text is the same
   * for every step but for the values), which is most of what writing it costs. `define` is the statement that makes
   * `sql` (parameters written with `LedgerDialect.param`) the session's statement `name`; `call` runs it with these
   * literals. Definitions outlive a rolled-back transaction. Used only on connections with `executeBatch`. Optional.
   */
  named?: {
    define(name: string, sql: string): string;
    call(name: string, literals: readonly string[]): string;
  };
}

/**
 * What the database records under a view or a routine (`SmokeDialect.viewDependencies`), by node: `relation:s.n`,
 * `routine:s.n` (every overload of the name) or `type:s.n`.
 */
export interface DependencyNode {
  /** The nodes it depends on directly (a view's rewrite rule; a routine's recorded dependencies). */
  dependsOn: string[];
  /** For a routine node: how many overloads the name has in the database. */
  overloads?: number;
  /**
   * Views among `dependsOn` whose query planning this node expands without reading any of their columns (`SELECT
   * count(*) FROM v`, `EXISTS (SELECT FROM v)`; no whole-row reference): planning it keeps none of their output
   * expressions, so what changed in them or under them cannot break it when they compile by themselves. A view that
   * reads a column of a changed view is compiled: a constant the planner folds through it can fail (`1/k`).
   */
  opaque?: string[];
}

/** An object whose dependents `SmokeDialect.dependentViews` looks for: a relation, a routine name, or a type. */
export interface DependencyStart {
  node: 'relation' | 'routine' | 'type';
  schema: string;
  name: string;
}

/**
 * What smoke checks need from an engine beyond running statements: catalog lookups and a few statement shapes.
 * Every statement it returns runs inside a transaction that is always rolled back.
 */
export interface SmokeDialect {
  /**
   * Statement bounding every later statement of the current transaction, e.g. `SET LOCAL statement_timeout = 2000`;
   * null when the database has none (Teradata): the bound is then checked after the check returns.
   */
  timeoutStatement(ms: number): string | null;
  /**
   * Of `keys`, those that do not exist in the database (one catalog query for all of them). Kinds the engine cannot
   * look up are taken as present. With `timeoutMs`, the query runs under that bound by itself, outside any transaction
   * of the caller's (`SmokeDialect.boundsOneQuery`: the smoke baseline's existence check in one request).
   */
  missingObjects(conn: Connection, keys: ObjectKey[], timeoutMs?: number): Promise<ObjectKey[]>;
  /**
   * Whether `missingObjects` can bound its one query by itself on `conn` (`timeoutMs`), with no transaction opened
   * around it: a PostgreSQL server session sets `statement_timeout` for that query alone, in its request.
   */
  boundsOneQuery?(conn: Connection): boolean;
  /** A statement that compiles a view without reading its rows, e.g. `SELECT * FROM sales.v LIMIT 0`; null for other kinds. */
  compileStatement(key: ObjectKey): string | null;
  /**
   * The direct dependencies of `views` and of every view and routine under them, as the database records them, by
   * node (`relation:s.n`, `routine:s.n`, `type:s.n`; see `smoke/stale-views.ts`): what the baseline needs to tell the
   * views a deployment can have broken (`viewsToCompile`). Optional: an engine whose views can break unnoticed
   * (Teradata records no dependencies) compiles them all after every deployment.
   */
  viewDependencies?(conn: Connection, views: ObjectKey[]): Promise<Map<string, DependencyNode>>;
  /**
   * The views and materialized views of the whole database that stand on `objects`, directly or through other views
   * and routines, as the database records it (a view's rewrite rule; a routine's argument and result types and a
   * `BEGIN ATOMIC` body; a relation's row type, a type's array type): after a deployment, the baseline compiles those of
   * other projects over what it changed (`dependentViews` in smoke/run-smoke.ts). `own`: the project's views, which all
   * exist; the engine may answer without walking when the database holds no other view (the caller drops `own` from
   * the answer). Optional: without it, a deployment compiles its own project's views only.
   */
  dependentViews?(
    conn: Connection,
    objects: readonly DependencyStart[],
    own: readonly ObjectKey[],
  ): Promise<ObjectKey[]>;
  /** Names of result column types, e.g. 20 → `bigint` (PostgreSQL: `format_type(oid, NULL)`). */
  typeNames(conn: Connection, typeIds: number[]): Promise<Map<number, string>>;
  /**
   * Statement calling a routine with `argCount` positional parameters, e.g. `SELECT * FROM sales.total($1)` or
   * `CALL sales.close($1)`. `name` is written as in the smoke file (possibly qualified or quoted).
   */
  routineCall(kind: 'function' | 'procedure', name: string, argCount: number): string;
}

/** How an existing object is moved out of the way of a CREATE (see `ObjectCatalog.setAside`). */
export interface SetAside {
  /** Statements to run before the CREATE, in the same transaction. */
  statements: string[];
  /** Statements that undo them once the new object is gone; null when that is impossible (a dropped table's rows). */
  reverse: string[] | null;
  /** The renamed object that keeps the old one (strategy `rename`); null for `drop`. */
  backup: ObjectKey | null;
  /**
   * Objects that must be out of the way while the object is dropped or renamed, and come back after (Teradata: the
   * join indexes, hash indexes and triggers on a table): `drop` runs before `statements`, `create` after the step's
   * own statements (and the copy of rows); the step's reverse drops them first and creates them again last.
   */
  dependents?: { drop: string[]; create: string[] };
  /**
   * Statements run after the step's own (and the copy of rows) that carry over to the new object what the old one had
   * and the sources do not say (Teradata: the rights granted on a table renamed aside, which stay with the backup).
   */
  after?: string[];
  /**
   * Build aside, then swap (Teradata, a table under `rename`): instead of moving the object aside before the step's own
   * statements run against its name, the step is made whole here: the new object built under another name (the step's
   * own statements, retargeted), filled from the live one when `copyData`, given what the old one had, then renamed
   * into place; the live object keeps its name and its rows until then. `undoAt` gives what undoes the statements
   * before the one that failed (drop what was built, put the old object back under its name): the runner runs it as
   * soon as the step fails. Absent: `statements`, then the step's own, then `after`.
   */
  buildAside?: BuildAside;
}

/** See {@link SetAside.buildAside}. */
export interface BuildAside {
  /** Throws what makes the build impossible (no room for the copy), when the conflict is decided: nothing has run. */
  check?(copyData: boolean): void;
  /** The step's statements, made from its own (placeholders expanded); `copyData`: the rows come along. */
  statements(own: readonly string[], copyData: boolean): string[];
  /** What undoes `statements[0 .. failed - 1]` (each committed on its own) when `statements[failed]` failed. */
  undoAt(statements: readonly string[], failed: number): string[];
}

/** How a routine is made uncallable by `dbee disable` (see `AccessControl.disableRoutine`), and how to undo it. */
export interface DisabledRoutine {
  /** The routine, with its argument types, e.g. `{ kind: 'function', schema: 'sales', name: 'order_total', args: ['bigint'] }`. */
  key: ObjectKey;
  /** Statements that disable it (revoke EXECUTE, or rename it aside); empty when nobody but its owner can call it. */
  statements: string[];
  /** Statements that undo them exactly (the same grants, with their grant options; the rename back). */
  reverse: string[];
  /** Grantees whose EXECUTE is revoked (`PUBLIC` or role names), in statement order; empty for a rename. */
  revoked: string[];
  /** The routine's new qualified name when it is renamed aside, e.g. `sales.order_total_bak_20261121t103000`. */
  renamedTo: string | null;
}

/** A live object written as a source file by `ExtractRole.objects`. */
export interface ExtractedObject {
  /** The object the file defines (its indexes, triggers, comments and grants ride along). */
  key: ObjectKey;
  /** Path relative to the project folder, e.g. `schema/sales/tables/orders.sql`. */
  path: string;
  /** The file's text: statements that create the object from nothing, each ending with `;` and a newline. */
  text: string;
  /**
   * What the user must know about the file, printed as a warning when it is written, e.g. Teradata: an authorization's
   * password cannot be read back, so its file takes it from a variable to set before deploying.
   */
  note?: string;
}

/** One change to an object recorded by the audit trail (`dbee audit --enable`). */
export interface AuditEvent {
  /** ISO time. */
  at: string;
  /** The role that ran the statement (PostgreSQL: `current_user`). */
  role: string;
  /** `ddl` (created or altered) or `drop`. */
  event: 'ddl' | 'drop';
  /** The statement's tag, e.g. `ALTER TABLE`. */
  command: string;
  /** The engine's name for the kind of object, e.g. `table`, `function`, `index`, `trigger`. */
  objectType: string;
  schema: string | null;
  /** The engine's identity of the object, e.g. `sales.orders`, `sales.total(integer)`, `orders_touch on sales.orders`. */
  identity: string;
  /** The table, view, routine, type... the change belongs to (an index's or trigger's table); null when unknown. */
  key: ObjectKey | null;
}

/** An audit trail of who changed which object when (`dbee audit`), kept in the ledger schema. */
export interface AuditTrail {
  /** Start recording (idempotent); opens a recording period starting `at` (default: the database's clock; tests set it). */
  enable(conn: Connection, at?: Date): Promise<void>;
  /** Stop recording; what was recorded stays. */
  disable(conn: Connection): Promise<void>;
  /** The recording periods, oldest first; `to` null while recording. Empty when never enabled. */
  periods(conn: Connection): Promise<{ from: Date; to: Date | null }[]>;
  /** Recorded changes to objects of `schemas`, oldest first. */
  events(conn: Connection, filter: { schemas: string[]; since?: Date; by?: string }): Promise<AuditEvent[]>;
  /**
   * Whether a role (PostgreSQL) or user (Teradata) of that name exists, for `extract --by` to refuse a name that can
   * have changed nothing (a typo). Absent: the engine cannot tell, and the name is taken as given.
   */
  roleExists?(conn: Connection, name: string): Promise<boolean>;
}

/** See `ObjectCatalog.stepOutcome`. */
export type StepOutcome =
  | {
      state: 'done';
      /**
       * Statements that complete what the step began, run before it is recorded applied (Teradata: the second rename
       * of a swap that stopped between its two renames); default none.
       */
      finish?: string[];
      /** The renamed-aside object (qualified) the step kept, recorded as its backup, as a step that ran records it. */
      backup?: string;
    }
  | { state: 'not-done' }
  | {
      state: 'invalid';
      clear: string[];
      /** What the step left, for the message, e.g. `table DEV_EDW.ORDERS, made by the step`; default an INVALID index. */
      left?: string;
    }
  | { state: 'unknown' };

/** What the ledger's `started` row says a step was sending when its process died (`ObjectCatalog.stepOutcome`). */
export interface StartedStep {
  /** Its statements in order, as recorded (a conflict's and a build aside's included). */
  statements: string[];
  /** What undoes all of them, as recorded; null when unknown. */
  reverse: string[] | null;
  /** The object's definition read before the step (it existed then), or null. */
  previousDefinition: string | null;
}

/**
 * How a deployment session is configured and cleaned up. Required: every engine has a session, even when some of
 * these statements are empty for it (Teradata resets nothing), and core runs them around every deployment, so an
 * optional member here would be one more "does it have it" test with the same answer for every caller.
 */
export interface SessionDialect {
  /**
   * Statements run before a deployment's steps, e.g. `SET lock_timeout = '5s'`; may be empty. With `readOnly` (a
   * reader that must write nothing: the board of `dbee docs`), the session's transactions are read-only from then on
   * where the engine has such a mode (PostgreSQL: `default_transaction_read_only`); Teradata has none.
   */
  setup(settings: { lockTimeoutMs?: number; statementTimeoutMs?: number; readOnly?: boolean }): string[];
  /** Statements that undo `setup` and `searchPath` (a pooled session serves the next project clean); may be empty. */
  reset(): string[];
  /** Statement that makes unqualified names resolve through `schemas` (PostgreSQL: `SET search_path`), or null. */
  searchPath(schemas: string[]): string | null;
}

/** What `DiffRole.stateFingerprints` read: a state per scope, and which of the scopes' schemas are not there. */
export interface StateFingerprints {
  /** The state fingerprint of each scope, in the order of the scopes. */
  states: string[];
  /**
   * The scopes' schemas the same read found missing, e.g. every schema of a new fleet target: nothing in them can
   * exist while the deployment holds its lock, so its conflict check asks the catalog about nothing in them.
   */
  missingSchemas: string[];
}

/** The rows a scratch copy lacks that a failed statement was about (`DiffRole.missingRows`). */
export interface MissingRows {
  /** The table they belong in, `schema.name`. */
  table: string;
  /** Which rows, as the error names them: `(sku)=(TEA-001)`. */
  rows: string;
  /** Whether the target holds them; null when there is no target to ask (the copy was made from a model). */
  onTarget: boolean | null;
}

/**
 * Declarative diffs in a shadow database: build the desired schema in a scratch database, read both sides into the
 * neutral model, diff, render. Its presence is what `capabilities.shadowDatabase` used to say (PostgreSQL: yes;
 * Teradata: no, tables change in place through `InPlaceChanges`).
 */
/** What a copy of rows into another database is for (`DiffRole.copySample`): its errors name it. */
export type SamplePurpose = 'rollback-test' | 'preview';

/** The rows `DiffRole.copySample` copied per table (`schema.name`), and the tables it could not copy whole. */
export type SampleCopied = Map<string, number> & {
  /** The tables of the request that hold more rows than their `limit` (only `limit` of them were copied). */
  beyond: ReadonlySet<string>;
};

export interface DiffRole {
  /**
   * Copy a sample of the target's rows (`from`, only read) into a scratch copy of its schemas (`to`), for the rollback
   * test (docs/rollback-readiness.md): up to `limit` rows of each table of `tables`, then every row those rows reference
   * through the copy's foreign keys, followed from table to table until none is missing (a referenced table receives
   * only the rows the sample names); a table with more rows than its `limit` is named in the result's `beyond`. All of it is loaded in one transaction, as a restore loads data: the copy's
   * triggers on those tables do not fire, and its foreign keys are checked once at the end. Returns the rows copied
   * per table (`schema.name`), referenced tables included. A sample that cannot be loaded (a referenced row missing on
   * the target too, a table given 0 rows that sampled rows reference) is a `DbeeError` coded `ROLLBACK_TEST_SAMPLE`
   * (exit 1) that names the tables and rows. Optional: without it no rows are sampled. The same copy fills a new
   * preview with its projects' reference data (`purpose: 'preview'`, `from` the base): its errors are then coded
   * `PREVIEW_REFERENCE_DATA` and say so.
   */
  copySample?(
    from: Connection,
    to: Connection,
    tables: readonly { schema: string; name: string; limit: number }[],
    purpose?: SamplePurpose,
  ): Promise<SampleCopied>;
  /**
   * The rows a scratch copy lacks that `error` (a statement's failure on the copy, which holds none or a sample of the
   * target's rows) is about, when the error can come only from them; null for every other error, which is then the
   * statement's own failure. `target` (only read; null when the copy was made from no database) is asked whether it
   * holds those rows: when it does not either, the statement would fail there too. PostgreSQL: a foreign key whose
   * referenced row is absent (SQLSTATE 23503 on INSERT or UPDATE, `Key (...)=(...) is not present in table ...`).
   */
  missingRows?(error: unknown, copy: Connection, target: Connection | null): Promise<MissingRows | null>;
  /** Every row of a table, each as one canonical text (compared before and after a rollback on the copy). */
  readRows?(conn: Connection, table: { schema: string; name: string }): Promise<string[]>;
  /**
   * The columns of `tables` (`schema.name`) that a row trigger sets on every UPDATE (a touch trigger: `NEW.updated_at
   * := now()`), each with the trigger's name: an undo's UPDATE sets them again, so the rollback test compares them only
   * where the release names them (docs/rollback-readiness.md). PostgreSQL: BEFORE UPDATE row triggers whose function
   * assigns `NEW.<column>`. Optional: without it every column is compared.
   */
  maintainedColumns?(
    conn: Connection,
    tables: readonly string[],
  ): Promise<{ table: string; column: string; trigger: string }[]>;
  /**
   * Read the live schema of some schemas into the neutral model, with a fixed number of catalog queries, without
   * what `scope.manage` leaves out (`restrictModel`). With `side` (a second session of the lock's holder that only
   * reads meanwhile: `LockHandle.session`), the queries are shared between the two sessions and run at once. A side
   * given as a promise is one still busy with another read: its share is sent once it resolves (to no session: after
   * `conn`'s own share, on `conn`), while `conn`'s goes at once.
   */
  introspect(
    conn: Connection,
    scope: SchemaScope,
    side?: Connection | Promise<Connection | undefined>,
  ): Promise<SchemaModel>;
  /**
   * The tables and views of some schemas with their columns' names and types as `introspect` reads them, and nothing
   * else of the model (no constraints, indexes, routines, comments, dependencies...): fewer catalog queries, for a
   * reader of columns only (the dbt check reads a scratch copy's after a release). Optional: `introspect` otherwise.
   */
  introspectRelations?(conn: Connection, scope: SchemaScope): Promise<SchemaModel>;
  /**
   * One cheap catalog query whose answer changes whenever anything in `scope` changes; what `scope.manage` leaves
   * out (unmanaged grants, owners, comments, ignored objects) and what the engine makes on its own (internal
   * triggers, extension members) never changes it.
   *
   * `like`: a fingerprint recorded earlier (a deployment's, a plan's base) that the value read is compared with. The
   * engine reads in that value's format when it is an earlier format of its own (an earlier dbee recorded it), so that
   * a newer format's added lines are not taken for a change; otherwise in its current format. A fingerprint's format
   * is its text before the first colon (a position-free one's with `np` after it): values of two formats are never
   * compared (operations/rollback/rolled-back-to.ts says so instead).
   */
  fingerprint(conn: Connection, scope: SchemaScope, like?: string): Promise<string>;
  /** The fingerprints of many scopes, each equal to `fingerprint` of it, with one catalog query (an Nx batch's end). */
  fingerprints(conn: Connection, scopes: readonly SchemaScope[]): Promise<string[]>;
  /**
   * `fingerprints`, each with the scope's position-free fingerprint read by the same catalog query: its definitions
   * without any column's position, so that a column dropped and put back (it takes a new position) leaves it equal. A
   * deployment records both (`DeploymentSummary.positionFreeFingerprint`); a rollback compares the position-free one
   * with the one the deployment before it recorded, and fails when they differ (operations/rollback/rolled-back-to.ts).
   * Compared only within one database. Absent (an engine without it): none is recorded, and a rollback whose
   * fingerprint differs is said "not proven converged".
   */
  recordableFingerprints?(
    conn: Connection,
    scopes: readonly SchemaScope[],
  ): Promise<{ fingerprint: string; positionFree: string }[]>;
  /**
   * Like `fingerprints`, but without the database's identity: equal for any two databases whose definitions in
   * `scope` are equal. A fleet deployment groups its targets by it (with their ledgers' state) to build one plan per
   * live state. Absent: every target of a fleet is planned on its own.
   */
  stateFingerprints?(conn: Connection, scopes: readonly SchemaScope[]): Promise<StateFingerprints>;
  /**
   * The state part of a fingerprint (`fingerprint`'s value without the database's identity, as `stateFingerprints`
   * gives it), null for a value that is not one of this engine's fingerprints. Two fingerprints of equal states
   * describe equal definitions: a database copied from a deployed one (a restored snapshot) has not drifted.
   * Absent: fingerprints are compared whole.
   */
  stateOf?(fingerprint: string): string | null;
  /**
   * A value much cheaper to read than `fingerprint` that changes whenever the fingerprint of any scope could (and more
   * often: any DDL in the database). Read before a fingerprint and recorded with it in the database's own ledger, an
   * equal value later means that fingerprint is still the live one there (runner/recorded-fingerprint.ts). Never a
   * key across databases. Absent: the fingerprint is read every time.
   */
  catalogVersion?(conn: Connection): Promise<string>;
  /**
   * The roles that exist where `conn` points (PostgreSQL: `pg_roles`), sorted. Comparing two environments, the
   * grants of every grantee that exists on both sides are compared; absent, only the grantees the sources name.
   */
  roles?(conn: Connection): Promise<string[]>;
  /**
   * A step planned from a source file (not from a diff), with the safe rewrites (`deploy.safeRewrites`, `--safe`):
   * its statements under the lock timeout, and an index on a table that exists built without blocking writes.
   * Reads the catalog only. Absent: source steps run as written.
   */
  safeSourceStep?(
    conn: Connection,
    step: PlanStep,
    safe: NonNullable<RenderMode['safe']>,
  ): Promise<Pick<PlanStep, 'statements' | 'reverse' | 'transactional' | 'notes'>>;
  /** Typed changes to plan steps (statements, reverses, hazards), in the order given. */
  renderChanges(
    changes: Change[],
    options: { from: SchemaModel; to: SchemaModel } & Partial<RenderMode>,
  ): RenderedStep[];
  /**
   * A scratch database to build the desired schema in: embedded (PGlite in memory) or a new database on the
   * environment's server. `dispose` closes it and, for a server, always drops it. `roles`: roles the sources name
   * (grantees, policy roles, owners), made in the shadow when missing so that the sources build; a server shadow
   * drops the ones it made again on dispose (roles belong to the whole server). `side`, where the shadow can have a
   * second session: opens one (once; closed by `dispose`), for reading the built schema on two sessions at once
   * (`introspect`'s `side`); undefined when it cannot be opened.
   */
  openShadow(
    kind: 'embedded' | 'server',
    environment: ResolvedEnvironment,
    context: { workspaceRoot: string; roles?: string[] },
  ): Promise<{ conn: Connection; side?: () => Promise<Connection | undefined>; dispose(): Promise<void> }>;
  /** Wipe a shadow database for reuse (every schema the sources could have created), so a pool can share it. */
  resetShadow(conn: Connection): Promise<void>;
  /**
   * Whether two printed definitions mean the same thing: as the server reads them back, and across server versions
   * (see `DiffOptions.sameDefinition`).
   */
  sameDefinition: SameDefinition;
  /** The engine's facts core's differ and hazard analyzers are given (see `EngineFacts`). */
  readonly facts: EngineFacts;
  /**
   * Session statements around copying a live schema's structure into a shadow database (a verified dry run), for
   * definitions whose bodies the catalog does not record as dependencies: `relax` lets a routine be created before
   * what its body reads, `restore` checks bodies again for the plan's own steps. Absent: the copy runs as it is.
   * PostgreSQL: `SET check_function_bodies = off` / `RESET check_function_bodies`.
   */
  readonly copySettings?: { relax: string[]; restore: string[] };
  /**
   * Statements that give the copy's session the settings the target database gives every session of its own, which
   * what the copy compiles may read (PostgreSQL: the custom parameters of `ALTER DATABASE ... SET app.x = ...`, which
   * a view over `current_setting('app.x')` needs, as `set_config` calls). Read on the target. Absent: none.
   */
  targetSettings?(target: Connection): Promise<string[]>;
  /**
   * The schemas, outside `schemas`, of the extensions the objects of `schemas` use in ways the model does not record
   * (PostgreSQL: an exclusion constraint's or index's operator class, `gist_int4_ops` of btree_gist installed in a
   * schema of its own; the functions and types of an extension there): the copy of the target takes them, with what is
   * installed there. Read on the target. Absent: none.
   */
  extensionSchemas?(target: Connection, schemas: readonly string[]): Promise<string[]>;
  /**
   * What a new database already holds of `live`'s schemas before any statement (PostgreSQL: `public`, with its
   * initdb owner, grants and comment), the `from` side when `live` is written from nothing (a dry run's copy of the
   * target): only what differs from it is created. Absent: a new database holds nothing.
   */
  newDatabase?(live: SchemaModel): SchemaModel;
}

/**
 * The catalog lookups and statement shapes the runner uses around steps: reverses, conflict strategies, captured
 * definitions, recovery of interrupted steps. Both engines have it; absent, deploy runs without those (no captured
 * definitions, conflicts found by the ledger only).
 */
export interface ObjectCatalog {
  /**
   * The statement that drops an object, used as the reverse of a step that created it; null when the engine
   * cannot drop that kind of object on its own (it goes with its parent, say).
   */
  renderDrop(key: ObjectKey): string | null;
  /**
   * Whether every new database has the object before any statement (PostgreSQL: the schema `public`). A step that
   * "creates" one (`CREATE SCHEMA IF NOT EXISTS public`, its grants, its comment) made nothing, so it is no conflict
   * and its reverse drops nothing. Absent: no object is.
   */
  inEveryDatabase?(key: ObjectKey): boolean;
  /**
   * The statement that creates a schema a project owns when it is missing (PostgreSQL: `CREATE SCHEMA IF NOT EXISTS`),
   * and its reverse. The planner adds it, as the project's first step, for every owned schema that no source file
   * creates. Null when the engine does not make schemas (Teradata: databases need space and are made by a DBA):
   * owned schemas must exist beforehand.
   */
  ensureSchema(name: string): { statements: string[]; reverse: string[] | null } | null;
  /**
   * What refuses a plan on this engine before anything is sent, judged from its statements alone, e.g. Teradata: an
   * authorization whose `PASSWORD '${VAR}'` names an environment variable that is not set. Asked by `deploy`, in the
   * dry run and the run alike, with the environment variables dbee runs with. Absent: nothing.
   */
  planProblems?(plan: Plan, env: NodeJS.ProcessEnv): DbeeError[];
  /**
   * Of `keys`, the formatted keys (`formatKey`) of those that already exist in the database, with one catalog
   * query for all of them. Used by `deploy` to find objects that a CREATE would collide with although the ledger
   * does not know them (conflict strategies). Kinds the engine cannot look up are reported absent.
   * Example: `[{ kind: 'table', schema: 'sales', name: 'orders' }]` → `Set { 'table:sales.orders' }`.
   */
  existingObjects(conn: Connection, keys: ObjectKey[]): Promise<Set<string>>;
  /**
   * The current definition of an object as a statement that recreates it (PostgreSQL: `pg_get_viewdef`,
   * `pg_get_functiondef`...), or null when it does not exist or the engine cannot write that kind. The runner
   * captures it just before a step replaces or removes the object, records it in the ledger, and uses it as the
   * step's reverse when the plan has none.
   */
  captureDefinition(conn: Connection, key: ObjectKey): Promise<string | null>;
  /**
   * `captureDefinition` of many objects in one round trip, in order (null where one does not exist or its kind is not
   * covered): read for a run of steps that `replacesOnlyItself` before the first of them runs (runner/deployment.ts).
   * Absent: one `captureDefinition` per step.
   */
  captureDefinitions?(conn: Connection, keys: readonly ObjectKey[]): Promise<(string | null)[]>;
  /**
   * Whether `step`'s statements can change the definition `captureDefinition` reads of no object but its own (PostgreSQL:
   * one `CREATE OR REPLACE` of an existing view or routine: it keeps the object's name, columns, arguments and result,
   * so what stands on it reads the same). The definitions of a run of such steps are read together before the first
   * runs. Absent, or false: the step's definition is read after every step before it ran.
   */
  replacesOnlyItself?(step: PlanStep): boolean;
  /**
   * Statements that get an existing object out of the way of a CREATE, for the conflict strategies `rename` (keep
   * it, with its data, under a backup name made from `stamp`, e.g. `orders_bak_20261121t103000`) and `drop`.
   * Reads the catalog (what else must move with it: a table's indexes, say), changes nothing. Null when the
   * object does not exist or the engine cannot do that to its kind.
   */
  setAside(conn: Connection, key: ObjectKey, strategy: 'rename' | 'drop', stamp: string): Promise<SetAside | null>;
  /**
   * How many rows table `key` holds (`SELECT COUNT(*)`). Rollback asks it before it drops a table to put back the one a
   * deployment renamed aside: the rows written since would go with it.
   */
  rowCount(conn: Connection, key: ObjectKey): Promise<number>;
  /**
   * The rows that differ between table `table` and the table `backup` a deployment renamed aside (and, `copied`, copied
   * into it): `written`, rows of `table` that `backup` does not hold (loaded or changed since); `deleted`, rows of
   * `backup` that `table` no longer holds (deleted or changed since: putting `backup` back brings them back). Or
   * `refused`, why the engine will not compare them (a table past its bound). Optional: without it rollback compares
   * `rowCount`s.
   */
  rowsChangedSince?(
    conn: Connection,
    table: ObjectKey,
    backup: ObjectKey,
    options: { copied: boolean },
  ): Promise<{ written: number; deleted: number } | { refused: string }>;
  /**
   * A statement, run right after the new table is created, that copies the rows of the columns both tables have
   * from a renamed-aside `backup` into `table` (`copyData: true`); null when the engine cannot.
   */
  renderCopyData(backup: ObjectKey, table: ObjectKey): string | null;
  /**
   * What a step that ran outside a transaction left behind when its process died while it ran (the ledger says
   * `started`), read from the catalog and the step's recorded statements (`step`): `done` (the object exists and is
   * usable: an index built and valid; a drop: gone; with what finishes it, if anything), `not-done` (nothing happened),
   * `invalid` with the statements that clear what the step half made (an INVALID index left by a cancelled `CREATE
   * INDEX CONCURRENTLY`; on Teradata, where every step commits statement by statement, a table it created, or the
   * table it was building aside), so that the step is planned again from the state before it, or `unknown` (what the
   * engine cannot tell: the step is recorded failed, and what it left is met by the next plan as it is).
   */
  stepOutcome(conn: Connection, key: ObjectKey, action: string, step: StartedStep): Promise<StepOutcome>;
  /**
   * How many rows a table has, counting at most `limit` (a bounded query: a large table costs what a small one
   * does), or null when the table does not exist. Optional, unlike the role's other members: an engine without it
   * (Teradata) keeps the hazards its plans carry. Deploy judges the hazards that depend on a table's size with it
   * (`operations/size-hazards.ts`); absent, the plan's hazards stand as planned.
   * Example: `rowsUpTo(conn, { kind: 'table', schema: 'sales', name: 'orders' }, 10_001)` → `4`.
   */
  rowsUpTo?(conn: Connection, table: ObjectKey, limit: number): Promise<number | null>;
  /**
   * The planner's estimate of a table's rows (PostgreSQL: the relation's `reltuples`, kept by ANALYZE and autovacuum), or
   * null when there is none yet. Read for a table `rowsUpTo` found large, to say how large in its hazards.
   */
  rowsEstimate?(conn: Connection, table: ObjectKey): Promise<number | null>;
}

/** A constraint the new shape adds: `NOT VALID` at expand, `VALIDATE` at complete. */
export interface AddedConstraint {
  name: string;
  kind: 'check' | 'foreign-key' | 'unique';
  /** Constrained columns (a unique constraint's index is built on them). */
  columns: string[];
  /** Definition as the engine prints it (over the new shape's physical columns at complete). */
  definition: string;
  /** A constraint of a table the release creates that its source declares `NOT VALID`: made so, never validated. */
  notValid?: boolean;
}

/** Current format of `ExpandPlan` (stored in the ledger's `expand_releases.plan`). */
export const EXPAND_PLAN_FORMAT = 1;

/**
 * One column of a table's new shape during the expand phase, and where its value lives physically.
 * - `same`: an old column, unchanged (the new version's view reads it as it is);
 * - `renamed`: an old column under a new name (`from` → `name`; renamed physically at complete);
 * - `shadow`: a new physical column `physical` that replaces old column `from` (type change, added NOT NULL), filled
 *   by `up` from the old shape and written back by `down` into `from`; swapped in at complete;
 * - `added`: a column the old shape does not have, added under its final name, filled by `up` (or its default).
 */
export interface ExpandColumn {
  /** Name in the new shape. */
  name: string;
  kind: 'same' | 'renamed' | 'shadow' | 'added';
  /** The physical column the new version's view reads during the expand phase. */
  physical: string;
  /** The old column it continues (`renamed`, `shadow`, `same`). */
  from?: string;
  /** Type as the engine prints it, e.g. `numeric(12,2)`. */
  type: string;
  /** NOT NULL in the new shape: a `CHECK (... IS NOT NULL) NOT VALID` during expand, `SET NOT NULL` at complete. */
  notNull: boolean;
  /** The new shape's default, set on the physical column at expand. */
  default: string | null;
  /**
   * Expression over the old shape's columns (by name) that computes this column for rows written by the old
   * version, and for the backfill (`shadow`, `added`). Null for `added` without one: the default fills it.
   */
  up: string | null;
  /** For `shadow`: expression over the new shape's columns that writes the old column `from` back. */
  down: string | null;
}

/** An old column the new shape no longer has (dropped, or merged/split into others); dropped at complete. */
export interface DroppedColumn {
  name: string;
  type: string;
  /**
   * Expression over the new shape's columns (and this column's own name, its current value; NULL on insert) that
   * the sync trigger writes into it for rows written by the new version. Null: it is left alone (NULL or default).
   */
  down: string | null;
}

/** One table of the project during an expand/contract release. */
export interface ExpandTable {
  schema: string;
  /** Physical name during the expand phase (the old name). */
  name: string;
  /** Name in the new shape (differs when the table is renamed; renamed physically at complete). */
  newName: string;
  /** The old shape's columns in order, with their types (the old version's view, the `up` expressions' names). */
  oldColumns: { name: string; type: string; notNull: boolean }[];
  /** The new shape's columns in order. */
  columns: ExpandColumn[];
  dropped: DroppedColumn[];
  constraints: AddedConstraint[];
  /** Primary key columns (the backfill's keyset); empty when the table has none. */
  key: string[];
  /**
   * A table the release creates: made at expand (the new version's view reads it), dropped by abort, left by
   * complete. `definition` is its model, for the engine to render the CREATE TABLE; its foreign keys (and the
   * constraints its source declares `NOT VALID`) are in `constraints`, made at expand once every new table exists.
   */
  created?: { definition: Table };
  /** Constraints the new shape has under another name (a renamed table's `<table>_pkey`...): renamed at complete. */
  renamedConstraints?: { from: string; to: string }[];
}

/** Everything an expand/contract release does, decided once at expand and stored with its phases. */
export interface ExpandPlan {
  formatVersion: typeof EXPAND_PLAN_FORMAT;
  project: string;
  /** Release label as given (`--release`, the package's name, or the next number). */
  release: string;
  /** The release whose shape the old version schema exposes (`0`: the shape before the first one). */
  previous: string;
  /** Owned schemas, each with a version schema per release. */
  schemas: string[];
  /** Every table of the owned schemas (unchanged ones too: each version schema has a view of each). */
  tables: ExpandTable[];
  /** One line per supported change, for the terminal and `dbee status`. */
  summary: string[];
  /**
   * The ledger's object state of the project once the release is complete (object key → checksum of its source), as
   * a deployment from the sources records it; written by `complete`.
   */
  objectStates?: Record<string, string>;
  /** The project's scope (schemas, what is managed), for the fingerprint `complete` records. */
  scope?: SchemaScope;
  /** The release's smoke checks (from its smoke files), run against its version while expanded and the next release's old version. */
  smoke?: SmokeCheck[];
}

/** One statement of the expand/contract strategy: safe to run again after a kill (guarded, `IF EXISTS`...). */
export interface ExpandStatement {
  sql: string;
  /** False for statements that refuse a transaction (`CREATE INDEX CONCURRENTLY`). */
  transactional: boolean;
  /** What it does, for the terminal: `add column _dbee_new_total to sales.orders`. */
  what: string;
  /**
   * Run on its own before every attempt of `sql` (and once more when `sql` fails): clears what an attempt cut short
   * left behind, a no-op when there is nothing. PostgreSQL: drops the INVALID index of that name that a
   * `CREATE INDEX CONCURRENTLY` stopped by its lock timeout leaves, which `IF NOT EXISTS` would take for built.
   */
  clear?: string;
  /**
   * A query run after `sql` succeeded, returning one row with a boolean column `ok`: anything but true means the
   * statement ended without making what it is for, and the strategy fails there (exit 2) rather than go on.
   * Example: `SELECT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('s.k')), false) AS ok`.
   */
  check?: string;
}

/**
 * The expand/contract strategy's SQL (`dbee deploy --strategy expand-contract`, `complete`, `abort`, `version`):
 * shadow columns, sync triggers, version schemas of views. Every statement it renders can run again after a kill.
 * PostgreSQL.
 */
export interface ExpandRole {
  /** How each statement of a phase bounds its lock waits (`withLockRetry`). */
  readonly lockTimeouts: LockTimeouts;
  /** Whether the server converts `from` to `to` with a plain `CAST` (the derived `up`/`down` of a type change). */
  castExists(conn: Connection, from: string, to: string): Promise<boolean>;
  /**
   * Each `up`/`down` expression of the plan checked against its shape's columns (parsed and typed by the server,
   * no row read): the first that fails, as `{ table, column, which, error }`, or null when all compile.
   */
  checkExpressions(
    conn: Connection,
    plan: ExpandPlan,
  ): Promise<{ table: string; column: string; which: 'up' | 'down'; error: string } | null>;
  /** Whether views can be `security_invoker` on this server (PostgreSQL 15+). */
  securityInvoker(conn: Connection): Promise<boolean>;
  /**
   * Each change kind's SQL, by kind: the kind's rule in core (`packages/core/src/expand/rules/`, `EXPAND_RULES`) says
   * which of these each phase runs and when; the engine says how. The compiler asks for an entry per kind.
   */
  kinds: ExpandKindSql;
  /**
   * Statements of SQL `parts` run as one (one transaction): a table's new columns with the trigger that fills them at
   * expand, the swap at complete, the trigger with the columns it filled at abort. PostgreSQL: joined by `;`.
   */
  together(parts: string[], what: string): ExpandStatement;
  /**
   * The sync trigger of a table whose physical columns change during the expand phase (`needsSync`), as parts of the
   * statement that adds its new columns: old-version writes fill the new columns by `up`, new-version writes the old
   * ones by `down`.
   */
  syncTrigger(plan: ExpandPlan, table: ExpandTable): string[];
  /** Parts that drop a table's sync trigger and what it calls (the swap at complete, the abort). */
  dropSyncTrigger(plan: ExpandPlan, table: ExpandTable): string[];
  /** Drop version schema `name` with its views: the old version's at complete, the new version's at abort. */
  dropVersionSchema(name: string, which: 'old' | 'new'): ExpandStatement;
  /** The version schema of the old shape (`old`) or the new one (`new`), one view per table, writable. */
  versionSchema(plan: ExpandPlan, which: 'old' | 'new', options: { securityInvoker: boolean }): ExpandStatement[];
  /** The backfill of one table: `col = (expression), ...` for the UPDATE of each batch (over the old columns). */
  backfillSet(table: ExpandTable): string;
  /**
   * Settings each batch of a table's backfill makes for its own transaction (`set_config(name, value, true)`): with
   * them, the table's sync trigger skips the backfill's rows, whose new columns the UPDATE's `SET` writes already.
   */
  backfillSettings(plan: ExpandPlan, table: ExpandTable): Record<string, string>;
  /** What an application sets to use a release's version: its search path and the `dbee.version` setting. */
  versionSettings(
    schemas: readonly string[],
    release: string,
  ): { searchPath: string[]; settings: Record<string, string> };
}

/**
 * A column the expand phase adds physically (an `added` column, or the `shadow` that replaces an old one). A string
 * result is a part of a statement run `together` with others (see each member); every statement or part can run
 * again after a kill.
 */
export interface NewColumnSql {
  /** Parts: add the physical column (and its default), skipped when there; run together with the sync trigger. */
  add(table: ExpandTable, column: ExpandColumn): string[];
  /** Part: drop the physical column (abort), run together with the sync trigger's drop. */
  drop(table: ExpandTable, column: ExpandColumn): string;
  /** The check that stands for NOT NULL during the expand phase, `NOT VALID` (old rows are not scanned). */
  addNotNullCheck(table: ExpandTable, column: ExpandColumn): ExpandStatement;
  /** Validate that check (complete, before the swap: a scan that does not block writes). */
  validateNotNullCheck(table: ExpandTable, column: ExpandColumn): ExpandStatement;
  /** Parts of the swap: `SET NOT NULL` (which finds the validated check: no scan), then the check dropped. */
  setNotNull(table: ExpandTable, column: ExpandColumn): string[];
  /** Drop that check (abort). */
  dropNotNullCheck(table: ExpandTable, column: ExpandColumn): ExpandStatement;
}

/** A `shadow` column: a new column as above, which takes the old one's place at complete. */
export interface ShadowColumnSql extends NewColumnSql {
  /** Part of the swap: drop the old column `from` and give the shadow the new shape's name, while it is there. */
  swap(table: ExpandTable, column: ExpandColumn): string;
}

/** A CHECK, foreign key or unique constraint the release adds. */
export interface AddedConstraintSql {
  /** On a table the release creates: made at once, valid (or `NOT VALID` as its source says), skipped when there. */
  addToCreated(table: ExpandTable, constraint: AddedConstraint): ExpandStatement;
  /** A check or foreign key made `NOT VALID` (the old rows are not scanned), skipped when there. */
  addNotValid(table: ExpandTable, constraint: AddedConstraint): ExpandStatement;
  /** Validate it (complete). */
  validate(table: ExpandTable, constraint: AddedConstraint): ExpandStatement;
  /** The unique index of a unique constraint, built without blocking writes (outside a transaction), checked valid. */
  buildUniqueIndex(table: ExpandTable, constraint: AddedConstraint): ExpandStatement;
  /** The unique constraint made from its index (complete), skipped when there. */
  uniqueFromIndex(table: ExpandTable, constraint: AddedConstraint): ExpandStatement;
  /** Drop that index (abort). */
  dropUniqueIndex(table: ExpandTable, constraint: AddedConstraint): ExpandStatement;
  /** Drop the constraint (abort). */
  drop(table: ExpandTable, constraint: AddedConstraint): ExpandStatement;
}

/**
 * The SQL of each change kind the expand/contract strategy carries, keyed by the kind (its rule in core is
 * `EXPAND_RULES[kind]`). A kind with no SQL of its own has an empty entry.
 */
export interface ExpandKindSql {
  'create-table': {
    /** The CREATE TABLE of a table the release creates (`ExpandTable.created`), skipped when it exists. */
    create(table: ExpandTable): ExpandStatement;
    /** Drop the tables the release created, in one statement: their foreign keys to each other go with them. */
    drop(tables: readonly ExpandTable[]): ExpandStatement;
  };
  'add-column': NewColumnSql;
  'alter-column-type': ShadowColumnSql;
  'alter-column-nullability': ShadowColumnSql;
  /** A default changes only as part of a column the strategy adds or shadows. */
  'alter-column-default': Record<string, never>;
  'rename-column': {
    /** Part of the swap: rename the old column to the new shape's name, while the old name is there. */
    rename(table: ExpandTable, column: ExpandColumn): string;
  };
  'drop-column': {
    /** Part of the swap: drop the old column, when there. */
    drop(table: ExpandTable, column: DroppedColumn): string;
  };
  'add-constraint': AddedConstraintSql;
  /** A constraint dropped is carried only as half of a rename. */
  'drop-constraint': {
    /** Rename a constraint of the (renamed) table (complete), while the old name is there. */
    rename(table: ExpandTable, rename: { from: string; to: string }): ExpandStatement;
  };
  'rename-table': {
    /** Rename the table to its new name (complete), while the old one is there. */
    rename(table: ExpandTable): ExpandStatement;
  };
}

/**
 * Changes to deployed objects planned against the live database by the engine itself, for engines without a shadow
 * diff (Teradata: a table's CREATE TABLE against `SHOW TABLE` of the target, as ALTER TABLE steps).
 */
export interface InPlaceChanges {
  /**
   * Plan a change to a deployed object that the planner cannot re-create in place (a table's file changed).
   * `statements` are the object's source statements with placeholders expanded; `stamp` names backups
   * (`20261121t103000`). Returns the steps to run in order (statements, reverses, hazards; empty when the target
   * already matches), or, when only a migration can make the change, one line per change that says what changed.
   * Reads the catalog, changes nothing. Deploy calls it where it would otherwise refuse with `OBJECT_NEEDS_DIFF`.
   * `renames`: the project's declared renames (db.yaml `renames:`), placeholders expanded: a column renamed there is
   * renamed, never dropped and added.
   */
  planChange(
    conn: Connection,
    object: { key: ObjectKey; statements: string[]; stamp: string; renames?: readonly RenameDeclaration[] },
  ): Promise<{ steps: RenderedStep[] } | { migration: string[] }>;
}

/**
 * `dbee diff` for an engine without a shadow database (Teradata): the engine compares the sources' objects with the
 * live ones itself, object by object (a table's CREATE TABLE against its SHOW TABLE, a view's text against SHOW VIEW).
 */
export interface LiveComparison {
  /**
   * The steps that would bring the live objects of `databases` to what `objects` (the project's source objects, their
   * statements with placeholders expanded) define: objects to create, to change (replace or alter) and to drop (live
   * objects no source defines, the engine's own backups apart), each with its reverse and hazards; and, per object,
   * the changes only a migration can make (`unplanned`). Reads the catalog, changes nothing. `manage`: the project's
   * managed scope (db.yaml `manage:`, its `ignore` globs with placeholders expanded); objects it ignores are neither
   * compared nor dropped, and comments are left out when it does not manage them.
   */
  compareObjects(
    conn: Connection,
    input: {
      objects: { key: ObjectKey; statements: string[] }[];
      databases: string[];
      stamp: string;
      manage?: ManagedScope;
    },
  ): Promise<{ steps: RenderedStep[]; unplanned: { key: string; reason: string }[] }>;
}

/** Making a routine uncallable and callable again (`dbee disable`). */
export interface AccessControl {
  /**
   * Routines (functions and procedures) named `schema.name`, whatever their arguments, as keys with argument types
   * the way plans write them. Lets `dbee disable sales.order_total` find `function:sales.order_total(bigint)`.
   */
  findRoutines(conn: Connection, schema: string, name: string): Promise<ObjectKey[]>;
  /**
   * The statements that make a routine uncallable, and their exact reverse: `revoke` takes EXECUTE away from PUBLIC
   * and from every role but the owner; `rename` moves it aside under a backup name made from `stamp`. Reads the
   * catalog, changes nothing. Null when the routine does not exist.
   */
  disableRoutine(
    conn: Connection,
    key: ObjectKey,
    how: 'revoke' | 'rename',
    stamp: string,
  ): Promise<DisabledRoutine | null>;
}

/** Plans exported as scripts for the engine's own tools (`dbee plan --format bteq`). */
export interface ExportRole {
  /** Script formats this engine can export a plan to (Teradata: `bteq`). */
  readonly formats: readonly string[];
  /**
   * The plan as the scripts will run it on `environment`, planned against the target where the scripts cannot plan
   * at run time (Teradata: a table file changed since its deployment becomes the ALTER TABLE steps `dbee deploy`
   * plans; a change ALTER TABLE cannot make is refused, exit 1). Reads the target, changes nothing; the export's gates
   * judge what it returns, and `exportPlan` receives it. A target it cannot read leaves the plan as it is. Optional.
   */
  prepare?(
    plan: Plan,
    format: string,
    options: {
      variables: Record<string, string>;
      environment: ResolvedEnvironment;
      /** The planned projects' declared renames (db.yaml `renames:`), placeholders expanded. */
      renames: readonly RenameDeclaration[];
    },
  ): Promise<Plan>;
  /**
   * The plan as files relative to the output folder: the deployment script and its rollback script. Placeholders
   * are expanded with `variables`.
   */
  exportPlan(
    plan: Plan,
    format: string,
    options: {
      variables: Record<string, string>;
      /** The target environment (its connection's `tmode`, ledger database...), when the export is for one. */
      environment?: ResolvedEnvironment;
      /** The conflict strategy of a step on that environment (`deploy.ifExists`, `conflicts`, `--if-exists`). */
      conflictStrategy?: (step: PlanStep) => 'raise' | 'rename' | 'drop' | 'skip' | 'ignore';
      /** Whether a table renamed aside gets its rows copied into the new one (`copyData` of the same rules). */
      copyData?: (step: PlanStep) => boolean;
      /**
       * What the scripts record in their deployment rows, as `dbee deploy` does: the change ticket, and for a package
       * its path and plan checksum (the promotion gate of a later environment reads them).
       */
      recorded?: { ticket: string | null; package: string | null; planChecksum: string | null };
    },
  ): Record<string, string> | Promise<Record<string, string>>;
}

/** An object outside the extracted schemas that extracted objects use (`ExtractRole.outsideUses`). */
export interface OutsideUse {
  /** Its schema, as the catalog has it. */
  schema: string;
  /** What it is, as the engine describes it: `function public.norm(text)`. */
  object: string;
  /** The extracted objects that use it, described the same way: `view app.v`, `index app.t_norm`. */
  usedBy: string[];
}

/** Live objects written back as source files (`dbee extract`). */
export interface ExtractRole {
  /** The live objects of `scope` as source files in the project layout, deterministic text, one object per file. */
  objects(conn: Connection, scope: SchemaScope): Promise<ExtractedObject[]>;
  /**
   * The live objects of `scope` that `objects` does not write (kinds the engine cannot write as files yet), as
   * `kind identity` lines, e.g. `aggregate sales.total(numeric)`: extract reports them instead of silently nothing.
   * Absent: the engine does not say.
   */
  unwritten?(conn: Connection, scope: SchemaScope): Promise<string[]>;
  /**
   * Qualified names (`schema.name`, as `objects` writes them) of objects no project defines, e.g. the objects of an
   * extension (`public.cube`): a new project's `dependsOn` is not inferred from them, whoever owns their schema.
   * Absent: every qualified name may be a project's.
   */
  externalNames?(conn: Connection, scope: SchemaScope): Promise<string[]>;
  /**
   * Objects outside `scope` that the objects of `scope` use (the catalog's dependencies: a view's or an index's
   * function, a column's type; and names the written files qualify: a routine's body), other than the engine's own
   * and extensions' objects: extract names those no project of the workspace defines, since a deployment to a new
   * database fails without them. Absent: the engine does not say.
   */
  outsideUses?(conn: Connection, scope: SchemaScope, files: readonly ExtractedObject[]): Promise<OutsideUse[]>;
  /**
   * `root` and the schemas (databases) it owns, directly or through others, e.g. `PROD` → `['PROD', 'PROD_EDW',
   * 'PROD_STG']` (Teradata: `DBC.DatabasesV.OwnerName`); `extract --owner`. Empty when `root` does not exist. Absent:
   * the engine has no owner hierarchy of schemas.
   */
  ownedSchemas?(conn: Connection, root: string): Promise<string[]>;
  /**
   * `text` (a source file) with each schema name as deployed (a key of `sourceNames`, any case) written as the sources
   * write it (its value, e.g. `DEV_EDW` → `{{env}}_EDW`) where it qualifies a name, as `objects` writes files; `dbee
   * detag`. Absent: the engine cannot tell a qualifier from other text.
   */
  restoreNames?(text: string, sourceNames: Readonly<Record<string, string>>): string;
}

/** A relation as a query names it: the schema (and database) as written, undefined when unqualified. */
export interface RelationName {
  database?: string;
  schema?: string;
  name: string;
}

/** A place in a query's text: 1-based line and column (in characters). */
export interface QueryPosition {
  line: number;
  column: number;
}

/**
 * What a query reads, from the engine's parser: every relation it names (not its common table expressions), every
 * column it reads from one of them (through CTEs, subqueries, joins and aliases), each `*` over one, and what could not
 * be told. A column read in a subquery counts even when the outer query does not use it: the database binds it all.
 */
export interface QueryLineage {
  relations: (RelationName & { at: QueryPosition })[];
  columns: { relation: RelationName; column: string; at: QueryPosition }[];
  /** `*`, `t.*` or a whole-row reference `t` over a relation: every column of it is read, which ones is not known. */
  stars: { relation: RelationName; at: QueryPosition }[];
  /** A column the parser could not attribute to a relation, or a construct it does not follow; never a pass. */
  unknown: { reason: string; at: QueryPosition }[];
}

/**
 * The columns a query reads (the dbt check's column level). `columnsOf` gives a relation's columns as they are before
 * the change being judged, or null when it is not known (a relation of another tool): an unqualified column is
 * attributed to the relation in scope that has it. Throws `DbeeError` (`QUERY_SYNTAX`, with the position in
 * `details.line`/`details.column`) when the text is not one query the parser reads.
 */
export interface LineageRole {
  read(sql: string, columnsOf: (relation: RelationName) => readonly string[] | null): Promise<QueryLineage>;
}

/** One statement a live query source holds, as the application sent it (constants as `$n` when normalised). */
export interface LiveQuery {
  text: string;
  /** Times it ran, when the source counts them. */
  calls?: number;
}

/**
 * Where an environment's database keeps the statements the application ran, for `dbee check`, the dry run's
 * compatibility check and `dbee advise` (`--queries <name>` or `<name>:<env>`). PostgreSQL: its statement statistics
 * extension (`packages/postgres/src/check/query-sources.ts`). Core reads files and logs itself, parses every statement with the
 * engine's parser, and keeps the verdicts.
 */
export interface QuerySourceRole {
  /** The names a `--queries` entry gives to read a live source, e.g. the name of PostgreSQL's extension. */
  readonly names: readonly string[];
  /**
   * The statements the source `name` holds for the connection's database, the most called first; a `DbeeError`
   * (`QUERY_SOURCE_UNAVAILABLE`, with what to do) when it cannot be read there. `environment` names it in messages.
   */
  read(conn: Connection, name: string, environment: string): Promise<LiveQuery[]>;
}

/**
 * One database engine, composed by a factory in its package: a small required part (name, capabilities, parser,
 * ledger, session, connect, lock, mapError) and optional roles. A role is an object whose members are all
 * required, so its presence is the capability: core checks a role once (`requireRole`, error `ENGINE_CAPABILITY`)
 * and then uses it, and never tests single methods.
 */
export interface Engine {
  /** `postgres`, `teradata`: the value of `engine:` in the configuration. */
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  readonly parser: SourceParser;
  readonly ledger: LedgerDialect;
  /** Session setup, reset and search path (see `SessionDialect`). */
  readonly session: SessionDialect;
  /** Open a connection to an environment whose configuration has been resolved (variables interpolated). */
  connect(environment: ResolvedEnvironment, context: { workspaceRoot: string }): Promise<Connection>;
  /** Take the deployment lock for `key` (usually the project or database) on its own session. */
  lock(
    environment: ResolvedEnvironment,
    context: { workspaceRoot: string },
    key: string,
    options: LockOptions,
  ): Promise<LockHandle>;
  /** Map a driver error to a user-facing `DbeeError` (object missing, already exists, permission...). */
  mapError(error: unknown, context: { statement?: string }): Error;
  /**
   * Let go of what the engine keeps in this process for the next command (PostgreSQL: a server shadow kept for reuse),
   * when no command follows: the dbee command and the Nx executors call it once their command ended.
   */
  release?(): Promise<void>;

  /** Shadow-database diffs (`dbee diff`, `clone`, `adopt`, verified dry runs, drift by fingerprint). PostgreSQL. */
  readonly diff?: DiffRole;
  /** Catalog lookups around steps (reverses, conflicts, captured definitions). Both engines. */
  readonly catalog?: ObjectCatalog;
  /** Changed tables planned against the live database instead of a shadow diff. Teradata. */
  readonly inPlace?: InPlaceChanges;
  /** `dbee diff --env` without a shadow database: the engine compares objects with the live ones. Teradata. */
  readonly compare?: LiveComparison;
  /** Smoke checks (`dbee smoke-test`). */
  readonly smoke?: SmokeDialect;
  /** `dbee disable`. PostgreSQL. */
  readonly access?: AccessControl;
  /** Plans as the engine's own scripts (`dbee plan --format bteq`). Teradata. */
  readonly export?: ExportRole;
  /** `dbee extract`. */
  readonly extract?: ExtractRole;
  /** The audit trail behind `dbee audit` and `extract --since/--by`. */
  readonly audit?: AuditTrail;
  /** The expand/contract strategy. PostgreSQL. */
  readonly expand?: ExpandRole;
  /**
   * Backfills and batched migrations: keyset batches, their cursor in the ledger's `backfills` table. PostgreSQL.
   * Without it a batched migration is refused when planned.
   */
  readonly backfill?: BackfillRole;
  /** Live sources of the application's queries (`--queries`). PostgreSQL. */
  readonly querySources?: QuerySourceRole;
  /** Index and statistics advice (`dbee advise`). PostgreSQL. */
  readonly advise?: AdviseRole;
  /** Statistics advice from the optimizer's own recommendations (`dbee advise`). Teradata. */
  readonly statisticsAdvice?: StatisticsAdviceRole;
  /** `dbee unlock`: the deployment lock's holder, and clearing a dead holder's lock. */
  readonly locks?: LockAdmin;
  /** The columns a query reads from the relations it names (`dbee check --dbt`). PostgreSQL. */
  readonly lineage?: LineageRole;
  /** `dbee preview`: a database per pull request, made beside an environment's. PostgreSQL (server and PGlite). */
  readonly preview?: PreviewRole;
  /** Blue/green deployments: a green copy kept in sync by logical replication, switched over and back. PostgreSQL. */
  readonly blueGreen?: BlueGreenRole;
  /** `dbee import`: other tools' history tables read, their changes rendered. PostgreSQL. */
  readonly import?: ImportRole;
}

/** What a preview database records about itself, where the engine keeps it (a database comment, a file). */
export interface PreviewRecord {
  /** The preview's full name, prefix included (`dbee_preview_pr_42`): its database or folder name. */
  name: string;
  /** The environment whose structure it was made from (`test`). */
  base: string;
  /** The branch or name it was asked for (`pr-42`, `feature/x`). */
  branch: string;
  /** When it was created, ISO 8601. */
  createdAt: string;
  /**
   * A preview whose creation did not finish (the process was killed while making it): `name` is the database or
   * folder it was being made under, which only dbee makes (`base`, `branch` and `createdAt` are empty when its
   * record was not written yet), or the preview's own name when its database was made but its structure (clone,
   * reference data, seed files) was not recorded complete (`PreviewRole.markMade`). `list` shows it, `cleanup` drops
   * it, a `create` of the same name replaces it.
   */
  halfMade?: boolean;
}

/** Where the previews of an environment are made: what `PreviewRole` reads besides the base environment. */
export interface PreviewPlace {
  workspaceRoot: string;
  /** Folder of embedded previews (one folder each), absolute (`preview.directory` of dbee.yaml). */
  directory: string;
  /** Only databases or folders whose name starts with it are previews (`preview.prefix`). */
  prefix: string;
}

/**
 * `dbee preview`: make, find and drop preview databases beside an environment's database (the same server, or a
 * folder of embedded ones). A preview carries its `PreviewRecord`, and only what carries one under the prefix is
 * listed or dropped. The structure and the deployment go through `clone` and `deploy`, never through this role.
 */
export interface PreviewRole {
  /**
   * The connection settings of preview `name` of `base` (`base`'s with another database or data folder). Contains
   * secrets when `base`'s does: never print it.
   */
  connection(base: ResolvedEnvironment, place: PreviewPlace, name: string): Record<string, string | number | boolean>;
  /** Where the preview is, for messages: no secrets (`postgres://app@db:5432/dbee_preview_pr_42`, `pglite:...`). */
  describe(base: ResolvedEnvironment, place: PreviewPlace, name: string): string;
  /**
   * Make an empty database for the preview, recording `record`, in one step as others see it: the database of the
   * preview's name never exists without its record (a killed create leaves a half-made one under another name, see
   * `PreviewRecord.halfMade`, which the next create of that name replaces); false when one of that name exists already.
   */
  create(base: ResolvedEnvironment, place: PreviewPlace, record: PreviewRecord): Promise<boolean>;
  /**
   * Record that preview `name`'s structure is complete (cloned, reference data copied, seed files run): until then
   * `list` gives it as `halfMade`, so that a create killed while making it is never taken for a ready preview.
   */
  markMade(base: ResolvedEnvironment, place: PreviewPlace, name: string): Promise<void>;
  /** The previews made beside `base` (of any base environment sharing its server or folder), oldest first. */
  list(base: ResolvedEnvironment, place: PreviewPlace): Promise<PreviewRecord[]>;
  /** Drop preview `name` (its sessions ended first); false when there was none. */
  drop(base: ResolvedEnvironment, place: PreviewPlace, name: string): Promise<boolean>;
}

/** Who holds a deployment lock, as `LockAdmin.holder` reads it. */
export interface LockHolder extends LockOwner {
  /** When the lock ends on its own (a lock row's expiry), if it does. */
  expiresAt?: string;
  /**
   * Why `clear` cannot clear it, when it cannot (PostgreSQL: an advisory lock ends only with the session that holds
   * it). `dbee unlock` then names the holder and what to do, and changes nothing.
   */
  notClearable?: string;
  /**
   * Evidence that the holder still runs, when the engine can see it (Teradata: a BTEQ script's session is logged on,
   * `DBC.SessionInfoV`). `dbee unlock` then refuses to clear it unless `--force`.
   */
  alive?: string;
  /** What identifies this holder to `clear` (a lock row's token), so that only this holder's lock is cleared. */
  token?: string;
}

/**
 * `dbee unlock`: read who holds the deployment lock, and clear a lock whose holder died (a BTEQ script killed while it
 * held the lock row, which only expires hours later). Engine-neutral in core; the engine reads and clears its own lock.
 */
export interface LockAdmin {
  /** The holder of the lock `key` on `environment`, or null when nobody holds it. */
  holder(environment: ResolvedEnvironment, context: { workspaceRoot: string }, key: string): Promise<LockHolder | null>;
  /** Clear the lock `key` of `holder` (as `holder` returned it) and nothing else; false when it was gone already. */
  clear(
    environment: ResolvedEnvironment,
    context: { workspaceRoot: string },
    key: string,
    holder: LockHolder,
  ): Promise<boolean>;
}

/** The optional roles of an engine, by name. */
export type EngineRole =
  | 'diff'
  | 'catalog'
  | 'inPlace'
  | 'compare'
  | 'smoke'
  | 'access'
  | 'export'
  | 'extract'
  | 'audit'
  | 'expand'
  | 'backfill'
  | 'querySources'
  | 'advise'
  | 'statisticsAdvice'
  | 'locks'
  | 'lineage'
  | 'preview'
  | 'blueGreen'
  | 'import';

/**
 * The role `role` of `engine`, or a `DbeeError` `ENGINE_CAPABILITY` saying that the engine cannot do `what`, e.g.
 * `requireRole(engine, 'diff', 'compute a diff')` → "the teradata engine cannot compute a diff (it has no shadow
 * database to diff in)". The one place core refuses for a missing role.
 */
export function requireRole<R extends EngineRole>(
  engine: Engine,
  role: R,
  what: string,
  hint?: string,
): NonNullable<Engine[R]> {
  const found = engine[role];
  if (found) return found as NonNullable<Engine[R]>;
  throw new DbeeError(`the ${engine.name} engine cannot ${what}${ROLE_REASON[role] ? ` (${ROLE_REASON[role]})` : ''}`, {
    code: 'ENGINE_CAPABILITY',
    hint,
    details: { engine: engine.name, role },
  });
}

const ROLE_REASON: Record<EngineRole, string> = {
  diff: 'it has no shadow database to diff in',
  catalog: 'it cannot look objects up in its catalog',
  inPlace: 'it cannot plan a changed table against the live database',
  compare: 'it cannot compare objects with the live database',
  smoke: 'it has no smoke checks',
  access: 'it cannot disable routines',
  export: 'it exports no scripts',
  extract: 'it cannot write live objects as source files',
  audit: 'it has no audit trail',
  expand: 'it has no version schemas of views or sync triggers',
  backfill: 'it has no keyset batches with a cursor in the ledger',
  querySources: 'it keeps no statistics of the statements run',
  advise: 'it has no planner costs or hypothetical indexes to prove advice with',
  statisticsAdvice: 'its optimizer recommends no statistics',
  locks: 'it cannot read or clear its deployment lock',
  lineage: 'it has no parser for the columns a query reads',
  preview: "it cannot make a database beside an environment's, nor clone a structure into one",
  blueGreen: 'it has no logical replication to keep a green copy in sync',
  import: "it reads no other tool's history and renders no other tool's changes",
};
