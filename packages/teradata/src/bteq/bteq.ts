import { createHash } from 'node:crypto';
import {
  backupStamp,
  checksumStatements,
  DbeeError,
  inverseAction,
  type AppliedRecord,
  type BackupRow,
  type CompensatingStep,
  Deployment,
  type Ledger,
  openLedger,
  reverseHazards,
  sendStep,
  StepJournal,
  migrationVersionOf,
  type Connection,
  type LedgerDialect,
  type Plan,
  type PlanStep,
  type QueryResult,
} from '@dbee/core';
import { expandPlaceholders } from '../parse/placeholders';
import { quoteIdent, quoteString } from '../parse/teradata-identifiers';
import { kindKeyword, REPLACEABLE_KINDS, toReplace } from '../render/teradata-renderer';
import { TERADATA_LEDGER_DATABASE, teradataLedger } from '../ledger/teradata-ledger';
import { ScriptLedger } from '../ledger/script-ledger';
import { tokenize } from '../parse/splitter';
import { parseTeradata } from '../parse/teradata-parser';
import { tableModel } from '../render/teradata-table-diff';
import { retarget } from '../render/teradata-retarget';
import { CREATE_ONLY_KINDS, type ChangedInPlace } from './bteq-alters';
import { copiedStatistics } from './bteq-statistics';
import { ROLLBACK_CHECK_MAX_BYTES } from '../connection/teradata-connection';
import { changedRows, isCharacterType, uniqueIndexOver } from '../introspect/rows-since';

/**
 * Export a plan as a BTEQ script (and its rollback script), for sites where deployments must run through BTEQ.
 *
 * The script is a deployment the ledger understands: it writes, around each request, the rows `dbee deploy` writes
 * (deployment, steps, object state, migrations, backups) with core's own `Ledger` statements, rendered through the
 * engine's ledger dialect with the values inlined (see `ScriptRecorder`), so that after a BTEQ run `dbee status`
 * shows the deployment and the next `dbee deploy` has nothing to do.
 *
 * Layout: session settings BEFORE the logon (BTEQ refuses TRANSACTION changes once logged on); the logon itself is
 * never in the script, it is read with `.RUN FILE=<logon file>`; then `.SET ERROROUT STDOUT` and `.SET ECHOREQ ON`;
 * each request ends with `;` as the last non-blank character of its last line and is followed by a test of the
 * status values BTEQ keeps for the last request (Basic Teradata Query Reference, B035-2414, "Status Value
 * Keywords" / "Testing Status Values": ERRORCODE, ACTIVITYCOUNT, ERRORLEVEL):
 *
 * - `.IF ERRORCODE <> 0 THEN .GOTO FAIL_n` after every request of step n;
 * - after a CREATE/REPLACE PROCEDURE also a test of the SPL messages (`compiled`): compile errors (5526, procedure not
 *   created) and warnings (5527, created) arrive in a *successful* response whose activity count is the number of
 *   SPL messages, so ERRORCODE alone lets a broken procedure pass. No message, or warnings only (WARNINGCODE 5527), is
 *   success; anything else fails the step;
 * - expected errors have their severity set to 0 with `.SET ERRORLEVEL 3807 SEVERITY 0` only around the requests
 *   that expect them (the ledger's version probe on a database where the ledger does not exist yet), so they do
 *   not raise BTEQ's exit code.
 *
 * Transaction modes: `.SET SESSION TRANSACTION BTET` (Teradata mode) runs each request as its own transaction, except
 * a step's last request, which shares one with the step's ledger rows: `BT; <rows>; <DDL>; ET;` (`withRows`). `ANSI`
 * needs an explicit `COMMIT;` after every DDL request (a DDL must be the last statement of its transaction: error
 * 3722), and writes a step's rows before its last request, committed with it. A procedure's rows follow it in their
 * own transaction (its compile result is tested after the request, and only ET may follow a DDL).
 *
 * Rerun-safe: a step whose object the ledger already holds at the step's checksum (a migration the ledger has) is
 * skipped inside the script (`SELECT` against the ledger, `.IF ACTIVITYCOUNT > 0 THEN .GOTO SKIP_n`); a deployment
 * the ledger already records as succeeded ends at once with 0.
 *
 * Conflicts: before a step that creates (or REPLACEs, see `teradataCapabilities.replaceConflicts`) a table, view,
 * macro, procedure or function the ledger does not know, the script looks the name up in `DBC.TablesV`; when it
 * exists, the target environment's strategy applies: `raise` fails the step, `rename` renames it to
 * `<name>_bak_<stamp>` and records the backup, `drop` drops it (a join or hash index is dropped either way: there is
 * no RENAME JOIN INDEX), `skip` jumps over the step (nothing runs, nothing is recorded), `ignore` runs the step as
 * written over it (a CREATE fails on the existing object, a REPLACE replaces it) and records it as the runner records
 * a step whose earlier definition it cannot read: a `replace` with no reverse, which `dbee rollback` and the rollback
 * script refuse to undo rather than drop the object. The join indexes, hash indexes and triggers the sources define on a table that is renamed or
 * dropped are dropped first when they exist; their own steps create them again later in the script. Ones the
 * sources do not define cannot be found by a script written beforehand: Teradata refuses, the step fails.
 *
 * Return codes (`.QUIT n`): 0 success; 2, 4, 8 are BTEQ's own; 12 the logon failed (checked after the logon file ran:
 * an error code, or no session answering `SELECT SESSION`); 16 a ledger write failed;
 * 16 + i when step i failed (17 for step 1 ... 254 for step 238); 255 for a step numbered 239 or more (the ledger
 * row and the echoed output say which). Exit statuses are one byte on POSIX, hence the cap.
 */

export type BteqConflictStrategy = 'raise' | 'rename' | 'drop' | 'skip' | 'ignore';

export interface BteqLedgerOptions {
  /** Ledger dialect (its database, quoting, version table, DDL). Default: `teradataLedger('DBEE_LEDGER')`. */
  dialect?: LedgerDialect;
  /**
   * Id of the deployment row the script writes. Default: the UTC time as yyyymmddhhmmss, times 100 (room for the
   * rollback script's row, `deploymentId + 50`, and for the runner's MAX + 1 ids in between).
   */
  deploymentId?: number;
  environment: string;
  /** Checksum of the plan or package. Default: sha256 of the plan's steps. */
  planChecksum?: string;
  /** Recorded as `tool_version`. Default `dbee-bteq`. */
  toolVersion?: string;
  /**
   * Recorded as `host` and `os_user` of the deployment row. Default `bteq` for both: who runs the script, and where,
   * is not known when it is written (the lock row names the logged-on user, `USER`, at run time).
   */
  host?: string;
  osUser?: string;
  gitCommit?: string | null;
  /** The change ticket the export was made under (`dbee plan --ticket`), recorded as `dbee deploy` records it. */
  ticket?: string | null;
  /** The package exported (`dbee plan --package`), recorded as `package`. Default null: the sources. */
  package?: string | null;
}

export interface BteqOptions {
  /**
   * File holding the `.LOGON tdpid/user,password` line (and `.LOGMECH` if any), read with `.RUN FILE=`. Default:
   * `$DBEE_BTEQ_LOGON`, else `logon.btq` (relative to where BTEQ runs). Keep it out of version control.
   */
  logonFile?: string;
  /** `.SET SESSION TRANSACTION`: BTET (Teradata mode, default) or ANSI. Must match how procedures are called. */
  transactionMode?: 'BTET' | 'ANSI';
  /** `.SET SESSION CHARSET`. Default `UTF8`. */
  charset?: string;
  /** Values for `{{name}}` placeholders in the steps' statements (the target environment's variables). */
  variables?: Record<string, string>;
  /** Write the deployment and its steps to the ledger as the script runs; `false` leaves it out. */
  ledger?: BteqLedgerOptions | false;
  /** Time used for the default deployment id and backup names. Default now. */
  now?: Date;
  /** Rollback only: skip steps whose reverse is unknown instead of refusing to export. */
  skipUnknownReverse?: boolean;
  /** The conflict strategy of a step (the target environment's rules). Default `raise` for every step. */
  conflictStrategy?: (step: PlanStep) => BteqConflictStrategy;
  /** Whether a table the script renames aside gets its rows copied into the new table (`copyData`). Default never. */
  copyData?: (step: PlanStep) => boolean;
  /**
   * Rollback only: the definitions the target held when the scripts were exported, by object key (placeholders
   * expanded): views, macros, procedures, functions and triggers the ledger knew (with the ledger's checksum of them),
   * and join or hash indexes the ledger did not know (`checksum` null: made by hand). The rollback script puts a
   * changed object's text back when the deployment changed it from that very checksum, and makes a join or hash index
   * the deployment dropped again (#64 S4). Default none: the script stops before undoing a changed object.
   */
  previous?: ReadonlyMap<string, CapturedDefinition>;
  /**
   * Deploy only: the tables (join indexes, hash indexes) whose file changed since their deployment, by object key, as
   * `planAgainstTarget` planned them against the target at export: their `alter` steps run only while the ledger holds
   * the object at the checksum they were planned from (or one of their own steps wrote); the last records the sources'
   * checksum. Default none: a changed table stops the script before its first step.
   */
  changedInPlace?: ReadonlyMap<string, ChangedInPlace>;
  /**
   * Rollback only: the largest size (bytes of `DBC.TableSizeV` CurrentPerm, a table and its backup together) the check
   * for rows written since the deployment compares; a larger pair stops the script before anything is undone. Default
   * {@link ROLLBACK_CHECK_MAX_BYTES}.
   */
  rollbackCheckMaxBytes?: number;
}

/** A definition captured from the target at export time (see {@link BteqOptions.previous}). */
export interface CapturedDefinition {
  /** The ledger's checksum of the object then; null when the ledger did not know it. */
  checksum: string | null;
  /** The statement that makes it again (`REPLACE ...` for the replaceable kinds, the `CREATE` of an index). */
  definition: string;
}

/** Return code of a failed step (1-based index in the script). */
export function bteqReturnCode(stepIndex: number): number {
  return stepIndex <= 238 ? 16 + stepIndex : 255;
}
/** Return code when a ledger write fails. */
export const BTEQ_LEDGER_FAILED = 16;
/** Return code when another deployment (`dbee deploy`, `dbee rollback` or another script) holds the deployment lock. */
export const BTEQ_LOCKED = 14;
/** Hours a script's lock row lives: BTEQ cannot refresh it while the script runs (the runner's heartbeat does). */
export const BTEQ_LOCK_HOURS = 6;
/** Return code when the logon failed or left no session (checked right after `.RUN FILE=<logon file>`). */
export const BTEQ_LOGON_FAILED = 12;
/**
 * Return code when the ledger holds another release's deployment under this script's id (ids are the second the
 * scripts were written: two exports in one second share one): the script stops before it changes anything, rather
 * than take that deployment's "succeeded" (or its failed steps) for its own. Export the scripts again.
 */
export const BTEQ_ID_TAKEN = 13;

/**
 * The lock identity of a release's two scripts: its deployment id and its plan checksum, so that a script of another
 * release written in the same second never takes this one's lock row for its own.
 */
function lockToken(deployed: number, planChecksum: string): string {
  return `bteq-${deployed}-${planChecksum.slice(0, 12)}`;
}

/**
 * Stop with {@link BTEQ_ID_TAKEN} when the ledger's row `id` is not this script's: `own` is the condition the script's
 * own row meets (project, environment, kind, plan checksum).
 */
