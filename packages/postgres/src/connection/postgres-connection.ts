import { createHash } from 'node:crypto';
import './pg-load'; // first: loads pg without Node 20's fetch (pg-load.ts)
import pg, { Client, type ClientConfig } from 'pg';
import type { BatchResult, Connection, QueryResult, StatementDescription } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { connectionError, isConnectTimeout, mapPostgresError } from './postgres-errors';

/**
 * The oldest PostgreSQL server dbee deploys to: 14, the oldest release the PostgreSQL project still supported when
 * this was written, and the first with the catalogs and roles dbee reads and makes (`pg_database_owner`, among
 * others). Tested on 15 (server) and 17 (embedded PGlite).
 */
export const MIN_SERVER_MAJOR = 14;

/**
 * Refuse a server older than `MIN_SERVER_MAJOR`, by the `server_version` it reported when the session opened
 * (`13.16 (Debian 13.16-1)`, `9.6.24`, `18beta1`). A version that cannot be read (a proxy that reports none) is let
 * through: the first catalog query then says what is missing.
 */
export function checkServerVersion(version: string | undefined, target: string): void {
  const major = Number(/^(\d+)/.exec(version ?? '')?.[1] ?? NaN);
  if (!Number.isFinite(major) || major >= MIN_SERVER_MAJOR) return;
  throw new DbeeError(
    `${target} is PostgreSQL ${version!.split(' ')[0]}; dbee needs PostgreSQL ${MIN_SERVER_MAJOR} or later`,
    {
      code: 'SERVER_TOO_OLD',
      hint: `nothing was changed on it; upgrade the server (PostgreSQL ${major} no longer gets fixes) or point this environment at a newer one`,
    },
  );
}

/** How long one attempt to open a session may take when the environment does not say (`connectTimeout`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How many times a session that could not be opened is tried again when the environment does not say. */
export const DEFAULT_CONNECT_RETRIES = 2;

/** node-postgres's settings, with how many times `PgConnection.open` tries again (`connectRetries`). */
export type PgConnectConfig = ClientConfig & { connectRetries?: number };

/**
 * SQLSTATEs of a server that cannot take a session yet: starting up or shutting down, too many connections, short of
 * shared memory (a session's start takes a lock, and the lock table is shared: other sessions' transactions, this
 * command's too, may hold all of it for a moment).
 */
const NOT_YET = new Set(['57P03', '53300', '53200']);
/** A server short of shared memory is tried again at least this many times, whatever `connectRetries` says. */
const SHORT_OF_MEMORY_RETRIES = 5;
/** Network failures worth another attempt: no answer, refused or reset (a server restarting, a failover). */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN']);

/** Whether a failure to open a session may pass by itself (see `PgConnection.open`). */
function transientConnectFailure(e: unknown): boolean {
  if (e instanceof DbeeError || !e || typeof e !== 'object') return false;
  const { code } = e as { code?: string };
  if (code && (NOT_YET.has(code) || NETWORK.has(code))) return true;
  return isConnectTimeout(e);
}

/** The notice shape of the Connection contract (`Connection.onNotice`). */
export type DatabaseNotice = Parameters<Parameters<NonNullable<Connection['onNotice']>>[0]>[0];

/** A catalog query, prepared on the session when the connection can (`Connection.queryPrepared`). */
export function catalogQuery<Row = Record<string, unknown>>(
  conn: Connection,
  sql: string,
  params: unknown[],
): Promise<QueryResult<Row>> {
  return conn.queryPrepared ? conn.queryPrepared<Row>(sql, params) : conn.query<Row>(sql, params);
}

/**
 * Whether this node-postgres's `Query` has the methods `runWithLocalSettings` extends; otherwise `queryPrepared` takes
 * three round trips (`runWithSessionSettings`) instead of failing.
 */
const QUERY_EXTENSIBLE = ['prepare', '_getRows', 'handleDataRow', 'handleCommandComplete'].every(
  (m) => typeof (pg.Query.prototype as unknown as Record<string, unknown>)[m] === 'function',
);

