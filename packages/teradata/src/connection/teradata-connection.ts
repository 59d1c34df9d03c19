import { DbeeError, type Connection, type QueryResult, type ResolvedEnvironment } from '@dbee/core';
import type { TeradataDriver, TeradataDriverName, TeradataResult, TeradataSession } from '../driver/driver';
import { DRIVER_INSTALL, isDriverName, loadDriver } from '../driver/load-driver';
import { mapTeradataError, type ErrorContext } from './teradata-errors';
import { sendable } from '../catalog/authorization';

/**
 * Keys of `connection:` that dbee reads itself and never passes to the driver.
 * - `driver`: `teradatasql` (default) or `teradata-nodejs-driver`.
 * - `ledgerDatabase`: database holding the ledger and lock tables (default `DBEE_LEDGER`).
 * - `lockTtlMinutes`: how long a lock row lives without a heartbeat (default 10).
 * - `rollbackCheckMaxBytes`: the largest table (with its backup) whose rows a rollback compares (default 10 GB).
 * - `port`: alias of `dbs_port`.
 */
export const DBEE_CONNECTION_KEYS: ReadonlySet<string> = new Set([
  'driver',
  'ledgerDatabase',
  'lockTtlMinutes',
  'rollbackCheckMaxBytes',
  'port',
]);

/** Default of `connection.rollbackCheckMaxBytes`: 10 GB of a table and its backup together. */
export const ROLLBACK_CHECK_MAX_BYTES = 10_000_000_000;

/**
 * `connection.rollbackCheckMaxBytes` (#73 item 5): the bound of the rollback's check for rows written since a
 * deployment, in bytes of `DBC.TableSizeV` CurrentPerm (a table and its backup together). A larger pair is refused
 * up front, not compared. A value that is not a positive whole number is refused (exit 1).
 */
export function rollbackCheckMaxBytesOf(environment: Pick<ResolvedEnvironment, 'name' | 'connection'>): number {
  const v = environment.connection.rollbackCheckMaxBytes;
  if (v === undefined) return ROLLBACK_CHECK_MAX_BYTES;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new DbeeError(
      `environments.${environment.name}.connection.rollbackCheckMaxBytes: "${String(v)}" is not a positive whole number of bytes`,
      { code: 'CONFIG_INVALID', hint: 'write the bound in bytes, e.g. rollbackCheckMaxBytes: 50000000000 (50 GB)' },
    );
  return n;
}

/** Keys whose values are secrets: never printed, and scrubbed from driver messages. */
const SECRET_KEYS = ['password', 'logdata', 'oidc_token', 'http_proxy_password', 'https_proxy_password'];

/** Where the connection goes, without secrets. */
export interface TeradataTarget {
  driver: TeradataDriverName;
  host: string;
  port: string;
  user?: string;
  database?: string;
  /** `teradata://user@host:port/database (driver)`. */
  description: string;
}

/** The driver chosen by `connection.driver` (default `teradatasql`). */
export function driverNameOf(environment: ResolvedEnvironment): TeradataDriverName {
  const d = environment.connection.driver;
  if (d === undefined) return 'teradatasql';
  const name = String(d);
  if (!isDriverName(name)) {
    throw new DbeeError(`environments.${environment.name}.connection.driver: unknown Teradata driver "${name}"`, {
      code: 'CONFIG_INVALID',
      location: environment.declaredAt,
      hint: `use teradatasql (default; \`${DRIVER_INSTALL.teradatasql.command}\`) or teradata-nodejs-driver (deprecated)`,
    });
  }
  return name;
}

export function describeTarget(environment: ResolvedEnvironment): TeradataTarget {
  const c = environment.connection;
  const driver = driverNameOf(environment);
  const host = c.host === undefined ? '' : String(c.host);
  const port = String(c.dbs_port ?? c.port ?? '1025');
  const user = c.user === undefined ? undefined : String(c.user);
  const database = c.database === undefined ? undefined : String(c.database);
  return {
    driver,
    host,
    port,
    user,
    database,
    description: `teradata://${user ? user + '@' : ''}${host}:${port}${database ? '/' + database : ''} (${driver})`,
  };
}