function idTaken(c: Ctx, id: number, own: Record<string, string | number>): string[] {
  return [
    remark(`deployment ${id}: a row under this id that another release wrote stops the script (exit ${BTEQ_ID_TAKEN})`),
    c.guard.deploymentOfAnother(id, own),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT > 0 THEN .QUIT ${BTEQ_ID_TAKEN}`,
  ];
}

/**
 * A request as BTEQ needs it: BTEQ ends a request at a `;` that is the last non-blank character of a line, so an
 * inner line that ends with `;` (macro and procedure bodies, comments) gets a trailing ` --` (an empty SQL comment,
 * ignored by the database but not by BTEQ's line scan), and the terminating `;` goes on its own line when the last
 * line is a `--` comment. A line that ends with `;` inside a multi-line string literal cannot be fixed: refused.
 */
export function bteqRequest(sql: string): string {
  let text = sql.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  const tokens = tokenize(text, '<step>');
  const significant = tokens.filter((t) => t.type !== 'whitespace');
  const last = significant[significant.length - 1];
  if (last?.type === 'semicolon') text = text.slice(0, last.start).replace(/\s+$/, '');
  const inString = (pos: number): boolean =>
    tokens.some((t) => (t.type === 'string' || t.type === 'quoted') && t.start < pos && pos < t.end - 1);
  // When the text ends in a `--` comment, the terminator goes on a line of its own, so the last line is inner too.
  const endsInLineComment =
    tokenize(text, '<step>')
      .filter((t) => t.type !== 'whitespace')
      .pop()?.type === 'line-comment';
  const lines = text.split('\n');
  let offset = 0;
  const out: string[] = [];
  lines.forEach((line, i) => {
    const trimmed = line.replace(/\s+$/, '');
    if ((i < lines.length - 1 || endsInLineComment) && trimmed.endsWith(';')) {
      const pos = offset + trimmed.length - 1;
      if (inString(pos)) {
        throw new DbeeError(
          'a line inside a string literal ends with ";", which BTEQ would take as the end of the request',
          {
            code: 'BTEQ_UNSUPPORTED',
            hint: 'move the ";" inside the string so that it is not the last character of its line, or deploy without BTEQ',
            details: { line: i + 1, text: trimmed.slice(-80) },
          },
        );
      }
      out.push(trimmed + ' --');
    } else out.push(line);
    offset += line.length + 1;
  });
  return endsInLineComment ? out.join('\n') + '\n;' : out.join('\n') + ';';
}

/** A SQL expression written as is where a parameter was (e.g. `CURRENT_TIMESTAMP(6)` for a step's start time). */
class SqlNow extends Date {}

/** A parameter value as a Teradata literal. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof SqlNow) return 'CURRENT_TIMESTAMP(6)';
  if (value instanceof Date) return `TIMESTAMP '${value.toISOString().replace('T', ' ').replace('Z', '')}+00:00'`;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  return stringLiteral(String(value));
}

/**
 * Longest character literal, in bytes: "The total length of a character literal is 0 to 31000 bytes" (Teradata Data
 * Types and Literals, "Character String Literals"). Counted here on the escaped text (`''` as two bytes), in UTF-8.
 */
export const BTEQ_MAX_LITERAL_BYTES = 31000;

/**
 * A string as a Teradata expression BTEQ can carry: one literal when it can, else pieces joined with `||`.
 *
 * - A value longer than 31,000 bytes (a step's statements as JSON, for a long procedure) is cut into literals of at
 *   most that many bytes, the first cast to CLOB: "If either argument is CLOB, the result is CLOB(n)" (SQL Functions,
 *   Expressions, and Predicates, "Concatenation Operator: Result Type and Attributes"), so the ledger's CLOB columns
 *   receive the whole text (a VARCHAR concatenation would stop at 64,000 bytes).
 * - A `;` that ends a line inside the value would end the request for BTEQ (a request ends at a `;` that is the last
 *   non-blank character of a line): the literal is cut after that `;`, so the script's line ends in `|| '` instead.
 */
export function stringLiteral(value: string): string {
  const pieces: string[] = [];
  for (const part of value.split(/(?<=;)(?=[ \t]*\n)/))
    pieces.push(...byteChunks(part.replace(/'/g, "''"), BTEQ_MAX_LITERAL_BYTES));
  if (pieces.length <= 1) return `'${pieces[0] ?? ''}'`;
  const long = Buffer.byteLength(value.replace(/'/g, "''"), 'utf8') > BTEQ_MAX_LITERAL_BYTES;
  const [first, ...rest] = pieces.map((p) => `'${p}'`);
  return [long ? `CAST(${first} AS CLOB CHARACTER SET UNICODE)` : first, ...rest].join('\n|| ');
}

/** `text` (already escaped) in pieces of at most `max` UTF-8 bytes, cut between code points and never inside `''`. */
function byteChunks(text: string, max: number): string[] {
  if (Buffer.byteLength(text, 'utf8') <= max) return [text];
  const out: string[] = [];
  let piece = '';
  let bytes = 0;
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    // An escaped quote stays whole: `''` split in two would end the literal.
    const ch = chars[i] === "'" ? "''" : chars[i]!;
    if (ch === "''") i++;
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) {
      out.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += ch;
    bytes += n;
  }
  out.push(piece);
  return out;
}

/** `sql` with its `?` markers (outside quotes) replaced by the literals of `params`. */
function inline(template: string, params: unknown[]): string {
  // The ledger's SQL is written over several lines: one line each, before the values go in (values keep their text).
  const sql = template.replace(/\n\s+/g, ' ');
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') out += literal(params[n++]);
    else out += ch;
  }
  return out;
}

/**
 * A connection that runs nothing: it records the statements core's `Ledger` sends, so the script carries exactly the
 * runner's ledger statements. Reads answer as on an empty ledger, except the `MAX(id) + 1` of a new id, which gets
 * the script's fixed id (BTEQ has no variables to carry a value read at run time into a later request).
 */
class ScriptRecorder implements Connection {
  readonly description = 'BTEQ script';
  requests: { sql: string; params: unknown[] }[] = [];
  constructor(private readonly nextId: (sql: string) => number) {}
  async query<Row = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryResult<Row>> {
    if (/^\s*SELECT\b/i.test(sql)) {
      const rows = /COALESCE\(MAX\(/i.test(sql) ? [{ id: this.nextId(sql) }] : [];
      return { rows: rows as Row[], rowCount: rows.length };
    }
    this.requests.push({ sql, params });
    return { rows: [], rowCount: 0 };
  }
  async execute(sql: string): Promise<void> {
    this.requests.push({ sql, params: [] });
  }
  async transaction<T>(fn: (tx: Connection) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
  /** The requests recorded since the last call, as BTEQ requests. */
  take(): string[] {
    const out = this.requests.map((r) => inline(r.sql, r.params) + ';');
    this.requests = [];
    return out;
  }
}

function remark(text: string): string {
  return `.REMARK ${quoteString(text.replace(/[\r\n]+/g, ' '))}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The default deployment id: yyyymmddhhmmss (UTC) times 100 (2.0e15: below 2^53, so ids read back as JS numbers stay
 * exact). The rollback script's row is this + 50; the runner's MAX + 1 ids fit in between.
 */
export function defaultBteqDeploymentId(now: Date): number {
  return Number(now.toISOString().slice(0, 19).replace(/[-T:]/g, '')) * 100;
}

function header(options: BteqOptions): string[] {
  const logon = options.logonFile ?? process.env.DBEE_BTEQ_LOGON ?? 'logon.btq';
  if (/[\s;]/.test(logon)) {
    throw new DbeeError(`BTEQ logon file path "${logon}" contains a space or ";"`, {
      code: 'CONFIG_INVALID',
      hint: 'use a path without spaces or semicolons for the logon file (option logonFile or DBEE_BTEQ_LOGON)',
    });
  }
  const charset = options.charset ?? 'UTF8';
  return [
    `.SET SESSION TRANSACTION ${options.transactionMode ?? 'BTET'}`,
    `.SET SESSION CHARSET ${quoteString(charset)}`,
    // RETRY is ON by default and resubmits a request that failed with 2631 (deadlock), 3598, 3603... alone: the
    // transaction it belonged to (a step's ledger rows, its BT) is gone by then, so the resubmitted DDL would commit
    // without its rows. BTEQ's advice: "Use the BTEQ RETRY command to disable the retry function before submitting
    // requests that are embedded in ... an explicit transaction" (BTEQ Reference, "Disabling the Retry Function").
    // A failed request fails its step instead; the script is re-run from where it stopped.
    '.SET RETRY OFF',
    `.RUN FILE=${logon}`,
    // The logon's result: an error code, or no session to answer SELECT SESSION (BTEQ sends no SQL without one, and
    // what ERRORCODE then holds is not documented), ends the script with BTEQ's own code for a failed logon.
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LOGON_FAILED}`,
    'SELECT SESSION;',
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LOGON_FAILED}`,
    `.IF ACTIVITYCOUNT <> 1 THEN .QUIT ${BTEQ_LOGON_FAILED}`,
    '.SET ERROROUT STDOUT',
    '.SET ECHOREQ ON',
  ];
}

/**
 * `UPPER(DatabaseName) = 'DB' AND UPPER(TableName) = 'NAME'`: a dictionary lookup that finds an object whatever the
 * case its DDL wrote its name in. Teradata keeps names as written ("Case is preserved", Vantage User Guide,
 * "Identifiers") and, in an ANSI session, compares them case-specifically with a literal (literals are CASESPECIFIC
 * there: SQL Functions, Expressions, and Predicates, "Equality Comparison"), so `TableName = 'CUSTOMERS'` would miss
 * `customers`. Names are unique whatever their case, so upper-casing both sides is the name's identity.
 */
function sameName(db: string, name: string): string {
  return `UPPER(DatabaseName) = ${quoteString(db.toUpperCase())} AND UPPER(TableName) = ${quoteString(name.toUpperCase())}`;
}

/** Kinds the in-script conflict check looks up in DBC.TablesV. */
const CONFLICT_KINDS = new Set([
  'table',
  'view',
  'macro',
  'procedure',
  'function',
  'join-index',
  'hash-index',
  // A user-defined type, in SYSUDTLIB: `drop` runs DROP TYPE; `rename` fails the step (Teradata has no RENAME TYPE).
  'type',
  // An authorization (one without a password variable: those are refused at export) and a function mapping: `drop`
  // runs DROP AUTHORIZATION / DROP FUNCTION MAPPING; `rename` fails the step (no RENAME for either).
  'authorization',
  'function-mapping',
]);

/** Kinds the in-script conflict check meets but Teradata cannot rename aside, with the statement it lacks. */
const NO_RENAME: Readonly<Record<string, string>> = {
  type: 'RENAME TYPE',
  authorization: 'RENAME AUTHORIZATION',
  'function-mapping': 'RENAME FUNCTION MAPPING',
};

/**
 * Databases, users, roles and profiles: looked up in their own views. One the ledger does not know follows `raise`
 * (fail), `skip` (jump over the step) and `ignore` (run the CREATE, which fails on it, as with `dbee deploy`); `rename`
 * and `drop` fail the step: dbee never renames or drops them.
 */
const NAMESPACE_VIEWS: Readonly<Record<string, { view: string; column: string }>> = {
  database: { view: 'DatabasesV', column: 'DatabaseName' },
  user: { view: 'DatabasesV', column: 'DatabaseName' },
  role: { view: 'RoleInfoV', column: 'RoleName' },
  profile: { view: 'ProfileInfoV', column: 'ProfileName' },
};

/** Kinds the deploy script's `rename` keeps under a backup name that its rollback script renames back (tables apart). */
const RENAMED_BACK = new Set(['view', 'macro', 'procedure', 'function']);

/** Kinds that stand on a table and make Teradata refuse to drop or rename it ("If the table to be dropped has
 * triggers, hash indexes, or join indexes associated with it, you must first drop those": SQL DDL, DROP TABLE). */
const DEPENDENT_KINDS = new Set(['join-index', 'hash-index', 'trigger']);

/**
 * Steps of the plan that define a join index, hash index or trigger on `table` (`DB.NAME`, upper case): the script
 * drops those that exist before it renames or drops the table; their own steps create them again afterwards. (The
 * script cannot list what the target has: dependents the sources do not define still make Teradata refuse.)
 */
function sourceDependents(
  c: Ctx,
  steps: readonly PlanStep[],
  table: string,
): { db: string; name: string; word: string }[] {
  const out: { db: string; name: string; word: string }[] = [];
  for (const s of steps) {
    if (!DEPENDENT_KINDS.has(s.objectKey.kind) || !s.statements[0]) continue;
    const db = c.expand(s.objectKey.schema ?? '');
    const parsed = parseTeradata(c.expand(s.statements[0]), '<plan>', { searchPath: [db] })[0];
    const reads = (parsed?.references ?? [])
      .filter((r) => r.kind === 'relation')
      .map((r) => `${r.schema ?? db}.${r.name}`.toUpperCase());
    if (reads.includes(table)) out.push({ db, name: c.expand(s.objectKey.name), word: kindKeyword(s.objectKey.kind)! });
  }
  return out;
}

interface Ctx {
  options: BteqOptions;
  ansi: boolean;
  ledger: Ledger | null;
  /** `dbee deploy`'s and `dbee rollback`'s step journal over the script's ledger: the rows of its steps and undos. */
  journal: StepJournal | null;
  /** The projects of the plan (the deployment's `project`). */
  project: string;
  recorder: ScriptRecorder;
  /** The ledger's questions the script asks at run time (`ledger/script-ledger.ts`). */
  guard: ScriptLedger;
  id: number;
  expand(s: string): string;
  /** Tables the script locks exclusively with NOWAIT (`exclusiveNowait`), named in its header. */
  exclusive: Set<string>;
}

function context(options: BteqOptions, id: number, plan: Plan): Ctx {
  const ansi = options.transactionMode === 'ANSI';
  const vars = options.variables ?? {};
  const dialect = (options.ledger && options.ledger.dialect) || teradataLedger(TERADATA_LEDGER_DATABASE);
  const recorder = new ScriptRecorder(ScriptLedger.fixedIds(id));
  const ledger = options.ledger === false ? null : openLedger(recorder, dialect);
  return {
    options,
    ansi,
    ledger,
    journal: ledger && new StepJournal(ledger),
    project: plan.projects.join(','),
    recorder,
    guard: new ScriptLedger(dialect),
    id,
    expand: (s) => expandPlaceholders(s, vars),
    exclusive: new Set(),
  };
}

/**
 * The deployment's closing row on one of the script's ways out (a failed step's label, its end), as `dbee deploy` and
 * `dbee rollback` close theirs (`Deployment.close`): each way out is a run of its own, one of which runs, so each closes
 * through a handle of its own (`Deployment.of`).
 */
async function closeDeployment(c: Ctx, ...how: Parameters<Deployment['close']>): Promise<void> {
  await Deployment.of(c.ledger!, c.id, c.project).close(...how);
}

/** Tries of a `LOCKING ... NOWAIT` before the script gives up on a table, and BTEQ's sleeps (s) between two tries. */
export const BTEQ_NOWAIT_SLEEPS: readonly number[] = [5, 10, 20, 40];

/**
 * `request` (a query naming `table`) under `LOCKING TABLE <table> FOR EXCLUSIVE NOWAIT`, first in a transaction (BT in
 * Teradata mode), tried again after a sleep while another session holds the table, at most
 * `BTEQ_NOWAIT_SLEEPS.length + 1` times; then the script goes to `fail` with nothing changed for the table. A request
 * with NOWAIT whose lock cannot be granted at once is not queued: it fails with 7423 "Object already locked and NOWAIT.
 * Transaction Aborted." (SQL Data Manipulation Language, LOCKING Request Modifier, "Example: NOWAIT Option"; Database
 * Administration, "Locking Overview": "Requests identified with the LOCKING modifier NOWAIT option immediately abort
 * rather than join the queue"). BTEQ has no loop: the tries are written out, with `.OS sleep n` between them (BTEQ
 * Reference, "OS": the command goes to the client's shell; `sleep` is a Unix command, unverified on Windows clients).
 * Every exit is forward, so the lines go where the caller puts them.
 * The lock is held until the transaction ends, so the DDL that ends it runs without waiting. The caller tests
 * ACTIVITYCOUNT of `request` after the lines returned, and ends the transaction.
 */
function exclusiveNowait(c: Ctx, table: string, request: string, tag: string, fail: string): string[] {
  c.exclusive.add(table);
  const tries = BTEQ_NOWAIT_SLEEPS.length + 1;
  // BTEQ's .GOTO only skips forward (BTEQ Reference, "GOTO"): each try is written after the one before it.
  const attempt = (k: number) => [
    ...(c.ansi ? [] : ['BT;', `.IF ERRORCODE <> 0 THEN .GOTO ${fail}`]),
    `LOCKING TABLE ${table} FOR EXCLUSIVE NOWAIT ${request}`,
    `.IF ERRORCODE = 7423 THEN .GOTO BUSY_${tag}_${k}`,
    `.IF ERRORCODE <> 0 THEN .GOTO ${fail}`,
    `.GOTO HELD_${tag}`,
    `.LABEL BUSY_${tag}_${k}`,
  ];
  const lines = attempt(1);
  for (const [i, sleep] of BTEQ_NOWAIT_SLEEPS.entries())
    lines.push(
      remark(`${table} is locked by another session: try ${i + 2} of ${tries} in ${sleep} s`),
      `.OS sleep ${sleep}`,
      ...attempt(i + 2),
    );
  const total = BTEQ_NOWAIT_SLEEPS.reduce((a, b) => a + b, 0);
  lines.push(
    remark(
      `${table} is locked by another session (7423, ${tries} tries over ${total} s): nothing was changed for it. ` +
        'Run the script again once the session ends (DBC.LockInfoV or the Lock Viewer shows which one holds it).',
    ),
    `.GOTO ${fail}`,
    `.LABEL HELD_${tag}`,
  );
  return lines;
}

/** The header line naming the tables the script locks exclusively (none: no line). */
function exclusiveRemark(c: Ctx): string[] {
  if (!c.exclusive.size) return [];
  return [
    remark(
      `this script locks exclusively, each with NOWAIT and ${BTEQ_NOWAIT_SLEEPS.length + 1} tries: ${[...c.exclusive].join(', ')}`,
    ),
  ];
}

/**
 * The requests that create or upgrade the ledger, each version guarded by a probe of the version table (missing on
 * a first run: 3807, whose severity is set to 0 around the probe).
 */
function ensureLedger(c: Ctx): string[] {
  const lines: string[] = [
    remark('ledger: create or upgrade its tables where needed'),
    '.SET ERRORLEVEL (3807, 3803, 3933) SEVERITY 0',
  ];
  c.guard.migrations.forEach((statements, v) => {
    lines.push(c.guard.versionDone(v + 1), `.IF ACTIVITYCOUNT > 0 THEN .GOTO LEDGER_V${v + 1}`);
    if (v > 0) lines.push(`.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`);
    // Re-runnable: a script killed between two of these finds the tables (3803) or columns (3933) it made already.
    statements.forEach((sql, i) => {
      const done = `LEDGER_V${v + 1}_${i + 1}`;
      lines.push(
        bteqRequest(sql),
        `.IF ERRORCODE = ${/^\s*ALTER\b/i.test(sql) ? 3933 : 3803} THEN .GOTO ${done}`,
        `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
        `.LABEL ${done}`,
        ...commit(c),
      );
    });
    lines.push(
      c.guard.versionRecorded(v + 1),
      `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
      ...commit(c),
      `.LABEL LEDGER_V${v + 1}`,
    );
  });
  lines.push('.SET ERRORLEVEL (3807, 3803, 3933) SEVERITY 8');
  return lines;
}

/**
 * The deployment lock, as `dbee deploy` takes it: a row of the ledger's lock table under the key `deploy` (see
 * `teradata-lock.ts`), so a script and a runner never interleave. A row past its expiry (a holder that died) is
 * deleted first, and so is this deployment's own row (a rerun after a crash). Another holder's row makes the script
 * end with {@link BTEQ_LOCKED} before it changes anything. The row records the script's session number (`SESSION`,
 * in `owner_pid`; owner host `bteq`), so `dbee unlock` can ask `DBC.SessionInfoV` whether the holder still runs; it
 * lives {@link BTEQ_LOCK_HOURS} hours from the last `heartbeat` (the script refreshes it between steps); `withLock`
 * releases it on every way out of the script. Both the deploy and the rollback script take it.
 */
function acquireLock(c: Ctx, token: string): string[] {
  const quit = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;
  return [
    remark(`deployment lock: a row of ${c.guard.lockTable} under the key deploy, as dbee deploy takes it`),
    '.SET ERRORLEVEL 3807 SEVERITY 0',
    c.guard.lockProbe(),
    '.SET ERRORLEVEL 3807 SEVERITY 8',
    '.IF ERRORCODE <> 3807 THEN .GOTO LOCK_TABLE',
    ...(c.ansi ? ['ROLLBACK;'] : []),
    bteqRequest(c.guard.lockTableDdl()),
    quit,
    ...commit(c),
    '.LABEL LOCK_TABLE',
    c.guard.lockCleared(token),
    quit,
    ...commit(c),
    c.guard.lockTaken(token, BTEQ_LOCK_HOURS),
    `.IF ERRORCODE = 2801 THEN .QUIT ${BTEQ_LOCKED}`,
    quit,
    ...commit(c),
  ];
}

/**
 * Between steps: push the lock row's expiry {@link BTEQ_LOCK_HOURS} hours on (a script alive for longer than that keeps
 * its lock). No row of this script's (a DBA cleared it with `dbee unlock --force`) ends the script with
 * {@link BTEQ_LOCKED} before the next step: it no longer holds the lock another deployment may now take.
 */
function heartbeat(c: Ctx, token: string): string[] {
  if (!c.ledger) return [];
  return [
    c.guard.lockRefreshed(token, BTEQ_LOCK_HOURS),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .QUIT ${BTEQ_LOCKED}`,
    ...commit(c),
  ];
}

/**
 * The script with the lock row released on every way out after `from` (the line after `acquireLock`'s): each
 * `.QUIT n` gets the release before it (and before the `.LOGOFF` in front of it), and each `.IF ... THEN .QUIT n` goes
 * to a label at the end that releases, logs off and quits with n. In ANSI mode a failed request may have left a transaction open: it is rolled back first.
 */
function withLock(c: Ctx, lines: string[], from: number, token: string): string[] {
  const release = [...(c.ansi ? ['ROLLBACK;'] : []), c.guard.lockReleased(token), ...(c.ansi ? ['COMMIT;'] : [])];
  const codes = new Set<string>();
  const out = lines.slice(0, from);
  for (const line of lines.slice(from)) {
    const plain = /^\.QUIT (\d+)$/.exec(line);
    const guarded = /^(\.IF .+ THEN )\.QUIT (\d+)$/.exec(line);
    // The release goes before the `.LOGOFF` that precedes the quit: BTEQ does not send an SQL request once its
    // session is logged off ("LOGOFF: Terminates the user's database sessions without exiting from BTEQ", BTEQ
    // Reference; a request without a session only raises a warning, return code 02), so a DELETE after it would
    // leave the lock row behind.
    if (plain) {
      const loggedOff = out.at(-1) === '.LOGOFF';
      if (loggedOff) out.pop();
      out.push(...release, ...(loggedOff ? ['.LOGOFF'] : []), line);
    } else if (guarded) {
      codes.add(guarded[2]!);
      out.push(`${guarded[1]}.GOTO UNLOCK_${guarded[2]}`);
    } else out.push(line);
  }
  for (const code of codes) out.push('', `.LABEL UNLOCK_${code}`, ...release, '.LOGOFF', `.QUIT ${code}`);
  return out;
}

/**
 * After a CREATE/REPLACE PROCEDURE: no SPL message (ACTIVITYCOUNT 0) is success; warnings only (WARNINGCODE 5527:
 * "The stored procedure ... is created or replaced if compilation warnings are found", BTEQ Reference, Stored
 * Procedure Compilation) is success too, the messages are in BTEQ's output; anything else (5526, compile errors: the
 * procedure was not created or replaced) runs `fail`. A BTEQ without WARNINGCODE refuses that `.IF` and goes on to
 * `fail`, as every warning did before (verify on the target BTEQ).
 */
function compiled(label: string, fail: string): string[] {
  return [
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO COMPILED_${label}`,
    `.IF WARNINGCODE = 5527 THEN .GOTO COMPILED_${label}`,
    fail,
    `.LABEL COMPILED_${label}`,
  ];
}

/** `COMMIT;` in ANSI mode (a DDL must end its transaction: 3722), nothing in Teradata mode. */
function commit(c: Ctx): string[] {
  return c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`] : [];
}

/**
 * The error an ALTER step's request answers when a run of this script that stopped after it committed already made it
 * (the step's requests but the last commit on their own): 3803 for the copy `CREATE TABLE <backup> AS t WITH DATA` of
 * a column drop (its name carries the release's stamp), 3807 for the `DROP JOIN|HASH INDEX` of a changed index. Null
 * for any other request.
 */
function rerunnable(sql: string): number | null {
  if (/^\s*CREATE\s+(?:\w+\s+)*?TABLE\b[\s\S]*\bAS\b[\s\S]*\bWITH\s+(?:NO\s+)?DATA\b/i.test(sql)) return 3803;
  if (/^\s*DROP\s+(?:JOIN|HASH)\s+INDEX\b/i.test(sql)) return 3807;
  return null;
}

/** Whether a statement creates or replaces a procedure (its SPL compile result is tested after it). */
function isProcedure(sql: string): boolean {
  return /^\s*(CREATE|REPLACE)\s+PROCEDURE\b/i.test(sql);
}

/**
 * A step's ledger rows and its last request as one transaction (#39): `BT; <rows>; <request>; ET;` in Teradata mode,
 * `<rows>; <request>; COMMIT;` in ANSI mode, so that the object and the ledger's knowledge of it are committed
 * together and a script killed in between leaves neither. Teradata allows a DDL statement in an explicit transaction
 * when "the DDL statement is the last statement in the transaction, that is, immediately followed by the END
 * TRANSACTION statement" (SQL Data Manipulation Language, BEGIN TRANSACTION, "Rules for Transactions Containing DDL
 * Statements"); in Teradata mode "If an error occurs, the request fails, the entire transaction is aborted" (Database
 * Administration, "Transaction Processing in Teradata Session Mode"), so rows written before a request that fails
 * are undone with it. In ANSI mode an error rolls back the request only: the step's failure path starts with
 * ROLLBACK. Rows that cannot be written end the script (16) before the request runs.
 */
function withRows(c: Ctx, rows: string[], request: string[], n: number): string[] {
  const check = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;
  const fail = `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`;
  const body = rows.flatMap((r) => [r, check]);
  return c.ansi ? [...body, ...request, 'COMMIT;', fail] : ['BT;', check, ...body, ...request, 'ET;', fail];
}

/**
 * `withRows` with the table's lock taken first (`exclusiveNowait`): `BT; LOCKING <table> FOR EXCLUSIVE NOWAIT ...;
 * <rows>; <request>; ET;`, so that the request (a DDL on the table) does not queue behind a reader.
 */
function lockedRows(c: Ctx, table: string, rows: string[], request: string[], tag: string, fail: string): string[] {
  const check = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;
  return [
    ...exclusiveNowait(c, table, `SELECT TOP 1 1 FROM ${table};`, tag, fail),
    ...rows.flatMap((r) => [r, check]),
    ...request,
    c.ansi ? 'COMMIT;' : 'ET;',
    `.IF ERRORCODE <> 0 THEN .GOTO ${fail}`,
  ];
}

/** Ledger requests as one transaction: `BT; ... ET;` in Teradata mode, `...; COMMIT;` in ANSI mode. */
function ledgerGroup(c: Ctx, requests: string[]): string[] {
  const check = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;
  const body = requests.flatMap((r) => [r, check]);
  return c.ansi ? [...body, 'COMMIT;', check] : ['BT;', check, ...body, 'ET;', check];
}

function qualified(c: Ctx, step: PlanStep): { db: string; name: string; sql: string } {
  const db = c.expand(step.objectKey.schema ?? '');
  const name = c.expand(step.objectKey.name);
  return { db, name, sql: `${quoteIdent(db)}.${quoteIdent(name)}` };
}

/**
 * The copy of a renamed-aside table's rows (`copyData` on a `rename` step of a table): `INSERT INTO t (cols) SELECT
 * cols FROM t_bak_<stamp>`, with the columns of the new table's CREATE (the script cannot read the backup's columns
 * when it is written), placed after the CREATE (index `after` in the step's statements). Null when no copy applies.
 */
function copyRows(
  c: Ctx,
  step: PlanStep,
  statements: string[],
  stamp: string,
): {
  after: number;
  sql: string;
  table: string;
  backup: string;
  columns: string[];
  set: boolean;
  /** The new table's primary index columns (none for NO PRIMARY INDEX). */
  key: string[];
  /** No two rows alike are possible in the new table: a unique primary index, or a SET table in the session's mode. */
  unique: boolean;
  /** Character columns (upper case), hashed by their bytes in the rollback's data check (`changedRows`). */
  character: ReadonlySet<string>;
  /** Columns declared NOT NULL (upper case). */
  notNull: ReadonlySet<string>;
} | null {
  if (step.objectKey.kind !== 'table' || (step.action !== 'create' && step.action !== 'replace')) return null;
  const strategy = c.options.conflictStrategy?.(step) ?? 'raise';
  if (strategy !== 'rename' || !c.options.copyData?.(step)) return null;
  const after = statements.findIndex((st) =>
    /^\s*CREATE\s+(?:\w+\s+)*?TABLE\b/i.test(st.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*/, '')),
  );
  const model = after >= 0 ? tableModel(statements[after]!) : null;
  if (!model?.columns.length) return null;
  const { db, name, sql } = qualified(c, step);
  const backup = `${quoteIdent(db)}.${quoteIdent(`${name}_bak_${stamp}`.slice(0, 128))}`;
  const columns = model.columns.map((col) => col.name);
  const list = columns.join(', ');
  // A SET table in a Teradata-mode session: the model is read in that mode, where a CREATE that says neither is SET.
  const set = /\bSET\b/i.test(model.header.split(/\bTABLE\b/i)[0] ?? '');
  const inMode = tableModel(statements[after]!, { tmode: c.ansi ? 'ANSI' : 'TERA' }) ?? model;
  const keyText = /\bPRIMARY\s+(?:AMP\s+)?INDEX\s*(?:\w+\s*)?\(([^)]*)\)/i.exec(inMode.primary);
  const key = keyText ? keyText[1]!.split(',').map((k) => k.trim()) : [];
  const unique =
    /^\s*UNIQUE\s+PRIMARY\b/i.test(inMode.primary) || /\bSET\b/i.test(inMode.header.split(/\bTABLE\b/i)[0] ?? '');
  const plain = (col: string) =>
    col
      .replace(/^"(.*)"$/, '$1')
      .replace(/""/g, '"')
      .toUpperCase();
  return {
    character: new Set(model.columns.filter((col) => isCharacterType(col.core)).map((col) => plain(col.name))),
    notNull: new Set(model.columns.filter((col) => /\bNOT\s+NULL\b/i.test(col.core)).map((col) => plain(col.name))),
    after,
    sql: `INSERT INTO ${sql} (${list})\nSELECT ${list} FROM ${backup}`,
    table: sql,
    backup,
    columns,
    set,
    key,
    unique,
  };
}

/**
 * Before a table is renamed aside for a copy of its rows: the table's database must have free PERM for a second copy
 * of it (the backup keeps its rows while the new table fills), else the copy would fail with 2644 "No more room in
 * database" after the rename, leaving the production name on a half-filled table. Free space is `MaxPerm -
 * CurrentPerm` of `DBC.DiskSpaceV`, summed over the AMPs; what the copy needs is the table's `CurrentPerm` in
 * `DBC.TableSizeV` (Data Dictionary, "DiskSpaceV", "TableSizeV"). Summing hides a skewed AMP, which can still run out
 * (2644 on one AMP: verify on a live system). The SELECT's row (free and needed bytes) is in BTEQ's output.
 */
function roomForCopy(db: string, name: string, sql: string, n: number, code: number, failures: string[]): string[] {
  const inDb = `UPPER(DatabaseName) = ${quoteString(db.toUpperCase())}`;
  failures.push(
    '',
    `.LABEL NOROOM_${n}`,
    remark(
      `${db} has less free permanent space than ${sql} takes (the row above: free_bytes, needed_bytes), and its copy needs as much again while the old table is kept as the backup. Nothing was renamed. ` +
        `Ask a DBA for more space (MODIFY DATABASE ${quoteIdent(db)} AS PERM = ...), or free some, then run the script again.`,
    ),
    '.LOGOFF',
    `.QUIT ${code}`,
  );
  return [
    remark(`free space: ${db} must hold a second copy of ${sql} before it is renamed aside`),
    `SELECT f.free_bytes, f.needed_bytes FROM (SELECT SUM(MaxPerm) - SUM(CurrentPerm) AS free_bytes, ` +
      `(SELECT SUM(CurrentPerm) FROM DBC.TableSizeV WHERE ${sameName(db, name)}) AS needed_bytes ` +
      `FROM DBC.DiskSpaceV WHERE ${inDb}) f WHERE f.free_bytes < f.needed_bytes;`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    `.IF ACTIVITYCOUNT > 0 THEN .GOTO NOROOM_${n}`,
  ];
}

/** Access right codes of `DBC.AllRightsV` / `DBC.AllRoleRightsV` whose table-level rights a rename aside passes on. */
const TABLE_RIGHTS: readonly (readonly [string, string])[] = [
  ['R', 'SELECT'],
  ['I', 'INSERT'],
  ['U', 'UPDATE'],
  ['D', 'DELETE'],
  ['RF', 'REFERENCES'],
  ['IX', 'INDEX'],
  ['ST', 'STATISTICS'],
];

/**
 * The table-level rights of a table renamed aside, granted again on the new table, as `dbee deploy` grants them
 * (`tableGrants`): a RENAME keeps the rights with the renamed table, so the roles and users that read the old table
 * would lose access to the new one. A script written beforehand cannot list them, so BTEQ writes the GRANTs at run
 * time: `.EXPORT REPORT` of a SELECT over `DBC.AllRightsV` and `DBC.AllRoleRightsV` (one GRANT per right and grantee;
 * the table's own database and the logged-on user, who get the automatic rights of the creator, left out) into a file
 * that `.RUN FILE` then runs ("EXPORT", "RUN", "TITLEDASHES", "WIDTH": BTEQ Reference; `(TITLE '')`: no heading;
 * a report line longer than WIDTH "is truncated", hence `.SET WIDTH 1024`).
 * Afterwards every right of the backup must be on the new table, else the step fails: a GRANT that did not run is
 * never a silent success. Verified on the test double only.
 */
function copyGrants(
  c: Ctx,
  step: PlanStep,
  n: number,
  names: { from: string; to: string },
  label = `FAIL_${n}`,
): string[] {
  const fail = `.IF ERRORCODE <> 0 THEN .GOTO ${label}`;
  const { db } = qualified(c, step);
  const { from: backup, to: name } = names;
  const sql = `${quoteIdent(db)}.${quoteIdent(name)}`;
  const file = `dbee_grants_${c.id}_${n}.btq`;
  const rights = `TRIM(AccessRight) IN (${TABLE_RIGHTS.map(([code]) => quoteString(code)).join(', ')}) AND ColumnName = 'All'`;
  const privilege = `CASE TRIM(AccessRight) ${TABLE_RIGHTS.map(([code, word]) => `WHEN ${quoteString(code)} THEN ${quoteString(word)}`).join(' ')} END`;
  const on = quoteString(` ON ${sql} TO "`);
  const others = `UPPER(TRIM(UserName)) <> ${quoteString(db.toUpperCase())} AND UPPER(TRIM(UserName)) <> UPPER(USER)`;
  // ANSI mode: each GRANT must end its transaction (3722), so each row carries a COMMIT as a second column, which
  // FOLDLINE puts on a line of its own: "After printing the value for a column that has a FOLDLINE setting of ON, BTEQ
  // starts a new line", offset by two characters (BTEQ Reference, "FOLDLINE"), which SQL ignores.
  const commitColumn = c.ansi ? `, 'COMMIT;' (TITLE '')` : '';
  const grants = [
    `SELECT 'GRANT ' || ${privilege} || ${on} || TRIM(UserName) || '"' || CASE TRIM(GrantAuthority) WHEN 'Y' THEN ' WITH GRANT OPTION' ELSE '' END || ';' (TITLE '')${commitColumn}\n` +
      `FROM DBC.AllRightsV WHERE ${sameName(db, backup)} AND ${rights} AND ${others};`,
    `SELECT 'GRANT ' || ${privilege} || ${on} || TRIM(RoleName) || '";' (TITLE '')${commitColumn}\n` +
      `FROM DBC.AllRoleRightsV WHERE ${sameName(db, backup)} AND ${rights};`,
  ];
  const missing = (view: string, who: string, extra: string) =>
    `SELECT 1 FROM DBC.${view} b WHERE ${sameName(db, backup).replace(/\b(DatabaseName|TableName)\b/g, 'b.$1')} AND ${rights.replace(/\b(AccessRight|ColumnName)\b/g, 'b.$1')}${extra}\n` +
    `AND (SELECT COUNT(*) FROM DBC.${view} n WHERE ${sameName(db, name).replace(/\b(DatabaseName|TableName)\b/g, 'n.$1')} AND n.${who} = b.${who} AND TRIM(n.AccessRight) = TRIM(b.AccessRight) AND n.ColumnName = 'All') = 0;`;
  return [
    remark(
      `grants: the table-level rights of ${quoteIdent(db)}.${quoteIdent(backup)} go to ${sql} (written by the next SELECTs, then run)`,
    ),
    '.SET TITLEDASHES OFF',
    '.SET WIDTH 1024',
    ...(c.ansi ? ['.SET FOLDLINE ON 1'] : []),
    `.EXPORT REPORT FILE=${file}`,
    ...grants.flatMap((g) => [g, '.IF ERRORCODE <> 0 THEN .GOTO UNEXPORT_' + n]),
    '.EXPORT RESET',
    '.SET TITLEDASHES ON',
    ...(c.ansi ? ['.SET FOLDLINE OFF 1'] : []),
    `.RUN FILE=${file}`,
    missing('AllRightsV', 'UserName', ` AND ${others.replace(/\bUserName\b/g, 'b.UserName')}`),
    fail,
    `.IF ACTIVITYCOUNT > 0 THEN .GOTO ${label}`,
    missing('AllRoleRightsV', 'RoleName', ''),
    fail,
    `.IF ACTIVITYCOUNT > 0 THEN .GOTO ${label}`,
    `.GOTO GRANTED_${n}`,
    `.LABEL UNEXPORT_${n}`,
    '.EXPORT RESET',
    `.GOTO ${label}`,
    `.LABEL GRANTED_${n}`,
  ];
}

/**
 * Build aside, then swap (#73 item 3): a table the script meets under `ifExists: rename` is not renamed away before its
 * replacement is ready. The new table is created under `<name>_new_<stamp>` (the step's statements, retargeted: its
 * CREATE, COMMENT, COLLECT STATISTICS, GRANT), filled from the live table (`copyData`), given the live table's grants,
 * then two renames make it live: `RENAME TABLE t TO t_bak_<stamp>` (with the backup's ledger row, one transaction), then
 * `RENAME TABLE t_new_<stamp> TO t` (with the step's rows, one transaction: a DDL may end a transaction, SQL Data
 * Manipulation Language, BEGIN TRANSACTION). Teradata's RENAME TABLE keeps the table's rows, statistics and rights
 * with it (SQL Data Definition Language, RENAME TABLE; Database Administration, "Renaming Objects").
 *
 * Until the first rename the production name holds the old table, untouched: any failure while building (2644 no more
 * room, 2646 no spool, 2801/2802 duplicates, a GRANT that did not run) drops the new table and stops the step
 * (`ASIDE_n`). A second rename that fails renames the old table back (`UNSWAP_n`). A script killed between the two
 * renames finds its backup row on the re-run and does the second rename (`SWAP_n`). The production name is missing for
 * the instant between the renames; a request that names it then fails with 3807 (verify on a live system).
 */
async function buildAside(
  c: Ctx,
  step: PlanStep,
  n: number,
  statements: string[],
  stamp: string,
  failures: string[],
  appliedRows: (ran: string[]) => Promise<string[]>,
): Promise<string[]> {
  const { db, name, sql } = qualified(c, step);
  const aside = `${name}_new_${stamp}`.slice(0, 128);
  const asideSql = `${quoteIdent(db)}.${quoteIdent(aside)}`;
  const backup = `${name}_bak_${stamp}`.slice(0, 128);
  const backupSql = `${quoteIdent(db)}.${quoteIdent(backup)}`;
  const copy = copyRows(c, step, statements, stamp);
  const toAside = `.IF ERRORCODE <> 0 THEN .GOTO ASIDE_${n}`;
  const commit = (to: string) => (c.ansi ? ['COMMIT;', to] : []);
  const createAt = statements.findIndex((st) =>
    /^\s*CREATE\s+(?:\w+\s+)*?TABLE\b/i.test(st.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*/, '')),
  );
  const lines = [
    remark(`build aside: ${sql} stays live while ${asideSql} is created, filled and given its grants`),
    `SELECT 1 FROM DBC.TablesV WHERE ${sameName(db, aside)};`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO BUILD_${n}`,
    remark(`${asideSql} is left from a run of this script that stopped before the swap: dropped, built again`),
    `DROP TABLE ${asideSql};`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    ...commit(`.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`),
    `.LABEL BUILD_${n}`,
  ];
  const ran: string[] = [];
  for (const [i, st] of statements.entries()) {
    const built = retarget(st, db, name, aside);
    // After the copy, a COLLECT STATISTICS of the table may copy the live table's statistics (decided at run time).
    const at = { db, live: name, aside, tag: `${n}_${i + 1}`, fail: toAside, commit: commit(toAside) };
    const copied = copy && i > createAt && built !== st ? copiedStatistics(st, bteqRequest(built), at) : null;
    lines.push(...(copied ?? [bteqRequest(built), toAside, ...commit(toAside)]));
    ran.push(built);
    if (i !== createAt) continue;
    if (copy) {
      const list = copy.columns.join(', ');
      // The comment names the backup the rows end up in after the swap: `dbee rollback` counts them as the backup's.
      const fill = `/* copyData: the rows of ${sql}, renamed to ${backupSql} at the swap */\nINSERT INTO ${asideSql} (${list})\nSELECT ${list} FROM ${sql}`;
      lines.push(remark(`copyData: the rows of ${sql} go into ${asideSql}`), bteqRequest(fill), toAside);
      lines.push(...commit(toAside));
      ran.push(fill);
    }
    lines.push(...copyGrants(c, step, n, { from: name, to: aside }, `ASIDE_${n}`));
  }
  await c.journal!.backupLeft(c.id, step, `${db}.${backup}`, c.recorder);
  const backupRow = c.recorder.take();
  const first = `RENAME TABLE ${sql} TO ${backupSql}`;
  const second = `RENAME TABLE ${asideSql} TO ${sql}`;
  const stepRows = await appliedRows([...ran, first, second]);
  const inTransaction = (rows: string[], request: string, label: string): string[] => {
    const to = `.IF ERRORCODE <> 0 THEN .GOTO ${label}`;
    const body = [...rows, `${request};`].flatMap((r) => [r, to]);
    return c.ansi ? [...body, 'COMMIT;', to] : ['BT;', to, ...body, 'ET;', to];
  };
  const toAsideOnError = `.IF ERRORCODE <> 0 THEN .GOTO ASIDE_${n}`;
  lines.push(
    remark(`swap: ${sql} becomes ${backupSql} (the backup), then ${asideSql} becomes ${sql}`),
    // The production table's lock first, with NOWAIT and a bounded number of tries (#92 item 2): a reader holding it
    // makes the script wait a bounded time, then fail the step with the table as it was (ASIDE_n drops the new one).
    ...exclusiveNowait(c, sql, `SELECT TOP 1 1 FROM ${sql};`, `SWAP${n}`, `ASIDE_${n}`),
    ...[...backupRow, `${first};`].flatMap((r) => [r, toAsideOnError]),
    c.ansi ? 'COMMIT;' : 'ET;',
    toAsideOnError,
    `.LABEL SWAP_${n}`,
    ...inTransaction(stepRows, second, `UNSWAP_${n}`),
    `.GOTO SKIP_${n}`,
  );
  failures.push(
    '',
    `.LABEL UNSWAP_${n}`,
    ...(c.ansi ? ['ROLLBACK;'] : []),
    remark(`${asideSql} could not take the name ${sql}: the old table goes back under its name`),
    ...inTransaction([c.guard.backupForgotten(c.id, step.key)], `RENAME TABLE ${backupSql} TO ${sql}`, `STUCK_${n}`),
    `.GOTO ASIDE_${n}`,
    `.LABEL STUCK_${n}`,
    ...(c.ansi ? ['ROLLBACK;'] : []),
    remark(
      `${sql} is missing: its old table is ${backupSql} and the new one ${asideSql}. Rename one of them to ${sql} by hand (RENAME TABLE ${backupSql} TO ${sql}; keeps the old one), then run the script again.`,
    ),
    `.GOTO FAIL_${n}`,
    '',
    `.LABEL ASIDE_${n}`,
    ...(c.ansi ? ['ROLLBACK;'] : []),
    remark(`step ${n} failed while ${asideSql} was built: it is dropped, and ${sql} stays live as it was`),
    `SELECT 1 FROM DBC.TablesV WHERE ${sameName(db, aside)};`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO FAIL_${n}`,
    `DROP TABLE ${asideSql};`,
    ...commit(`.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`),
    `.GOTO FAIL_${n}`,
  );
  return lines;
}

/**
 * Checks the deploy script makes before its first step: a table, join index or hash index planned as its CREATE that
 * the ledger holds at another checksum than the step's was deployed from another definition. Its CREATE would fail
 * (3803) halfway through the script, after the steps before it ran. The export plans such a change as ALTER TABLE
 * steps when it can read the target (`planAgainstTarget`); a CREATE left here means it could not, or the table changed
 * after the export. The script stops first (exit 16 + i), with nothing changed. Then the guard of the objects the
 * export did plan in place (`plannedAtExport`).
 */
function changedInPlace(c: Ctx, steps: readonly PlanStep[], failures: string[]): string[] {
  const lines: string[] = [];
  for (const [idx, step] of steps.entries()) {
    if (!CREATE_ONLY_KINDS.has(step.objectKey.kind) || step.action !== 'create') continue;
    const n = idx + 1;
    const checksum = checksumStatements(step.statements, c.options.variables ?? {});
    lines.push(
      c.guard.objectNotAt(step.project, step.key, checksum),
      `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
      `.IF ACTIVITYCOUNT > 0 THEN .GOTO CHANGED_${n}`,
    );
    failures.push(
      '',
      `.LABEL CHANGED_${n}`,
      remark(
        `${qualified(c, step).sql} was deployed from another definition: this script was exported without planning that change against the target ` +
          '(it could not be read then, or the table changed after the export). Nothing was changed. Export the scripts again with the target reachable ' +
          '(dbee plan --format bteq --env), which plans the ALTER TABLE steps, or deploy the change with dbee deploy.',
      ),
      '.LOGOFF',
      `.QUIT ${bteqReturnCode(n)}`,
    );
  }
  lines.push(...plannedAtExport(c, steps, failures));
  return lines.length ? [remark('checks before the first step'), ...lines] : [];
}

/**
 * The guard of the objects the export planned in place (`BteqOptions.changedInPlace`, #73 item 4), as the view restore
 * of `rollback.btq` is guarded: their ALTER steps were planned from `SHOW TABLE` of the target when the ledger held the
 * object at one checksum; the script runs them only while it still does, or holds one its own steps wrote (a re-run),
 * or the sources' (done). Anything else (another release or `dbee deploy` changed the table since the export) stops
 * the script before its first step (exit 16 + i, nothing changed): the ALTERs would not fit the table any more.
 */
function plannedAtExport(c: Ctx, steps: readonly PlanStep[], failures: string[]): string[] {
  const lines: string[] = [];
  for (const [key, changed] of c.options.changedInPlace ?? []) {
    const idx = steps.findIndex((s) => s.order === changed.orders[0]);
    const step = steps[idx];
    if (!step) continue;
    const n = idx + 1;
    const own = steps
      .filter((s) => changed.orders.includes(s.order))
      .map((s) => checksumStatements(s.statements, c.options.variables ?? {}));
    lines.push(
      c.guard.objectAtOneOf(step.project, key, [...new Set([changed.from, changed.to, ...own])]),
      `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
      `.IF ACTIVITYCOUNT = 0 THEN .GOTO MOVED_${n}`,
    );
    failures.push(
      '',
      `.LABEL MOVED_${n}`,
      remark(
        `${qualified(c, step).sql} changed since these scripts were exported: its ALTER TABLE steps were planned from the definition the ledger recorded then, and it records another now. ` +
          'Nothing was changed. Export the scripts again (dbee plan --format bteq), which plans the change from the table as it is.',
      ),
      '.LOGOFF',
      `.QUIT ${bteqReturnCode(n)}`,
    );
  }
  return lines;
}

/**
 * The `started` row of a step, as `dbee deploy` writes one before a step that runs outside a transaction (core's step
 * journal, `StepJournal.started`), written again on a re-run (`replacesStarted`: the earlier one is deleted first).
 */
async function startedRow(c: Ctx, step: PlanStep, statements: string[], checksum: string): Promise<void> {
  const fields = { checksum, statements, reverse: step.reverse, previousDefinition: null, startedAt: new SqlNow() };
  await c.journal!.started(c.id, step, { ...fields, replacesStarted: true }, c.recorder);
}

/**
 * A step this release started and did not finish (its `started` row is in the ledger: the script was killed, or a
 * request after its first commit failed): what stands at its name was made by this release, not found there. A
 * REPLACE runs again as written. A table, join index, hash index or an object made with CREATE is dropped first
 * (a table only when it holds no row but those this release copied into it from its backup: the step stops otherwise,
 * nothing dropped), then the step runs again from its first request (`START_n`). Without the row the step goes on
 * to its conflict check (`FRESH_n`).
 */
function interrupted(c: Ctx, step: PlanStep, n: number, statements: string[], failures: string[]): string[] {
  const { db, name, sql } = qualified(c, step);
  const kind = step.objectKey.kind;
  const word = kindKeyword(kind);
  const ledgerFailed = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;
  const lines = [
    c.guard.stepIs(c.id, step.order, 'started'),
    ledgerFailed,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO FRESH_${n}`,
    remark(`step ${n} was started by this release and did not finish: it runs again from its first request`),
  ];
  const first = statements[0] ?? '';
  const replaced = /^REPLACE\b/i.test(first.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, ''));
  // An ALTER step changes what stands at the name: it is never dropped to run again (its requests that may have
  // committed before the stop are made re-runnable instead: `rerunnable`).
  if (word && !replaced && step.action !== 'alter' && (CONFLICT_KINDS.has(kind) || DEPENDENT_KINDS.has(kind))) {
    lines.push(
      `SELECT 1 FROM DBC.TablesV WHERE ${sameName(db, name)};`,
      ledgerFailed,
      `.IF ACTIVITYCOUNT = 0 THEN .GOTO START_${n}`,
    );
    if (kind === 'table') {
      // Any row stops the drop. A table renamed aside for a copy never gets here: buildAside writes no `started` row
      // (its swap is two transactions, each with its ledger rows), so the full-row EXCEPT ALL against the backup that
      // stood here was never reached; every cut point of the copy is walked in bteq-undo.test.ts (#92 item 3).
      lines.push(
        `SELECT TOP 1 1 FROM ${sql};`,
        `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
        `.IF ACTIVITYCOUNT > 0 THEN .GOTO NEWROWS_${n}`,
      );
      failures.push(
        '',
        `.LABEL NEWROWS_${n}`,
        remark(
          `${sql} was made by this release's step ${n}, which did not finish, and holds rows: it is not dropped to run the step again. ` +
            'Move the rows, drop the table by hand, then run the script again.',
        ),
        '.LOGOFF',
        `.QUIT ${bteqReturnCode(n)}`,
      );
    }
    lines.push(
      `DROP ${word} ${sql};`,
      `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
      ...(c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`] : []),
    );
  }
  lines.push(`.GOTO START_${n}`, `.LABEL FRESH_${n}`);
  return lines;
}

