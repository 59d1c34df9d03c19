import type { ErrorLocation } from '../errors';
import type { ObjectKey } from './object-key';

/** A scalar passed as a positional parameter to a smoke query or routine. */
export type SmokeArg = string | number | boolean | null;

/** What a smoke check does. */
export type SmokeCheckBody =
  /** The objects exist (one catalog query). */
  | { kind: 'exists'; keys: ObjectKey[] }
  /** One statement runs, inside a transaction that is rolled back, and returns what is expected. */
  | {
      kind: 'statement';
      sql: string;
      params: SmokeArg[];
      /** Expected result columns in order: name and type as the engine names it (PostgreSQL: `format_type`). */
      columns?: [name: string, type: string][];
      /** Expected rows, in order; only the columns they name are compared. */
      rows?: Record<string, unknown>[];
    };

/** One smoke check, from a smoke file or built from the ledger (baseline checks). */
export interface SmokeCheck {
  /** Unique within a project; recorded in the ledger. */
  name: string;
  /** Where the check is written; absent for baseline checks. */
  source?: ErrorLocation;
  /** Time bound in milliseconds; default: the run's (deploy.smokeTimeout, else 10 s). */
  timeoutMs?: number;
  body: SmokeCheckBody;
}

/** The outcome of one check. */
export interface SmokeResult {
  name: string;
  /** `file:line` of the check, or `baseline`. */
  source: string;
  status: 'passed' | 'failed';
  durationMs: number;
  /** Why it failed; null when it passed. */
  message: string | null;
}

/** The outcome of every check of a project. */
export interface SmokeRun {
  project: string;
  passed: boolean;
  results: SmokeResult[];
}

/** Default time bound of a check when neither the check nor `deploy.smokeTimeout` sets one. */
export const DEFAULT_SMOKE_TIMEOUT_MS = 10_000;
