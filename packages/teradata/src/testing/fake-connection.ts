import type { TeradataDriver, TeradataResult, TeradataResultSet, TeradataSession } from '../driver/driver';
import { TeradataConnection } from '../teradata-connection';
import { parseTeradata } from '../teradata-parser';
import { tableColumns } from '../teradata-renderer';
import { addColumnsToShow, alterAddColumns, FakeSqlError, runSql, tableShape, type FakeTableShape, type Row } from './fake-sql';

/**
 * A fake Teradata session for tests (no server exists here). It
 * - replays scripted replies (`on(match, reply)`), first match wins;
 * - keeps a small catalog of objects and answers the catalog lookups and SHOW requests dbee makes from it, applying
 *   CREATE / REPLACE / DROP / RENAME to it (classified with dbee's own parser), with Teradata's error codes;
 * - throws errors whose messages use the real driver format (`[Version 20.0.55] [Session 1234] [Teradata Database]
 *   [Error 3807] ...` followed by a Go stack line);
 * - enforces "a DDL statement must be the last statement of its transaction": with auto-commit off, any request after
 *   a DDL raises 3932 (TERA) or 3722 (ANSI) and aborts the transaction, undoing its catalog changes;
 * - keeps the rows of tables (created with CREATE TABLE, or given in `objects`) and runs the DML dbee sends against
 *   them (`fake-sql.ts`): the ledger, the lock row, the copy of a renamed-aside table's rows, `DBC.TablesV` lookups;
 * - `DATABASE x` sets the session's default database (also from the `database` connection parameter);
 * - with `strictReferences`, a view, macro or join index that reads a relation which does not exist fails with 3807,
 *   as on a real system.
 *
 * Sessions made by `newSession()` (or by `fakeDriver(session, { sessionPerConnect: true })`) share the catalog, the
 * rows, the scripted replies and the log, and have transactions, a default database and `closed` of their own, as
 * the deployment session and the lock session do against one system.
 */

export interface FakeError {
  code?: number;
  text: string;
  source?: 'database' | 'driver';
}

export interface FakeReply {
  /** One result set of these rows (keys are the column names). */
  rows?: Record<string, unknown>[];
  resultSets?: TeradataResultSet[];
  rowCount?: number;
  error?: FakeError;
}

export type FakeMatcher = string | RegExp | ((sql: string, params: unknown[]) => boolean);
export type FakeResponder = FakeReply | ((sql: string, params: unknown[]) => FakeReply | undefined);

export interface FakeObject {
  /** `DBC.TablesV.TableKind`: T, O, V, M, P, F, I, N, G... */
  tableKind: string;
  /** What SHOW returns (with `\n` line ends; the fake sends `\r`, as Teradata does). */
  show: string;
  /** Column names (default: read from `show` for tables). */
  columns?: string[];
  /** Rows of a table, keyed by upper-case column name (created empty for tables; the DML of the fake fills them). */
  rows?: Record<string, unknown>[];
}

/** One request as the fake received it. */
export interface FakeLogEntry {
  sql: string;
  params: unknown[];
  /** Number of the session that sent it (1 for the first). */
  session: number;
}

/** What every session of one fake system shares. */
interface FakeSystem {
  log: FakeLogEntry[];
  catalog: Map<string, FakeObject>;
  databases: Set<string>;
  handlers: { match: FakeMatcher; reply: FakeResponder; times: number }[];
  sessions: number;
  strictReferences: boolean;
  clock: () => Date;
  shapes: Map<string, FakeTableShape | null>;
}

/** The message a driver error carries, in the native library's format. */
export function teradataErrorMessage(error: FakeError, session = 1234): string {
  const tag = error.source === 'driver' ? '[Teradata SQL Driver]' : '[Teradata Database]';
  const code = error.code === undefined ? '' : ` [Error ${error.code}]`;
  return (
    `[Version 20.0.55] [Session ${session}] ${tag}${code} ${error.text}\n` +
    ' at gosqldriver/teradatasql.formatError ErrorUtil.go:89\n' +
    ' at gosqldriver/teradatasql.(*teradataConnection).processErrorParcel TeradataConnection.go:838'
  );
}

/** Same shape as the drivers' error class (which has no code property). */
export class FakeOperationalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperationalError';
  }
}

