import { createHash } from 'node:crypto';
import type { Connection, LedgerDialect } from '../engine/engine';
import { rawConnection } from '../engine/session-pool';
import { DbeeError } from '../errors';
import { formatKey, migrationKey } from '../model/object-key';
import type { Hazard } from '../plan/plan';
import type { DeployedState } from '../planner/planner';
import type { SmokeCheck } from '../smoke/smoke-check';

/** One ledger statement with the dialect's parameter markers, and its parameters. */
export interface LedgerWrite {
  sql: string;
  params: unknown[];
  /** The ledger table it writes (`steps`, `objects`...), for `Ledger.inlineAll`. */
  table: string;
}

/** Who and what a deployment is, recorded when it starts. */
export interface DeploymentInfo {
  project: string;
  environment: string;
  /**
   * `deploy`: sources or a package applied. `rollback`: steps undone from their recorded reverses (or a diff to the
   * sources at a git ref). `disable` / `enable`: a routine made uncallable, and made callable again. `cleanup`:
   * backups past their retention dropped. `clone`: the project's schemas made equal to another environment's.
   * `adopt`: live objects recorded as deployed (a baseline), nothing applied. `expand`, `complete`, `abort`: the
   * phases of an expand-contract release (their steps are the strategy's statements and backfills).
   */
  kind: 'deploy' | 'rollback' | 'disable' | 'enable' | 'cleanup' | 'clone' | 'adopt' | 'expand' | 'complete' | 'abort';
  planChecksum: string;
  package: string | null;
  gitCommit: string | null;
  toolVersion: string;
  osUser: string;
  ciJob: string | null;
  host: string;
  stepsTotal: number;
  /** For a rollback or an enable: the deployment it undoes (null for a rollback to a git ref). */
  reverts?: number | null;
  /** The project's ledger state now (`state(project)`), when the caller has just read it: not read again. */
  before?: LedgerState;
  /** The change ticket it runs under (`--ticket`), recorded in `deployments.ticket` (ledger version 3); none by default. */
  ticket?: string | null;
}

/**
 * `applied`: committed. `failed`: the step that failed. `rolled-back`: ran, then vanished with the transaction of a
 * step that failed after it (transaction scope `project` or `plan`). `skipped`: not run (its dependencies failed,
 * or its transaction was rolled back before it started). `undone`: applied, then reversed (by the automatic rollback,
 * a `rollback` or an `enable`); a step of a rollback that is itself undone makes the step it undid `applied` again.
 * `started`: a step that runs outside a transaction (`CREATE INDEX CONCURRENTLY`) is recorded before it runs, with
 * its statements; the row becomes `applied` or `failed` when it ends. One left `started` belongs to a process that
 * died: the next deployment reconciles it against the catalog (see `runner/reconcile.ts`).
 */
export type StepStatus = 'applied' | 'failed' | 'rolled-back' | 'skipped' | 'undone' | 'started';

/**
 * Final status of a deployment row. `running` while it runs; `interrupted` when its process died before it
 * finished (set by the next deployment, under the lock); `rolled-back` when it failed and its applied steps were
 * undone automatically; `aborted` when it stopped itself because its deployment lock was lost (`aborted: lock lost`).
 */
export type DeploymentStatus = 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'interrupted' | 'aborted';

/** A backup kept by the conflict strategy `rename`. */
export interface BackupRow {
  id: number;
  deployment_id: number;
  object_key: string;
  backup_name: string;
  created_at: Date | string;
  retain_until: Date | string | null;
  dropped_at: Date | string | null;
}

export interface StepRecord {
  order: number;
  objectKey: string;
  action: string;
  checksum: string;
  statements: string[];
  reverse: string[] | null;
  previousDefinition: string | null;
  transactional: boolean;
  startedAt: Date;
  durationMs: number;
  status: StepStatus;
  error: string | null;
  /**
   * The ledger state of the step's object before the step: its checksum in `objects` (a migration: its checksum in
   * `migrations`), null when it had none. Undoing the step restores it. Default: read from `objects` as the row is
   * written (the runner records a step before it updates the object's state).
   */
  previousChecksum?: string | null;
  /** For a step of a rollback or an enable: the step (order) of the reverted deployment it undid. */
  revertsStep?: number | null;
  /** Hazards the step carried (from the plan); used to tell a step whose undo cannot bring data back. */
  hazards?: Hazard[];
  /** The step was recorded `started` before it ran: this record replaces that row (written idempotently). */
  replacesStarted?: boolean;
}

/** A step as the ledger holds it (`Ledger.steps`). */
export interface LedgerStep {
  deploymentId: number;
  order: number;
  objectKey: string;
  action: string;
  checksum: string;
  statements: string[];
  reverse: string[] | null;
  previousDefinition: string | null;
  previousChecksum: string | null;
  transactional: boolean;
  status: StepStatus;
  revertsStep: number | null;
  hazards: Hazard[];
}

export interface DeploymentRow {
  id: number;
  project: string;
  environment: string;
  kind: string;
  status: string;
  started_at: Date | string;
  finished_at: Date | string | null;
  steps_total: number;
  steps_applied: number;
  db_user: string;
  os_user: string | null;
  host: string | null;
  git_commit: string | null;
  package: string | null;
  plan_checksum: string;
  error: string | null;
  reverts: number | null;
  /** JSON text (see `DeploymentSummary`), or null for deployments that never finished. */
  summary: string | Record<string, unknown> | null;
  /** The change ticket it ran under (`--ticket`); null when none was given or the ledger predates tickets. */
  ticket?: string | null;
  /** The CI job that ran it (`GITHUB_RUN_ID`, `CI_JOB_ID`...), or null. */
  ci_job?: string | null;
}

/** What the ledger keeps in `deployments.summary` (JSON), beyond the columns. */
export interface DeploymentSummary {
  /** Transaction scope used: `object`, `project` or `plan`. */
  transaction?: string;
  /** When the first step failed (ISO time). */
  failedAt?: string;
  /** When the automatic rollback finished undoing the deployment's steps (ISO time). */
  rolledBackAt?: string;
  /** Why the automatic rollback stopped before undoing everything. */
  rollbackIncomplete?: string;
  /** The engine's fingerprint of the project's schemas when the deployment ended: `status` compares it (drift). */
  fingerprint?: string | null;
  /**
   * The engine's catalog version read right before that fingerprint (`DiffRole.catalogVersion`): while the database's
   * is still equal, the fingerprint is still the live one, and drift checks do not read it again.
   */
  catalogVersion?: string | null;
  /** Which scope that fingerprint covers (`scopeKey`: its schemas and what it manages), with the catalog version. */
  fingerprintScope?: string | null;
  /** Objects that existed without the ledger knowing them, and what was done about them. */
  conflicts?: { object: string; strategy: string; rule: string; backup: string | null }[];
  /** Smoke checks after the deployment; `not run` until they exist. */
  smoke?: string;
  /**
   * The smoke checks that verify the state the deployment left (as they ran, placeholders expanded): recorded by
   * `recordSmokeChecks` while it runs; a rollback to that state runs them.
   */
  smokeChecks?: SmokeCheck[];
  /** A rollback run with `--emergency` (no smoke checks, no countdown), and the gates it bypassed. */
  emergency?: boolean;
  gatesBypassed?: string[];
  /** A rollback run with `--force`: what it accepted (steps left applied, data not brought back, drift). */
  forced?: string[];
  /** A rollback of selected objects only (`rollback --objects`): the globs as given. */
  selection?: string[];
  /** A rollback to the sources at a git ref: the ref as given and its commit. */
  toRef?: { ref: string; commit: string };
  /** Notifications (`notify:` webhooks) that did not arrive: webhook (position and host), event and why. */
  notifications?: { webhook: string; event: string; error: string }[];
  /** A `disable`: the routine, how it was disabled, and exactly which grants were revoked or what it was renamed to. */
  disabled?: { object: string; how: 'revoke' | 'rename'; revoked?: string[]; renamedTo?: string };
}

/**
 * The summary of a deployment row (`deployments.summary`: jsonb on PostgreSQL, text elsewhere), parsed: the one place
 * that reads it. Empty when the row has none (a deployment that never finished) or it is not JSON.
 */
export function deploymentSummary(row: Pick<DeploymentRow, 'summary'>): DeploymentSummary {
  if (!row.summary) return {};
  if (typeof row.summary === 'string') {
    try {
      return JSON.parse(row.summary) as DeploymentSummary;
    } catch {
      return {};
    }
  }
  return row.summary as DeploymentSummary;
}

/** The ledger's view of what a project has deployed: object checksums, and migrations with their descriptions. */
export interface LedgerState {
  objects: Record<string, string>;
  migrations: Record<string, { checksum: string; description: string }>;
}

/**
 * Connections whose ledger (by version table) is known to be at the latest version this dbee knows: a ledger's version
 * only grows, so `version()` reads it once per connection, not once per project of a batch (three times each).
 */
const upToDate = new WeakMap<Connection, Set<string>>();

/**
 * Connections on which the version table was found missing (the database has no ledger yet), until `ensure` creates
 * it: a deployment to a new database asks for the version four times before it creates the ledger (recovery, started
 * steps, deployed state, `ensure`), and each failed read is a round trip and an error. Only dbee creates the ledger,
 * and only in `ensure` under the deployment lock, which the deployment holds for as long as its connection lives.
 */
const missing = new WeakMap<Connection, Set<string>>();

/**
 * Connections whose `ensure` created the ledger from nothing, until their first deployment row: its objects and
 * migrations are empty and the next deployment id is 1 (object and migration rows reference a deployment, and only
 * `startDeployment` writes one), so neither `state` nor `startDeployment` reads them. Same reason as `missing`: the deployment
 * lock is held for as long as the connection lives.
 */
const createdEmpty = new WeakMap<Connection, Set<string>>();

/**
 * The deployments a connection opened and has not closed, by `<version table>\0<id>`: while a deployment runs, only
 * its own session writes its row (under the deployment lock). Its summary is kept here (`updateSummary` merges into
 * it, `finishDeployment` writes it with the closing row: no read, no write of its own), and so are the writes that
 * travel with the closing row (`withClosingRow`: its smoke results).
 */
