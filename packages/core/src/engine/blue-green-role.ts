import type { ZodType } from 'zod';
import type { ResolvedEnvironment } from '../config/resolve';
import type { Connection } from './connection';

/** The two databases of a blue/green deployment: `blue` serves today, `green` is the copy that gets the release. */
export type BlueGreenSide = 'blue' | 'green';

/**
 * What identifies a table's rows to replication (what an UPDATE or DELETE is applied by on the other side):
 * `primary-key`, `index` (a unique index chosen for it), `full` (the whole old row, slow on the subscriber), or
 * `none` (UPDATE and DELETE cannot be replicated, and the publisher refuses them once the table is published).
 */
export interface ReplicaIdentity {
  kind: 'primary-key' | 'index' | 'full' | 'none';
  /** The identifying columns, in key order (empty for `full` and `none`). */
  columns: string[];
}

/**
 * The parts of a table of the neutral model that its replica identity depends on, structurally (the engine folder
 * imports no schema types): its engine-specific `attrs`, its primary key's columns, its unique constraints and unique
 * indexes by name.
 */
export interface IdentityInput {
  attrs: Readonly<Record<string, unknown>>;
  /** Columns of its primary key, or null when it has none. */
  primaryKey: readonly string[] | null;
  /** Unique constraints and unique indexes on plain columns, by name. */
  uniqueKeys: readonly { name: string; columns: readonly string[] }[];
}

/** How far a subscriber is behind its publisher, as the publisher's replication slot says. */
export interface ReplicationLag {
  /** Whether the slot exists on the publisher. */
  exists: boolean;
  /** Whether a subscriber streams from it now. */
  active: boolean;
  /** Bytes of WAL written on the publisher that the subscriber has not confirmed; null when the slot is missing. */
  bytes: number | null;
  /** Why the slot can no longer serve its subscriber (the WAL it needs was removed), or null. */
  lost: string | null;
}

/** A subscription as its subscriber sees it. */
export interface SubscriptionHealth {
  exists: boolean;
  enabled: boolean;
  /** Whether its apply worker runs now. */
  running: boolean;
  /** Tables the subscription carries. */
  tables: number;
  /** Of `tables`, those whose initial copy has not finished. */
  copying: number;
  /** Errors counted since it was made, applying changes and copying tables. */
  errors: number;
  /**
   * Why it has failed (e.g. `disabled after an error applying a change`, `the apply worker fails (3 errors)`), or null
   * while it carries changes. A failed subscription carries nothing until someone repairs it.
   */
  failed: string | null;
}

/** A sequence's value on one side, to set on the other before it takes the writes. */
export interface SequenceValue {
  schema: string;
  name: string;
  /** Its last value as decimal text (a bigint), or null when it was never used. */
  value: string | null;
}

/** A transaction open on a side (an application's, through the router or not), as a switchover names it. */
export interface OpenTransaction {
  pid: number;
  /** Its session's application name (empty when it set none). */
  application: string;
  /** Its session's role. */
  user: string;
  /** How long the transaction has been open, in milliseconds. */
  ageMs: number;
  /** `active` (running a statement) or `idle in transaction` (waiting for its client). */
  state: string;
}

/** A table's rows on one side: `schema.name` and its exact count. */
export interface TableCount {
  table: string;
  rows: number;
}

/** A table of a publication, with the columns it carries (all of them when absent). */
export interface PublishedTable {
  schema: string;
  name: string;
  columns?: readonly string[];
}

/**
 * What stands between the application and its database and decides which side it writes to: a connection pooler
 * the engine drives (`BlueGreenRole.routers`) or the user's own commands (`hookRouter`, blue-green/router.ts). A
 * switchover pauses it, moves it, and resumes it; the application's clients keep their connections and wait.
 */
export interface Router {
  /** For messages, without secrets, e.g. `<router> 127.0.0.1:6432, database app`. */
  readonly description: string;
  /**
   * Hold the application's new transactions; resolves once none of its transactions runs on the database (those
   * running finish first). Writes are paused from then until `resume`.
   */
  pause(): Promise<void>;
  /** Point the application at `side`: its transactions after `resume` run there. */
  route(side: BlueGreenSide): Promise<void>;
  /** Let the held transactions go, to the side `route` pointed at last. Harmless when nothing is paused. */
  resume(): Promise<void>;
  /** The side the application is pointed at now, when the router can tell; null when it cannot. */
  serving(): Promise<BlueGreenSide | null>;
  /** What `pause`, `route(to)` and `resume` will do, one line each, for a dry run. */
  describe(to: BlueGreenSide): string[];
}