/** What a deploy script is built from, while it is written: the lines so far and the failure paths at its end. */
interface DeployScript {
  c: Ctx;
  plan: Plan;
  /** The deploy script's stamp: the names of its backups and of the tables it builds aside. */
  stamp: string;
  lines: string[];
  failures: string[];
  /** The line after the lock is taken (every exit from there releases it), or -1: no lock. */
  lockedFrom: number;
  token: string;
  /** The default database set last (`DATABASE`). */
  current?: string;
}

/**
 * One step of the plan as the script runs it: its facts computed once (`PreparedStep`'s habit), and the rows `dbee
 * deploy`'s step journal writes for it (core's `StepJournal`), recorded: `applied`, its step row and the object's or
 * migration's state; `failed`, its row when it fails.
 */
interface ScriptStep {
  step: PlanStep;
  /** 1-based place in the script (labels `SKIP_n`, `FAIL_n`...). */
  n: number;
  /** The step's return code (16 + n). */
  code: number;
  /** Its statements, placeholders expanded, a CREATE of a replaceable kind run as REPLACE. */
  statements: string[];
  checksum: string;
  inPlace: ChangedInPlace | undefined;
  /** Its requests commit apart: a `started` row comes first (`interrupted`). */
  marked: boolean;
  strategy: BteqConflictStrategy;
  /** A create or replace of a kind the conflict check looks up. */
  conflictable: boolean;
  /** Record it applied, having run `ran` (default its statements), with `reverse` and `action` (default the step's). */
  applied(
    ran?: string[],
    reverse?: string[] | null,
    action?: PlanStep['action'],
    replacesStarted?: boolean,
  ): Promise<void>;
  /** Record it failed, with why. */
  failed(error: string): Promise<void>;
}