const openDeployments = new WeakMap<Connection, Map<string, OpenDeployment>>();

/** What a connection keeps of a deployment it opened until it closes it (`openDeployments`). */
interface OpenDeployment {
  summary: DeploymentSummary;
  /** Writes sent in the closing row's request, before it, in this order. */
  atClose: LedgerWrite[];
}

/**
 * The kinds of deployment whose steps write no `objects` rows where the dialect folds them (`Ledger.fold`): those that
 * run a plan (runner.ts). A compensating deployment (rollback, disable, enable) and adopt, cleanup or the expand's
 * completion write `objects` directly.
 */
const FOLDED_KINDS = ['deploy', 'clone'];

/**
 * What a connection knows of the ledger's feature tables (`LedgerDialect.lazyTables`), by qualified name: `present`,
 * read from the catalog (a table is never dropped, so this stays true); `absent`, read from the catalog or known
 * because this connection created the ledger without them, and trusted while no deployment creates them elsewhere
 * (as `missing` is: every creator holds the deployment lock, which a deployment's connection holds for as long as it
 * lives); `created`, created by this connection in a transaction that may not have committed: read from the catalog
 * every time (a transaction rolled back takes the table with it).
 */
const tablesPresent = new WeakMap<Connection, Set<string>>();
const tablesAbsent = new WeakMap<Connection, Set<string>>();
const tablesCreated = new WeakMap<Connection, Set<string>>();

/** Add `table` to what `map` remembers of connection `raw`. */
function remember(map: WeakMap<Connection, Set<string>>, raw: Connection, table: string): void {
  let tables = map.get(raw);
  if (!tables) map.set(raw, (tables = new Set()));
  tables.add(table);
}

/**
 * The ledger statements each session keeps (`Ledger.inlineNamed`), by raw connection: their names, and the generation
 * that names new ones (a name is never defined twice, even when a forgotten one may still exist).
 */
const namedStatements = new WeakMap<Connection, { generation: number; defined: Set<string> }>();

/** By dialect, the statement and name hash of each shape of chained ledger writes (`Ledger.shape`). */
const shapes = new WeakMap<LedgerDialect, Map<string, { sql: string; hash: string }>>();

/**
 * The ledger inside a target database, written through the engine's dialect (its DDL, parameter markers, quoting,
 * booleans and version table). Engine-neutral: the same code serves PostgreSQL, PGlite and Teradata. It never relies
 * on sequences: ids are `MAX(id) + 1` under the deployment lock that every writer holds, computed by the INSERT where
 * the dialect returns keys (`LedgerDialect.returning`), else read first.
 */
export class Ledger {
  constructor(
    private readonly conn: Connection,
    private readonly dialect: LedgerDialect,
  ) {}

  /** A ledger table, qualified: `dbee.deployments`, `DBEE_LEDGER."deployments"`. */
  private t(table: string): string {
    return `${this.dialect.schema}.${this.q(table)}`;
  }

  /** A column (or alias) name as the dialect writes it. */
  private q(name: string): string {
    return this.dialect.quote ? this.dialect.quote(name) : name;
  }

  /** Column names, quoted and comma-separated. */
  private cols(...names: string[]): string {
    return names.map((n) => this.q(n)).join(', ');
  }

  /** `alias.column`, the column quoted. */
  private ac(alias: string, column: string): string {
    return `${alias}.${this.q(column)}`;
  }

  private p(n: number): string {
    return this.dialect.param(n);
  }

  private params(count: number, from = 1): string {
    return [...Array(count)].map((_, i) => this.p(from + i)).join(', ');
  }

  private bool(value: boolean): unknown {
    return this.dialect.bool ? this.dialect.bool(value) : value;
  }

  /** A JSON column as read: parsed when the dialect stores JSON as text (and the value is a string). */
  private json<T>(value: unknown): T | null {
    if (value === null || value === undefined) return null;
    return typeof value === 'string' ? (JSON.parse(value) as T) : (value as T);
  }

  private get versionTable(): string {
    return this.t(this.dialect.versionTable ?? 'ledger_version');
  }

  /** The next id of a table with an `id` column (the caller holds the deployment lock). */
  private async nextId(table: string, conn: Connection): Promise<number> {
    const r = await conn.query<{ id: number | string | null }>(
      `SELECT COALESCE(MAX(${this.q('id')}), 0) + 1 AS ${this.q('id')} FROM ${this.t(table)}`,
    );
    return Number(r.rows[0]?.id ?? 1);
  }

  /** Ledger version in this database; 0 when dbee has never written here. */
  async version(): Promise<number> {
    const latest = this.dialect.migrations.length;
    const raw = rawConnection(this.conn);
    if (upToDate.get(raw)?.has(this.versionTable)) return latest;
    if (missing.get(raw)?.has(this.versionTable)) return 0;
    try {
      // The feature tables that exist are read with it (`LedgerDialect.presentTables`): no round trip of their own.
      const present = this.dialect.lazyTables && this.dialect.presentTables;
      const r = await this.conn.query<{ v: number | string | null; present?: string | null }>(
        `SELECT MAX(${this.q('version')}) AS ${this.q('v')}${present ? `, ${present} AS ${this.q('present')}` : ''} FROM ${this.versionTable}`,
      );
      if (present) this.learnTables(raw, r.rows[0]?.present ?? null);
      const v = Number(r.rows[0]?.v ?? 0);
      if (v === latest) this.knownUpToDate();
      return v;
    } catch (e) {
      // Any other failure (no permission, a transaction in error) is read again next time.
      if (e instanceof DbeeError && e.code === 'OBJECT_MISSING') remember(missing, raw, this.versionTable);
      return 0;
    }
  }

  /** A deployment's key in `openDeployments`. */
  private summaryKey(id: number): string {
    return `${this.versionTable}\0${id}`;
  }

  /** The summary of deployment `id` as it is now: known when this connection opened it and it runs, else read. */
  private async summaryNow(id: number): Promise<DeploymentSummary> {
    const known = this.open(id);
    if (known) return known.summary;
    const r = await this.conn.query<{ summary: DeploymentRow['summary'] }>(
      `SELECT ${this.q('summary')} FROM ${this.t('deployments')} WHERE ${this.q('id')} = ${this.p(1)}`,
      [id],
    );
    return this.json<DeploymentSummary>(r.rows[0]?.summary ?? null) ?? {};
  }

  /** True when this connection found no ledger and has not created one since (no round trip: see `missing`). */
  knownMissing(): boolean {
    return missing.get(rawConnection(this.conn))?.has(this.versionTable) ?? false;
  }

  /** Remember, for as long as this connection lives, that its ledger is at the latest version (see `upToDate`). */
  private knownUpToDate(from?: number): void {
    const raw = rawConnection(this.conn);
    if (from === 0) remember(createdEmpty, raw, this.versionTable);
    missing.get(raw)?.delete(this.versionTable);
    remember(upToDate, raw, this.versionTable);
  }

  /** A feature table's key in `tablesPresent`, `tablesAbsent` and `tablesCreated`. */
  private tableKey(table: string): string {
    return `${this.dialect.schema}.${table}`;
  }

  /** Remember which feature tables exist on `raw`'s database, from `LedgerDialect.presentTables` as read. */
  private learnTables(raw: Connection, present: string | null): void {
    const names = new Set((present ?? '').split(' ').filter(Boolean));
    for (const table of Object.keys(this.dialect.lazyTables ?? {})) {
      const key = this.tableKey(table);
      if (names.has(table)) {
        // Seen by the transaction that created it, which may still roll back: not remembered as present.
        if (!tablesCreated.get(raw)?.has(key)) remember(tablesPresent, raw, key);
        tablesAbsent.get(raw)?.delete(key);
      } else {
        tablesCreated.get(raw)?.delete(key);
        remember(tablesAbsent, raw, key);
      }
    }
  }

  /**
   * Whether the ledger has `table`: always for a table every ledger has; for a feature table that a new ledger leaves
   * out (`LedgerDialect.lazyTables`), as this connection knows it or else read from the catalog. A reader of a feature
   * table treats a missing one as empty; `conn` is where the read runs (a transaction sees the tables it created).
   */
  async hasTable(table: string, conn: Connection = this.conn): Promise<boolean> {
    if (!this.dialect.lazyTables?.[table]) return true;
    const raw = rawConnection(conn);
    const key = this.tableKey(table);
    if (tablesPresent.get(raw)?.has(key)) return true;
    if (tablesAbsent.get(raw)?.has(key) && !tablesCreated.get(raw)?.has(key)) return false;
    const r = await conn.query<{ present: string | null }>(
      `SELECT ${this.dialect.presentTables ?? 'NULL'} AS ${this.q('present')}`,
    );
    this.learnTables(raw, r.rows[0]?.present ?? null);
    return (r.rows[0]?.present ?? '').split(' ').includes(table);
  }

  /**
   * Create the feature table `table` (`LedgerDialect.lazyTables`) unless it exists, on `conn`: the transaction of the
   * row about to be written there, where there is one, so that the table and its first row commit together. Run under
   * the deployment lock, as every ledger write is (two sessions creating the same table at once would collide).
   */
  async ensureTable(table: string, conn: Connection = this.conn): Promise<void> {
    const ddl = this.dialect.lazyTables?.[table];
    if (!ddl) return;
    const raw = rawConnection(conn);
    const key = this.tableKey(table);
    if (tablesPresent.get(raw)?.has(key)) return;
    if (!tablesAbsent.get(raw)?.has(key) && (await this.hasTable(table, conn))) return;
    // Every statement is `IF NOT EXISTS`: a table some other connection created since this one looked is left as is.
    for (const sql of ddl) await conn.execute(sql);
    // Known on the ledger's own session too: `conn` may be a transaction's, and this ledger's next reads use its own.
    for (const r of new Set([raw, rawConnection(this.conn)])) {
      remember(tablesCreated, r, key);
      tablesAbsent.get(r)?.delete(key);
    }
  }