/**
 * A router an engine drives, under its name in `blueGreen.router` of dbee.yaml (`BlueGreenRole.routers`): the schema of
 * its settings, and how it is made from them (`engineRouter` types the two together).
 */
export interface EngineRouter {
  /**
   * The settings under `blueGreen.router.<name>`, checked when a blue/green phase reads them: a mistake is refused with
   * its file and line. Strings come interpolated (`${VAR}`).
   */
  settings: ZodType;
  /** The router pointing the application's database at `sides`' databases, from settings `settings` accepts. */
  make(
    settings: unknown,
    sides: Record<BlueGreenSide, ResolvedEnvironment>,
    context: { workspaceRoot: string },
  ): Router;
}

/** An {@link EngineRouter} whose `make` receives the settings as `settings` parses them. */
export function engineRouter<S>(
  settings: ZodType<S>,
  make: (settings: S, sides: Record<BlueGreenSide, ResolvedEnvironment>, context: { workspaceRoot: string }) => Router,
): EngineRouter {
  return { settings, make: (value, sides, context) => make(settings.parse(value), sides, context) };
}

/**
 * Blue/green deployments (docs/blue-green.md): a green copy of a database kept in sync with the blue one by the
 * engine's own logical replication, switched over and back by core (`blue-green/`). The engine renders every
 * statement that changes something (so a dry run prints what a real run sends) and reads its catalog; core decides
 * the order, the guards and the record. PostgreSQL: `packages/postgres/src/blue-green/`.
 */
