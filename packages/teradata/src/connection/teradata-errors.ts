import { type DatabaseErrorCode, DbeeError, ExitCode } from '@dbee/core';

/**
 * Driver errors carry no code property: the code is in the first line of the message, in one of the formats the
 * native library writes (both drivers share it):
 *
 *   [Version V] [Session S] [Teradata Database] [Error NNNN] text      a database error
 *   [Version V] [Session S] [Teradata SQL Driver] [Error NNN] text     a driver error with a code
 *   [Version V] [Session S] [Teradata SQL Driver] text                 a driver error without a code
 *
 * followed by a Go stack trace and `Caused by ...` lines. `connectAsync` prefixes a correlation id
 * (`[ERR-2-1795...]`); parameter errors ("Unable to parse JSON connection parameters") carry no tags at all.
 */

export interface TeradataMessage {
  /** Who raised it: the database, the driver, or neither tag was found. */
  source: 'database' | 'driver' | 'unknown';
  /** `[Error NNNN]`, or null. */
  code: number | null;
  /** The text after the tags on the first line. */
  text: string;
  /** The first line, without the correlation-id prefix. */
  firstLine: string;
  /** The innermost `Caused by ...` text (e.g. `dial tcp 127.0.0.1:1: connect: connection refused`), if any. */
  rootCause?: string;
  version?: string;
  session?: string;
}

const TAGGED =
  /^(?:\[Version ([^\]]*)\]\s*)?(?:\[Session ([^\]]*)\]\s*)?\[(Teradata Database|Teradata SQL Driver)\]\s*(?:\[Error (\d+)\]\s*)?(?:\[SQLState [^\]]*\]\s*)?(.*)$/;

/** Parse a driver error message (see the formats above). */
export function parseTeradataMessage(message: string): TeradataMessage {
  const lines = message.split(/\r?\n/);
  let first = lines[0]!.trim();
  // Prefixes added on the way up: "Error: ", "connectAsync error: ", "[ERR-2-123] ".
  for (;;) {
    const stripped = first.replace(
      /^(?:\w*Error:\s*|connectAsync error:\s*|closeAsync error:\s*|\[ERR-[\w-]+\]\s*)/,
      '',
    );
    if (stripped === first) break;
    first = stripped;
  }
  const causes = lines.filter((l) => l.startsWith('Caused by ')).map((l) => l.slice('Caused by '.length).trim());
  const rootCause = causes.length ? stripTags(causes[causes.length - 1]!) : undefined;
  const m = TAGGED.exec(first);
  if (m) {
    return {
      source: m[3] === 'Teradata Database' ? 'database' : 'driver',
      code: m[4] ? Number(m[4]) : null,
      text: m[5]!.trim(),
      firstLine: first,
      rootCause,
      version: m[1],
      session: m[2],
    };
  }
  const code = /\[Error (\d+)\]/.exec(first);
  return { source: 'unknown', code: code ? Number(code[1]) : null, text: first, firstLine: first, rootCause };
}

function stripTags(line: string): string {
  const m = TAGGED.exec(line);
  return m ? (m[4] ? `[Error ${m[4]}] ` : '') + m[5]!.trim() : line;
}

/** How dbee classifies a Teradata error code. */
export interface ErrorClass {
  code: DatabaseErrorCode;
  hint: string;
  retryable?: boolean;
}

const MISSING: ErrorClass = {
  code: 'OBJECT_MISSING',
  hint: "create it first or fix the name; unqualified names use the session's default database; if another project owns it, list that project in dependsOn",
};
const EXISTS: ErrorClass = {
  code: 'OBJECT_EXISTS',
  hint: 'choose what to do with existing tables: ifExists: rename (keeps a backup), drop, or raise, in db.yaml (conflicts) or dbee.yaml (deploy)',
};
const DDL_IN_TX: ErrorClass = {
  code: 'DDL_IN_TRANSACTION',
  hint: 'Teradata allows a DDL statement only as the last statement of a transaction: run each DDL as its own request (COMMIT/ET right after it)',
};
const DENIED: ErrorClass = {
  code: 'PERMISSION_DENIED',
  hint: 'ask a DBA to GRANT the right named in the message to the deploying user, on the database or object it names',
};