const DDL_HEADS = new Set(['CREATE', 'REPLACE', 'DROP', 'ALTER', 'RENAME', 'COMMENT', 'GRANT', 'REVOKE', 'COLLECT', 'MODIFY', 'CT']);
const KIND_CODE: Record<string, string> = {
  table: 'T',
  view: 'V',
  macro: 'M',
  procedure: 'P',
  function: 'F',
  'join-index': 'I',
  'hash-index': 'N',
  trigger: 'G',
};
const EXISTS_CODE: Record<string, number> = { table: 3803, view: 3804, macro: 3805 };

export interface FakeSessionOptions {
  tmode?: 'TERA' | 'ANSI';
  objects?: Record<string, FakeObject>;
  databases?: string[];
  /** Views, macros and join indexes must read relations that exist (3807 otherwise). Default false. */
  strictReferences?: boolean;
  /** The server clock (`CURRENT_TIMESTAMP`). Default: the real time. */
  clock?: () => Date;
  /** The logged-on user (`USER`). Default `DBEE`. */
  user?: string;
  /** The session's default database. */
  defaultDatabase?: string;
}

export class FakeTeradataSession implements TeradataSession {
  readonly tmode: 'TERA' | 'ANSI';
  /** This session's number in the shared log. */
  readonly number: number;
  readonly user: string;
  /** Default database of unqualified names (`DATABASE x`). */
  defaultDatabase: string | null;
  autocommit = true;
  inTransaction = false;
  closed = false;
  private ddlInTransaction = false;
  private snapshot: Map<string, FakeObject> | null = null;
  private readonly system: FakeSystem;

  constructor(options: FakeSessionOptions = {}, shareWith?: FakeTeradataSession) {
    this.tmode = options.tmode ?? shareWith?.tmode ?? 'TERA';
    this.user = options.user ?? shareWith?.user ?? 'DBEE';
    this.defaultDatabase = options.defaultDatabase?.toUpperCase() ?? null;
    this.system = shareWith?.system ?? {
      log: [],
      catalog: new Map(),
      databases: new Set(),
      handlers: [],
      sessions: 0,
      strictReferences: options.strictReferences ?? false,
      clock: options.clock ?? (() => new Date()),
      shapes: new Map(),
    };
    this.number = ++this.system.sessions;
    for (const [k, v] of Object.entries(options.objects ?? {})) this.catalog.set(k.toUpperCase(), { ...v, show: v.show.trim() });
    for (const d of options.databases ?? []) this.databases.add(d.toUpperCase());
  }

  /** Another session on the same fake system (shared catalog, rows, replies and log). */
  newSession(options: { defaultDatabase?: string } = {}): FakeTeradataSession {
    return new FakeTeradataSession({ defaultDatabase: options.defaultDatabase }, this);
  }

  /** Every request of every session of this system, in order (commit/rollback/auto-commit switches as `{fn ...}` escapes). */
  get log(): FakeLogEntry[] {
    return this.system.log;
  }

  /** Objects by `DB.NAME` (upper case). */
  get catalog(): Map<string, FakeObject> {
    return this.system.catalog;
  }

  set catalog(value: Map<string, FakeObject>) {
    this.system.catalog = value;
  }

  /** Databases that exist; empty means "any". */
  get databases(): Set<string> {
    return this.system.databases;
  }

  /** The rows of a table (upper-case column names), or undefined when it does not exist. */
  rows(name: string): Record<string, unknown>[] | undefined {
    const o = this.catalog.get(name.toUpperCase());
    return o && TABLE_CODES.has(o.tableKind) ? (o.rows ??= []) : undefined;
  }

  /** Answer requests matching `match` (substring, regex or predicate) with `reply`, `times` times (default always). */
  on(match: FakeMatcher, reply: FakeResponder, options: { times?: number } = {}): this {
    this.system.handlers.push({ match, reply, times: options.times ?? Infinity });
    return this;
  }

  /** The statements run so far, without escapes and catalog lookups. */
  statements(): string[] {
    return this.log.map((l) => l.sql).filter((s) => !s.startsWith('{fn') && !/\bDBC\./i.test(s) && !/^SHOW\b/i.test(s));
  }