  /** Create or upgrade the ledger tables; run under the deployment lock. Returns the version reached. */
  async ensure(): Promise<number> {
    const current = await this.version();
    const latest = this.dialect.migrations.length;
    const versions = Array.from({ length: latest - current }, (_, i) => `(${current + i + 1})`);
    if (current < latest && this.dialect.transactionalDdl !== false && this.conn.executeBatch) {
      // Every upgrade still to run, with the rows recording them, in one transaction sent as one request: a fresh
      // database's ledger costs one round trip instead of one per statement (a fleet creates hundreds of them), and an
      // interrupted upgrade leaves the ledger at the version it had. A database without a ledger gets the latest
      // tables directly where the dialect has them (`LedgerDialect.fresh`).
      // Its commit need not wait for the disk (LedgerInlining.asyncCommit): the deployment's closing row commits
      // durably, which flushes it, and a server crash before that loses it with every row written after it.
      const asyncCommit = this.dialect.inline?.asyncCommit;
      const r = await this.conn.executeBatch([
        'BEGIN',
        ...(asyncCommit ? [`SELECT ${asyncCommit}`] : []),
        ...(current === 0 && this.dialect.fresh ? this.dialect.fresh : this.dialect.migrations.slice(current).flat()),
        `INSERT INTO ${this.versionTable} (${this.q('version')}) VALUES ${versions.join(', ')}`,
        'COMMIT',
      ]);
      if (r.error) {
        await this.conn.execute('ROLLBACK').catch(() => {});
        throw r.error;
      }
      this.knownUpToDate(current);
      this.upgradedTables(current === 0 && this.dialect.fresh !== undefined);
      return latest;
    }
    if (current === 0 && this.dialect.fresh && this.dialect.transactionalDdl !== false) {
      // A new ledger on a connection that does not batch (an embedded database): the latest tables directly too.
      const fresh = this.dialect.fresh;
      await this.conn.transaction(async (c) => {
        for (const sql of fresh) await c.execute(sql);
        await c.query(`INSERT INTO ${this.versionTable} (${this.q('version')}) VALUES ${versions.join(', ')}`);
      });
      this.knownUpToDate(current);
      this.upgradedTables(true);
      return latest;
    }
    for (let v = current; v < this.dialect.migrations.length; v++) {
      const record = (c: Connection) =>
        c.query(`INSERT INTO ${this.versionTable} (${this.q('version')}) VALUES (${this.p(1)})`, [v + 1]);
      if (this.dialect.transactionalDdl === false) {
        // A DDL statement must end its transaction (Teradata): each one commits on its own, then the version row.
        for (const sql of this.dialect.migrations[v]!) await this.conn.execute(sql);
        await record(this.conn);
      } else {
        await this.conn.transaction(async (c) => {
          for (const sql of this.dialect.migrations[v]!) await c.execute(sql);
          await record(c);
        });
      }
    }
    this.knownUpToDate(current);
    if (current < this.dialect.migrations.length) this.upgradedTables(false);
    return this.dialect.migrations.length;
  }

  /**
   * What this connection knows of the feature tables after `ensure` created or upgraded the ledger: none exist when it
   * was created as `fresh` (no round trip to learn it); an upgrade may have created some, read again when needed.
   */
  private upgradedTables(fresh: boolean): void {
    const raw = rawConnection(this.conn);
    for (const table of Object.keys(this.dialect.lazyTables ?? {})) {
      if (fresh) remember(tablesAbsent, raw, this.tableKey(table));
      else tablesAbsent.get(raw)?.delete(this.tableKey(table));
    }
  }

  /** True when the ledger exists; reads never create it (a dry run touches nothing). */
  async exists(): Promise<boolean> {
    return (await this.version()) > 0;
  }

  async deployedState(project: string): Promise<DeployedState> {
    if (!(await this.exists())) return { objects: new Map(), migrations: new Map() };
    const objects = (await this.objectStates(project, this.conn)).states.get(project) ?? new Map<string, string>();
    const migrations = await this.conn.query<{ version: string; checksum: string }>(
      `SELECT ${this.cols('version', 'checksum')} FROM ${this.t('migrations')} WHERE ${this.q('project')} = ${this.p(1)}`,
      [project],
    );
    return { objects, migrations: new Map(migrations.rows.map((r) => [r.version, r.checksum])) };
  }

  /** The keys of the objects the ledger records for `project`, in one query (none when there is no ledger). */
  async objectKeys(project: string): Promise<string[]> {
    if (!(await this.exists())) return [];
    return [...((await this.objectStates(project, this.conn)).states.get(project)?.keys() ?? [])];
  }

  /** `deployedState` of every project in the ledger, in two queries (an Nx batch reads it once for all its tasks). */
  async deployedStates(): Promise<Map<string, DeployedState>> {
    const out = new Map<string, DeployedState>();
    if (!(await this.exists())) return out;
    const of = (project: string) => {
      let state = out.get(project) as { objects: Map<string, string>; migrations: Map<string, string> } | undefined;
      if (!state) out.set(project, (state = { objects: new Map(), migrations: new Map() }));
      return state;
    };
    for (const [project, objects] of (await this.objectStates(null, this.conn)).states)
      for (const [key, checksum] of objects) of(project).objects.set(key, checksum);
    const migrations = await this.conn.query<{ project: string; version: string; checksum: string }>(
      `SELECT ${this.cols('project', 'version', 'checksum')} FROM ${this.t('migrations')}`,
    );
    for (const r of migrations.rows) of(r.project).migrations.set(r.version, r.checksum);
    return out;
  }

  /** Whether a deployment's steps leave their objects' state to `fold` (`LedgerDialect.foldsObjects`). */
  get folds(): boolean {
    return this.dialect.foldsObjects === true;
  }

  /**
   * The object checksums the ledger records (of `project`, or of every project), by project, in one query: the rows of
   * `objects`, with the applied steps of the deployments not yet folded into it (`fold`: a deployment running, or
   * whose process died before it folded) laid over them in order, a drop forgetting its object; and those
   * deployments' ids. Every reader of object states reads them here, so that it sees what per-step rows would say.
   */
  private async objectStates(
    project: string | null,
    conn: Connection,
  ): Promise<{ states: Map<string, Map<string, string>>; unfolded: number[] }> {
    const params: unknown[] = project === null ? [] : [project];
    let sql = `SELECT ${this.cols('project', 'object_key', 'checksum')}${this.folds ? ', NULL AS deployment_id, NULL AS step_order, NULL AS action' : ''} FROM ${this.t('objects')}${project === null ? '' : ` WHERE ${this.q('project')} = ${this.p(1)}`}`;
    if (this.folds) {
      sql += ` UNION ALL SELECT ${this.ac('d', 'project')}, ${this.ac('s', 'object_key')}, ${this.ac('s', 'checksum')}, ${this.ac('s', 'deployment_id')}, ${this.ac('s', 'step_order')}, ${this.ac('s', 'action')}
        FROM ${this.t('steps')} s, ${this.t('deployments')} d WHERE ${this.unfolded('d', params)}${project === null ? '' : ` AND ${this.ac('d', 'project')} = ${this.p(1)}`}
          AND ${this.ac('s', 'deployment_id')} = ${this.ac('d', 'id')} AND ${this.ac('s', 'status')} = ${this.p(params.push('applied'))} AND ${this.ac('s', 'action')} <> ${this.p(params.push('migrate'))}`;
    }
    const r = await conn.query<{
      project: string;
      object_key: string;
      checksum: string;
      deployment_id?: number | string | null;
      step_order?: number | string | null;
      action?: string | null;
    }>(sql, params);
    const states = new Map<string, Map<string, string>>();
    const of = (p: string) => {
      let m = states.get(p);
      if (!m) states.set(p, (m = new Map()));
      return m;
    };
    const steps = r.rows.filter((row) => row.deployment_id !== null && row.deployment_id !== undefined);
    for (const row of r.rows)
      if (row.deployment_id === null || row.deployment_id === undefined)
        of(row.project).set(row.object_key, row.checksum);
    steps.sort(
      (a, b) => Number(a.deployment_id) - Number(b.deployment_id) || Number(a.step_order) - Number(b.step_order),
    );
    for (const row of steps) {
      if (row.action === 'drop') of(row.project).delete(row.object_key);
      else of(row.project).set(row.object_key, row.checksum);
    }
    return { states, unfolded: [...new Set(steps.map((row) => Number(row.deployment_id)))] };
  }

  /**
   * The condition on deployment rows `alias` that selects those whose applied steps are not folded into `objects`:
   * a deployment of a plan (kind `deploy` or `clone`: its steps wrote no `objects` rows) still `running`, and whose
   * `steps_applied` the fold has not set (it is 0 until the deployment closes or is folded). Its parameters are
   * pushed onto `params`.
   */
  private unfolded(alias: string, params: unknown[]): string {
    const kinds = FOLDED_KINDS.map((k) => this.p(params.push(k))).join(', ');
    return `${this.ac(alias, 'status')} = ${this.p(params.push('running'))} AND ${this.ac(alias, 'steps_applied')} = 0 AND ${this.ac(alias, 'kind')} IN (${kinds})`;
  }

  /**
   * Bring `objects` up to date with the applied steps of deployment `deploymentId` (its steps write no
   * `objects` rows: `LedgerDialect.foldsObjects`), in one transaction: each object's last applied step sets its
   * checksum, or forgets it when that step dropped it, and the deployment's `steps_applied` is counted, which marks it
   * folded. A deployment already folded, or not of a plan, is left as it is: folding again is harmless. The deployment
   * folds itself when it ends (before its smoke checks read the objects); the next lock holder folds one whose process
   * died first (`Deployment.open`, `markInterrupted`).
   */
  async fold(deploymentId: number, conn: Connection = this.conn): Promise<void> {
    const writes = this.foldWrites(deploymentId);
    if (this.inlines && conn.executeBatch) {
      const r = await conn.executeBatch(['BEGIN', ...this.inlineAll(writes), 'COMMIT']);
      if (r.error) {
        await conn.execute('ROLLBACK').catch(() => {});
        throw r.error;
      }
      return;
    }
    await conn.transaction((c) => this.run(writes, c));
  }