/**
 * Teradata error codes dbee classifies. Codes for "does not exist" follow Teradata's IgnoreErrors sample; the rest
 * the Teradata messages reference.
 */
export const TERADATA_ERROR_CLASSES: Readonly<Record<number, ErrorClass>> = {
  3802: MISSING, // database/user does not exist
  3807: MISSING, // object does not exist
  3824: MISSING, // macro does not exist
  5495: MISSING, // stored procedure does not exist
  5589: MISSING, // function does not exist
  6934: MISSING, // external stored procedure does not exist
  7972: MISSING, // Java stored procedure does not exist
  3526: MISSING, // index does not exist
  5620: MISSING, // role does not exist
  5623: MISSING, // user or role does not exist
  3803: EXISTS, // table already exists
  3804: EXISTS, // view already exists
  3805: EXISTS, // macro already exists
  5616: EXISTS, // stored procedure already exists (verify: the test double's code, not confirmed by a primary source)
  5612: {
    code: 'OBJECT_EXISTS',
    hint: 'a user, database, role or zone of that name already exists: pick another name, or leave it to the DBA who made it',
  },
  // DROP/RENAME TABLE while a join index, hash index or trigger is defined on it (code: verify). dbee drops and
  // re-creates them around the tables it renames or drops itself; this is one dbee did not expect (made by hand).
  5467: {
    code: 'TABLE_HAS_DEPENDENTS',
    hint: 'a join index, hash index or trigger is defined on the table (SELECT from DBC.JoinIndicesV, DBC.HashIndicesV, DBC.TriggersV to find it): drop it first (SHOW it to keep its definition) and create it again after',
  },
  3932: DDL_IN_TX, // "Only an ET or null statement is legal after a DDL Statement." (TERA mode)
  3722: DDL_IN_TX, // "Only a COMMIT WORK or null statement is legal after a DDL Statement." (ANSI mode)
  2631: {
    code: 'TRANSACTION_ABORTED',
    hint: 'the transaction was aborted (deadlock or a concurrent request); it is safe to run again',
    retryable: true,
  },
  5526: {
    code: 'SPL_COMPILE',
    hint: 'the stored procedure did not compile: fix the SPL errors (BTEQ shows them as SPLnnnnE lines when the procedure is compiled there)',
  },
  3523: DENIED, // user does not have <right> access to <object>
  3524: DENIED, // user does not have <right> WITH GRANT OPTION
  2801: { code: 'DUPLICATE_KEY', hint: 'a row with the same unique primary index value already exists' },
  2802: { code: 'DUPLICATE_KEY', hint: 'a SET table rejects a duplicate row' },
  2803: { code: 'DUPLICATE_KEY', hint: 'a SET table rejects a duplicate row' },
  3706: { code: 'SQL_SYNTAX', hint: "the database rejected the statement's syntax; fix it in the source file" },
  8017: {
    code: 'CONNECTION_FAILED',
    hint: 'the user name, password or account is invalid: check user and the password variable in dbee.yaml',
  },
};

/** What dbee knows about the connection, to say where it failed without ever saying the password. */
export interface ErrorContext {
  /** The statement that failed; kept in `details.statement` (trimmed). */
  statement?: string;
  /** `host`, `port` and `user` of the target, for connection failures. */
  target?: { host: string; port: string; user?: string };
  /** Strings that must never appear in messages or details (the password, logdata). */
  secrets?: string[];
  /** Set while connecting: any failure then is a connection failure, unless a parameter was rejected. */
  phase?: 'connect' | 'execute';
}

const CONNECT_FAILURE =
  /failed to connect|connection attempt|unable to connect|connection refused|no such host|i\/o timeout|logon timeout|login timeout|socket|connection reset|broken pipe|EOF/i;
const PARAMETER_FAILURE = /connection parameter|JSON connection parameters/i;