/** A `pg` client with dbee's Connection shape. One session: statements run in order. */
export class PgConnection implements Connection {
  private readonly noticeListeners = new Set<(notice: DatabaseNotice) => void>();
  /** Why the session ended (terminated by the server, network lost, closed), or null while it is open. */
  closedReason: string | null = null;

  private constructor(
    private readonly client: Client,
    readonly description: string,
  ) {
    client.on('error', (e) => (this.closedReason ??= e.message));
    client.on('end', () => (this.closedReason ??= 'the connection was closed'));
    client.on('notice', (n) => {
      const notice = toNotice(n);
      for (const listener of this.noticeListeners) listener(notice);
    });
  }

  /**
   * Open a session, trying again with backoff (0.5 s, 1 s, 2 s, ... with jitter) while the server cannot be reached
   * or cannot take it yet (no answer within `connectionTimeoutMillis`, refused, reset, starting up, too many
   * connections, short of shared memory), `connectRetries` times (default 2; five at least when short of memory). A failure the settings cause (authentication, a database that
   * does not exist, a malformed URL) is not tried again. Only the connect is retried, never a statement.
   */
  static async open(config: PgConnectConfig, description: string): Promise<PgConnection> {
    const { connectRetries = DEFAULT_CONNECT_RETRIES, ...clientConfig } = config;
    const timeoutMs = clientConfig.connectionTimeoutMillis ?? DEFAULT_CONNECT_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await PgConnection.openOnce({ ...clientConfig, connectionTimeoutMillis: timeoutMs }, description);
      } catch (e) {
        const cause = (e as { cause?: unknown }).cause;
        const retries =
          (cause as { code?: string } | undefined)?.code === '53200'
            ? Math.max(connectRetries, SHORT_OF_MEMORY_RETRIES)
            : connectRetries;
        if (!transientConnectFailure(cause) || attempt >= retries) {
          throw connectionError(cause ?? e, description, { attempts: attempt + 1, timeoutMs });
        }
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt + Math.random() * 250));
      }
    }
  }

  /** One attempt of `open`; a failure comes out as an `Error` whose `cause` is the driver's. */
  private static async openOnce(config: ClientConfig, description: string): Promise<PgConnection> {
    let client: Client | null = null;
    try {
      if (
        config.port !== undefined &&
        !(Number.isInteger(Number(config.port)) && Number(config.port) > 0 && Number(config.port) < 65536)
      ) {
        throw new Error(`the port is not a number from 1 to 65535`);
      }
      // TCP keepalives: a session that waits (a lock session, a long step) is not cut by the network as idle.
      client = new Client({
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        ...config,
      });
      // A dropped server connection must surface as an error on the next query, not crash the process.
      client.on('error', () => {});
      // The server says its version as the session opens (ParameterStatus): read there, no round trip.
      let version: string | undefined;
      (client as unknown as { connection: NodeJS.EventEmitter }).connection.on(
        'parameterStatus',
        (m: { parameterName: string; parameterValue: string }) => {
          if (m.parameterName === 'server_version') version = m.parameterValue;
        },
      );
      await client.connect();
      checkServerVersion(version, description);
    } catch (e) {
      await client?.end().catch(() => {});
      // Whatever stops a connection from opening (a malformed URL, a refused port, SSL, authentication) is a
      // problem of the settings or the server, never of dbee: a user error (`open` says it).
      throw new Error('connect failed', { cause: e });
    }
    return new PgConnection(client, description);
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
    try {
      const r = await this.client.query(sql, params as unknown[] | undefined);
      return {
        rows: r.rows as Row[],
        rowCount: r.rowCount ?? undefined,
        fields: r.fields?.map((f) => ({ name: f.name, typeId: f.dataTypeID })),
      };
    } catch (e) {
      throw mapPostgresError(e, { statement: sql, target: this.description, blockers: await this.blockersOf(e) });
    }
  }

  /** `queryPrepared` in one round trip (this node-postgres's `Query` can be extended); tests set it to false. */
  static oneRoundTrip = QUERY_EXTENSIBLE;

  /** Names of the statements this session prepared, by their text. */
  private readonly prepared = new Map<string, string>();

  /**
   * A named prepared statement (parsed once per session), run with a generic plan: the catalog queries that use it
   * (fingerprint, existence checks) cost more to plan than to run on a project of a few objects, and a batch runs
   * them once per project on one session. `plan_cache_mode` and the given `settings` hold for the call only, so the
   * session's other statements (the user's functions among them) are not affected. One round trip
   * (`runWithLocalSettings`).
   */
  async queryPrepared<Row = Record<string, unknown>>(
    sql: string,
    params: unknown[],
    settings: Record<string, string> = {},
  ): Promise<QueryResult<Row>> {
    let name = this.prepared.get(sql);
    if (!name) {
      name = `dbee_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
      this.prepared.set(sql, name);
    }
    // No JIT: a catalog query's cost estimate passes `jit_above_cost` on a large schema (the smoke baseline's view
    // dependencies at 5,000 objects: 97 of its 169 ms were LLVM compiling it), and it runs once.
    const all = Object.entries({ plan_cache_mode: 'force_generic_plan', jit: 'off', ...settings });
    const run = () =>
      PgConnection.oneRoundTrip
        ? this.runWithLocalSettings(name, sql, params, all)
        : this.runWithSessionSettings(name, sql, params, all);
    try {
      const r = await run().catch((e: unknown) => {
        // Gone from the session (a `DEALLOCATE ALL` or `DISCARD ALL` among the statements it ran): prepare it again.
        if ((e as { code?: string }).code !== '26000') throw e;
        delete (this.client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection
          .parsedStatements[name!];
        return run();
      });
      return {
        rows: r.rows as Row[],
        rowCount: r.rowCount ?? undefined,
        fields: r.fields?.map((f) => ({ name: f.name, typeId: f.dataTypeID })),
      };
    } catch (e) {
      throw mapPostgresError(e, { statement: sql, target: this.description, blockers: await this.blockersOf(e) });
    }
  }

  /**
   * One exchange: Parse, Bind and Execute of `set_config(name, value, true)` for each setting, then the named
   * statement (node-postgres's own prepared query: Parse once, Bind, Describe, Execute), then one Sync. Outside a
   * transaction block the settings end with the implicit transaction at the Sync. Inside a block they would outlive the
   * call: the first statement keeps what they were (in `dbee.saved_<i>`, local too) and a last one, before the Sync,
   * puts that back; if the statement fails, the block is aborted and its rollback takes the settings back. Only the
   * named statement's rows and CommandComplete make the answer.
   */
  private runWithLocalSettings(name: string, sql: string, params: unknown[], settings: [string, string][]) {
    const inBlock =
      (this.client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus() !== 'I';
    return new Promise<pg.QueryResult>((done, fail) => {
      const query = new pg.Query({ name, text: sql, values: params }) as unknown as PreparedQuery;
      const { prepare, handleDataRow, handleCommandComplete } = query;
      const unnamed = (text: string, values: unknown[]) => (connection: WireConnection) => {
        connection.parse({ text, name: '', types: [] });
        connection.bind({ portal: '', statement: '', values });
        connection.execute({ portal: '', rows: 0 });
      };
      const set = unnamed(localSettingsSql(settings.length, inBlock), settings.flat());
      const restore = unnamed(
        restoreSettingsSql(settings.length),
        settings.map(([n]) => n),
      );
      // 0: the settings' statement, 1: the named statement, 2: the put-back.
      let phase = 0;
      query.prepare = function (connection) {
        set(connection);
        prepare.call(this, connection);
      };
      query._getRows = function (connection) {
        connection.execute({ portal: '', rows: 0 });
        if (inBlock) restore(connection);
        connection.sync();
      };
      query.handleDataRow = function (msg) {
        if (phase === 1) handleDataRow.call(this, msg);
      };
      query.handleCommandComplete = function (msg, connection) {
        if (phase++ === 1) handleCommandComplete.call(this, msg, connection);
      };
      query.on('end', done);
      query.on('error', fail);
      this.client.query(query as never);
    });
  }

  /**
   * Several queries in one round trip: each query's Parse, Bind, Describe and Execute (unnamed statements, node-postgres's
   * own `Query` writing them, so parameters and result types are handled as in `query`), one after the other, then one
   * Sync. The `settings` hold for these queries only, as in `queryPrepared` (local to the extended protocol's implicit
   * transaction, or kept and put back inside a transaction block). The server runs the queries in order; the first that
   * fails ends the request with its error (mapped as `query` maps it, naming that query), and none of the answers is
   * returned. Falls back to one query after the other, with the settings around them, where this node-postgres's `Query`
   * cannot be extended (`oneRoundTrip`).
   */
  async queryMany(
    queries: readonly { sql: string; params?: unknown[] }[],
    settings: Record<string, string> = {},
  ): Promise<QueryResult[]> {
    if (queries.length === 0) return [];
    const all = Object.entries(settings);
    let failedAt = 0;
    try {
      const results = PgConnection.oneRoundTrip
        ? await this.runManyAtOnce(queries, all, (i) => (failedAt = i))
        : await this.runManyOneByOne(queries, all, (i) => (failedAt = i));
      return results.map((r) => ({
        rows: r.rows,
        rowCount: r.rowCount ?? undefined,
        fields: r.fields?.map((f) => ({ name: f.name, typeId: f.dataTypeID })),
      }));
    } catch (e) {
      const statement = queries[Math.min(failedAt, queries.length - 1)]!.sql;
      throw mapPostgresError(e, { statement, target: this.description, blockers: await this.blockersOf(e) });
    }
  }

  /** `queryMany` in one exchange; `at(i)` is told which query the server is answering. */
  private runManyAtOnce(
    queries: readonly { sql: string; params?: unknown[] }[],
    settings: [string, string][],
    at: (i: number) => void,
  ): Promise<pg.QueryResult[]> {
    const client = this.client as unknown as { getTransactionStatus(): string | null; _types: unknown };
    const inBlock = settings.length > 0 && client.getTransactionStatus() !== 'I';
    const each = queries.map((q) => {
      const one = new pg.Query({
        text: q.sql,
        values: q.params ?? [],
        queryMode: 'extended',
      } as never) as unknown as PreparedQuery & {
        _result: pg.QueryResult & { _types?: unknown };
        handleRowDescription(msg: unknown): void;
      };
      one._result._types = client._types;
      // Execute only: the one Sync comes after the last query.
      one._getRows = (connection) => connection.execute({ portal: '', rows: 0 });
      return one;
    });
    const unnamed = (text: string, values: unknown[]) => (connection: WireConnection) => {
      connection.parse({ text, name: '', types: [] });
      connection.bind({ portal: '', statement: '', values });
      connection.execute({ portal: '', rows: 0 });
    };
    // The answers: the settings' statement (when there are settings), each query, the put-back (in a block).
    const first = settings.length ? 1 : 0;
    let phase = 0;
    const current = () => (phase >= first && phase < first + each.length ? each[phase - first]! : null);
    return new Promise((done, fail) => {
      let failed = false;
      const submittable = {
        // What the request sends, for whoever looks at it on its way (node-postgres reads `submit` only).
        text: queries.map((q) => q.sql).join(';\n'),
        submit(connection: WireConnection & { stream: { cork?(): void; uncork?(): void } }) {
          connection.stream.cork?.();
          try {
            if (settings.length) unnamed(localSettingsSql(settings.length, inBlock), settings.flat())(connection);
            for (const q of each) q.prepare(connection);
            if (inBlock)
              unnamed(
                restoreSettingsSql(settings.length),
                settings.map(([n]) => n),
              )(connection);
            connection.sync();
          } finally {
            connection.stream.uncork?.();
          }
        },
        handleRowDescription: (msg: unknown) => current()?.handleRowDescription(msg),
        handleDataRow: (msg: unknown) => current()?.handleDataRow(msg),
        handleCommandComplete: (msg: unknown, connection: WireConnection) => {
          current()?.handleCommandComplete(msg, connection);
          phase++;
          at(Math.max(0, phase - first));
        },
        handleEmptyQuery: () => {
          phase++;
          at(Math.max(0, phase - first));
        },
        handleError: (e: unknown) => {
          failed = true;
          // Settled here: node-postgres hands the ReadyForQuery that follows an error to no query (see `describe`).
          fail(e);
        },
        handleReadyForQuery: () => {
          if (failed) return;
          const broken = each.find((q) => (q as unknown as { _canceledDueToError: unknown })._canceledDueToError);
          if (broken) fail((broken as unknown as { _canceledDueToError: unknown })._canceledDueToError);
          else done(each.map((q) => q._result));
        },
        handlePortalSuspended() {},
        handleCopyInResponse() {},
        handleCopyData() {},
      };
      this.client.query(submittable as never);
    });
  }

  /** `queryMany` as one query after the other, the settings set for the session around them and put back. */
  private async runManyOneByOne(
    queries: readonly { sql: string; params?: unknown[] }[],
    settings: [string, string][],
    at: (i: number) => void,
  ): Promise<pg.QueryResult[]> {
    const local = (this.client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus() !== 'I';
    const set = settings.length
      ? await this.client.query<Record<string, string | null>>(
          `SELECT ${settings.map((_s, i) => `current_setting($${2 * i + 1}, true) AS o${i}, CASE WHEN current_setting($${2 * i + 1}, true) IS NOT NULL THEN set_config($${2 * i + 1}, $${2 * i + 2}, ${local}) END`).join(', ')}`,
          settings.flat(),
        )
      : null;
    const restore = settings
      .map(([n], i) => [n, set?.rows[0]?.[`o${i}`] ?? null] as const)
      .filter((r): r is readonly [string, string] => r[1] !== null);
    try {
      const out: pg.QueryResult[] = [];
      for (const [i, q] of queries.entries()) {
        at(i);
        out.push(await this.client.query(q.sql, q.params));
      }
      return out;
    } finally {
      if (restore.length)
        await this.client
          .query(
            `SELECT ${restore.map((_r, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, ${local})`).join(', ')}`,
            restore.flat(),
          )
          .catch(() => {});
    }
  }

  /**
   * Three round trips, for a node-postgres whose `Query` no longer has the methods `runWithLocalSettings` extends (its
   * internals are not a published interface; `pg` is a caret range in a user's workspace): the settings set for the
   * session with their old values read, the named statement, the old values put back, also after an error.
   */
  private async runWithSessionSettings(name: string, sql: string, params: unknown[], settings: [string, string][]) {
    // In a transaction block, local: the block's end takes them back as it does the caller's own SET LOCAL.
    const local = (this.client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus() !== 'I';
    const set = await this.client.query<Record<string, string | null>>(
      `SELECT ${settings.map((_s, i) => `current_setting($${2 * i + 1}, true) AS o${i}, CASE WHEN current_setting($${2 * i + 1}, true) IS NOT NULL THEN set_config($${2 * i + 1}, $${2 * i + 2}, ${local}) END`).join(', ')}`,
      settings.flat(),
    );
    const restore = settings
      .map(([n], i) => [n, set.rows[0]?.[`o${i}`] ?? null] as const)
      .filter((r): r is readonly [string, string] => r[1] !== null);
    try {
      return await this.client.query({ name, text: sql, values: params });
    } finally {
      if (restore.length)
        await this.client
          .query(
            `SELECT ${restore.map((_r, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, ${local})`).join(', ')}`,
            restore.flat(),
          )
          .catch(() => {});
    }
  }

  /**
   * Parse and Describe of the unnamed statement, then Sync: the server parses and analyses `sql` against the catalog
   * (a missing table, column or function, a type mismatch are errors here) and says what columns it returns, without
   * planning or running it. node-postgres runs any object with `submit` as a query on the session (as pg-cursor does).
   */
  describe(sql: string): Promise<StatementDescription> {
    return new Promise((done) => {
      let answer: StatementDescription = { ok: true, columns: [] };
      const submittable = {
        submit(connection: { parse(m: object): void; describe(m: object): void; sync(): void }) {
          connection.parse({ text: sql, name: '', types: [] });
          connection.describe({ type: 'S', name: '' });
          connection.sync();
        },
        handleRowDescription(msg: { fields: { name: string; dataTypeID: number; dataTypeModifier: number }[] }) {
          answer = {
            ok: true,
            columns: msg.fields.map((f) => ({ name: f.name, typeId: f.dataTypeID, typeModifier: f.dataTypeModifier })),
          };
        },
        handleError(e: { message: string; code?: string }) {
          answer = { ok: false, message: e.message.split('\n')[0]!, code: e.code };
          // Settled here: pg hands the ReadyForQuery that follows an error to no query (it forgets the active one on
          // an error), and a session that is gone never sends one. The next query waits for it in pg's queue.
          done(answer);
        },
        handleReadyForQuery() {
          done(answer);
        },
        handleDataRow() {},
        handleCommandComplete() {},
        handleEmptyQuery() {},
        handlePortalSuspended() {},
        handleCopyInResponse() {},
        handleCopyData() {},
      };
      this.client.query(submittable as never);
    });
  }

  async execute(sql: string): Promise<void> {
    try {
      // The simple query protocol accepts several statements in one round trip.
      await this.client.query(sql);
    } catch (e) {
      throw mapPostgresError(e, { statement: sql, target: this.description, blockers: await this.blockersOf(e) });
    }
  }

  /**
   * One multi-statement simple query (one round trip). The server answers each statement that completes with a
   * CommandComplete message before it reports an error, so counting them names the statement that failed.
   */
  async executeBatch(statements: readonly string[]): Promise<BatchResult> {
    // A statement of nothing but comments is no statement to the server (no CommandComplete): it is left out.
    const sent = statements.map((sql, i) => ({ sql, i })).filter((s) => !ONLY_COMMENTS.test(s.sql));
    if (!sent.length) return { completed: statements.length, error: null };
    let done = 0;
    const connection = (this.client as unknown as { connection: NodeJS.EventEmitter }).connection;
    const count = () => void done++;
    connection.on('commandComplete', count);
    try {
      // A newline before each separator: a statement may end in a line comment.
      await this.client.query(sent.map((s) => s.sql).join('\n;\n'));
      return { completed: statements.length, error: null };
    } catch (e) {
      const at = Math.min(done, sent.length - 1);
      const failed = sent[at]!;
      // The server's position counts from the start of the whole request: make it the failed statement's.
      const offset = sent.slice(0, at).reduce((n, s) => n + s.sql.length + 3, 0);
      const pg = e as { position?: string };
      if (pg && typeof pg.position === 'string' && Number(pg.position) > offset)
        pg.position = String(Number(pg.position) - offset);
      return {
        completed: failed.i,
        error: mapPostgresError(e, {
          statement: failed.sql,
          target: this.description,
          blockers: await this.blockersOf(e),
        }),
      };
    } finally {
      connection.off('commandComplete', count);
    }
  }

  /**
   * After a lock timeout: the tables other sessions of this database hold locks on, and who they are, so the error
   * can name them (the wait itself is over, so the strongest locks held by others are the likely cause).
   */
  private async blockersOf(e: unknown): Promise<string[] | undefined> {
    if ((e as { code?: string } | null)?.code !== '55P03') return undefined;
    try {
      const r = await this.client.query<{
        relation: string;
        mode: string;
        pid: number;
        usename: string;
        application_name: string;
        state: string;
        xact_start: Date | null;
      }>(
        `SELECT l.relation::regclass::text AS relation, l.mode, a.pid, a.usename, a.application_name, a.state, a.xact_start
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.relation NOT IN (SELECT oid FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace)
          ORDER BY l.mode = 'AccessExclusiveLock' DESC, a.xact_start NULLS LAST LIMIT 3`,
      );
      return r.rows.map(
        (b) =>
          `${b.relation}: ${b.mode} held by pid ${b.pid} (${b.usename}${b.application_name ? `, ${b.application_name}` : ''}, ${b.state}${b.xact_start ? `, transaction since ${new Date(b.xact_start).toISOString()}` : ''})`,
      );
    } catch {
      // Inside a failed transaction nothing more can be read; the error stands without the holders.
      return undefined;
    }
  }

  transaction<T>(fn: (tx: Connection) => Promise<T>): Promise<T> {
    return runInTransaction(this, fn);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }

  /** Whether the session is inside a transaction block (open or failed), as the server last said. */
  inTransaction(): boolean {
    const status = (this.client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus();
    return status === 'T' || status === 'E';
  }

  /**
   * Send `sql` (one statement, no parameters) and close the session without waiting for it: the server runs it to its
   * end, then reads the goodbye that follows it and ends the session. For work whose outcome nobody reads (dropping a
   * scratch database: its checkpoint takes seconds on a busy server). The session first turns off what could stop the
   * statement once the client is gone: its time bound, and the server's check for a closed client connection.
   */
  async leave(sql: string): Promise<void> {
    await this.client.query(
      `SET statement_timeout = 0; SELECT set_config('client_connection_check_interval', '0', false) WHERE current_setting('client_connection_check_interval', true) IS NOT NULL`,
    );
    this.client.query(sql).catch(() => {});
    // The Terminate message after the statement, then the end of the stream (pg's end() would cut a busy socket).
    (this.client as unknown as { connection: { end(): void } }).connection.end();
  }

  onNotice(listener: (notice: DatabaseNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }
}

const ONLY_COMMENTS = /^\s*(?:(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)\s*)*$/;

/** A notice from `pg` or PGlite as dbee's `DatabaseNotice`; class 01 SQLSTATEs are warnings whatever the language. */
export function toNotice(n: { severity?: string; code?: string; message?: string }): DatabaseNotice {
  const severity = (n.severity ?? 'NOTICE').toUpperCase();
  return {
    severity,
    warning: severity === 'WARNING' || (n.code ?? '').startsWith('01'),
    message: n.message ?? '',
    code: n.code,
  };
}

/** BEGIN / COMMIT around `fn`, ROLLBACK when it throws (the original error is kept). */
export async function runInTransaction<T>(conn: Connection, fn: (tx: Connection) => Promise<T>): Promise<T> {
  await conn.execute('BEGIN');
  try {
    const result = await fn(conn);
    await conn.execute('COMMIT');
    return result;
  } catch (e) {
    await conn.execute('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** `postgres://user@host:port/db` with the password removed, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString().replace(/\?.*$/, '');
  } catch {
    return 'postgres://(unparsable url)';
  }
}

/** The parts of node-postgres's `Query` that `runWithLocalSettings` extends (not in its published types). */
interface PreparedQuery extends NodeJS.EventEmitter {
  prepare(connection: WireConnection): void;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: WireConnection): void;
  _getRows(connection: WireConnection): void;
}

