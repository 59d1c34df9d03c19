import type { TeradataDriver, TeradataResult, TeradataResultSet, TeradataSession } from '../driver/driver';
import { TeradataConnection } from '../teradata-connection';
import { parseTeradata } from '../teradata-parser';
import { tableColumns } from '../teradata-renderer';

/**
 * A fake Teradata session for tests (no server exists here). It
 * - replays scripted replies (`on(match, reply)`), first match wins;
 * - keeps a small catalog of objects and answers the catalog lookups and SHOW requests dbee makes from it, applying
 *   CREATE / REPLACE / DROP / RENAME to it (classified with dbee's own parser), with Teradata's error codes;
 * - throws errors whose messages use the real driver format (`[Version 20.0.55] [Session 1234] [Teradata Database]
 *   [Error 3807] ...` followed by a Go stack line);
 * - enforces "a DDL statement must be the last statement of its transaction": with auto-commit off, any request after
 *   a DDL raises 3932 (TERA) or 3722 (ANSI) and aborts the transaction, undoing its catalog changes.
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

export class FakeTeradataSession implements TeradataSession {
  /** Every request, in order (commit/rollback/auto-commit switches appear as `{fn ...}` escapes). */
  readonly log: { sql: string; params: unknown[] }[] = [];
  /** Objects by `DB.NAME` (upper case). */
  catalog = new Map<string, FakeObject>();
  /** Databases that exist; empty means "any". */
  readonly databases = new Set<string>();
  readonly tmode: 'TERA' | 'ANSI';
  autocommit = true;
  inTransaction = false;
  closed = false;
  private ddlInTransaction = false;
  private snapshot: Map<string, FakeObject> | null = null;
  private readonly handlers: { match: FakeMatcher; reply: FakeResponder; times: number }[] = [];

  constructor(options: { tmode?: 'TERA' | 'ANSI'; objects?: Record<string, FakeObject>; databases?: string[] } = {}) {
    this.tmode = options.tmode ?? 'TERA';
    for (const [k, v] of Object.entries(options.objects ?? {})) this.catalog.set(k.toUpperCase(), { ...v, show: v.show.trim() });
    for (const d of options.databases ?? []) this.databases.add(d.toUpperCase());
  }

  /** Answer requests matching `match` (substring, regex or predicate) with `reply`, `times` times (default always). */
  on(match: FakeMatcher, reply: FakeResponder, options: { times?: number } = {}): this {
    this.handlers.push({ match, reply, times: options.times ?? Infinity });
    return this;
  }

  /** The statements run so far, without escapes and catalog lookups. */
  statements(): string[] {
    return this.log.map((l) => l.sql).filter((s) => !s.startsWith('{fn') && !/\bDBC\./i.test(s) && !/^SHOW\b/i.test(s));
  }

  async run(sql: string, params: unknown[] = []): Promise<TeradataResult> {
    if (this.closed) throw new FakeOperationalError(teradataErrorMessage({ source: 'driver', text: 'Connection is closed' }));
    this.log.push({ sql, params });
    if (!this.autocommit) {
      if (!this.inTransaction) {
        this.inTransaction = true; // the driver sends BT (TERA mode) before the first request
        this.snapshot = new Map(this.catalog);
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
    this.log.push({ sql: on ? '{fn teradata_autocommit_on}' : '{fn teradata_autocommit_off}', params: [] });
    this.autocommit = on;
  }
  async commit(): Promise<void> {
    this.log.push({ sql: '{fn teradata_commit}', params: [] });
    this.inTransaction = false;
    this.ddlInTransaction = false;
    this.snapshot = null;
  }
  async rollback(): Promise<void> {
    this.log.push({ sql: '{fn teradata_rollback}', params: [] });
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
    for (const h of this.handlers) {
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
    this.applyDdl(sql);
    return { resultSets: [], rowCount: 0 };
  }

  private applyDdl(sql: string): void {
    const head = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
    if (!head || !DDL_HEADS.has(head)) return;
    const parsed = parseTeradata(sql, '<fake>', { searchPath: [] })[0];
    const key = parsed?.key;
    if (!parsed || !key || !key.schema) return;
    const id = `${key.schema}.${key.name}`;
    const exists = this.catalog.get(id);
    if (this.databases.size && !this.databases.has(key.schema) && parsed.action !== 'drop') {
      throw this.error({ code: 3802, text: `Database '${key.schema}' does not exist.` });
    }
    const code = KIND_CODE[key.kind];
    switch (parsed.action) {
      case 'create':
        if (exists) throw this.error({ code: EXISTS_CODE[key.kind] ?? 5612, text: `${key.kind === 'table' ? 'Table' : 'Object'} '${id}' already exists.` });
        if (code) this.catalog.set(id, { tableKind: code, show: sql.trim() });
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

function rowsToSet(rows: Record<string, unknown>[]): TeradataResultSet {
  const columns = rows.length ? Object.keys(rows[0]!) : [];
  return { columns, rows: rows.map((r) => columns.map((c) => r[c])) };
}

/** A driver whose sessions are `session` (or new fakes); `connectError` makes logon fail with that driver message. */
export function fakeDriver(session: FakeTeradataSession = new FakeTeradataSession(), options: { connectError?: FakeError } = {}): TeradataDriver & { lastParams?: Record<string, string> } {
  const driver: TeradataDriver & { lastParams?: Record<string, string> } = {
    name: 'fake',
    version: '0.0.0',
    acceptedParameters: new Set(['host', 'user', 'password', 'database', 'dbs_port', 'logmech', 'tmode', 'column_name', 'cop', 'sslmode', 'logon_timeout', 'connect_timeout', 'request_timeout', 'logdata']),
    async connect(params) {
      driver.lastParams = params;
      if (options.connectError) throw new FakeOperationalError(teradataErrorMessage(options.connectError, 0));
      return session;
    },
  };
  return driver;
}

/** A `TeradataConnection` over a fake session. */
export function createFakeConnection(session: FakeTeradataSession = new FakeTeradataSession()): TeradataConnection {
  return new TeradataConnection(session, 'teradata://fake@localhost:1025 (fake)', {});
}