/** The Teradata error code of an error thrown by a driver, a `TeradataConnection` or dbee, or null. */
export function teradataErrorCode(error: unknown): number | null {
  if (error instanceof DbeeError) {
    const c = error.details.teradataCode;
    return typeof c === 'number' ? c : null;
  }
  return parseTeradataMessage(messageOf(error)).code;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function redact(text: string, secrets: string[] | undefined): string {
  let out = text;
  for (const s of secrets ?? []) if (s && s.length >= 1) out = out.split(s).join('***');
  return out;
}

/**
 * Map a driver error to a `DbeeError`: stable code, a message with the Teradata code and text, a hint, the code
 * and first line in `details`, the original error as `cause`, exit code 2. A `DbeeError` is returned unchanged.
 */
export function mapTeradataError(error: unknown, context: ErrorContext = {}): DbeeError {
  if (error instanceof DbeeError) return error;
  const raw = redact(messageOf(error), context.secrets);
  const parsed = parseTeradataMessage(raw);
  const statement = context.statement === undefined ? undefined : redact(context.statement, context.secrets);
  const details: Record<string, unknown> = {
    teradataCode: parsed.code,
    source: parsed.source,
    firstLine: parsed.firstLine,
  };
  if (parsed.rootCause) details.rootCause = parsed.rootCause;
  if (statement !== undefined)
    details.statement = statement.length > 2000 ? statement.slice(0, 2000) + ' ...' : statement;
  // The original error is the cause, unless it carries a secret: then a copy with the secret scrubbed.
  let cause: unknown = error;
  if (raw !== messageOf(error)) {
    const scrubbed = new Error(raw);
    scrubbed.name = error instanceof Error ? error.name : 'Error';
    cause = scrubbed;
  }

  const known = parsed.code !== null && parsed.source !== 'driver' ? TERADATA_ERROR_CLASSES[parsed.code] : undefined;
  const connecting = context.phase === 'connect';
  if (connecting && parsed.source === 'unknown' && PARAMETER_FAILURE.test(parsed.text)) {
    return new DbeeError(`the Teradata driver rejected the connection settings: ${parsed.text}`, {
      code: 'CONFIG_INVALID',
      hint: 'connection values must be known driver parameters (see the @dbee/teradata README); tmode is ANSI, TERA or DEFAULT',
      exitCode: ExitCode.invalid,
      details,
      cause,
    });
  }
  const isConnectionFailure =
    known?.code === 'CONNECTION_FAILED' ||
    (!known && (connecting || (parsed.source === 'driver' && CONNECT_FAILURE.test(parsed.text))));
  if (isConnectionFailure) {
    const t = context.target;
    const where = t ? `${t.host}:${t.port}` : 'the Teradata server';
    const why = [parsed.code ? `[Error ${parsed.code}] ${parsed.text}` : parsed.text, parsed.rootCause]
      .filter(Boolean)
      .join(': ');
    if (t) {
      details.host = t.host;
      details.port = t.port;
      if (t.user) details.user = t.user;
    }
    return new DbeeError(`cannot connect to Teradata at ${where}${t?.user ? ` as ${t.user}` : ''}: ${why}`, {
      code: 'CONNECTION_FAILED',
      hint:
        known?.hint ??
        'check host and dbs_port in dbee.yaml and that the database is reachable from here; for a plain hostname set cop: false; logon_timeout and connect_timeout bound the wait',
      exitCode: ExitCode.applyFailed,
      details,
      cause,
    });
  }
  if (known) {
    if (known.retryable) details.retryable = true;
    return new DbeeError(`Teradata error ${parsed.code}: ${parsed.text}`, {
      code: known.code,
      hint: known.hint,
      exitCode: ExitCode.applyFailed,
      details,
      cause,
    });
  }
  const label =
    parsed.code !== null
      ? `Teradata ${parsed.source === 'driver' ? 'driver ' : ''}error ${parsed.code}: `
      : 'Teradata error: ';
  return new DbeeError(label + parsed.text, { code: 'DATABASE_ERROR', exitCode: ExitCode.applyFailed, details, cause });
}