/** The messages of the extended protocol that node-postgres's connection sends. */
interface WireConnection {
  parse(m: { text: string; name: string; types: unknown[] }): void;
  bind(m: { portal: string; statement: string; values: unknown[] }): void;
  execute(m: { portal: string; rows: number }): void;
  sync(): void;
}

/**
 * `set_config(name, value, true)` of the `i`th (name, value) parameter pair; a setting the server does not know (an
 * older server's) is left alone, as `current_setting(name, true)` says.
 */
function localSetting(i: number): string {
  return `CASE WHEN current_setting($${2 * i + 1}, true) IS NOT NULL THEN set_config($${2 * i + 1}, $${2 * i + 2}, true) END`;
}

/**
 * `localSetting` for `count` parameter pairs, as one statement; `save`: each setting's value before it is also kept,
 * local to the transaction, in `dbee.saved_<i>` (for `restoreSettingsSql`).
 */
function localSettingsSql(count: number, save: boolean): string {
  const saved = (i: number) =>
    `CASE WHEN current_setting($${2 * i + 1}, true) IS NOT NULL THEN set_config('dbee.saved_${i}', current_setting($${2 * i + 1}), true) END, `;
  return `SELECT ${Array.from({ length: count }, (_, i) => (save ? saved(i) : '') + localSetting(i)).join(', ')}`;
}

/** Puts back the `count` settings named by the parameters ($1, $2, ...) as `localSettingsSql` kept them. */
function restoreSettingsSql(count: number): string {
  const one = (i: number) =>
    `CASE WHEN current_setting($${i + 1}, true) IS NOT NULL THEN set_config($${i + 1}, current_setting('dbee.saved_${i}'), true) END`;
  return `SELECT ${Array.from({ length: count }, (_, i) => one(i)).join(', ')}`;
}