  async run(sql: string, params: unknown[] = []): Promise<TeradataResult> {
    if (this.closed) throw new FakeOperationalError(teradataErrorMessage({ source: 'driver', text: 'Connection is closed' }));
    this.log.push({ sql, params, session: this.number });
    if (!this.autocommit) {
      if (!this.inTransaction) {
        this.inTransaction = true; // the driver sends BT (TERA mode) before the first request
        this.snapshot = copyCatalog(this.catalog);
      } else if (this.ddlInTransaction) {
        this.abort();
        throw this.error(
          this.tmode === 'TERA'
            ? { code: 3932, text: 'Only an ET or null statement is legal after a DDL Statement.' }
            : { code: 3722, text: 'Only a COMMIT WORK or null statement is legal after a DDL Statement.' },
        );
      }
    }
    try {
      const result = this.answer(sql, params);
      const head = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
      if (!this.autocommit && DDL_HEADS.has(head)) this.ddlInTransaction = true;
      return result;
    } catch (error) {
      // A failed request aborts the transaction in Teradata mode.
      if (this.inTransaction && this.tmode === 'TERA') this.abort();
      throw error;
    }
  }

  async setAutocommit(on: boolean): Promise<void> {
    this.log.push({ sql: on ? '{fn teradata_autocommit_on}' : '{fn teradata_autocommit_off}', params: [], session: this.number });
    this.autocommit = on;
  }
  async commit(): Promise<void> {
    this.log.push({ sql: '{fn teradata_commit}', params: [], session: this.number });
    this.inTransaction = false;
    this.ddlInTransaction = false;
    this.snapshot = null;
  }
  async rollback(): Promise<void> {
    this.log.push({ sql: '{fn teradata_rollback}', params: [], session: this.number });
    this.abort();
  }
  async close(): Promise<void> {
    this.closed = true;
  }

  private abort(): void {
    if (this.snapshot) this.catalog = this.snapshot;
    this.snapshot = null;
    this.inTransaction = false;
    this.ddlInTransaction = false;
  }

  private error(e: FakeError): FakeOperationalError {
    return new FakeOperationalError(teradataErrorMessage(e));
  }

  private reply(r: FakeReply): TeradataResult {
    if (r.error) throw this.error(r.error);
    const sets = r.resultSets ?? (r.rows ? [rowsToSet(r.rows)] : []);
    return { resultSets: sets, rowCount: r.rowCount ?? sets.reduce((n, s) => n + s.rows.length, 0) };
  }

  private answer(sql: string, params: unknown[]): TeradataResult {
    for (const h of this.system.handlers) {
      if (h.times <= 0) continue;
      const m = h.match;
      const hit = typeof m === 'string' ? sql.includes(m) : m instanceof RegExp ? m.test(sql) : m(sql, params);
      if (!hit) continue;
      const r = typeof h.reply === 'function' ? h.reply(sql, params) : h.reply;
      if (r === undefined) continue;
      h.times--;
      return this.reply(r);
    }
    return this.catalogAnswer(sql, params);
  }