/** The deploy script of a plan (see the module comment). */
export async function toBteq(plan: Plan, options: BteqOptions = {}): Promise<string> {
  const now = options.now ?? new Date();
  const ledgerOptions = options.ledger === false ? null : (options.ledger ?? null);
  const id = ledgerOptions?.deploymentId ?? defaultBteqDeploymentId(now);
  const c = context(options, id, plan);
  const checksum = ledgerOptions?.planChecksum ?? sha256(JSON.stringify(plan.steps));
  const d: DeployScript = {
    c,
    plan,
    stamp: backupStamp(now),
    lines: [...header(options), ''],
    failures: [],
    lockedFrom: -1,
    token: lockToken(id, checksum),
  };
  const steps = plan.steps;
  d.lines.push(
    remark(
      `dbee deploy: ${steps.length} step${steps.length === 1 ? '' : 's'} of ${plan.projects.join(', ') || 'plan'}${c.ledger ? `, deployment ${id}` : ''}`,
    ),
  );
  if (c.ledger && ledgerOptions) await deploymentStart(d, ledgerOptions, checksum);
  for (const [idx, step] of steps.entries()) await deployStep(d, prepared(d, step, idx), idx);
  d.lines.push('');
  if (c.ledger) {
    await closeDeployment(c, 'succeeded', { transaction: 'object', smoke: 'not run' });
    d.lines.push(...ledgerGroup(c, c.recorder.take()), '.LABEL DONE');
  }
  d.lines.push('.LOGOFF', '.QUIT 0', ...d.failures);
  return finish(c, options, d.lines, d.lockedFrom, d.token);
}

