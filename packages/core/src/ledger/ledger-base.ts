import { rawConnection } from '../engine/session-pool';
import { DbeeError } from '../errors';
import type { Connection, LedgerDialect } from '../engine/engine';
import {
  upToDate,
  missing,
  createdEmpty,
  pendingCreation,
  tablesPresent,
  tablesAbsent,
  tablesCreated,
  remember,
} from './memory';

/**
 * The ledger's storage: its tables in the engine's dialect (names, quoting, parameter markers, booleans, JSON), its
 * version and upgrades (`ensure`), and its feature tables created as first needed (`ensureTable`). The first link of
 * the `Ledger`'s stores; each store below adds the rows of one kind.
 */
export abstract class LedgerBase {
  constructor(
    readonly conn: Connection,
    readonly dialect: LedgerDialect,
  ) {}

  /** A ledger table, qualified: `dbee.deployments`, `DBEE_LEDGER."deployments"`. */
  t(table: string): string {
    return `${this.dialect.schema}.${this.q(table)}`;
  }

  /** A column (or alias) name as the dialect writes it. */
  q(name: string): string {
    return this.dialect.quote ? this.dialect.quote(name) : name;
  }

  /** Column names, quoted and comma-separated. */
  cols(...names: string[]): string {
    return names.map((n) => this.q(n)).join(', ');
  }

  /** `alias.column`, the column quoted. */
  ac(alias: string, column: string): string {
    return `${alias}.${this.q(column)}`;
  }

  p(n: number): string {
    return this.dialect.param(n);
  }

  params(count: number, from = 1): string {
    return [...Array(count)].map((_, i) => this.p(from + i)).join(', ');
  }

  bool(value: boolean): unknown {
    return this.dialect.bool ? this.dialect.bool(value) : value;
  }

  /** A JSON column as read: parsed when the dialect stores JSON as text (and the value is a string). */
  json<T>(value: unknown): T | null {
    if (value === null || value === undefined) return null;
    return typeof value === 'string' ? (JSON.parse(value) as T) : (value as T);
  }

  get versionTable(): string {
    return this.t(this.dialect.versionTable ?? 'ledger_version');
  }