/** The secret values of a connection, to scrub from messages. */
export function secretsOf(connection: Record<string, string | number | boolean>): string[] {
  return SECRET_KEYS.map((k) => connection[k]).filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/**
 * Turn `connection:` from dbee.yaml into driver parameters: every value a STRING (numbers as digits, booleans as
 * `"true"`/`"false"`), `port` renamed `dbs_port`, dbee's own keys removed, `column_name: "true"` by default (dbee
 * reads result columns by name, not title). Unknown keys are refused here with their names, because the drivers
 * refuse them with only "Unable to parse JSON connection parameters".
 */
export function toDriverParameters(
  environment: ResolvedEnvironment,
  accepted: ReadonlySet<string>,
  driver: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(environment.connection)) {
    if (key === 'port') {
      out.dbs_port = String(value);
      continue;
    }
    if (DBEE_CONNECTION_KEYS.has(key)) continue;
    if (!accepted.has(key)) {
      unknown.push(key);
      continue;
    }
    out[key] = typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value);
  }
  if (unknown.length) {
    throw new DbeeError(
      `environments.${environment.name}.connection: ${driver} does not accept ${unknown.length > 1 ? 'the keys' : 'the key'} ${unknown.join(', ')}`,
      {
        code: 'CONFIG_INVALID',
        location: environment.declaredAt,
        hint: `use the driver's parameter names (host, user, password, logmech, tmode, database, dbs_port, ...) or dbee's own (${[...DBEE_CONNECTION_KEYS].join(', ')})`,
        details: { unknown },
      },
    );
  }
  if (out.log !== undefined && out.log !== '0') {
    // The driver's trace logging prints the connection parameters, password included (teradatasql's connect()).
    throw new DbeeError(`environments.${environment.name}.connection.log: driver logging is refused`, {
      code: 'CONFIG_INVALID',
      location: environment.declaredAt,
      hint: 'the Teradata driver\'s trace log writes the connection parameters, password included, to stdout; remove "log"',
    });
  }
  if (!out.host) {
    throw new DbeeError(`environments.${environment.name}.connection: "host" is required for Teradata`, {
      code: 'CONFIG_INVALID',
      location: environment.declaredAt,
    });
  }
  if (accepted.has('column_name') && out.column_name === undefined) out.column_name = 'true';
  return out;
}

/** Convert a value read from the driver: BIGINT arrives as `bigint` (teradatasql) and becomes a number when safe. */
function normalizeValue(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return v;
}

/**
 * A `Connection` over a driver session. Every request is one driver call; errors are mapped to `DbeeError`
 * (see `mapTeradataError`) with the statement attached and secrets scrubbed. Outside `transaction`, auto-commit is
 * on, so each request is its own transaction: that is how dbee runs DDL on Teradata.
 */