  /** The writes of `fold`: the upsert of the objects the deployment's steps left, the delete of those they dropped, the count. */
  foldWrites(deploymentId: number): LedgerWrite[] {
    const upsert = this.dialect.upsertObject;
    if (!upsert) throw new Error(`the ${this.dialect.schema} ledger dialect folds no objects (no upsertObject)`);
    // Each object's last applied step of the deployment, while it is not folded (the guard makes the fold run once).
    const last = (params: unknown[]) => {
      const guard = this.unfolded('d', params);
      return `(SELECT ${this.ac('d', 'project')}, ${this.ac('d', 'id')}, ${this.ac('s', 'object_key')}, ${this.ac('s', 'checksum')}, ${this.ac('s', 'action')}, row_number() OVER (PARTITION BY ${this.ac('s', 'object_key')} ORDER BY ${this.ac('s', 'step_order')} DESC) AS ${this.q('n')}
         FROM ${this.t('steps')} s, ${this.t('deployments')} d WHERE ${this.ac('d', 'id')} = ${this.p(params.push(deploymentId))} AND ${guard}
           AND ${this.ac('s', 'deployment_id')} = ${this.ac('d', 'id')} AND ${this.ac('s', 'status')} = ${this.p(params.push('applied'))} AND ${this.ac('s', 'action')} <> ${this.p(params.push('migrate'))}) x`;
    };
    const up: unknown[] = [];
    const upFrom = last(up);
    const del: unknown[] = [];
    const delFrom = last(del);
    const count: unknown[] = [];
    const countGuard = this.unfolded('d', count);
    return [
      {
        sql: `INSERT INTO ${this.t('objects')} (${this.cols('project', 'object_key', 'checksum', 'deployment_id')})
          SELECT ${this.ac('x', 'project')}, ${this.ac('x', 'object_key')}, ${this.ac('x', 'checksum')}, ${this.ac('x', 'id')} FROM ${upFrom}
          WHERE ${this.ac('x', 'n')} = 1 AND ${this.ac('x', 'action')} <> ${this.p(up.push('drop'))} ${upsert(['checksum', 'deployment_id', 'updated_at'].map((c) => this.q(c)))}`,
        params: up,
        table: 'objects',
      },
      {
        sql: `DELETE FROM ${this.t('objects')} WHERE (${this.cols('project', 'object_key')}) IN
          (SELECT ${this.ac('x', 'project')}, ${this.ac('x', 'object_key')} FROM ${delFrom} WHERE ${this.ac('x', 'n')} = 1 AND ${this.ac('x', 'action')} = ${this.p(del.push('drop'))})`,
        params: del,
        table: 'objects',
      },
      {
        sql: `UPDATE ${this.t('deployments')} d SET ${this.q('steps_applied')} = ${this.appliedCount(count.push(deploymentId), count.push('applied'))}
          WHERE ${this.ac('d', 'id')} = ${this.p(count.push(deploymentId))} AND ${countGuard}`,
        params: count,
        table: 'deployments',
      },
    ];
  }

  /**
   * Open a deployment row (`running`). It keeps the project's whole ledger state as it was at the start
   * (`ledger_before`): undoing the whole deployment later puts exactly that back, including object states a
   * deployment sets without a step of their own (a diff-based deployment syncs them at the end). The id is the
   * next free one (the caller holds the deployment lock, as every writer of the ledger does): taken by the INSERT
   * itself where the dialect returns it (`LedgerDialect.returning`: one request, with the session's commit mode), else
   * read first.
   */
  async startDeployment(info: DeploymentInfo): Promise<number> {
    const before = info.before ?? (await this.state(info.project));
    const empty = createdEmpty.get(rawConnection(this.conn))?.delete(this.versionTable) ?? false;
    const open = openDeployments.get(rawConnection(this.conn)) ?? new Map<string, OpenDeployment>();
    openDeployments.set(rawConnection(this.conn), open);
    // The ticket column (ledger version 3) is written only when there is a ticket: a row without one reads as null.
    const ticket = info.ticket ? [this.q('ticket')] : [];
    const columns = [
      this.cols('id', 'project', 'environment', 'kind', 'plan_checksum', 'package', 'git_commit', 'tool_version'),
      this.cols('os_user', 'ci_job', 'host', 'status', 'steps_total', 'reverts', 'ledger_before'),
      ...ticket,
    ].join(', ');
    const values = [
      info.project,
      info.environment,
      info.kind,
      info.planChecksum,
      info.package,
      info.gitCommit,
      info.toolVersion,
      info.osUser,
      info.ciJob,
      info.host,
      'running',
      info.stepsTotal,
      info.reverts ?? null,
      JSON.stringify(before),
      ...(info.ticket ? [info.ticket] : []),
    ];
    const start = this.asyncSession?.start ?? null;
    let id: number;
    if (this.dialect.returning) {
      // The session's commit mode is set by the same statement (selected in its CTE, which the id's subquery reads).
      const next = `(SELECT COALESCE(MAX(${this.q('id')}), 0) + 1 FROM ${this.t('deployments')})`;
      const r = await this.conn.query<{ id: number | string }>(
        `WITH n AS MATERIALIZED (SELECT ${start ? `${start} AS s, ` : ''}${next} AS ${this.q('id')})
         INSERT INTO ${this.t('deployments')} (${columns}) VALUES ((SELECT ${this.q('id')} FROM n), ${this.params(values.length)})
         RETURNING ${this.q('id')}`,
        values,
      );
      id = Number(r.rows[0]!.id);
    } else {
      id = empty ? 1 : await this.nextId('deployments', this.conn);
      await this.afterSetting(start && `SELECT ${start}`, {
        table: 'deployments',
        sql: `INSERT INTO ${this.t('deployments')} (${columns}) VALUES (${this.params(values.length + 1)})`,
        params: [id, ...values],
      });
    }
    open.set(this.summaryKey(id), { summary: {}, atClose: [] });
    return id;
  }

  /** Deployment `id`, when this connection opened it and has not closed it. */
  private open(id: number): OpenDeployment | undefined {
    return openDeployments.get(rawConnection(this.conn))?.get(this.summaryKey(id));
  }

  /**
   * Send `writes` with deployment `id`'s closing row, in its request and transaction (`finishDeployment`), instead of
   * now: where this connection opened the deployment and has not closed it, and the closing row's request can carry
   * them (the dialect writes literals and the connection batches). False when they must be written now. A deployment
   * whose process dies before its close loses them with it: it reads as interrupted, as it would without them.
   */
  withClosingRow(id: number, writes: readonly LedgerWrite[]): boolean {
    const open = this.open(id);
    if (!open || !this.inlines || !this.conn.executeBatch) return false;
    open.atClose.push(...writes);
    return true;
  }

  /**
   * Run the session setting `setting` (null: none), then `write`: in one round trip where the connection batches and
   * the dialect writes literals (a deployment's closing row with the session's commit mode, see `asyncSession`), else
   * one after the other. The setting holds from the write on, as when they are sent apart.
   */
  private async afterSetting(setting: string | null, ...writes: LedgerWrite[]): Promise<void> {
    if ((setting || writes.length > 1) && this.inlines && this.conn.executeBatch) {
      // One request: one implicit transaction on the server, the writes in order.
      const r = await this.conn.executeBatch([...(setting ? [setting] : []), ...this.inlineAll(writes)]);
      if (r.error) throw r.error;
      return;
    }
    if (setting) await this.conn.execute(setting);
    for (const write of writes) await this.conn.query(write.sql, write.params);
  }

  /** The project's ledger state when a deployment started (see `startDeployment`); null for older rows. */
  async ledgerBefore(deploymentId: number): Promise<LedgerState | null> {
    const r = await this.conn.query<{ ledger_before: string | LedgerState | null }>(
      `SELECT ${this.q('ledger_before')} FROM ${this.t('deployments')} WHERE ${this.q('id')} = ${this.p(1)}`,
      [deploymentId],
    );
    return this.json<LedgerState>(r.rows[0]?.ledger_before);
  }

  /**
   * Record one step's outcome. `conn` lets the record share the step's transaction. Without an explicit
   * `previousChecksum`, the object's current checksum in `objects` is recorded as the state before the step.
   */
  async recordStep(deploymentId: number, step: StepRecord, conn: Connection = this.conn): Promise<void> {
    await this.run(this.stepWrites(deploymentId, step), conn);
  }