export interface BlueGreenRole {
  /**
   * What keeps `conn`'s server from taking its part in logical replication, one sentence each (empty when nothing):
   * as `publisher`, e.g. `wal_level is replica, not logical (set wal_level = logical and restart the server)`, no
   * replication privilege, no free replication slot; as `subscriber`, e.g. no right to create subscriptions.
   */
  serverProblems(conn: Connection, as: 'publisher' | 'subscriber'): Promise<string[]>;
  /** A table's replica identity, read from the neutral model (the live one or the one its sources build). */
  replicaIdentity(table: IdentityInput): ReplicaIdentity;
  /**
   * Tables of the database outside `schemas` and the ledger's schema, `schema.name`, sorted: a switchover moves the
   * whole database's clients, and these would be left behind.
   */
  tablesOutside(conn: Connection, schemas: readonly string[], ledgerSchema: string): Promise<string[]>;
  /** The sequences of `schemas` (those of identity columns too) with their last values. */
  sequences(conn: Connection, schemas: readonly string[]): Promise<SequenceValue[]>;
  /**
   * Statements setting each sequence so that its next value follows `value` (none for a never-used one), never lower
   * than it is (a side written to directly may be ahead).
   */
  setSequences(values: readonly SequenceValue[]): string[];
  /**
   * Transactions open on `conn`'s database for longer than `olderThanMs`, in sessions of clients (not replication's,
   * not `conn`'s own), oldest first: what a router's pause would wait for.
   */
  openTransactions(conn: Connection, olderThanMs: number): Promise<OpenTransaction[]>;
  /** End the sessions `pids` on `conn`'s server (their transactions roll back). */
  endSessions(conn: Connection, pids: readonly number[]): Promise<void>;
  /**
   * Statements run on a side's own session that make its database read-only for the application (`readOnly`), or
   * writable again: new sessions start read-only, and the clients' sessions open now are ended (they reconnect
   * read-only), so a client that bypasses the router fails instead of writing where no one reads. Replication's apply
   * and dbee's own sessions (`writableSession`) still write.
   */
  retire(readOnly: boolean): string[];
  /** Statements that let this session write on a database `retire` made read-only (dbee's own sessions). */
  writableSession(): string[];
  /** Exact row counts of `tables` (`schema.name`) on `conn`'s database. */
  countRows(conn: Connection, tables: readonly string[]): Promise<TableCount[]>;
  /** The publisher's current WAL position, as text (`0/3000148`). */
  position(conn: Connection): Promise<string>;
  /** The lag of the subscriber fed by `slot`, read on the publisher. */
  lag(conn: Connection, slot: string): Promise<ReplicationLag>;
  /**
   * The position up to which the subscriber fed by `slot` has confirmed the publisher's changes (read on the
   * publisher), as bytes from the start of the WAL; null when the slot is missing.
   */
  confirmed(conn: Connection, slot: string): Promise<{ confirmed: number; current: number } | null>;
  /** Whether the subscriber fed by `slot` has confirmed everything up to `position` (read on the publisher). */
  reached(conn: Connection, slot: string, position: string): Promise<boolean>;
  /** The subscription `name` as its subscriber (`conn`) sees it. */
  health(conn: Connection, name: string): Promise<SubscriptionHealth>;
  /** Statements making publication `name` of `tables` (replacing one of that name). */
  publish(name: string, tables: readonly PublishedTable[]): string[];
  /** Statements dropping publication `name` if it exists. */
  unpublish(name: string): string[];
  /**
   * A query making replication slot `slot` on the publisher, returning its start position: made on its own, before
   * the subscription, so that a subscriber in the same cluster does not wait for its own transaction.
   */
  createSlot(slot: string): string;
  /** A query dropping slot `slot` if it exists; it fails while a subscriber still streams from it (retried by core). */
  dropSlot(slot: string): string;
  /**
   * Statements making subscription `name` on the subscriber, to `publication` over the slot made by `createSlot`;
   * `copyData`: copy the tables' rows first (green's first sync), else only changes from the slot's position on;
   * `conninfo`: how the subscriber's server reaches the publisher (`conninfo`). The subscription stops at its first
   * error instead of retrying it (its `health` then says failed).
   */
  subscribe(input: { name: string; slot: string; publication: string; conninfo: string; copyData: boolean }): string[];
  /** Statements stopping (false) or restarting (true) subscription `name`; its slot stays. */
  enable(name: string, enabled: boolean): string[];
  /** Statements dropping subscription `name` if it exists, leaving its slot to `dropSlot` on the publisher. */
  unsubscribe(name: string): string[];
  /**
   * How the server of another environment reaches `environment`'s database (PostgreSQL: a libpq connection string).
   * Holds its password unless `redacted` (printed by a dry run): never print the unredacted one.
   */
  conninfo(environment: ResolvedEnvironment, context: { workspaceRoot: string }, redacted: boolean): string;
  /** The name of `environment`'s database on its server (what a router of the user's commands is told to route to). */
  databaseName(environment: ResolvedEnvironment, context: { workspaceRoot: string }): string;
  /** Make `environment`'s database on its server when it does not exist; false when it existed. */
  createDatabase(environment: ResolvedEnvironment, context: { workspaceRoot: string }): Promise<boolean>;
  /**
   * Keep `environment`'s database as a backup instead of dropping it (`finish` under `gates.requireBackup`): renamed
   * aside under the backup name the engine gives objects kept by the conflict strategy `rename`, with `stamp` (its
   * sessions ended first, so that nothing writes to it any more). Returns the backup's name, or null when there was no
   * database.
   */
  keepDatabase(
    environment: ResolvedEnvironment,
    stamp: string,
    context: { workspaceRoot: string },
  ): Promise<string | null>;
  /** Drop `environment`'s database (its sessions ended first); false when there was none. */
  dropDatabase(environment: ResolvedEnvironment, context: { workspaceRoot: string }): Promise<boolean>;
  /**
   * Statements making the ledger table `blue_green` in schema `ledgerSchema` if it is missing (one row per step of a
   * phase, see `blue-green/record.ts`): run again harmlessly.
   */
  ledgerTable(ledgerSchema: string): string[];
  /** Whether the ledger table `blue_green` of schema `ledgerSchema` exists (a read: it never makes it). */
  ledgerTableExists(conn: Connection, ledgerSchema: string): Promise<boolean>;
  /**
   * The routers the engine drives, by their name in `blueGreen.router` of dbee.yaml (e.g. the postgres engine's
   * connection pooler). Absent or without the name written: refused, and the router's `commands` remain.
   */
  routers?: Readonly<Record<string, EngineRouter>>;
}
