import { type DatabaseErrorCode, DbeeError, ExitCode } from '@dbee/core/errors';

/** SQLSTATE classes that mean "the statement is wrong for this database", mapped to stable dbee codes. */
const BY_SQLSTATE: Record<string, { code: DatabaseErrorCode; what: string }> = {
  '42P07': { code: 'OBJECT_EXISTS', what: 'object already exists' },
  '42710': { code: 'OBJECT_EXISTS', what: 'object already exists' },
  '42723': { code: 'OBJECT_EXISTS', what: 'function already exists' },
  '42P06': { code: 'OBJECT_EXISTS', what: 'schema already exists' },
  '42P01': { code: 'OBJECT_MISSING', what: 'relation does not exist' },
  '42883': { code: 'OBJECT_MISSING', what: 'function does not exist' },
  '3F000': { code: 'OBJECT_MISSING', what: 'schema does not exist' },
  '42704': { code: 'OBJECT_MISSING', what: 'object does not exist' },
  '42703': { code: 'OBJECT_MISSING', what: 'column does not exist' },
  '42501': { code: 'PERMISSION_DENIED', what: 'permission denied' },
  '55P03': { code: 'LOCK_TIMEOUT', what: 'lock_timeout reached while waiting for a lock' },
  '57014': { code: 'STATEMENT_TIMEOUT', what: 'statement cancelled (statement_timeout)' },
  '40P01': { code: 'DEADLOCK', what: 'deadlock detected' },
  '25001': { code: 'NOT_IN_TRANSACTION', what: 'statement cannot run inside a transaction block' },
  '2BP01': { code: 'DEPENDENT_OBJECTS', what: 'other objects depend on it' },
  '42601': { code: 'SQL_SYNTAX', what: 'syntax error' },
};

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  '28P01',
  '28000',
  '3D000',
]);

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  position?: string | number;
}

/** node-postgres's error when `connectionTimeoutMillis` passes before the session is open. */
export function isConnectTimeout(e: unknown): boolean {
  const message = (e as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /timeout expired|connection timeout/i.test(message);
}

/**
 * A connection that could not be opened, as a user error (exit 1) without the driver's stack: the reason (secrets
 * removed: a URL in the driver's message is redacted) and a hint. `withSession` adds the environment and the
 * variables its settings come from.
 */
export function connectionError(
  error: unknown,
  target: string,
  tried: { attempts: number; timeoutMs: number } = { attempts: 1, timeoutMs: 0 },
): DbeeError {
  if (error instanceof DbeeError) return error;
  const e = (error ?? {}) as PgLikeError;
  const raw = typeof e.message === 'string' && e.message ? e.message : String(error);
  const reason = raw.replace(/postgres(ql)?:\/\/\S*/g, '(url)');
  const attempts = tried.attempts > 1 ? ` (${tried.attempts} attempts)` : '';
  if (isConnectTimeout(error)) {
    const seconds = `${tried.timeoutMs / 1000} s`;
    return new DbeeError(`cannot connect to ${target}: no answer within ${seconds}${attempts}; nothing was done`, {
      code: 'CONNECTION_TIMEOUT',
      hint: `the server did not answer in time: check that it is reachable from here; on a slow network or a busy server raise the environment's connectTimeout (now ${seconds}) or connectRetries in dbee.yaml`,
      details: { timeoutMs: tried.timeoutMs, attempts: tried.attempts },
    });
  }
  return new DbeeError(`cannot connect to ${target}: ${reason}${attempts}`, {
    code: 'CONNECTION_FAILED',
    hint: 'check that the server is running and the connection settings in dbee.yaml (and the environment variables they use)',
    details: { sqlstate: e.code },
  });
}

/** Map an error from `pg` or PGlite to a `DbeeError` that says what failed and on which statement. */
export function mapPostgresError(
  error: unknown,
  context: { statement?: string; target?: string; blockers?: string[] },
): Error {
  if (error instanceof DbeeError) return error;
  const e = (error ?? {}) as PgLikeError;
  if (typeof e !== 'object' || typeof e.message !== 'string') return error as Error;
  if (e.code && CONNECTION_CODES.has(e.code)) {
    return new DbeeError(`cannot connect to ${context.target ?? 'the database'}: ${e.message}`, {
      code: 'CONNECTION_FAILED',
      hint: 'check that the server is running and the connection settings in dbee.yaml (and the environment variables they use)',
      details: { sqlstate: e.code },
      cause: error,
    });
  }
  const known = e.code ? BY_SQLSTATE[e.code] : undefined;
  const parts = [e.message];
  if (e.detail) parts.push(`detail: ${e.detail}`);
  if (context.blockers?.length) parts.push(`waiting for a lock on ${context.blockers.join('; ')}`);
  const where = context.statement ? `\n  statement: ${abbreviate(context.statement)}` : '';
  const lockTimeout = e.code === '55P03';
  return new DbeeError(parts.join('\n  ') + where, {
    code: known?.code ?? 'STATEMENT_FAILED',
    hint:
      e.hint ??
      (lockTimeout
        ? 'another session holds a lock on a table this needs (deploy.lockTimeout gave up waiting): let it finish, or end it, and run again'
        : undefined),
    // A lock timeout before any step (planning, reading the catalog) refuses the deployment: nothing was applied.
    // While applying, the runner makes every failure exit 2.
    exitCode: lockTimeout ? ExitCode.invalid : ExitCode.applyFailed,
    details: { sqlstate: e.code, position: e.position === undefined ? undefined : Number(e.position) },
    cause: error,
  });
}

function abbreviate(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? one.slice(0, 197) + '...' : one;
}