  /**
   * The writes that record one step (see `recordStep`), to run in order. With `step.serverClock` its `started_at` and
   * `duration_ms` are the dialect's clock expressions (`LedgerInlining`), for a row sent in the same request as the
   * step's statements, after them; `step.guard` (with `serverClock`) is the deployment lock's guard (`LockHandle.guard`),
   * evaluated by the row's INSERT.
   */
  stepWrites(deploymentId: number, step: StepRecord & { serverClock?: boolean; guard?: string | null }): LedgerWrite[] {
    const writes: LedgerWrite[] = [];
    if (step.replacesStarted) {
      // Idempotent: a record written again after a crash replaces the `started` row instead of colliding with it.
      writes.push({
        sql: `DELETE FROM ${this.t('steps')} WHERE ${this.q('deployment_id')} = ${this.p(1)} AND ${this.q('step_order')} = ${this.p(2)} AND ${this.q('status')} = ${this.p(3)}`,
        params: [deploymentId, step.order, 'started'],
        table: 'steps',
      });
    }
    const clock = step.serverClock ? this.dialect.inline : undefined;
    if (step.serverClock && !clock)
      throw new Error(`the ${this.dialect.schema} ledger dialect cannot time a step on the server`);
    const params: unknown[] = [
      deploymentId,
      step.order,
      step.objectKey,
      step.action,
      step.checksum,
      JSON.stringify(step.statements),
      step.reverse ? JSON.stringify(step.reverse) : null,
      step.previousDefinition,
      this.bool(step.transactional),
    ];
    const values = [this.params(params.length)];
    // The lock's guard (1 while the lock is held, it raises once it is lost) is evaluated with the row, after the
    // step's statements and right before its transaction commits, at no statement of its own.
    if (clock) values.push(clock.startedAt, step.guard ? `(${clock.elapsedMs}) * ${step.guard}` : clock.elapsedMs);
    else {
      params.push(step.startedAt, step.durationMs);
      values.push(this.p(params.length - 1), this.p(params.length));
    }
    params.push(
      step.status,
      step.error,
      step.revertsStep ?? null,
      step.hazards?.length ? JSON.stringify(step.hazards) : null,
    );
    values.push(this.params(4, params.length - 3));
    if (step.previousChecksum === undefined) {
      // Parameters are repeated rather than reused: some dialects only have positional `?` markers.
      params.push(deploymentId, step.objectKey);
      values.push(
        `(SELECT ${this.ac('o', 'checksum')} FROM ${this.t('objects')} o, ${this.t('deployments')} d ` +
          `WHERE ${this.ac('d', 'id')} = ${this.p(params.length - 1)} AND ${this.ac('o', 'project')} = ${this.ac('d', 'project')} AND ${this.ac('o', 'object_key')} = ${this.p(params.length)})`,
      );
    } else {
      params.push(step.previousChecksum);
      values.push(this.p(params.length));
    }
    // The deployment's `steps_applied` is not counted here, one hot-row UPDATE per step: the closing row counts the
    // applied rows (`finishDeployment`, `markInterrupted`), and `deployments` counts them for a deployment still running.
    writes.push({
      sql: `INSERT INTO ${this.t('steps')} (${this.cols('deployment_id', 'step_order', 'object_key', 'action', 'checksum', 'statements', 'reverse_statements', 'previous_definition', 'transactional', 'started_at', 'duration_ms', 'status', 'error', 'reverts_step', 'hazards', 'previous_checksum')})
       VALUES (${values.join(', ')})`,
      params,
      table: 'steps',
    });
    return writes;
  }

  /** Remember the object's new checksum (or forget it when it was dropped or undone). */
  async setObjectState(
    project: string,
    objectKey: string,
    checksum: string | null,
    deploymentId: number,
    conn: Connection = this.conn,
  ): Promise<void> {
    await this.run(this.objectStateWrites(project, objectKey, checksum, deploymentId), conn);
  }

  /** The writes of `setObjectState`. */
  objectStateWrites(project: string, objectKey: string, checksum: string | null, deploymentId: number): LedgerWrite[] {
    const insert: LedgerWrite = {
      sql: `INSERT INTO ${this.t('objects')} (${this.cols('project', 'object_key', 'checksum', 'deployment_id')}) VALUES (${this.params(4)})`,
      params: [project, objectKey, checksum, deploymentId],
      table: 'objects',
    };
    const upsert = this.dialect.upsertObject;
    if (checksum !== null && upsert)
      return [
        {
          ...insert,
          sql: `${insert.sql} ${upsert(['checksum', 'deployment_id', 'updated_at'].map((c) => this.q(c)))}`,
        },
      ];
    const writes: LedgerWrite[] = [
      {
        sql: `DELETE FROM ${this.t('objects')} WHERE ${this.q('project')} = ${this.p(1)} AND ${this.q('object_key')} = ${this.p(2)}`,
        params: [project, objectKey],
        table: 'objects',
      },
    ];
    if (checksum !== null) writes.push(insert);
    return writes;
  }

  async recordMigration(
    project: string,
    version: string,
    description: string,
    checksum: string,
    deploymentId: number,
    conn: Connection = this.conn,
  ): Promise<void> {
    await this.run(this.migrationWrites(project, version, description, checksum, deploymentId), conn);
  }

  /** The writes of `recordMigration`. */
  migrationWrites(
    project: string,
    version: string,
    description: string,
    checksum: string,
    deploymentId: number,
  ): LedgerWrite[] {
    return [
      {
        sql: `INSERT INTO ${this.t('migrations')} (${this.cols('project', 'version', 'description', 'checksum', 'deployment_id')}) VALUES (${this.params(5)})`,
        params: [project, version, description, checksum, deploymentId],
        table: 'migrations',
      },
    ];
  }

  /** Run writes in order on `conn`, one round trip each. */
  async run(writes: readonly LedgerWrite[], conn: Connection = this.conn): Promise<void> {
    for (const w of writes) await conn.query(w.sql, w.params);
  }

  /**
   * Run writes in order on `conn` in one round trip where the dialect writes literals and the connection batches
   * (chained as `inlineAll` chains them: each sees the ledger as it was before it, as one after the other would), else
   * one round trip each (`run`). Inside the caller's transaction, if one is open; without one, each request of more
   * than `WRITES_PER_REQUEST` writes is a transaction of its own.
   */
  async runTogether(writes: readonly LedgerWrite[], conn: Connection = this.conn): Promise<void> {
    if (writes.length < 2 || !this.inlines || !conn.executeBatch) return this.run(writes, conn);
    // Many writes (a project's whole state synced or replaced) go in requests of WRITES_PER_REQUEST.
    for (let i = 0; i < writes.length; i += WRITES_PER_REQUEST) {
      const r = await conn.executeBatch(this.inlineAll(writes.slice(i, i + WRITES_PER_REQUEST)));
      if (r.error) throw r.error;
    }
  }

  /**
   * How a deployment's commits stop waiting for the disk until its closing row (`LedgerInlining.asyncSession`): only
   * on a connection that batches (a server; an embedded database has no WAL writer).
   */
  private get asyncSession(): { start: string; end: string } | null {
    const s = this.dialect.inline?.asyncSession;
    return s && this.conn.executeBatch ? s : null;
  }

  /** Whether writes can be sent as SQL text in one request with a step's statements (`LedgerDialect.inline`). */
  get inlines(): boolean {
    return this.dialect.inline !== undefined;
  }

  /** A write as one SQL statement with its parameters written as literals (needs `LedgerDialect.inline`). */
  inline(write: LedgerWrite): string {
    const inline = this.dialect.inline;
    if (!inline) throw new Error(`the ${this.dialect.schema} ledger dialect writes no literals`);
    if (!write.params.length) return write.sql;
    const { pattern, byMarker } = this.markers(write.params.length);
    pattern.lastIndex = 0;
    return write.sql.replace(pattern, (m) => {
      const value = write.params[byMarker.get(m)!];
      return inline.literal(value instanceof Date ? value.toISOString() : value);
    });
  }

  /**
   * Writes as few statements as the dialect allows, in order: consecutive writes to different tables are chained
   * into one (`LedgerInlining.chain`); a write to a table the current chain already writes starts the next one.
   * Chained writes all see the ledger as it was before them, which is what they would see one after the other: the
   * only write that reads the ledger (a step row's previous checksum, read from `objects` when not given) comes
   * before the object's own row. Without `chain`, one statement per write.
   */
  inlineAll(writes: readonly LedgerWrite[]): string[] {
    const chain = this.dialect.inline?.chain;
    if (!chain) return writes.map((w) => this.inline(w));
    return this.chains(writes).map((c) => (c.length === 1 ? this.inline(c[0]!) : chain(c.map((w) => this.inline(w)))));
  }

  /** Writes grouped as `inlineAll` chains them: a write to a table the current group already writes starts the next. */
  private chains(writes: readonly LedgerWrite[]): LedgerWrite[][] {
    const out: LedgerWrite[][] = [];
    let current: LedgerWrite[] = [];
    for (const w of writes) {
      if (current.some((c) => c.table === w.table)) {
        out.push(current);
        current = [];
      }
      current.push(w);
    }
    if (current.length) out.push(current);
    return out;
  }

  /**
   * `inlineAll`, each statement run as a statement the session keeps by name (`LedgerInlining.named`): the same
   * statements with their values as arguments, so that the server parses and plans each shape once per session. A
   * shape the session does not have yet is defined first, on `conn`, in one round trip of its own (outside the
   * request the statements go in: a definition outlives a rolled-back transaction, and a request that fails before
   * it would leave it undefined). Plain `inlineAll` where the dialect names no statements or `conn` does not batch.
   */
  async inlineNamed(writes: readonly LedgerWrite[], conn: Connection): Promise<string[]> {
    const inline = this.dialect.inline;
    const named = inline?.named;
    if (!inline || !named || !conn.executeBatch) return this.inlineAll(writes);
    const raw = rawConnection(conn);
    let session = namedStatements.get(raw);
    if (!session) namedStatements.set(raw, (session = { generation: 0, defined: new Set() }));
    const { defined, generation } = session;
    const out: string[] = [];
    const define: string[] = [];
    const names: string[] = [];
    for (const group of inline.chain ? this.chains(writes) : writes.map((w) => [w])) {
      const { sql, hash } = this.shape(group);
      const name = `dbee_ledger_${hash}_${generation}`;
      if (!defined.has(name) && !names.includes(name)) {
        define.push(named.define(name, sql));
        names.push(name);
      }
      const values = group.flatMap((w) => w.params);
      out.push(
        named.call(
          name,
          values.map((v) => inline.literal(v instanceof Date ? v.toISOString() : v)),
        ),
      );
    }
    if (define.length) {
      for (const d of define) await conn.execute(d);
      for (const n of names) defined.add(n);
    }
    return out;
  }

  /**
   * The one statement of a group of chained writes (`inlineNamed`), their parameters numbered one after the other, and
   * the hash that names it. Computed once per shape and dialect: a deployment writes thousands of rows of a few shapes.
   */
  private shape(group: readonly LedgerWrite[]): { sql: string; hash: string } {
    let known = shapes.get(this.dialect);
    if (!known) shapes.set(this.dialect, (known = new Map()));
    const key = group.map((w) => `${w.params.length}\u0000${w.sql}`).join('\u0000');
    let shape = known.get(key);
    if (!shape) {
      let offset = 0;
      const parts = group.map((w) => {
        const sql = this.renumber(w, offset);
        offset += w.params.length;
        return sql;
      });
      const sql = parts.length === 1 ? parts[0]! : this.dialect.inline!.chain!(parts);
      shape = { sql, hash: createHash('sha256').update(sql).digest('hex').slice(0, 16) };
      // Shapes are few (a guard's lock key is part of one); a long-lived process must not keep every one it saw.
      if (known.size >= 1000) known.clear();
      known.set(key, shape);
    }
    return shape;
  }