/**
 * Before the first step: the ledger made or upgraded, the lock taken, the checks of this deployment's id and of the
 * tables changed in place, then the deployment's row; a deployment the ledger records as succeeded ends at once, one
 * it records as started resumes (`RESUME`).
 */
async function deploymentStart(d: DeployScript, ledgerOptions: BteqLedgerOptions, checksum: string): Promise<void> {
  const { c, plan, lines } = d;
  const id = c.id;
  const project = plan.projects.join(',');
  lines.push(...ensureLedger(c), ...acquireLock(c, d.token), '');
  d.lockedFrom = lines.length;
  const own = { project, environment: ledgerOptions.environment, kind: 'deploy', plan_checksum: checksum };
  lines.push(...idTaken(c, id, own), ...changedInPlace(c, plan.steps, d.failures));
  lines.push(
    remark(`deployment ${id}: ends at once when the ledger already records it as succeeded, resumes it when it failed`),
    c.guard.deploymentSucceeded(id),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    '.IF ACTIVITYCOUNT > 0 THEN .GOTO DONE',
    c.guard.deploymentStarted(id),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    '.IF ACTIVITYCOUNT > 0 THEN .GOTO RESUME',
  );
  // Opened as `dbee deploy` opens its deployment. The ledger state before it is not known when the script is written:
  // recorded as unknown (`before: null`), never as the empty state the recorder's reads would make up.
  await Deployment.open(c.ledger!, {
    project,
    environment: ledgerOptions.environment,
    kind: 'deploy',
    planChecksum: checksum,
    package: ledgerOptions.package ?? null,
    ticket: ledgerOptions.ticket ?? null,
    gitCommit: ledgerOptions.gitCommit ?? plan.sourceCommit ?? null,
    toolVersion: ledgerOptions.toolVersion ?? 'dbee-bteq',
    osUser: ledgerOptions.osUser ?? 'bteq',
    ciJob: null,
    host: ledgerOptions.host ?? 'bteq',
    stepsTotal: plan.steps.length,
    before: null,
  });
  lines.push(...ledgerGroup(c, c.recorder.take()), '.LABEL RESUME');
}

/**
 * A step's statements as the deploy script runs and records them: placeholders expanded, and a view, macro, procedure,
 * function or trigger written with CREATE (as SHOW, d-bee and dbee extract write them) run as REPLACE: its CREATE would
 * fail (3804...) once the object exists, halfway through the script (#64 S1).
 */
function scriptStatements(c: Ctx, step: PlanStep): string[] {
  return step.statements
    .map(c.expand)
    .map((st, i) => (i === 0 && REPLACEABLE_KINDS.has(step.objectKey.kind) ? toReplace(st) : st));
}

/** A plan step's facts and its ledger rows (`ScriptStep`). */
function prepared(d: DeployScript, step: PlanStep, idx: number): ScriptStep {
  const { c } = d;
  const options = c.options;
  const statements = scriptStatements(c, step);
  const checksum = checksumStatements(step.statements, options.variables ?? {});
  const inPlace = step.action === 'alter' ? options.changedInPlace?.get(step.key) : undefined;
  // A step whose requests commit apart (several requests, or a procedure whose rows follow its compile check) can be
  // cut between them: it writes a `started` row first, so that a re-run knows what it finds was made by this release.
  const marked =
    c.ledger !== null &&
    step.action !== 'migrate' &&
    (statements.length > 1 || (statements.length === 1 && isProcedure(statements[0]!)));
  return {
    step,
    n: idx + 1,
    code: bteqReturnCode(idx + 1),
    statements,
    checksum,
    inPlace,
    marked,
    strategy: options.conflictStrategy?.(step) ?? 'raise',
    conflictable: CONFLICT_KINDS.has(step.objectKey.kind) && (step.action === 'create' || step.action === 'replace'),
    applied: (
      ran = statements,
      reverse = step.reverse,
      action = step.action,
      // The applied row replaces the step's `started` row; a failed one keeps it for the re-run (`interrupted`).
      replacesStarted = marked,
    ) => {
      const record: AppliedRecord = {
        deploymentId: c.id,
        step: action === step.action ? step : { ...step, action },
        checksum,
        statements: ran,
        reverse,
        previousDefinition: null,
        replacesStarted,
        timing: { startedAt: new SqlNow(), durationMs: 0 },
        // An object planned in place at export: its last step records the sources' checksum (#73 item 4).
        ...(inPlace && step.order === inPlace.orders.at(-1) ? { stateChecksum: inPlace.to } : {}),
      };
      return c.journal!.writeApplied(record, null, c.recorder);
    },
    failed: (error) =>
      c.journal!.writeOutcome(
        c.id,
        step,
        'failed',
        {
          checksum,
          statements,
          reverse: step.reverse,
          startedAt: new SqlNow(),
          durationMs: 0,
          error,
          replacesStarted: false,
        },
        c.recorder,
      ),
  };
}

/**
 * One step: the lock's heartbeat (BTEQ's own control flow, as the runner proves its lock before a step), then the
 * step's stages in the runner's order (`sendStep`, core's runner/step-stages.ts), rendered as lines of the script: the
 * default database; the run-time checks that skip a step the ledger already has, resume one this release started, or
 * meet an object the ledger does not know; the `started` row; the requests; the step's rows with its last request
 * (`stepRows`).
 */
async function deployStep(d: DeployScript, s: ScriptStep, idx: number): Promise<void> {
  const { c, plan, lines } = d;
  const { step, n, statements } = s;
  if (d.lockedFrom >= 0) lines.push(...heartbeat(c, d.token));
  lines.push('', remark(`step ${n}/${plan.steps.length}: ${step.action} ${c.expand(step.key)}`));
  await sendStep({
    path: async () => void lines.push(...defaultDatabase(d, step, idx)),
    prepare: async () => {
      if (!c.ledger) return;
      lines.push(...alreadyDone(c, s));
      if (s.marked) lines.push(...interrupted(c, step, n, statements, d.failures));
      // Conflicts: an object the ledger does not know that exists on the target. Under `ignore` the step runs over
      // it as written, but from a copy of its requests of its own (OVER_n) that records no reverse: the earlier
      // definition is not known to the script, and its planned reverse (a DROP) would lose the object.
      lines.push(...namespaceConflict(c, s));
      if (s.conflictable) lines.push(...(await objectConflict(d, s)));
    },
    started: async () => {
      if (!statements.length) lines.push(remark('nothing to run'));
      if (!s.marked) return;
      // The step's `started` row, committed before its first request: a re-run after a kill finds it (interrupted).
      await startedRow(c, step, statements, s.checksum);
      lines.push(`.LABEL START_${n}`, ...ledgerGroup(c, c.recorder.take()));
    },
    statements: async () => void lines.push(...stepRequests(c, s, '')),
    applied: async () => {
      if (c.ledger) await stepRows(d, s);
    },
  });
}

/**
 * Each project's unqualified names resolve in the first database of its search path, as with the runner: the default
 * database is set before the first step of each project (before the step's checks, so that no `.GOTO` of an earlier
 * step jumps over it).
 */
function defaultDatabase(d: DeployScript, step: PlanStep, idx: number): string[] {
  const { c, plan } = d;
  const first = (project: string) => plan.searchPaths?.[project]?.[0];
  const database = first(step.project) ?? (idx === 0 ? first(plan.projects[0] ?? '') : undefined);
  if (!database || database === d.current) return [];
  d.current = database;
  return [`DATABASE ${quoteIdent(c.expand(database))};`, '.IF ERRORCODE <> 0 THEN .QUIT 8'];
}

/** Rerun-safe: the ledger already has this step's result (`SKIP_n`). */
function alreadyDone(c: Ctx, s: ScriptStep): string[] {
  const { step, n } = s;
  const ledgerFailed = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;
  const lines: string[] = [];
  if (step.action === 'migrate') {
    lines.push(c.guard.migrationRun(step.project, migrationVersionOf(step.objectKey.name)));
    lines.push(ledgerFailed, `.IF ACTIVITYCOUNT > 0 THEN .GOTO SKIP_${n}`);
  } else if (step.action === 'drop') {
    lines.push(c.guard.objectKnown(step.project, step.key));
    lines.push(ledgerFailed, `.IF ACTIVITYCOUNT = 0 THEN .GOTO SKIP_${n}`);
  } else {
    lines.push(c.guard.objectAt(step.project, step.key, s.checksum));
    lines.push(ledgerFailed, `.IF ACTIVITYCOUNT > 0 THEN .GOTO SKIP_${n}`);
  }
  if (s.inPlace)
    // Done by a run of this script: the object is at the sources' checksum, or this step's row is applied.
    lines.push(
      c.guard.objectAt(step.project, step.key, s.inPlace.to),
      ledgerFailed,
      `.IF ACTIVITYCOUNT > 0 THEN .GOTO SKIP_${n}`,
      c.guard.stepIs(c.id, step.order, 'applied'),
      ledgerFailed,
      `.IF ACTIVITYCOUNT > 0 THEN .GOTO SKIP_${n}`,
    );
  return lines;
}

/**
 * A database, user, role or profile the ledger does not know that exists (`NAMESPACE_VIEWS`): `skip` jumps over the
 * step, `ignore` runs it, anything else fails it (dbee never renames or drops one).
 */
function namespaceConflict(c: Ctx, s: ScriptStep): string[] {
  const { step, n, strategy } = s;
  const namespace = step.action === 'create' ? NAMESPACE_VIEWS[step.objectKey.kind] : undefined;
  if (!namespace) return [];
  const name = c.expand(step.objectKey.name);
  const what = `${step.objectKey.kind} ${quoteIdent(name)}`;
  return [
    c.guard.objectKnown(step.project, step.key),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT > 0 THEN .GOTO RUN_${n}`,
    `SELECT 1 FROM DBC.${namespace.view} WHERE UPPER(${namespace.column}) = ${quoteString(name.toUpperCase())};`,
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO RUN_${n}`,
    remark(`${what} exists and the ledger does not know it: ifExists ${strategy}`),
    ...(strategy === 'skip'
      ? [`.GOTO SKIP_${n}`]
      : strategy === 'ignore'
        ? [`.GOTO RUN_${n}`]
        : [
            ...(strategy === 'raise' ? [] : [remark(`dbee never renames or drops a ${step.objectKey.kind}`)]),
            `.GOTO FAIL_${n}`,
          ]),
    `.LABEL RUN_${n}`,
  ];
}

/**
 * A table, view, macro, procedure, function, index... the ledger does not know that stands at the step's name: the
 * environment's `ifExists` strategy (the module comment), after the join indexes, hash indexes and triggers the
 * sources define on a table that goes are dropped (`dependentsFirst`).
 */