  /** The next id of a table with an `id` column (the caller holds the deployment lock). */
  async nextId(table: string, conn: Connection): Promise<number> {
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

  /** True when this connection found no ledger and has not created one since (no round trip: see `missing`). */
  knownMissing(): boolean {
    return missing.get(rawConnection(this.conn))?.has(this.versionTable) ?? false;
  }

  /** Remember, for as long as this connection lives, that its ledger is at the latest version (see `upToDate`). */
  knownUpToDate(from?: number): void {
    const raw = rawConnection(this.conn);
    if (from === 0) remember(createdEmpty, raw, this.versionTable);
    missing.get(raw)?.delete(this.versionTable);
    remember(upToDate, raw, this.versionTable);
  }

  /** A feature table's key in `tablesPresent`, `tablesAbsent` and `tablesCreated`. */
  tableKey(table: string): string {
    return `${this.dialect.schema}.${table}`;
  }

  /** Remember which feature tables exist on `raw`'s database, from `LedgerDialect.presentTables` as read. */
  learnTables(raw: Connection, present: string | null): void {
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

  /**
   * Create or upgrade the ledger tables; run under the deployment lock. Returns the version reached. With
   * `withFirstDeployment`, a database without a ledger gets it in the request of the connection's first deployment row
   * (`pendingCreation`), where the connection batches and the dialect writes literals: the caller opens a deployment
   * before any other ledger request.
   */
  async ensure(options: { withFirstDeployment?: boolean } = {}): Promise<number> {
    const latest = this.dialect.migrations.length;
    // A creation left to the first deployment row stays there for a caller that opens one; another sends it now.
    if (pendingCreation.get(rawConnection(this.conn))?.has(this.versionTable)) {
      if (!options.withFirstDeployment) await this.sendCreation(this.takePendingCreation()!);
      return latest;
    }
    const current = await this.version();
    const versions = Array.from({ length: latest - current }, (_, i) => `(${current + i + 1})`);
    if (current < latest && this.dialect.transactionalDdl !== false && this.conn.executeBatch) {
      // Every upgrade still to run, with the rows recording them, in one transaction sent as one request: a fresh
      // database's ledger costs one round trip instead of one per statement (a fleet creates hundreds of them), and an
      // interrupted upgrade leaves the ledger at the version it had. A database without a ledger gets the latest
      // tables directly where the dialect has them (`LedgerDialect.fresh`).
      // Its commit need not wait for the disk (LedgerInlining.asyncCommit): the deployment's closing row commits
      // durably, which flushes it, and a server crash before that loses it with every row written after it.
      const asyncCommit = this.dialect.inline?.asyncCommit;
      const statements = [
        'BEGIN',
        ...(asyncCommit ? [`SELECT ${asyncCommit}`] : []),
        ...(current === 0 && this.dialect.fresh ? this.dialect.fresh : this.dialect.migrations.slice(current).flat()),
        `INSERT INTO ${this.versionTable} (${this.q('version')}) VALUES ${versions.join(', ')}`,
        'COMMIT',
      ];
      if (options.withFirstDeployment && current === 0 && this.dialect.fresh && this.dialect.inline) {
        // Until it is sent the ledger is missing, as far as every reader knows; what it will hold is known: nothing
        // (`createdEmpty`: the first row's id is 1, the project's state empty) and no feature table.
        const raw = rawConnection(this.conn);
        if (!pendingCreation.has(raw)) pendingCreation.set(raw, new Map());
        pendingCreation.get(raw)!.set(this.versionTable, statements);
        remember(createdEmpty, raw, this.versionTable);
        this.upgradedTables(true);
        return latest;
      }
      const r = await this.conn.executeBatch(statements);
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
        // A DDL statement must end its transaction (Teradata): each one commits on its own, then the version row. One
        // that a killed run already made is done (`appliedBefore`).
        for (const sql of this.dialect.migrations[v]!)
          await this.conn.execute(sql).catch((error: unknown) => {
            if (!this.dialect.appliedBefore?.(error)) throw error;
          });
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
   * The creation of the ledger `ensure` left to the first deployment row (`pendingCreation`), taken: the caller sends
   * it; null when there is none.
   */
  takePendingCreation(): string[] | null {
    const pending = pendingCreation.get(rawConnection(this.conn));
    const statements = pending?.get(this.versionTable) ?? null;
    pending?.delete(this.versionTable);
    return statements;
  }

  /** A pending creation (`takePendingCreation`) sent with a deployment's first row: the ledger is there now. */
  created(): void {
    missing.get(rawConnection(this.conn))?.delete(this.versionTable);
    remember(upToDate, rawConnection(this.conn), this.versionTable);
  }

  /** After a pending creation failed: nothing of it was made, as far as this connection knows. */
  creationFailed(): void {
    createdEmpty.get(rawConnection(this.conn))?.delete(this.versionTable);
  }

  /** Send a pending creation on its own (`ensure` without `withFirstDeployment`). */
  private async sendCreation(statements: string[]): Promise<void> {
    const r = await this.conn.executeBatch!(statements);
    if (r.error) {
      await this.conn.execute('ROLLBACK').catch(() => {});
      this.creationFailed();
      throw r.error;
    }
    this.created();
  }

  /**
   * What this connection knows of the feature tables after `ensure` created or upgraded the ledger: none exist when it
   * was created as `fresh` (no round trip to learn it); an upgrade may have created some, read again when needed.
   */
  upgradedTables(fresh: boolean): void {
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

  /** A scalar subquery: how many steps of deployment `p(idAt)` are recorded `p(statusAt)` (`applied`). */
  appliedCount(idAt: number, statusAt: number): string {
    return `(SELECT count(*) FROM ${this.t('steps')} WHERE ${this.q('deployment_id')} = ${this.p(idAt)} AND ${this.q('status')} = ${this.p(statusAt)})`;
  }
}