export class TeradataConnection implements Connection {
  private inTransaction = false;
  // The drivers allow one request at a time per session (teradatasql refuses overlapping async calls), so
  // concurrent callers are queued.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly session: TeradataSession,
    readonly description: string,
    private readonly errorContext: Pick<ErrorContext, 'secrets' | 'target'> = {},
    /**
     * The session's transaction mode (the `tmode` it logged on with; `DEFAULT` taken as TERA, the system default
     * (verify per site: DBS Control can make ANSI the default)): it decides the defaults SHOW TABLE writes out
     * (CASESPECIFIC, SET/MULTISET), so definitions are compared with it (`sessionMode`).
     */
    readonly tmode: 'TERA' | 'ANSI' = 'TERA',
    /** The environment's `rollbackCheckMaxBytes` (see `rollbackCheckMaxBytesOf`), for `dbee rollback`'s data check. */
    readonly rollbackCheckMaxBytes: number = ROLLBACK_CHECK_MAX_BYTES,
  ) {}

  /** Run one request and return every result set (SHOW output spans several). */
  async run(sql: string, params?: unknown[]): Promise<TeradataResult> {
    // An authorization's `PASSWORD '${VAR}'` gets the variable's value here, in the request only: the statement in the
    // plan, the ledger and any message keeps the placeholder, and the value is scrubbed from the error (authorization.ts).
    const sent = sendable(sql);
    const context = { ...this.errorContext, secrets: [...(this.errorContext.secrets ?? []), ...sent.secrets] };
    let result: TeradataResult;
    try {
      result = await this.serial(() => this.session.run(sent.sql, params));
    } catch (error) {
      throw mapTeradataError(error, { ...context, statement: sql, phase: 'execute' });
    }
    // A procedure that did not compile is a *successful* response carrying warning 5526 (its SPL messages are the
    // rows): the request did not do what it says, so it fails like an error.
    const failed = result.warnings?.find((w) => w.code === 5526);
    if (failed) {
      const spl = result.resultSets.flatMap((s) => s.rows.map((r) => String(r[0] ?? ''))).filter(Boolean);
      const error = new Error(
        `[Teradata Database] [Error ${failed.code}] ${failed.text}${spl.length ? ' ' + spl.join('; ') : ''}`,
      );
      throw mapTeradataError(error, { ...context, statement: sql, phase: 'execute' });
    }
    return result;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Rows of every result set of the request, concatenated, as objects keyed by lower-case column name.
   * Parameters are `?`.
   */
  async query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<Row>> {
    const result = await this.run(sql, params);
    const rows: Row[] = [];
    for (const set of result.resultSets) {
      const names = set.columns.map((c) => c.toLowerCase());
      for (const r of set.rows) {
        const row: Record<string, unknown> = {};
        names.forEach((n, i) => (row[n] = normalizeValue(r[i])));
        rows.push(row as Row);
      }
    }
    return { rows, rowCount: result.rowCount };
  }

  async execute(sql: string): Promise<void> {
    await this.run(sql);
  }

  /**
   * Auto-commit off, run `fn`, commit; roll back when it throws. Nested calls join the open transaction. In TERA
   * mode the driver sends BT before the first request. A DDL statement may only be the last statement before the
   * commit (errors 3932/3722 otherwise).
   */
  async transaction<T>(fn: (tx: Connection) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    await this.control(() => this.serial(() => this.session.setAutocommit(false)), 'auto-commit off');
    this.inTransaction = true;
    try {
      const result = await fn(this);
      await this.control(() => this.serial(() => this.session.commit()), 'COMMIT');
      return result;
    } catch (error) {
      await this.serial(() => this.session.rollback()).catch(() => undefined);
      throw error;
    } finally {
      this.inTransaction = false;
      await this.serial(() => this.session.setAutocommit(true)).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.serial(() => this.session.close());
  }

  private async control(fn: () => Promise<void>, what: string): Promise<void> {
    try {
      await fn();
    } catch (error) {
      throw mapTeradataError(error, { ...this.errorContext, statement: what, phase: 'execute' });
    }
  }
}

export interface ConnectOptions {
  workspaceRoot?: string;
  /** Replace how drivers are loaded (tests). Default: `loadDriver`. */
  loadDriver?: (name: TeradataDriverName, options: { workspaceRoot?: string }) => TeradataDriver;
}

/** Open a `TeradataConnection` to a resolved environment with the driver it names. */
export async function connectTeradata(
  environment: ResolvedEnvironment,
  options: ConnectOptions = {},
): Promise<TeradataConnection> {
  const target = describeTarget(environment);
  const driver = (options.loadDriver ?? loadDriver)(target.driver, { workspaceRoot: options.workspaceRoot });
  const params = toDriverParameters(environment, driver.acceptedParameters, driver.name);
  const errorContext = {
    secrets: secretsOf(environment.connection),
    target: { host: target.host, port: params.dbs_port ?? '1025', user: target.user },
  };
  let session: TeradataSession;
  try {
    session = await driver.connect(params);
  } catch (error) {
    const mapped = mapTeradataError(error, { ...errorContext, phase: 'connect' });
    mapped.details.driver = driver.name;
    mapped.details.driverVersion = driver.version;
    throw mapped;
  }
  const tmode = String(params.tmode ?? '').toUpperCase() === 'ANSI' ? 'ANSI' : 'TERA';
  return new TeradataConnection(session, target.description, errorContext, tmode, rollbackCheckMaxBytesOf(environment));
}

/** The transaction mode of a connection's session (see `TeradataConnection.tmode`); TERA for any other connection. */
export function sessionMode(conn: Connection): 'TERA' | 'ANSI' {
  return conn instanceof TeradataConnection ? conn.tmode : 'TERA';
}