async function objectConflict(d: DeployScript, s: ScriptStep): Promise<string[]> {
  const { c } = d;
  const { step, n, strategy } = s;
  const { db, name, sql } = qualified(c, step);
  const kind = step.objectKey.kind;
  const lines = [
    c.guard.objectKnown(step.project, step.key),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT > 0 THEN .GOTO RUN_${n}`,
    // A build aside (buildAside) stopped between its two renames: its backup row is there, the swap is finished.
    ...(strategy === 'rename' && kind === 'table'
      ? [
          c.guard.backupOpen(c.id, step.key),
          `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
          `.IF ACTIVITYCOUNT > 0 THEN .GOTO SWAP_${n}`,
        ]
      : []),
    `SELECT 1 FROM DBC.TablesV WHERE ${sameName(db, name)};`,
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO RUN_${n}`,
    remark(`${sql} exists and the ledger does not know it: ifExists ${strategy}`),
  ];
  const word = kindKeyword(kind)!;
  if ((strategy === 'rename' || strategy === 'drop') && kind === 'table')
    lines.push(...dependentsFirst(c, d.plan.steps, n, `${db}.${name}`.toUpperCase()));
  if (strategy === 'ignore') lines.push(`.GOTO OVER_${n}`);
  else if (strategy === 'raise') lines.push(`.GOTO FAIL_${n}`);
  else if (strategy === 'rename' && NO_RENAME[kind])
    lines.push(
      remark(
        `Teradata has no ${NO_RENAME[kind]}: ${sql} cannot be renamed aside. Nothing was changed for it. Choose ifExists: drop (DROP ${word}${kind === 'type' ? ', refused while a column uses it' : ''}) or skip for this file, or drop it yourself, then export and run again.`,
      ),
      `.GOTO FAIL_${n}`,
    );
  // skip: the existing object stays as it is; the step does not run and writes no ledger row.
  else if (strategy === 'skip') lines.push(`.GOTO SKIP_${n}`);
  else if (strategy === 'drop' || kind === 'join-index' || kind === 'hash-index')
    lines.push(
      `DROP ${word} ${sql};`,
      `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
      ...(c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`] : []),
    );
  else lines.push(...(await renamedAside(d, s)));
  lines.push(`.LABEL RUN_${n}`);
  return lines;
}

/** What stands on a table that goes (and is defined in the sources) is dropped first, if it is there. */
function dependentsFirst(c: Ctx, steps: readonly PlanStep[], n: number, table: string): string[] {
  return sourceDependents(c, steps, table).flatMap((dep, j) => [
    `SELECT 1 FROM DBC.TablesV WHERE ${sameName(dep.db, dep.name)};`,
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO DEP_${n}_${j + 1}`,
    `DROP ${dep.word} ${quoteIdent(dep.db)}.${quoteIdent(dep.name)};`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    ...(c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`] : []),
    `.LABEL DEP_${n}_${j + 1}`,
  ]);
}

/**
 * `ifExists: rename`: a table is built aside and swapped (`buildAside`), after the checks a copy of its rows needs
 * (`copyChecks`); any other kind is renamed to its backup name with the backup's ledger row in one transaction (a
 * RENAME that fails leaves no row, and a backup is never made without its row).
 */
async function renamedAside(d: DeployScript, s: ScriptStep): Promise<string[]> {
  const { c } = d;
  const { step, n } = s;
  const { db, name, sql } = qualified(c, step);
  const copy = copyRows(c, step, s.statements, d.stamp);
  const lines = copy ? copyChecks(c, s, copy, d.failures) : [];
  const backup = `${name}_bak_${d.stamp}`.slice(0, 128);
  if (step.objectKey.kind === 'table') {
    const appliedRows = async (ran: string[]) => {
      const back = `RENAME TABLE ${quoteIdent(db)}.${quoteIdent(backup)} TO ${sql}`;
      await s.applied(ran, step.reverse ? [...step.reverse, back] : null);
      return c.recorder.take();
    };
    return [...lines, ...(await buildAside(c, step, n, s.statements, d.stamp, d.failures, appliedRows))];
  }
  await c.journal!.backupLeft(c.id, step, `${db}.${backup}`, c.recorder);
  const rename = `RENAME ${kindKeyword(step.objectKey.kind)} ${sql} TO ${quoteIdent(db)}.${quoteIdent(backup)};`;
  return [...lines, ...withRows(c, c.recorder.take(), [rename, `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`], n)];
}

/**
 * Before a table is renamed aside for a copy of its rows: it has every column of the new table (the script cannot pick
 * the shared columns at run time), it holds no duplicate a SET table would drop, and its database has room for the
 * copy (`roomForCopy`). Each fails the step with nothing renamed.
 */
function copyChecks(
  c: Ctx,
  s: ScriptStep,
  copy: NonNullable<ReturnType<typeof copyRows>>,
  failures: string[],
): string[] {
  const { step, n, code } = s;
  const { db, name, sql } = qualified(c, step);
  const plain = (col: string) =>
    col
      .replace(/^"(.*)"$/, '$1')
      .replace(/""/g, '"')
      .toUpperCase();
  const lines = [
    remark(
      `copyData: ${sql} must have every column of the new table (${copy.columns.length}); else the step fails before the rename`,
    ),
    `SELECT 1 FROM DBC.ColumnsV WHERE ${sameName(db, name)} AND UPPER(ColumnName) IN (${copy.columns.map((col) => quoteString(plain(col))).join(', ')});`,
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT <> ${copy.columns.length} THEN .GOTO FAIL_${n}`,
  ];
  if (copy.set && !c.ansi) {
    // A SET table keeps one row of each set of duplicates an INSERT ... SELECT brings, silently, in Teradata
    // mode (SQL Data Manipulation Language, INSERT ... SELECT, "Duplicate Rows and INSERT"; ANSI mode fails
    // the request): a table holding duplicates stops the step here, before anything is renamed.
    const list = copy.columns.join(', ');
    lines.push(
      // A unique primary or secondary index over copied columns: no duplicates possible, nothing to read.
      `${uniqueIndexOver(db, name, copy.columns)};`,
      `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
      `.IF ACTIVITYCOUNT > 0 THEN .GOTO NODUPS_${n}`,
      `SELECT TOP 1 1 FROM (SELECT ${list} FROM ${sql} EXCEPT ALL SELECT DISTINCT ${list} FROM ${sql}) d;`,
      `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
      `.IF ACTIVITYCOUNT > 0 THEN .GOTO DUPS_${n}`,
      `.LABEL NODUPS_${n}`,
    );
    failures.push(
      '',
      `.LABEL DUPS_${n}`,
      remark(
        `${sql} holds duplicate rows, and the new table is a SET table: the copy would keep one of each without a word. Nothing was renamed. ` +
          'Remove the duplicates, or make the new table MULTISET, then run the script again.',
      ),
      '.LOGOFF',
      `.QUIT ${code}`,
    );
  }
  return [...lines, ...roomForCopy(db, name, sql, n, code, failures)];
}

/**
 * Whether the step's last request carries the step's ledger rows in its transaction (`withRows`): not a procedure,
 * whose compile result is tested after the request (nothing but ET or COMMIT may follow a DDL in a transaction, not
 * even the ABORT that a procedure which did not compile would need).
 */
function bundledLast(c: Ctx, s: ScriptStep): boolean {
  const last = s.statements.length - 1;
  return c.ledger !== null && last >= 0 && !isProcedure(s.statements[last]!);
}

/** The step's requests but the bundled last one; `tag` keeps the labels of a second copy (OVER_n) apart. */
function stepRequests(c: Ctx, s: ScriptStep, tag: string): string[] {
  const { step, n, code, statements } = s;
  const fail = c.ledger ? `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}` : `.IF ERRORCODE <> 0 THEN .QUIT ${code}`;
  const bundled = bundledLast(c, s);
  const out: string[] = [];
  for (const [i, st] of statements.entries()) {
    if (bundled && i === statements.length - 1) break;
    const again = step.action === 'alter' ? rerunnable(st) : null;
    out.push(bteqRequest(st));
    if (again) out.push(`.IF ERRORCODE = ${again} THEN .GOTO AGAIN_${tag}${n}_${i + 1}`);
    out.push(fail, ...(again ? [`.LABEL AGAIN_${tag}${n}_${i + 1}`] : []));
    if (isProcedure(st)) out.push(...compiled(`${tag}${n}_${i + 1}`, c.ledger ? `.GOTO FAIL_${n}` : `.QUIT ${code}`));
    if (c.ansi) out.push('COMMIT;', fail);
  }
  return out;
}

/**
 * The step's ledger rows, with its last request where it is bundled: the rows of an object renamed aside by this run
 * (`PLAIN_n` when it was not), the applied rows (under the table's NOWAIT lock for an ALTER of a table: #92 item 2),
 * the `ignore` copy run over an unknown object (`OVER_n`), then `SKIP_n`; and the step's failure path (`FAIL_n`).
 */