  private catalogAnswer(sql: string, params: unknown[]): TeradataResult {
    const upper = (v: unknown): string => String(v).toUpperCase();
    if (/FROM DBC\.TablesV WHERE DatabaseName = \? AND TableName = \?/i.test(sql)) {
      const o = this.catalog.get(`${upper(params[0])}.${upper(params[1])}`);
      return this.reply({ rows: o ? [{ table_kind: o.tableKind }] : [] });
    }
    if (/FROM DBC\.ColumnsV WHERE DatabaseName = \? AND TableName = \?/i.test(sql)) {
      const o = this.catalog.get(`${upper(params[0])}.${upper(params[1])}`);
      const cols = o ? (o.columns ?? tableColumns(o.show) ?? []) : [];
      return this.reply({ rows: cols.map((c) => ({ column_name: c })) });
    }
    if (/FROM DBC\.DatabasesV WHERE DatabaseName = \?/i.test(sql)) {
      return this.reply({ rows: this.databases.has(upper(params[0])) ? [{ db_kind: 'D' }] : [] });
    }
    const show = /^\s*SHOW\s+(?:TABLE|VIEW|MACRO|PROCEDURE|FUNCTION|JOIN\s+INDEX|HASH\s+INDEX|TRIGGER)\s+(.+?)\s*;?\s*$/is.exec(sql);
    if (show) {
      const name = show[1]!.replace(/"/g, '').toUpperCase();
      const o = this.catalog.get(name);
      if (!o) throw this.error({ code: 3807, text: `Object '${name}' does not exist.` });
      // SHOW text arrives with \r line ends, split over rows.
      const text = o.show.replace(/\n/g, '\r');
      const rows: unknown[][] = [];
      for (let i = 0; i < text.length; i += 64) rows.push([text.slice(i, i + 64)]);
      return { resultSets: [{ columns: ['Request Text'], rows }], rowCount: rows.length };
    }
    const dml = this.runDml(sql, params);
    if (dml) return dml;
    this.applyDdl(sql);
    return { resultSets: [], rowCount: 0 };
  }

  /** SELECT, INSERT, UPDATE and DELETE against the fake's rows; null for any other request. */
  private runDml(sql: string, params: unknown[]): TeradataResult | null {
    const system = this.system;
    const session = this;
    let result;
    try {
      result = runSql(sql, params, {
        table: (database, name) => {
          const o = system.catalog.get(`${database}.${name}`);
          if (!o || !TABLE_CODES.has(o.tableKind)) return null;
          const shape = this.shapeOf(o);
          return shape ? { shape, rows: (o.rows ??= []) } : null;
        },
        dbcView: (name) => this.dbcView(name),
        get defaultDatabase() {
          return session.defaultDatabase;
        },
        user: this.user,
        now: system.clock,
        nextIdentity: (_db, _name, column, rows: Row[]) => rows.reduce((m, r) => Math.max(m, Number(r[column] ?? 0)), 0) + 1,
      });
    } catch (error) {
      if (error instanceof FakeSqlError) throw this.error({ code: error.code || undefined, text: error.text, source: error.code ? 'database' : 'driver' });
      throw error;
    }
    if (!result) return null;
    const sets = result.columns ? [{ columns: result.columns, rows: result.rows ?? [] }] : [];
    return { resultSets: sets, rowCount: result.rowCount };
  }

  /** Columns of a table: from its SHOW text (cached), or `columns` when given without a column list. */
  private shapeOf(o: FakeObject): FakeTableShape | null {
    if (!this.system.shapes.has(o.show)) this.system.shapes.set(o.show, tableShape(o.show));
    const shape = this.system.shapes.get(o.show) ?? null;
    if (shape || !o.columns) return shape;
    return { columns: o.columns.map((name) => ({ name: name.toUpperCase(), type: 'other', notNull: false, identity: false })), unique: null };
  }

  private dbcView(name: string): Row[] | null {
    const entries = [...this.catalog].map(([id, o]) => {
      const dot = id.indexOf('.');
      return { db: id.slice(0, dot), name: id.slice(dot + 1), o };
    });
    if (name === 'TABLESV') return entries.map((e) => ({ DATABASENAME: e.db, TABLENAME: e.name, TABLEKIND: e.o.tableKind }));
    if (name === 'COLUMNSV') {
      return entries.flatMap((e) =>
        (e.o.columns ?? tableColumns(e.o.show) ?? []).map((c, i) => ({ DATABASENAME: e.db, TABLENAME: e.name, COLUMNNAME: c.toUpperCase(), COLUMNID: 1025 + i })),
      );
    }
    if (name === 'DATABASESV') return [...this.databases].map((d) => ({ DATABASENAME: d, DBKIND: 'D' }));
    return null;
  }

  private applyDdl(sql: string): void {
    const head = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
    const database = /^\s*DATABASE\s+("?)([^\s";]+)\1\s*;?\s*$/i.exec(sql);
    if (database) {
      const name = database[2]!.toUpperCase();
      if (this.databases.size && !this.databases.has(name)) throw this.error({ code: 3802, text: `Database '${name}' does not exist.` });
      this.defaultDatabase = name;
      return;
    }
    if (!head || !DDL_HEADS.has(head)) return;
    const parsed = parseTeradata(sql, '<fake>', { searchPath: this.defaultDatabase ? [this.defaultDatabase] : [] })[0];
    const key = parsed?.key;
    if (!parsed || !key || !key.schema) return;
    const id = `${key.schema}.${key.name}`;
    const exists = this.catalog.get(id);
    if (this.databases.size && !this.databases.has(key.schema) && parsed.action !== 'drop') {
      throw this.error({ code: 3802, text: `Database '${key.schema}' does not exist.` });
    }
    const code = KIND_CODE[key.kind];
    if (this.system.strictReferences && (parsed.action === 'create' || parsed.action === 'create-or-replace') && ['view', 'macro', 'join-index', 'hash-index'].includes(key.kind)) {
      for (const ref of parsed.references) {
        if (ref.kind !== 'relation') continue;
        const refId = `${ref.schema ?? this.defaultDatabase ?? ''}.${ref.name}`.toUpperCase();
        if (!this.catalog.has(refId)) throw this.error({ code: 3807, text: `Object '${refId}' does not exist.` });
      }
    }
    switch (parsed.action) {
      case 'create':
        if (exists) throw this.error({ code: EXISTS_CODE[key.kind] ?? 5612, text: `${key.kind === 'table' ? 'Table' : 'Object'} '${id}' already exists.` });
        if (code) this.catalog.set(id, { tableKind: code, show: sql.trim(), ...(code === 'T' ? { rows: [] } : {}) });
        return;
      case 'create-or-replace':
        if (exists && exists.tableKind !== code) throw this.error({ code: 5573, text: `'${id}' is not a ${key.kind}.` });
        if (code) this.catalog.set(id, { tableKind: code, show: sql.trim() });
        return;
      case 'drop':
        if (!exists) throw this.error({ code: 3807, text: `Object '${id}' does not exist.` });
        this.catalog.delete(id);
        return;
      case 'alter': {
        const added = alterAddColumns(sql);
        if (added) {
          if (!exists) throw this.error({ code: 3807, text: `Object '${id}' does not exist.` });
          const have = this.shapeOf(exists)?.columns.map((c) => c.name) ?? [];
          const twice = added.map((d) => (tableShape(`CREATE TABLE x (${d})`)?.columns[0]?.name ?? '')).find((n) => have.includes(n));
          if (twice) throw this.error({ code: 3933, text: `The column ${twice} already exists in ${id}.` });
          this.catalog.set(id, { ...exists, show: addColumnsToShow(exists.show, added) });
          return;
        }
        const rename = /^\s*RENAME\s+\w+\s+(\S+)\s+(?:TO|AS)\s+(\S+?)\s*;?\s*$/i.exec(sql);
        if (!rename) return;
        if (!exists) throw this.error({ code: 3807, text: `Object '${id}' does not exist.` });
        const target = rename[2]!.replace(/"/g, '').toUpperCase();
        const targetId = target.includes('.') ? target : `${key.schema}.${target}`;
        if (this.catalog.has(targetId)) throw this.error({ code: 3803, text: `Table '${targetId}' already exists.` });
        this.catalog.delete(id);
        // SHOW regenerates DDL with the current name.
        this.catalog.set(targetId, { ...exists, show: exists.show.replace(new RegExp(`${key.schema}\\.${key.name}\\b`, 'i'), targetId) });
        return;
      }
      default:
        return;
    }
  }
}

/** TableKind codes of objects that hold rows. */
const TABLE_CODES = new Set(['T', 'O', 'Q']);

/** A copy of the catalog whose rows can change without touching the original (transaction snapshots). */
function copyCatalog(catalog: Map<string, FakeObject>): Map<string, FakeObject> {
  return new Map([...catalog].map(([k, v]) => [k, v.rows ? { ...v, rows: v.rows.map((r) => ({ ...r })) } : v]));
}

function rowsToSet(rows: Record<string, unknown>[]): TeradataResultSet {
  const columns = rows.length ? Object.keys(rows[0]!) : [];
  return { columns, rows: rows.map((r) => columns.map((c) => r[c])) };
}

/**
 * A driver whose logons return `session` (or, with `sessionPerConnect`, a new session on the same fake system each
 * time); `connectError` makes logon fail with that driver message. `sessions` lists what each logon returned.
 */
export function fakeDriver(
  session: FakeTeradataSession = new FakeTeradataSession(),
  options: { connectError?: FakeError; sessionPerConnect?: boolean } = {},
): TeradataDriver & { lastParams?: Record<string, string>; sessions: FakeTeradataSession[] } {
  const driver: TeradataDriver & { lastParams?: Record<string, string>; sessions: FakeTeradataSession[] } = {
    name: 'fake',
    sessions: [],
    version: '0.0.0',
    acceptedParameters: new Set(['host', 'user', 'password', 'database', 'dbs_port', 'logmech', 'tmode', 'column_name', 'cop', 'sslmode', 'logon_timeout', 'connect_timeout', 'request_timeout', 'logdata']),
    async connect(params) {
      driver.lastParams = params;
      if (options.connectError) throw new FakeOperationalError(teradataErrorMessage(options.connectError, 0));
      // One session per logon, as a real system gives (the lock's session and the deployment's are different).
      const s = options.sessionPerConnect ? session.newSession({ defaultDatabase: params.database }) : session;
      driver.sessions.push(s);
      return s;
    },
  };
  return driver;
}

/** A `TeradataConnection` over a fake session. */
export function createFakeConnection(session: FakeTeradataSession = new FakeTeradataSession()): TeradataConnection {
  return new TeradataConnection(session, 'teradata://fake@localhost:1025 (fake)', {});
}
