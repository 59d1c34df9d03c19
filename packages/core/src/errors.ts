/**
 * Errors with stable codes. A `DbeeError` is a user error: the CLI and executors print its message (no stack)
 * and exit with its `exitCode`. Anything else that escapes is a programming bug and is printed with its stack.
 */

/** Exit codes shared by the CLI and the Nx executors (see ARCHITECTURE.md). */
export const ExitCode = {
  ok: 0,
  /** Validation, configuration, parse, lint or gate failure: nothing was applied. */
  invalid: 1,
  /** A step failed while applying. */
  applyFailed: 2,
  /** Smoke tests failed after applying. */
  smokeFailed: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Where in a file something went wrong. `line` and `column` are 1-based. */
export interface ErrorLocation {
  file: string;
  line?: number;
  column?: number;
}

export interface DbeeErrorOptions {
  /** Stable machine-readable code, e.g. `CONFIG_INVALID`. */
  code: string;
  location?: ErrorLocation;
  /** What the user can do about it; printed on its own line. */
  hint?: string;
  exitCode?: ExitCodeValue;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class DbeeError extends Error {
  readonly code: string;
  readonly location?: ErrorLocation;
  readonly hint?: string;
  readonly exitCode: ExitCodeValue;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: DbeeErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbeeError';
    this.code = options.code;
    this.location = options.location;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.invalid;
    this.details = options.details ?? {};
  }

  /** `file:line:column: message` followed by the hint, as printed to users. */
  format(): string {
    const where = this.location ? formatLocation(this.location) + ': ' : '';
    return `${where}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

/** Several user errors found in one pass (e.g. every cycle, every bad key), reported together. */
export class DbeeAggregateError extends DbeeError {
  readonly errors: DbeeError[];
  constructor(message: string, errors: DbeeError[], code = errors[0]?.code ?? 'MULTIPLE_ERRORS') {
    super(message, { code, exitCode: errors[0]?.exitCode ?? ExitCode.invalid });
    this.errors = errors;
  }
  override format(): string {
    return [this.message, ...this.errors.map((e) => '- ' + e.format().replace(/\n/g, '\n  '))].join('\n');
  }
}

export function formatLocation(loc: ErrorLocation): string {
  return loc.file + (loc.line ? `:${loc.line}` + (loc.column ? `:${loc.column}` : '') : '');
}

export function isDbeeError(e: unknown): e is DbeeError {
  return e instanceof DbeeError;
}

/**
 * Whether `error` is the engine's "insufficient resources" (SQL-standard class 53: out of memory, out of shared memory
 * for locks, too many connections): what a statement asked for is beyond what the server can hold right now, not
 * wrong. PostgreSQL raises it for a transaction that takes more locks than its lock table holds
 * (`max_locks_per_transaction`); the same statements in smaller transactions pass.
 */
export function outOfResources(error: unknown): boolean {
  const sqlstate = error instanceof DbeeError ? (error.details as { sqlstate?: unknown }).sqlstate : undefined;
  return typeof sqlstate === 'string' && sqlstate.startsWith('53');
}