  /**
   * Forget what `inlineNamed` defined on `conn`'s session: statements that run there may drop them (`DEALLOCATE`), so
   * they are defined again when next needed.
   */
  forgetNamed(conn: Connection): void {
    const session = namedStatements.get(rawConnection(conn));
    if (!session) return;
    session.generation++;
    session.defined.clear();
  }

  /** `w.sql` with its parameter markers moved up by `offset` (`$1` becomes `$(offset + 1)`). */
  private renumber(w: LedgerWrite, offset: number): string {
    if (!w.params.length || offset === 0) return w.sql;
    const { pattern, byMarker } = this.markers(w.params.length);
    pattern.lastIndex = 0;
    return w.sql.replace(pattern, (m) => this.p(byMarker.get(m)! + 1 + offset));
  }

  private readonly markerPatterns = new Map<number, { pattern: RegExp; byMarker: Map<string, number> }>();
  /** The markers of `n` parameters as one pattern, longest first (`$1` is a prefix of `$12`): one pass, so a literal that contains `$1` stays as it is. */
  private markers(n: number): { pattern: RegExp; byMarker: Map<string, number> } {
    let m = this.markerPatterns.get(n);
    if (!m) {
      const markers = Array.from({ length: n }, (_, i) => ({ marker: this.p(i + 1), i })).sort(
        (a, b) => b.marker.length - a.marker.length,
      );
      const pattern = new RegExp(markers.map((x) => x.marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
      m = { pattern, byMarker: new Map(markers.map((x) => [x.marker, x.i])) };
      this.markerPatterns.set(n, m);
    }
    return m;
  }

  async forgetMigration(project: string, version: string, conn: Connection = this.conn): Promise<void> {
    await this.run(this.forgetMigrationWrites(project, version, await this.keepsBackfills(conn)), conn);
  }

  /** Whether this ledger has a table of batched migrations' backfills (`LedgerDialect.backfills`). */
  private async keepsBackfills(conn: Connection): Promise<boolean> {
    return !!this.dialect.backfills && (await this.hasTable(this.dialect.backfills, conn));
  }

  /** The writes of `forgetMigration`; `backfills`: whether the ledger has the backfills' table (`keepsBackfills`). */
  private forgetMigrationWrites(project: string, version: string, backfills: boolean): LedgerWrite[] {
    const writes: LedgerWrite[] = [
      {
        sql: `DELETE FROM ${this.t('migrations')} WHERE ${this.q('project')} = ${this.p(1)} AND ${this.q('version')} = ${this.p(2)}`,
        params: [project, version],
        table: 'migrations',
      },
    ];
    // A batched migration's backfills (ids `<migration key>#<n>`) go with it: applied again, it runs whole again.
    if (backfills && this.dialect.backfills) {
      const prefix = `${formatKey(migrationKey(project, version))}#`;
      writes.push({
        sql: `DELETE FROM ${this.t(this.dialect.backfills)} WHERE substr(${this.q('id')}, 1, ${this.p(1)}) = ${this.p(2)}`,
        params: [prefix.length, prefix],
        table: this.dialect.backfills,
      });
    }
    return writes;
  }

  async finishDeployment(
    id: number,
    status: Exclude<DeploymentStatus, 'running' | 'interrupted'>,
    error: string | null,
    failedStatement: string | null,
    summary: DeploymentSummary = {},
    before: readonly LedgerWrite[] = [],
  ): Promise<void> {
    // What was recorded while the deployment ran (the smoke checks it ran, kept by this connection until now) stays,
    // under this summary; of a deployment another session opened, the smoke checks its row holds.
    const open = this.open(id);
    if (open) summary = { ...open.summary, ...summary };
    else {
      const during = await this.summaryNow(id);
      if (during.smokeChecks) summary = { smokeChecks: during.smokeChecks, ...summary };
    }
    // The closing row's commit waits for the disk again (`asyncSession`): the setting goes first, in the same request.
    // Its `steps_applied` is counted by the statement itself: no read before it, and a BTEQ script, which records the
    // statement without running it, counts the rows its steps wrote when it runs.
    await this.afterSetting(this.asyncSession?.end ?? null, ...(open?.atClose ?? []), ...before, {
      table: 'deployments',
      sql: `UPDATE ${this.t('deployments')} SET ${this.q('status')} = ${this.p(1)}, ${this.q('error')} = ${this.p(2)}, ${this.q('failed_statement')} = ${this.p(3)}, ${this.q('summary')} = ${this.p(4)}, ${this.q('finished_at')} = ${this.dialect.now}, ${this.q('steps_applied')} = ${this.appliedCount(5, 6)} WHERE ${this.q('id')} = ${this.p(7)}`,
      params: [status, error, failedStatement, JSON.stringify(summary), id, 'applied', id],
    });
    openDeployments.get(rawConnection(this.conn))?.delete(this.summaryKey(id));
  }

  /** A scalar subquery: how many steps of deployment `p(idAt)` are recorded `p(statusAt)` (`applied`). */
  private appliedCount(idAt: number, statusAt: number): string {
    return `(SELECT count(*) FROM ${this.t('steps')} WHERE ${this.q('deployment_id')} = ${this.p(idAt)} AND ${this.q('status')} = ${this.p(statusAt)})`;
  }

  /** How many steps of a deployment are recorded `applied` (its `steps_applied` once it is closed). */
  async appliedSteps(deploymentId: number, conn: Connection = this.conn): Promise<number> {
    const r = await conn.query<{ n: number | string }>(
      `SELECT count(*) AS ${this.q('n')} FROM ${this.t('steps')} WHERE ${this.q('deployment_id')} = ${this.p(1)} AND ${this.q('status')} = ${this.p(2)}`,
      [deploymentId, 'applied'],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Mark deployments still `running` as `interrupted`. Call it under the deployment lock: a deployment that holds
   * no lock cannot be running, so those rows belong to processes that died (killed, crashed, lost connection).
   * Returns their ids. Their committed steps stay applied, as the steps table says; the next deployment resumes.
   */
  async markInterrupted(byDeployment: string): Promise<number[]> {
    const ids = await this.runningDeployments();
    for (const id of ids) {
      // Its applied steps reach `objects` first (a deployment's `steps_applied` set below would mark it folded).
      if (this.folds) await this.fold(id);
      await this.conn.query(
        `UPDATE ${this.t('deployments')} SET ${this.q('status')} = ${this.p(1)}, ${this.q('error')} = ${this.p(2)}, ${this.q('finished_at')} = ${this.dialect.now}, ${this.q('steps_applied')} = ${this.appliedCount(3, 4)} WHERE ${this.q('id')} = ${this.p(5)} AND ${this.q('status')} = ${this.p(6)}`,
        [
          'interrupted',
          `interrupted: the process ended before the deployment finished (found by ${byDeployment}); the steps recorded as applied committed, the others did not run or were rolled back`,
          id,
          'applied',
          id,
          'running',
        ],
      );
    }
    return ids;
  }

  /**
   * Steps left `started` by deployments that are no longer running (their process died while the step ran outside
   * a transaction), oldest first, with their project.
   */
  async startedSteps(): Promise<(LedgerStep & { project: string })[]> {
    if ((await this.version()) < 2) return [];
    const r = await this.conn.query<{ deployment_id: number | string; step_order: number | string; project: string }>(
      `SELECT ${this.ac('s', 'deployment_id')}, ${this.ac('s', 'step_order')}, ${this.ac('d', 'project')} FROM ${this.t('steps')} s, ${this.t('deployments')} d
        WHERE ${this.ac('d', 'id')} = ${this.ac('s', 'deployment_id')} AND ${this.ac('s', 'status')} = ${this.p(1)} AND ${this.ac('d', 'status')} <> ${this.p(2)}
        ORDER BY ${this.ac('s', 'deployment_id')}, ${this.ac('s', 'step_order')}`,
      ['started', 'running'],
    );
    const out: (LedgerStep & { project: string })[] = [];
    for (const row of r.rows) {
      const step = (await this.steps(Number(row.deployment_id))).find((s) => s.order === Number(row.step_order));
      if (step) out.push({ ...step, project: row.project });
    }
    return out;
  }

  /** A `started` step's outcome, found after its process died: `applied` (counted) or `failed`, with why. */
  async resolveStarted(
    deploymentId: number,
    order: number,
    status: 'applied' | 'failed',
    error: string | null,
    conn: Connection = this.conn,
  ): Promise<void> {
    await conn.query(
      `UPDATE ${this.t('steps')} SET ${this.q('status')} = ${this.p(1)}, ${this.q('error')} = ${this.p(2)} WHERE ${this.q('deployment_id')} = ${this.p(3)} AND ${this.q('step_order')} = ${this.p(4)} AND ${this.q('status')} = ${this.p(5)}`,
      [status, error, deploymentId, order, 'started'],
    );
    if (status === 'applied') {
      await conn.query(
        `UPDATE ${this.t('deployments')} SET ${this.q('steps_applied')} = ${this.q('steps_applied')} + 1 WHERE ${this.q('id')} = ${this.p(1)}`,
        [deploymentId],
      );
    }
  }

  /** Ids of deployments left `running` (read only: what a dry run reports). */
  async runningDeployments(): Promise<number[]> {
    if (!(await this.exists())) return [];
    const r = await this.conn.query<{ id: number | string }>(
      `SELECT ${this.q('id')} FROM ${this.t('deployments')} WHERE ${this.q('status')} = ${this.p(1)} ORDER BY ${this.q('id')}`,
      ['running'],
    );
    return r.rows.map((row) => Number(row.id));
  }

  /** The checksum the ledger holds for an object (before a step changes it), or null. */
  async objectChecksum(project: string, objectKey: string, conn: Connection = this.conn): Promise<string | null> {
    if (this.folds) return (await this.objectStates(project, conn)).states.get(project)?.get(objectKey) ?? null;
    const r = await conn.query<{ checksum: string }>(
      `SELECT ${this.q('checksum')} FROM ${this.t('objects')} WHERE ${this.q('project')} = ${this.p(1)} AND ${this.q('object_key')} = ${this.p(2)}`,
      [project, objectKey],
    );
    return r.rows[0]?.checksum ?? null;
  }

  /**
   * Remember a backup kept by the conflict strategy `rename`; retained until someone drops it (no expiry yet). The
   * ledger's first backup creates its `backups` table, on `conn` (the step's transaction).
   */
  async recordBackup(
    deploymentId: number,
    objectKey: string,
    backupName: string,
    conn: Connection = this.conn,
  ): Promise<void> {
    await this.ensureTable('backups', conn);
    const id = await this.nextId('backups', conn);
    await conn.query(
      `INSERT INTO ${this.t('backups')} (${this.cols('id', 'deployment_id', 'object_key', 'backup_name')}) VALUES (${this.params(4)})`,
      [id, deploymentId, objectKey, backupName],
    );
  }

  /** A backup no longer exists under its name (renamed back by a rollback, or dropped). */
  async backupGone(deploymentId: number, backupName: string, conn: Connection = this.conn): Promise<void> {
    if (!(await this.hasTable('backups', conn))) return;
    await conn.query(
      `UPDATE ${this.t('backups')} SET ${this.q('dropped_at')} = ${this.dialect.now} WHERE ${this.q('deployment_id')} = ${this.p(1)} AND ${this.q('backup_name')} = ${this.p(2)}`,
      [deploymentId, backupName],
    );
  }

  /** Backups made by the project's deployments that still exist (not dropped, not renamed back), oldest first. */
  async liveBackups(project: string): Promise<BackupRow[]> {
    if (!(await this.exists()) || !(await this.hasTable('backups'))) return [];
    // Two plain queries instead of a JOIN: every ledger dialect (and the Teradata test double) reads single-table
    // SELECTs, and both tables stay small.
    const deployments = await this.conn.query<{ id: number | string }>(
      `SELECT ${this.q('id')} FROM ${this.t('deployments')} WHERE ${this.q('project')} = ${this.p(1)}`,
      [project],
    );
    const ids = new Set(deployments.rows.map((d) => Number(d.id)));
    if (ids.size === 0) return [];
    const r = await this.conn.query<BackupRow>(
      `SELECT ${this.cols('id', 'deployment_id', 'object_key', 'backup_name', 'created_at', 'retain_until', 'dropped_at')}
         FROM ${this.t('backups')} WHERE ${this.q('dropped_at')} IS NULL ORDER BY ${this.q('id')}`,
    );
    return r.rows
      .map((row) => ({ ...row, id: Number(row.id), deployment_id: Number(row.deployment_id) }))
      .filter((row) => ids.has(row.deployment_id));
  }

  /** The backups a deployment kept, oldest first (none where the ledger has no `backups` table yet). */
  async backups(deploymentId: number): Promise<BackupRow[]> {
    if (!(await this.exists()) || !(await this.hasTable('backups'))) return [];
    const r = await this.conn.query<BackupRow>(
      `SELECT ${this.cols('id', 'deployment_id', 'object_key', 'backup_name', 'created_at', 'retain_until', 'dropped_at')} FROM ${this.t('backups')} WHERE ${this.q('deployment_id')} = ${this.p(1)} ORDER BY ${this.q('id')}`,
      [deploymentId],
    );
    return r.rows.map((row) => ({ ...row, id: Number(row.id), deployment_id: Number(row.deployment_id) }));
  }

  /** The summary of the last finished deployment of `project` on `environment` (one query), null when there is none. */
  async lastFinishedSummary(project: string, environment: string): Promise<DeploymentSummary | null> {
    if (!(await this.exists())) return null;
    const r = await this.conn.query<Pick<DeploymentRow, 'summary'>>(
      `SELECT ${this.q('summary')} FROM ${this.t('deployments')} WHERE ${this.q('project')} = ${this.p(1)} AND ${this.q('environment')} = ${this.p(2)} AND ${this.q('finished_at')} IS NOT NULL ORDER BY ${this.q('id')} DESC LIMIT 1`,
      [project, environment],
    );
    return r.rows[0] ? deploymentSummary(r.rows[0]) : null;
  }

  async deployments(project: string, environment: string, limit = 20): Promise<DeploymentRow[]> {
    if (!(await this.exists())) return [];
    const r = await this.conn.query<DeploymentRow>(
      `SELECT ${await this.deploymentColumns()}
         FROM ${this.t('deployments')} WHERE ${this.q('project')} = ${this.p(1)} AND ${this.q('environment')} = ${this.p(2)} ORDER BY ${this.q('id')} DESC`,
      [project, environment],
    );
    return this.countRunning(r.rows.slice(0, limit).map((row) => this.deploymentRow(row)));
  }

  /** The newest deployment of every project on `environment` (one query), by project. */
  async lastDeployments(environment: string): Promise<Map<string, DeploymentRow>> {
    if (!(await this.exists())) return new Map();
    const r = await this.conn.query<DeploymentRow>(
      `SELECT ${await this.deploymentColumns()} FROM ${this.t('deployments')} WHERE ${this.q('id')} IN
         (SELECT MAX(${this.q('id')}) FROM ${this.t('deployments')} WHERE ${this.q('environment')} = ${this.p(1)} GROUP BY ${this.q('project')})`,
      [environment],
    );
    const rows = await this.countRunning(r.rows.map((row) => this.deploymentRow(row)));
    return new Map(rows.map((row) => [row.project, row]));
  }

  /**
   * A deployment still running (or whose process died) has its applied steps counted by their rows: it writes
   * `steps_applied` when it closes.
   */
  private async countRunning(rows: DeploymentRow[]): Promise<DeploymentRow[]> {
    for (const row of rows) if (row.status === 'running') row.steps_applied = await this.appliedSteps(row.id);
    return rows;
  }

  private async deploymentColumns(): Promise<string> {
    // A ledger not yet upgraded to version 3 (read by a dry run) has no ticket column: it reads as null.
    const ticket = (await this.version()) >= 3 ? this.q('ticket') : `NULL AS ${this.q('ticket')}`;
    return `${this.cols('id', 'project', 'environment', 'kind', 'status', 'started_at', 'finished_at', 'steps_total', 'steps_applied', 'db_user', 'os_user', 'host', 'git_commit', 'package', 'plan_checksum', 'error', 'reverts', 'summary', 'ci_job')}, ${ticket}`;
  }

  private deploymentRow(row: DeploymentRow): DeploymentRow {
    return {
      ...row,
      id: Number(row.id),
      steps_total: Number(row.steps_total),
      steps_applied: Number(row.steps_applied),
      reverts: row.reverts === null || row.reverts === undefined ? null : Number(row.reverts),
      // JSON stored as text comes back as an object, as from a JSON column.
      summary:
        this.dialect.jsonAsText && typeof row.summary === 'string'
          ? this.json<Record<string, unknown>>(row.summary)
          : row.summary,
    };
  }

  /** Every step recorded for a deployment, in step order. */
  async steps(deploymentId: number): Promise<LedgerStep[]> {
    // A ledger not yet upgraded (read by a dry run) has no rollback columns: they read as empty.
    const rollbackColumns =
      (await this.version()) >= 2
        ? this.cols('previous_checksum', 'reverts_step', 'hazards')
        : `NULL AS ${this.q('previous_checksum')}, NULL AS ${this.q('reverts_step')}, NULL AS ${this.q('hazards')}`;
    const r = await this.conn.query<Record<string, unknown>>(
      `SELECT ${this.cols('deployment_id', 'step_order', 'object_key', 'action', 'checksum', 'statements', 'reverse_statements', 'previous_definition', 'transactional', 'status')}, ${rollbackColumns}
         FROM ${this.t('steps')} WHERE ${this.q('deployment_id')} = ${this.p(1)} ORDER BY ${this.q('step_order')}`,
      [deploymentId],
    );
    return r.rows.map((row) => ({
      deploymentId: Number(row.deployment_id),
      order: Number(row.step_order),
      objectKey: String(row.object_key),
      action: String(row.action),
      checksum: String(row.checksum),
      statements: this.json<string[]>(row.statements) ?? [],
      reverse: this.json<string[]>(row.reverse_statements),
      previousDefinition: (row.previous_definition as string | null) ?? null,
      previousChecksum: (row.previous_checksum as string | null) ?? null,
      // A boolean, or 1/0 where the dialect binds booleans as numbers.
      transactional: Boolean(Number(row.transactional)),
      status: row.status as StepStatus,
      revertsStep: row.reverts_step === null || row.reverts_step === undefined ? null : Number(row.reverts_step),
      hazards: this.json<Hazard[]>(row.hazards) ?? [],
    }));
  }

  /**
   * The newest applied `migrate` step of `objectKey` in the deployments of a project on an environment (`--to V3`:
   * the step that applied migration 3, or re-applied it when a rollback of it was rolled back), or null.
   */
  async appliedStep(
    project: string,
    environment: string,
    objectKey: string,
  ): Promise<{ deploymentId: number; order: number } | null> {
    const r = await this.conn.query<{ deployment_id: number | string; step_order: number | string }>(
      `SELECT ${this.ac('s', 'deployment_id')}, ${this.ac('s', 'step_order')} FROM ${this.t('steps')} s, ${this.t('deployments')} d
        WHERE ${this.ac('d', 'id')} = ${this.ac('s', 'deployment_id')} AND ${this.ac('d', 'project')} = ${this.p(1)} AND ${this.ac('d', 'environment')} = ${this.p(2)}
          AND ${this.ac('s', 'object_key')} = ${this.p(3)} AND ${this.ac('s', 'status')} = ${this.p(4)} AND ${this.ac('s', 'action')} = ${this.p(5)}
        ORDER BY ${this.ac('s', 'deployment_id')} DESC, ${this.ac('s', 'step_order')} DESC`,
      [project, environment, objectKey, 'applied', 'migrate'],
    );
    const row = r.rows[0];
    return row ? { deploymentId: Number(row.deployment_id), order: Number(row.step_order) } : null;
  }

  /**
   * The newest step of an earlier deployment of `project` that left `objectKey` at `checksum` (the version a later
   * step replaced), or null. A package step that re-created an existing object records a DROP as its reverse; this
   * is what undoing it must put back instead.
   */
  async stepThatApplied(
    project: string,
    objectKey: string,
    checksum: string,
    beforeDeployment: number,
  ): Promise<LedgerStep | null> {
    const r = await this.conn.query<{ deployment_id: number | string; step_order: number | string }>(
      `SELECT ${this.ac('s', 'deployment_id')}, ${this.ac('s', 'step_order')} FROM ${this.t('steps')} s, ${this.t('deployments')} d
        WHERE ${this.ac('d', 'id')} = ${this.ac('s', 'deployment_id')} AND ${this.ac('d', 'project')} = ${this.p(1)} AND ${this.ac('s', 'object_key')} = ${this.p(2)}
          AND ${this.ac('s', 'checksum')} = ${this.p(3)} AND ${this.ac('s', 'deployment_id')} < ${this.p(4)}
          AND ${this.ac('d', 'kind')} = ${this.p(5)} AND ${this.ac('s', 'status')} IN (${this.p(6)}, ${this.p(7)})
        ORDER BY ${this.ac('s', 'deployment_id')} DESC, ${this.ac('s', 'step_order')} DESC`,
      [project, objectKey, checksum, beforeDeployment, 'deploy', 'applied', 'undone'],
    );
    const row = r.rows[0];
    if (!row) return null;
    return (await this.steps(Number(row.deployment_id))).find((s) => s.order === Number(row.step_order)) ?? null;
  }

  /**
   * Change a step's status from `was` (as read with `steps`) to `status`: undone by a rollback, applied again when
   * that rollback is undone. The deployment's `steps_applied` follows.
   */
  async setStepStatus(
    deploymentId: number,
    order: number,
    was: StepStatus,
    status: StepStatus,
    conn: Connection = this.conn,
  ): Promise<void> {
    await this.run(this.stepStatusWrites(deploymentId, order, was, status), conn);
  }

  /** The writes of `setStepStatus`: none when the status stays. */
  stepStatusWrites(deploymentId: number, order: number, was: StepStatus, status: StepStatus): LedgerWrite[] {
    if (was === status) return [];
    const writes: LedgerWrite[] = [
      {
        sql: `UPDATE ${this.t('steps')} SET ${this.q('status')} = ${this.p(1)} WHERE ${this.q('deployment_id')} = ${this.p(2)} AND ${this.q('step_order')} = ${this.p(3)}`,
        params: [status, deploymentId, order],
        table: 'steps',
      },
    ];
    const delta = status === 'applied' ? 1 : was === 'applied' ? -1 : 0;
    if (delta) {
      writes.push({
        sql: `UPDATE ${this.t('deployments')} SET ${this.q('steps_applied')} = ${this.q('steps_applied')} + ${this.p(1)} WHERE ${this.q('id')} = ${this.p(2)}`,
        params: [delta, deploymentId],
        table: 'deployments',
      });
    }
    return writes;
  }

  /** A migration as the ledger records it, or null when it is not applied. */
  async migration(
    project: string,
    version: string,
    conn: Connection = this.conn,
  ): Promise<{ checksum: string; description: string } | null> {
    const r = await conn.query<{ checksum: string; description: string }>(
      `SELECT ${this.cols('checksum', 'description')} FROM ${this.t('migrations')} WHERE ${this.q('project')} = ${this.p(1)} AND ${this.q('version')} = ${this.p(2)}`,
      [project, version],
    );
    return r.rows[0] ?? null;
  }

  /** A backup renamed back by a rollback exists again under its backup name (that rollback was undone). */
  async backupBack(deploymentId: number, backupName: string, conn: Connection = this.conn): Promise<void> {
    if (!(await this.hasTable('backups', conn))) return;
    await conn.query(
      `UPDATE ${this.t('backups')} SET ${this.q('dropped_at')} = NULL WHERE ${this.q('deployment_id')} = ${this.p(1)} AND ${this.q('backup_name')} = ${this.p(2)}`,
      [deploymentId, backupName],
    );
  }

  /** What the ledger says a project has deployed: every object checksum and migration. */
  async state(project: string, conn: Connection = this.conn): Promise<LedgerState> {
    return (await this.stateAndUnfolded(project, conn)).state;
  }

  /**
   * `state`, and the ids of the project's deployments whose applied steps it laid over `objects` because they are not
   * folded yet (`fold`): under the deployment lock, those belong to processes that died.
   */
  async stateAndUnfolded(
    project: string,
    conn: Connection = this.conn,
  ): Promise<{ state: LedgerState; unfolded: number[] }> {
    if (createdEmpty.get(rawConnection(conn))?.has(this.versionTable))
      return { state: { objects: {}, migrations: {} }, unfolded: [] };
    const objects = await this.objectStates(project, conn);
    const migrations = await conn.query<{ version: string; checksum: string; description: string }>(
      `SELECT ${this.cols('version', 'checksum', 'description')} FROM ${this.t('migrations')} WHERE ${this.q('project')} = ${this.p(1)}`,
      [project],
    );
    return {
      state: {
        objects: Object.fromEntries(objects.states.get(project) ?? []),
        migrations: Object.fromEntries(
          migrations.rows.map((r) => [r.version, { checksum: r.checksum, description: r.description }]),
        ),
      },
      unfolded: objects.unfolded,
    };
  }

  /**
   * Replace a project's ledger state (objects and migrations) by `state`, attributing what changes to
   * `deploymentId`. Rows that stay the same are left alone.
   */
  async replaceState(
    project: string,
    state: LedgerState,
    deploymentId: number,
    conn: Connection = this.conn,
  ): Promise<void> {
    const now = await this.state(project, conn);
    const forgotten = Object.entries(now.migrations).filter(
      ([version, m]) => state.migrations[version]?.checksum !== m.checksum,
    );
    const backfills = forgotten.length > 0 && (await this.keepsBackfills(conn));
    // In one request where the ledger writes SQL text (a rollback to a git ref can change every object's state).
    await this.runTogether(
      [
        ...this.objectStatesWrites(project, new Map(Object.entries(now.objects)), state.objects, deploymentId),
        ...forgotten.flatMap(([version]) => this.forgetMigrationWrites(project, version, backfills)),
        ...Object.entries(state.migrations)
          .filter(([version, m]) => now.migrations[version]?.checksum !== m.checksum)
          .flatMap(([version, m]) => this.migrationWrites(project, version, m.description, m.checksum, deploymentId)),
      ],
      conn,
    );
  }

  /**
   * The writes that take a project's object states from `now` to `states`, attributed to `deploymentId`: an object
   * `states` does not have is forgotten, a new or changed one recorded (one write each), one that stays the same left
   * alone.
   */
  objectStatesWrites(
    project: string,
    now: ReadonlyMap<string, string>,
    states: Readonly<Record<string, string>>,
    deploymentId: number,
  ): LedgerWrite[] {
    return [
      ...[...now.keys()]
        .filter((key) => !Object.hasOwn(states, key))
        .flatMap((key) => this.objectStateWrites(project, key, null, deploymentId)),
      ...Object.entries(states)
        .filter(([key, checksum]) => now.get(key) !== checksum)
        .flatMap(([key, checksum]) => this.objectStateWrites(project, key, checksum, deploymentId)),
    ];
  }

  /**
   * Merge `patch` into a deployment's summary (smoke results arrive after a rollback's steps; a fingerprint read at
   * the end of a batch). A deployment this connection opened and has not closed keeps it until its closing row writes
   * it; another is updated by one statement where the dialect merges JSON (`LedgerDialect.mergeJson`), else read,
   * merged and written.
   */
  async updateSummary(id: number, patch: DeploymentSummary): Promise<void> {
    const open = this.open(id);
    if (open) {
      open.summary = { ...open.summary, ...patch };
      return;
    }
    const merge = this.summaryMerge(id, patch);
    if (merge) {
      await this.conn.query(merge.sql, merge.params);
      return;
    }
    const merged = { ...(await this.summaryNow(id)), ...patch };
    await this.conn.query(
      `UPDATE ${this.t('deployments')} SET ${this.q('summary')} = ${this.p(1)} WHERE ${this.q('id')} = ${this.p(2)}`,
      [JSON.stringify(merged), id],
    );
  }

  /**
   * `updateSummary` for many deployments, in one transaction: in one request where the dialect merges JSON, writes
   * literals and the connection batches (an Nx batch records every deployment's fingerprint at its end).
   */
  async updateSummaries(patches: readonly { id: number; patch: DeploymentSummary }[]): Promise<void> {
    const closed: { id: number; patch: DeploymentSummary }[] = [];
    for (const p of patches) {
      if (this.open(p.id)) await this.updateSummary(p.id, p.patch);
      else closed.push(p);
    }
    if (!closed.length) return;
    const merges = closed.map((p) => this.summaryMerge(p.id, p.patch));
    // One request (`runTogether`): one implicit transaction on the server.
    if (this.inlines && this.conn.executeBatch && merges.every((m) => m !== null)) return this.runTogether(merges);
    await this.conn.transaction(async (tx) => {
      const ledger = new Ledger(tx, this.dialect);
      for (const p of closed) await ledger.updateSummary(p.id, p.patch);
    });
  }

  /** The statement merging `patch` into deployment `id`'s summary without reading it; null when the dialect cannot. */
  private summaryMerge(id: number, patch: DeploymentSummary): LedgerWrite | null {
    const merge = this.dialect.mergeJson;
    if (!merge) return null;
    return {
      sql: `UPDATE ${this.t('deployments')} SET ${this.q('summary')} = ${merge(this.q('summary'), this.p(1))} WHERE ${this.q('id')} = ${this.p(2)}`,
      params: [JSON.stringify(patch), id],
      table: 'deployments',
    };
  }
}

/** Ledger writes per request at most (`Ledger.runTogether`). */
const WRITES_PER_REQUEST = 1000;