async function stepRows(d: DeployScript, s: ScriptStep): Promise<void> {
  const { c, lines } = d;
  const { step, n } = s;
  const bundled = bundledLast(c, s);
  const fail = `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`;
  const lastRequest = bundled ? [bteqRequest(s.statements.at(-1)!), fail] : [];
  const rowsWith = (rows: string[]) => (bundled ? withRows(c, rows, lastRequest, n) : ledgerGroup(c, rows));
  const kind = step.objectKey.kind;
  // A table renamed aside went through buildAside, which records its own rows.
  if (
    s.conflictable &&
    s.strategy === 'rename' &&
    !['table', 'join-index', 'hash-index'].includes(kind) &&
    !NO_RENAME[kind]
  ) {
    // When this run renamed an object aside (its backup row exists), the step row says so as the runner's does:
    // its reverse puts the backup back after dropping the new object, so that `dbee rollback` restores it.
    const { db, name, sql } = qualified(c, step);
    const backup = `${quoteIdent(db)}.${quoteIdent(`${name}_bak_${d.stamp}`.slice(0, 128))}`;
    const back = `RENAME ${kindKeyword(kind)} ${backup} TO ${sql}`;
    await s.applied(s.statements, step.reverse ? [...step.reverse, back] : null);
    const rows = c.recorder.take();
    lines.push(
      c.guard.backupOpen(c.id, step.key),
      `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
      `.IF ACTIVITYCOUNT = 0 THEN .GOTO PLAIN_${n}`,
      ...rowsWith(rows),
      `.GOTO SKIP_${n}`,
      `.LABEL PLAIN_${n}`,
    );
  }
  await s.applied();
  const rows = c.recorder.take();
  // An ALTER of a table takes the table's lock first, with NOWAIT and a bounded number of tries (#92 item 2).
  const locked = bundled && step.action === 'alter' && kind === 'table';
  lines.push(
    ...(locked ? lockedRows(c, qualified(c, step).sql, rows, lastRequest, `${n}`, `FAIL_${n}`) : rowsWith(rows)),
  );
  if (s.conflictable && s.strategy === 'ignore') {
    // ifExists ignore over an object the ledger did not know: the same requests, recorded as a `replace` with no
    // reverse, as the runner records a step whose earlier definition it could not read. `dbee rollback` then
    // refuses to undo the step (ROLLBACK_IRREVERSIBLE) instead of dropping the object, and so does the rollback
    // script (rollbackPreflight).
    await s.applied(s.statements, null, 'replace', false);
    const over = c.recorder.take();
    lines.push(
      `.GOTO SKIP_${n}`,
      `.LABEL OVER_${n}`,
      remark(`${qualified(c, step).sql} exists and the ledger does not know it: ifExists ignore, run over it`),
      ...stepRequests(c, s, 'OVER'),
      ...rowsWith(over),
    );
  }
  lines.push(`.LABEL SKIP_${n}`);
  const error = `step ${n} (${c.expand(step.key)}) failed; see the BTEQ output`;
  await s.failed(error);
  await closeDeployment(c, 'failed', { transaction: 'object', failedAt: 'bteq' }, { error, statement: null });
  d.failures.push('', `.LABEL FAIL_${n}`, ...(c.ansi ? ['ROLLBACK;'] : []), ...ledgerGroup(c, c.recorder.take()));
  d.failures.push('.LOGOFF', `.QUIT ${s.code}`);
}

/**
 * The script's text: the header names the tables it locks exclusively (known once every step is written), and every
 * exit after `lockedFrom` releases the lock row (`withLock`).
 */
function finish(c: Ctx, options: BteqOptions, lines: string[], lockedFrom: number, token: string): string {
  const named = exclusiveRemark(c);
  lines.splice(header(options).length + 1, 0, ...named);
  const from = lockedFrom >= 0 ? lockedFrom + named.length : -1;
  return (from >= 0 ? withLock(c, lines, from, token) : lines).join('\n') + '\n';
}

/**
 * The names the release's scripts give an object's copies (`stamp`: the deploy script's, shared by the rollback script
 * written with it): `backup`, what the deploy script's `rename` moved aside (`<name>_bak_<stamp>`, recorded in the
 * ledger's `backups`); `aside`, where the rollback script moves the deployed table before it drops it
 * (`<name>_rb_<stamp>`).
 */
function tableBackupNames(c: Ctx, step: PlanStep, stamp: string): { backup: string; aside: string } {
  const name = c.expand(step.objectKey.name);
  return { backup: `${name}_bak_${stamp}`.slice(0, 128), aside: `${name}_rb_${stamp}`.slice(0, 128) };
}

/** Kinds a source defines with REPLACE: a `create` step of one may have changed an object the ledger already had. */
const REPLACE_KINDS = new Set(['view', 'macro', 'procedure', 'function', 'trigger']);

/** Whether a step (re)defines its object with `REPLACE ...`: every step of these kinds, since the deploy script runs a
 * CREATE of one as REPLACE (#64 S1). */
function replaces(step: PlanStep): boolean {
  return REPLACE_KINDS.has(step.objectKey.kind);
}

/**
 * Join and hash indexes made by hand that a step of the deployment dropped to make its own (a conflict: the ledger did
 * not know them; their text captured at export), made again once every step is undone and the tables they stand on
 * are back (before that, a RENAME of the table would be refused). Each when nothing stands at its name: every step
 * is undone at this point, so the name is empty only when the deployment dropped the index (its step undone, or killed
 * between the DROP and the step's ledger rows, which leaves no row to say so); a re-run after a kill makes what is
 * missing and nothing twice (#64 S4). One made by hand that a DBA dropped after the export is made again too.
 */
async function remadeIndexes(
  c: Ctx,
  steps: readonly PlanStep[],
  deployed: number,
  failures: string[],
): Promise<string[]> {
  if (!c.ledger) return [];
  const lines: string[] = [];
  for (const [idx, step] of steps.entries()) {
    const captured = c.options.previous?.get(c.expand(step.key));
    if (!captured || captured.checksum !== null || !DEPENDENT_KINDS.has(step.objectKey.kind)) continue;
    const n = idx + 1;
    const { db, name, sql } = qualified(c, step);
    lines.push(
      remark(`${sql}: the ${step.objectKey.kind} the deployment dropped (made by hand) is made again`),
      `SELECT 1 FROM DBC.TablesV WHERE ${sameName(db, name)};`,
      `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
      `.IF ACTIVITYCOUNT > 0 THEN .GOTO REMADE_${n}`,
      bteqRequest(captured.definition),
      `.IF ERRORCODE <> 0 THEN .GOTO REMAKE_FAILED_${n}`,
      ...(c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .GOTO REMAKE_FAILED_${n}`] : []),
      `.LABEL REMADE_${n}`,
    );
    const error = `every step was undone; ${c.expand(step.key)}, made by hand and dropped by deployment ${deployed}, could not be made again`;
    await closeDeployment(c, 'failed', {}, { error, statement: null });
    failures.push(
      '',
      `.LABEL REMAKE_FAILED_${n}`,
      ...(c.ansi ? ['ROLLBACK;'] : []),
      ...ledgerGroup(c, c.recorder.take()),
      remark(
        `every step was undone, but ${sql} (made by hand, dropped by the deployment) could not be made again: run its definition by hand (dbee plan --format bteq printed it in this script)`,
      ),
      '.LOGOFF',
      `.QUIT ${bteqReturnCode(n)}`,
    );
  }
  return lines;
}

/** The ledger checksum of a replaceable object whose earlier text was captured at export (null: none captured). */
function capturedChecksum(c: Ctx, step: PlanStep): string | null {
  return c.options.previous?.get(c.expand(step.key))?.checksum ?? null;
}

/**
 * The undo of a step that (re)defined a view, macro, procedure, function or trigger, when its earlier text was
 * captured at export: a step that changed the object (its row has a `previous_checksum`; the checks before the undo
 * made sure it is the captured one) gets that text back with `REPLACE`, and goes on at `UNDONE_n`; a step that created
 * it goes on to its planned reverse (`CREATED_n`: the DROP). A REPLACE is one request, so a run killed around it
 * finds the earlier text or the release's, and replaces again when re-run (#64 S4).
 */
function restoreChanged(c: Ctx, step: PlanStep, n: number, deployed: number): string[] {
  const captured = c.options.previous?.get(c.expand(step.key));
  if (!captured?.checksum || !replaces(step)) return [];
  const fail = `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`;
  return [
    c.guard.stepChangedObject(deployed, step.order),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO CREATED_${n}`,
    remark(`${qualified(c, step).sql} gets back the definition it had before deployment ${deployed}`),
    bteqRequest(captured.definition),
    fail,
    ...(isProcedure(captured.definition) ? compiled(`R${n}`, `.GOTO FAIL_${n}`) : []),
    ...(c.ansi ? ['COMMIT;', fail] : []),
    `.GOTO UNDONE_${n}`,
    `.LABEL CREATED_${n}`,
  ];
}

/**
 * The move that takes the deployed table away from its name (`RENAME TABLE t TO t_rb_<stamp>`), under the same lock as
 * the data check (#73 item 5): `LOCKING TABLE t FOR EXCLUSIVE` on the check's first request holds the table until the
 * transaction ends ("the lock is held until the transaction completes", SQL Data Manipulation Language, LOCKING Request
 * Modifier), and the RENAME is that transaction's last request (a DDL may end a transaction: BEGIN TRANSACTION, "Rules
 * for Transactions Containing DDL Statements"). No load can write a row between the check and the rename. Rows written
 * since the deployment abort the transaction (`ABORT` / `ROLLBACK`) and stop the script there (exit 16 + i): the steps
 * undone before it stay undone, this table is untouched, and a run of the script after the rows are moved goes on from
 * here. The check before anything is undone (`rollbackPreflight`) makes the same comparison without the lock.
 */
function lockedSwap(
  c: Ctx,
  step: PlanStep,
  n: number,
  code: number,
  names: { table: string; backup: string; aside: string; stamp: string; deployed: number },
  failures: string[],
): string[] {
  const fail = `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`;
  const rename = `RENAME TABLE ${names.table} TO ${names.aside};`;
  const copy = copyRows(c, step, step.statements.map(c.expand), names.stamp);
  const checks = copy ? changedRows(copy, names.table, names.backup) : [`SELECT TOP 1 1 FROM ${names.table};`];
  failures.push(
    '',
    `.LABEL LOCKROWS_${n}`,
    c.ansi ? 'ROLLBACK;' : 'ABORT;',
    remark(
      `${names.table} received rows since deployment ${names.deployed} while this script ran (rows its backup does not hold or holds otherwise; found under its lock, right before it would have been renamed aside): ` +
        'it was left as it is, with its rows; the steps undone before it stay undone. Move the rows you need into the backup, then run this script again.',
    ),
    '.LOGOFF',
    `.QUIT ${code}`,
  );
  return [
    // A cheap read takes the table's lock, with NOWAIT and a bounded number of tries (#92 item 2); without a copy it
    // is the check itself (any row was written since), else the comparisons follow under the lock.
    ...exclusiveNowait(c, names.table, `SELECT TOP 1 1 FROM ${names.table};`, `${n}`, `FAIL_${n}`),
    ...(copy ? checks : []).flatMap((q) => [q, fail, `.IF ACTIVITYCOUNT > 0 THEN .GOTO LOCKROWS_${n}`]),
    ...(copy ? [] : [`.IF ACTIVITYCOUNT > 0 THEN .GOTO LOCKROWS_${n}`]),
    rename,
    fail,
    c.ansi ? 'COMMIT;' : 'ET;',
    fail,
  ];
}

/**
 * The undo of an ALTER step's last reverse request `st` with the step's undo `rows`, as the deploy script writes a step
 * (`withRows`): one transaction, `BT; <lock>; <rows>; <ALTER>; ET;` (`<lock>; <rows>; <ALTER>; COMMIT;` in ANSI mode),
 * so that a run killed anywhere leaves both or neither and its re-run finishes (#92 item 1). The transaction starts by
 * locking the table (`exclusiveNowait`). A column drop (the undo of an added column) is guarded twice: by the
 * dictionary (`DBC.ColumnsV`: a column already gone, dropped by hand, is not dropped again; the rows alone are written,
 * at `UNDONE_n`) and by its values, read under the lock: a value other than NULL and the default the release's ADD gave
 * was written since the deployment, and stops the script (exit 16 + i, `FILLED_n`) with the column and its values
 * kept. A default that is not a literal (`CURRENT_DATE`, `USER`, `WITH DEFAULT`) is not known to the script: any value
 * then counts as written since.
 */
function undoAlter(
  c: Ctx,
  step: PlanStep,
  n: number,
  st: string,
  rows: string[],
  deployed: number,
  failures: string[],
): string[] {
  const { db, name, sql } = qualified(c, step);
  const fail = `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`;
  const check = `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`;
  const column = /^\s*ALTER\s+TABLE\s+\S+\s+DROP\s+("(?:[^"]|"")+"|[\w$#]+)\s*;?\s*$/i.exec(st)?.[1];
  const lines: string[] = [];
  let probe = `SELECT TOP 1 1 FROM ${sql};`;
  if (column) {
    const plain = column.replace(/^"(.*)"$/, '$1').replace(/""/g, '"');
    const dflt = addedDefault(step.statements.map(c.expand), plain);
    lines.push(
      remark(`${sql}.${column} is dropped when it is there and holds no value written since deployment ${deployed}`),
      `SELECT 1 FROM DBC.ColumnsV WHERE ${sameName(db, name)} AND UPPER(ColumnName) = ${quoteString(plain.toUpperCase())};`,
      check,
      `.IF ACTIVITYCOUNT = 0 THEN .GOTO UNDONE_${n}`,
    );
    probe = `SELECT TOP 1 1 FROM ${sql} WHERE ${column} IS NOT NULL${dflt ? ` AND ${column} <> ${dflt}` : ''};`;
    failures.push(
      '',
      `.LABEL FILLED_${n}`,
      c.ansi ? 'ROLLBACK;' : 'ABORT;',
      remark(
        `${sql}.${column} holds values written since deployment ${deployed} (values other than NULL${dflt ? ` and its default ${dflt}` : ''}): ` +
          'it was not dropped; this step and the ones after it are not undone. Keep what you need elsewhere and clear the column ' +
          `(UPDATE ${sql} SET ${column} = ${dflt ?? 'NULL'}), or drop it yourself, then run this script again.`,
      ),
      '.LOGOFF',
      `.QUIT ${bteqReturnCode(n)}`,
    );
  }
  lines.push(
    ...exclusiveNowait(c, sql, probe, `${n}`, `FAIL_${n}`),
    ...(column ? [`.IF ACTIVITYCOUNT > 0 THEN .GOTO FILLED_${n}`] : []),
    ...rows.flatMap((r) => [r, check]),
    bteqRequest(st),
    fail,
    c.ansi ? 'COMMIT;' : 'ET;',
    fail,
  );
  return lines;
}

/** The literal DEFAULT the release's `ALTER TABLE ... ADD <column>` gave the column, or null (none, or not a literal). */
function addedDefault(statements: string[], column: string): string | null {
  const name = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const add = new RegExp(
    String.raw`\bADD\s+"?${name}"?\s[^;]*?\bDEFAULT\s+('(?:[^']|'')*'|-?\d+(?:\.\d+)?)(?=\s|,|$)`,
    'i',
  );
  for (const st of statements) {
    const m = add.exec(st);
    if (m) return m[1]!;
  }
  return null;
}

/**
 * The rollback's refusal up front (#73 item 5): a table the data check would compare whose size, with its backup's,
 * passes `rollbackCheckMaxBytes` (`DBC.TableSizeV` CurrentPerm, summed over the AMPs) is not compared: the script stops
 * before anything is undone and says so (the row above the message: the bytes), instead of scanning it in the change
 * window.
 */
function tooLarge(db: string, names: string[], max: number): string {
  const tables = names.map((n) => `UPPER(TableName) = ${quoteString(n.toUpperCase())}`).join(' OR ');
  return (
    `SELECT s.table_bytes, ${max} AS max_bytes FROM (SELECT SUM(CurrentPerm) AS table_bytes FROM DBC.TableSizeV ` +
    `WHERE UPPER(DatabaseName) = ${quoteString(db.toUpperCase())} AND (${tables})) s WHERE s.table_bytes > ${max};`
  );
}

/**
 * Checks the rollback script makes before it changes anything (nothing is undone, nothing written to the ledger, when
 * one fails; the script exits with the code of the step, 16 + i, and says why):
 *
 * - A REPLACE step (view, macro, procedure, function, trigger) that changed an object the ledger already had (its
 *   step row has a `previous_checksum`): undoing it means bringing the earlier text back, which only the ledger holds
 *   (the steps of the deployment that applied it) and BTEQ cannot read into a request. Dropping it, as the step's
 *   planned reverse says, would leave no object at all, so the script stops and points at `dbee rollback`, which
 *   restores the earlier text from the ledger.
 * - A table the rollback would drop that holds rows: without a backup, it is never dropped; with the backup renamed
 *   aside by the deployment, dropping it to rename the backup back would lose the rows written since the deployment
 *   (and those `copyData` copied), so the script stops too.
 */
function rollbackPreflight(
  c: Ctx,
  steps: readonly PlanStep[],
  deployed: number,
  stamp: string,
  failures: string[],
): string[] {
  const lines: string[] = [remark('checks before anything is undone')];
  for (const [idx, step] of steps.entries()) {
    const n = idx + 1;
    const code = bteqReturnCode(n);
    // Stops the script (at `label`, with the step's code and `why`) when `query` finds a row.
    const stopWhen = (query: string, label: string, why: string) => {
      lines.push(
        query,
        `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
        `.IF ACTIVITYCOUNT > 0 THEN .GOTO ${label}`,
      );
      failures.push('', `.LABEL ${label}`, remark(why), '.LOGOFF', `.QUIT ${code}`);
    };
    if (step.action === 'create' && replaces(step)) {
      // The earlier text captured at export is the right one only when the deployment changed the object from the
      // checksum the ledger had then (another release in between would have made it stale).
      const captured = capturedChecksum(c, step);
      stopWhen(
        c.guard.stepChangedFromOther(deployed, step.order, captured),
        `CHANGED_${n}`,
        `${qualified(c, step).sql} was changed by deployment ${deployed}, not created, ${captured ? 'from another definition than the one captured when this script was exported' : 'and its earlier text was not captured when this script was exported'}: ` +
          'this script cannot bring that text back (only the ledger holds it) and would drop it. Nothing was undone. Roll back with dbee rollback, which restores the earlier text from the ledger.',
      );
    }
    if (
      CONFLICT_KINDS.has(step.objectKey.kind) &&
      (step.action === 'create' || step.action === 'replace') &&
      (c.options.conflictStrategy?.(step) ?? 'raise') === 'ignore'
    )
      // ifExists ignore: the deploy script ran the step over an object the ledger did not know, and recorded no
      // reverse (OVER_n): its earlier definition is unknown, and the planned reverse would drop the object.
      stopWhen(
        c.guard.stepAppliedWithoutReverse(deployed, step.order),
        `OVER_${n}`,
        `deployment ${deployed} ran over ${qualified(c, step).sql}, which existed before and which dbee did not make (ifExists: ignore): its earlier definition ` +
          'is not known, and undoing the step would drop the object. Nothing was undone. Put the earlier definition back by hand, then ' +
          'roll back the rest with dbee rollback --force (it leaves that step applied).',
      );
    const reverse = (step.reverse ?? []).map(c.expand);
    if (step.objectKey.kind === 'table' && reverse.some((r) => /^\s*DROP\s+TABLE\b/i.test(r))) {
      const { db, sql } = qualified(c, step);
      const { backup, aside } = tableBackupNames(c, step, stamp);
      const q2 = (n2: string) => `${quoteIdent(db)}.${quoteIdent(n2)}`;
      const copy = copyRows(c, step, step.statements.map(c.expand), stamp);
      const exists = (n2: string, label: string, when: 'exists' | 'missing') => [
        `SELECT 1 FROM DBC.TablesV WHERE ${sameName(db, n2)};`,
        `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
        `.IF ACTIVITYCOUNT ${when === 'exists' ? '>' : '='} 0 THEN .GOTO ${label}`,
      ];
      // Rows of the deployed table `table` that its backup `base` does not account for, or rows of `base` it no longer
      // holds (#73 item 5): with copyData, compared by key and row hash (`changedRows`); without a copy, any row. A
      // pair of tables larger than the bound is refused instead of compared.
      const max = c.options.rollbackCheckMaxBytes ?? ROLLBACK_CHECK_MAX_BYTES;
      const written = (table: string, base: string) => [
        ...(copy
          ? [
              tooLarge(
                db,
                [table, base].map((t) => t.split('.').pop()!.replace(/^"|"$/g, '')),
                max,
              ),
              `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
              `.IF ACTIVITYCOUNT > 0 THEN .GOTO LARGE_${n}`,
              ...changedRows(copy, table, base).flatMap((query) => [
                query,
                `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
                `.IF ACTIVITYCOUNT > 0 THEN .GOTO ROWS_${n}`,
              ]),
            ]
          : [
              `SELECT TOP 1 1 FROM ${table};`,
              `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
              `.IF ACTIVITYCOUNT > 0 THEN .GOTO ROWS_${n}`,
            ]),
        `.GOTO ROWS_OK_${n}`,
      ];
      lines.push(
        // A step that did not finish counts when it renamed a table aside (its backup's row is open), else not.
        c.guard.stepIs(deployed, step.order, 'applied'),
        `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
        `.IF ACTIVITYCOUNT > 0 THEN .GOTO APPLIED_${n}`,
        c.guard.backupOpen(deployed, step.key),
        `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
        `.IF ACTIVITYCOUNT = 0 THEN .GOTO ROWS_OK_${n}`,
        `.GOTO HASBK_${n}`,
        `.LABEL APPLIED_${n}`,
        c.guard.backupOpen(deployed, step.key),
        `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
        `.IF ACTIVITYCOUNT = 0 THEN .GOTO NOBK_${n}`,
        `.LABEL HASBK_${n}`,
        // Where the deployed table is: at its name, or (a rollback killed halfway) aside, with the backup at its name
        // or still under its own.
        ...exists(aside, `CHECK_A_${n}`, 'exists'),
        ...exists(backup, `ROWS_OK_${n}`, 'missing'),
        // A deploy script killed between its rename aside and its CREATE left no table at the name.
        ...exists(c.expand(step.objectKey.name), `ROWS_OK_${n}`, 'missing'),
        ...written(sql, q2(backup)),
        `.LABEL CHECK_A_${n}`,
        ...exists(backup, `CHECK_AT_${n}`, 'missing'),
        ...written(q2(aside), q2(backup)),
        `.LABEL CHECK_AT_${n}`,
        ...written(q2(aside), sql),
        `.LABEL NOBK_${n}`,
        `SELECT TOP 1 1 FROM ${sql};`,
        `.IF ERRORCODE = 3807 THEN .GOTO ROWS_OK_${n}`,
        `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
        `.IF ACTIVITYCOUNT > 0 THEN .GOTO KEEP_${n}`,
        `.LABEL ROWS_OK_${n}`,
      );
      failures.push(
        '',
        `.LABEL ROWS_${n}`,
        remark(
          `${sql} holds rows written since deployment ${deployed} (rows its backup does not hold or holds otherwise, compared by primary index key and row hash, rows deleted since included, or any row when nothing was copied): ` +
            'putting back the table the deployment renamed aside would drop or bring them back. Nothing was undone. Move the rows you need into the backup ' +
            'first, then roll back with dbee rollback --force, or rename the tables by hand.',
        ),
        '.LOGOFF',
        `.QUIT ${code}`,
      );
      if (copy)
        failures.push(
          '',
          `.LABEL LARGE_${n}`,
          remark(
            `${sql} and its backup take more than ${c.options.rollbackCheckMaxBytes ?? ROLLBACK_CHECK_MAX_BYTES} bytes together (the row above: table_bytes, max_bytes), the bound of the check for rows written since deployment ${deployed} ` +
              '(connection.rollbackCheckMaxBytes): they were not compared, and nothing was undone. Compare them by hand, then roll back with dbee rollback --force, ' +
              'or raise the bound for this run and export the scripts again.',
          ),
          '.LOGOFF',
          `.QUIT ${code}`,
        );
    }
  }
  return lines;
}

/**
 * The rollback script of a plan's deployment (the deploy script written with the same `deploymentId`): every
 * step's reverse, last step first, each run only when the ledger says that step of that deployment is `applied`
 * (a partial deployment undoes what it did, nothing else). A table the step created is dropped only when it holds
 * no rows, or when the deployment renamed an older table aside (then that backup is renamed back); a table with rows
 * and no backup stops the script (exit 16 + i). Refuses (`ROLLBACK_UNKNOWN`) when a step's reverse is unknown,
 * unless `skipUnknownReverse`. The ledger records a `rollback` deployment (id `deploymentId + 50`).
 */
export async function toBteqRollback(plan: Plan, options: BteqOptions = {}): Promise<string> {
  const unknown = plan.steps.filter((s) => s.reverse === null);
  if (unknown.length && !options.skipUnknownReverse) {
    throw new DbeeError(
      `no reverse is known for ${unknown.length} step${unknown.length > 1 ? 's' : ''}: ${unknown.map((s) => s.key).join(', ')}`,
      {
        code: 'ROLLBACK_UNKNOWN',
        hint: 'prepare the plan against the target (prepareTeradataPlan) so reverses come from the live definitions, or pass skipUnknownReverse',
        details: { steps: unknown.map((s) => s.order) },
      },
    );
  }
  const now = options.now ?? new Date();
  const ledgerOptions = options.ledger === false ? null : (options.ledger ?? null);
  const deployed = ledgerOptions?.deploymentId ?? defaultBteqDeploymentId(now);
  const c = context(options, deployed + 50, plan);
  const steps = [...plan.steps].reverse().filter((s) => s.reverse !== null);
  // One lock identity per release: the deploy script's (`bteq-<deployment id>-<plan checksum>`), so that the rollback of a deploy
  // script that was killed holding the lock takes it over instead of waiting hours for its expiry.
  const checksum = ledgerOptions?.planChecksum ?? sha256(JSON.stringify(plan.steps));
  const r: UndoScript = {
    c,
    deployed,
    // The deploy script's stamp: the names of its backups (written with the same `now`).
    stamp: backupStamp(now),
    lines: [...header(options), ''],
    failures: [],
    lockedFrom: -1,
    token: lockToken(deployed, checksum),
  };
  r.lines.push(
    remark(`dbee rollback of deployment ${deployed}: ${steps.length} step${steps.length === 1 ? '' : 's'}`),
    // Steps with no reverse (a widened column Teradata cannot narrow, columns dropped): left applied, and said so.
    ...unknown.map((s) =>
      remark(`plan step ${s.order} (${s.action} ${c.expand(s.key)}) has no reverse: it stays applied`),
    ),
    ...(options.previous
      ? []
      : [
          remark(
            'the target was not read when this script was written: a view, macro or procedure the deployment changed stops it (use dbee rollback)',
          ),
        ]),
  );
  if (c.ledger) await rollbackStart(r, plan, steps, ledgerOptions, checksum);
  for (const [idx, step] of steps.entries()) await undoStep(r, step, idx + 1, steps.length);
  r.lines.push('', ...(await remadeIndexes(c, steps, deployed, r.failures)));
  if (c.ledger) {
    await closeDeployment(c, 'succeeded', {});
    r.lines.push(...ledgerGroup(c, c.recorder.take()));
  }
  r.lines.push('.LOGOFF', '.QUIT 0', ...r.failures);
  return finish(c, options, r.lines, r.lockedFrom, r.token);
}

/** What a rollback script is built from, while it is written (`DeployScript`'s twin). */
interface UndoScript {
  c: Ctx;
  /** The deployment undone (the deploy script's id); the rollback's own row is `c.id`. */
  deployed: number;
  stamp: string;
  lines: string[];
  failures: string[];
  lockedFrom: number;
  token: string;
}

/**
 * Before the first undo: the ledger made where needed (a rollback run where the deploy script never got far enough
 * to make it finds nothing applied), the deployment lock (the checks read what another deployment could be changing),
 * the checks of both ids and those before anything is undone (`rollbackPreflight`), then the rollback's row.
 */
async function rollbackStart(
  r: UndoScript,
  plan: Plan,
  steps: readonly PlanStep[],
  ledgerOptions: BteqLedgerOptions | null,
  checksum: string,
): Promise<void> {
  const { c, deployed, lines } = r;
  const project = plan.projects.join(',');
  lines.push(...ensureLedger(c), ...acquireLock(c, r.token));
  r.lockedFrom = lines.length;
  if (ledgerOptions) {
    const mine = { project, environment: ledgerOptions.environment };
    lines.push(
      ...idTaken(c, deployed, { ...mine, kind: 'deploy', plan_checksum: checksum }),
      ...idTaken(c, c.id, { ...mine, kind: 'rollback', reverts: deployed }),
    );
  }
  lines.push(...rollbackPreflight(c, steps, deployed, r.stamp, r.failures));
  if (!ledgerOptions) return;
  lines.push(
    c.guard.rollbackStarted(c.id, deployed),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    '.IF ACTIVITYCOUNT > 0 THEN .GOTO RESUME',
  );
  // Opened as `dbee rollback` opens its compensating deployment; the ledger state before it unknown, as the deploy's.
  await Deployment.open(c.ledger!, {
    project,
    environment: ledgerOptions.environment,
    kind: 'rollback',
    planChecksum: checksum,
    package: ledgerOptions.package ?? null,
    ticket: ledgerOptions.ticket ?? null,
    gitCommit: null,
    toolVersion: ledgerOptions.toolVersion ?? 'dbee-bteq',
    osUser: ledgerOptions.osUser ?? 'bteq',
    ciJob: null,
    host: ledgerOptions.host ?? 'bteq',
    stepsTotal: steps.length,
    reverts: deployed,
    before: null,
  });
  lines.push(...ledgerGroup(c, c.recorder.take()), '.LABEL RESUME');
}

/** `SELECT 1 FROM DBC.TablesV` for `db.name`, going to `label` when it `exists` (or is `missing`). */
function tableAt(db: string, name: string, label: string, when: 'exists' | 'missing'): string[] {
  return [
    `SELECT 1 FROM DBC.TablesV WHERE ${sameName(db, name)};`,
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT ${when === 'exists' ? '>' : '='} 0 THEN .GOTO ${label}`,
  ];
}

/**
 * The undo of one plan step (`n`: its place in the rollback script), in the order BTEQ runs it: the heartbeat, a table
 * the deploy script was building aside dropped, the check that the step was applied (or started), the table moves of a
 * renamed-aside table, the restore of a changed object's text, the step's reverse requests, an object renamed back,
 * then the undo's rows (`undoRows`).
 */
async function undoStep(r: UndoScript, step: PlanStep, n: number, total: number): Promise<void> {
  const { c, lines } = r;
  const reverse = step.reverse!.map(c.expand);
  lines.push('', remark(`step ${n}/${total}: undo plan step ${step.order} (${step.action} ${c.expand(step.key)})`));
  const dropsTable = step.objectKey.kind === 'table' && reverse.some((x) => /^\s*DROP\s+TABLE\b/i.test(x));
  if (r.lockedFrom >= 0) lines.push(...heartbeat(c, r.token));
  // An ALTER step's last reverse request goes with the step's undo rows, as the deploy script's does (undoAlter).
  const bundled = c.ledger !== null && step.action === 'alter' && reverse.length > 0 && !isProcedure(reverse.at(-1)!);
  const renamedBack = RENAMED_BACK.has(step.objectKey.kind);
  const nothing = async () => {};
  // The stages in the runner's order (`sendStep`), as `dbee rollback` sends an undo: no `started` row.
  await sendStep({
    path: nothing,
    prepare: async () => void lines.push(...undoChecks(r, step, n, dropsTable)),
    started: nothing,
    statements: async () => {
      lines.push(...reverseRequests(c, n, bundled ? reverse.slice(0, -1) : reverse));
      if (c.ledger && renamedBack) lines.push(...objectBack(r, step, n));
    },
    applied: async () => {
      if (c.ledger) await undoRows(r, step, n, reverse, bundled, dropsTable || renamedBack);
    },
  });
}

/**
 * Before an undo's requests, at run time: a table the deploy script was building aside, dropped; whether the step was
 * applied; a table put back from its backup (its backup's row is closed with the step's undo rows); a changed object's
 * captured text put back.
 */
function undoChecks(r: UndoScript, step: PlanStep, n: number, dropsTable: boolean): string[] {
  const { c } = r;
  const lines: string[] = [];
  if (dropsTable && c.ledger) {
    // A table the deploy script was building aside when it stopped (`buildAside`): this release's own, dropped.
    const { db, name } = qualified(c, step);
    const built = `${name}_new_${r.stamp}`.slice(0, 128);
    lines.push(
      ...tableAt(db, built, `NONEW_${n}`, 'missing'),
      `DROP TABLE ${quoteIdent(db)}.${quoteIdent(built)};`,
      `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
      ...(c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`] : []),
      `.LABEL NONEW_${n}`,
    );
  }
  if (c.ledger) lines.push(...wasApplied(c, step, n, r.deployed, dropsTable));
  if (dropsTable && c.ledger)
    lines.push(...tableBack(r, step, n), `.GOTO UNDONE_${n}`, `.LABEL NOBACKUP_${n}`, ...emptyTableDropped(r, step, n));
  if (c.ledger) lines.push(...restoreChanged(c, step, n, r.deployed));
  return lines;
}

/**
 * Whether the deploy script applied the step: a step it started and did not finish (killed, or failed after its first
 * commit) is undone too: its `started` row, or the open row of the backup it renamed aside, says it made something.
 * Its reverse finds what it made, or nothing (a DROP that finds nothing is done). Else `SKIP_n`.
 */
function wasApplied(c: Ctx, step: PlanStep, n: number, deployed: number, dropsTable: boolean): string[] {
  return [
    ...(dropsTable
      ? [
          c.guard.backupOpen(deployed, step.key),
          `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
          `.IF ACTIVITYCOUNT > 0 THEN .GOTO UNDO_${n}`,
        ]
      : []),
    c.guard.stepIs(deployed, step.order, 'applied', 'started'),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO SKIP_${n}`,
    ...(dropsTable ? [`.LABEL UNDO_${n}`] : []),
  ];
}

/**
 * A backup kept by the deploy script's `rename`: the deployed table goes aside first (`lockedSwap`, under its lock and
 * data check), then the backup gets its name back, then the deployed table is dropped, so that the name is never
 * without a table (#64). Each move is guarded by what the dictionary shows, so a script killed between two of them
 * finishes the job when re-run; a run killed before the undo rows finds the backup's row open and the tables where this
 * run left them. No backup: `NOBACKUP_n`.
 */
function tableBack(r: UndoScript, step: PlanStep, n: number): string[] {
  const { c, deployed } = r;
  const { db, name, sql } = qualified(c, step);
  const { backup, aside } = tableBackupNames(c, step, r.stamp);
  const q2 = (n2: string) => `${quoteIdent(db)}.${quoteIdent(n2)}`;
  const commitOr = (label: string) => (c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .GOTO ${label}`] : []);
  const names = { table: sql, backup: q2(backup), aside: q2(aside), stamp: r.stamp, deployed };
  return [
    c.guard.backupOpen(deployed, step.key),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO NOBACKUP_${n}`,
    remark(
      `${sql} goes aside as ${db}.${aside}, the backup ${db}.${backup} gets its name back, then ${db}.${aside} is dropped`,
    ),
    // Only while the backup waits under its own name: once it is back, the table at the name is the old one.
    ...tableAt(db, aside, `ASIDE_${n}`, 'exists'),
    ...tableAt(db, backup, `ASIDE_${n}`, 'missing'),
    ...tableAt(db, name, `ASIDE_${n}`, 'missing'),
    ...lockedSwap(c, step, n, bteqReturnCode(n), names, r.failures),
    `.LABEL ASIDE_${n}`,
    ...tableAt(db, backup, `BACK_${n}`, 'missing'),
    `RENAME TABLE ${q2(backup)} TO ${sql};`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    ...commitOr(`FAIL_${n}`),
    `.LABEL BACK_${n}`,
    // The name holds the table the deployment renamed aside again; without it the rollback stops here.
    ...tableAt(db, name, `FAIL_${n}`, 'missing'),
    ...tableAt(db, aside, `UNDONE_${n}`, 'missing'),
    `DROP TABLE ${q2(aside)};`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    ...commitOr(`FAIL_${n}`),
  ];
}

/** No backup: a table that holds rows is never dropped (`KEEP_n` stops the rollback there). */
function emptyTableDropped(r: UndoScript, step: PlanStep, n: number): string[] {
  const { sql } = qualified(r.c, step);
  r.failures.push(
    '',
    `.LABEL KEEP_${n}`,
    remark(`${sql} holds rows and no backup exists: not dropped; the rollback stops here`),
    '.LOGOFF',
    `.QUIT ${bteqReturnCode(n)}`,
  );
  return [
    `SELECT TOP 1 1 FROM ${sql};`,
    `.IF ERRORCODE = 3807 THEN .GOTO UNDONE_${n}`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    `.IF ACTIVITYCOUNT > 0 THEN .GOTO KEEP_${n}`,
  ];
}

/** The step's reverse requests (but a bundled last one); a DROP that finds nothing (3807) was done by a killed run. */
function reverseRequests(c: Ctx, n: number, reverse: readonly string[]): string[] {
  const code = bteqReturnCode(n);
  const lines: string[] = [];
  for (const [i, st] of reverse.entries()) {
    const onError = c.ledger ? `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}` : `.IF ERRORCODE <> 0 THEN .QUIT ${code}`;
    // A DROP that finds nothing (3807) was done by a run of this script that was killed before its ledger rows.
    const drop = c.ledger && /^\s*DROP\b/i.test(st);
    lines.push(bteqRequest(st), ...(drop ? [`.IF ERRORCODE = 3807 THEN .GOTO DROPPED_${n}_${i + 1}`] : []), onError);
    if (/^\s*(CREATE|REPLACE)\s+PROCEDURE\b/i.test(st))
      lines.push(...compiled(`U${n}_${i + 1}`, c.ledger ? `.GOTO FAIL_${n}` : `.QUIT ${code}`));
    if (c.ansi) lines.push('COMMIT;', onError);
    if (drop) lines.push(`.LABEL DROPPED_${n}_${i + 1}`);
  }
  return lines;
}

/**
 * A view, macro, procedure or function the deploy script's `rename` kept: once the new one is dropped (the reverse),
 * the old one gets its name back. The backup's name comes from the deploy script's stamp.
 */
function objectBack(r: UndoScript, step: PlanStep, n: number): string[] {
  const { c } = r;
  const { db, sql } = qualified(c, step);
  const { backup } = tableBackupNames(c, step, r.stamp);
  return [
    c.guard.backupOpen(r.deployed, step.key),
    `.IF ERRORCODE <> 0 THEN .QUIT ${BTEQ_LEDGER_FAILED}`,
    `.IF ACTIVITYCOUNT = 0 THEN .GOTO UNDONE_${n}`,
    // Already renamed back by a run killed before its ledger rows: only the rows are left to write.
    ...tableAt(db, backup, `RENAMED_${n}`, 'missing'),
    `RENAME ${kindKeyword(step.objectKey.kind)} ${quoteIdent(db)}.${quoteIdent(backup)} TO ${sql};`,
    `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`,
    ...(c.ansi ? ['COMMIT;', `.IF ERRORCODE <> 0 THEN .GOTO FAIL_${n}`] : []),
    `.LABEL RENAMED_${n}`,
  ];
}

/**
 * The undo of plan step `step` as `dbee rollback` plans one (`CompensatingStep`), `n`th of the script: it runs the step's
 * `reverse` and records, as its own reverse, what the deploy script ran; it undoes the deploy script's row of the step,
 * whose object's state before it is read from that row as the script runs (one the step created had none).
 */
function undoOf(r: UndoScript, step: PlanStep, n: number, reverse: string[]): CompensatingStep {
  const { c, deployed } = r;
  const ran = scriptStatements(c, step);
  return {
    plan: {
      ...step,
      order: n,
      statements: reverse,
      reverse: ran,
      hazards: reverseHazards(reverse, { id: deployed }),
      checksum: checksumStatements(reverse),
    },
    ledgerAction: inverseAction(step.action),
    undoes: {
      step: {
        deploymentId: deployed,
        order: step.order,
        objectKey: step.key,
        action: step.action,
        checksum: checksumStatements(step.statements, c.options.variables ?? {}),
        statements: ran,
        reverse: step.reverse,
        previousDefinition: null,
        previousChecksum: null,
        transactional: step.transactional,
        status: 'applied',
        revertsStep: null,
        hazards: step.hazards,
      },
      deployment: { id: deployed, kind: 'deploy', reverts: null },
      previousFromRow: !(step.action === 'create' && !replaces(step)),
    },
  };
}

/**
 * The undo's rows, written by `dbee rollback`'s own step journal (`StepJournal.compensated`) over the script's recorder:
 * the deploy step marked undone, the undo step's row, the object's state put back (a migration forgotten, a created
 * object gone, else the state before the step, read from its row as the script runs), and the row of the backup the
 * deploy script's `rename` kept (`kept`), closed. An ALTER's last reverse request goes with them (`undoAlter`). Then
 * `UNDONE_n`, `SKIP_n`, and the step's failure path (`FAIL_n`).
 */
async function undoRows(
  r: UndoScript,
  step: PlanStep,
  n: number,
  reverse: string[],
  bundled: boolean,
  kept: boolean,
): Promise<void> {
  const { c, deployed, lines } = r;
  // The backup by the name the release's stamp gives it: the run-time checks found it open (`tableBack`, `objectBack`).
  const backup: BackupRow = {
    id: 0,
    deployment_id: deployed,
    object_key: step.key,
    backup_name: `${qualified(c, step).db}.${tableBackupNames(c, step, r.stamp).backup}`,
    created_at: '',
    retain_until: null,
    dropped_at: null,
  };
  const timing = { startedAt: new SqlNow(), durationMs: 0 };
  const undo = undoOf(r, step, n, reverse);
  await c.journal!.compensated(
    c.id,
    step.project,
    undo,
    reverse,
    timing,
    async () => (kept ? [backup] : []),
    c.recorder,
  );
  const rows = c.recorder.take();
  if (bundled) lines.push(...undoAlter(c, step, n, reverse.at(-1)!, rows, deployed, r.failures), `.GOTO SKIP_${n}`);
  lines.push(`.LABEL UNDONE_${n}`, ...ledgerGroup(c, rows), `.LABEL SKIP_${n}`);
  const error = `undo of step ${step.order} (${c.expand(step.key)}) failed; see the BTEQ output`;
  await closeDeployment(c, 'failed', {}, { error, statement: null });
  r.failures.push('', `.LABEL FAIL_${n}`, ...(c.ansi ? ['ROLLBACK;'] : []), ...ledgerGroup(c, c.recorder.take()));
  r.failures.push('.LOGOFF', `.QUIT ${bteqReturnCode(n)}`);
}
