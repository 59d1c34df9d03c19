import type { Gates } from '../config/schema';
import type { SmokeResult } from '../model/smoke-check';

/** `gates.smokeRegression`, with its defaults applied. */
export interface SmokeRegression {
  /** A check slower than `factor` × its baseline fails, e.g. 1.2. */
  factor: number;
  /** How many of its latest successful runs make a check's baseline (their median). Default 10. */
  runs: number;
  /** A check is never failed for being less than this many milliseconds slower than its baseline. Default 100. */
  minMs: number;
}

/** Fewer successful runs than this: no baseline yet, the check is not compared. */
export const MIN_BASELINE_RUNS = 3;

/** The environment's performance gate, or null when it has none. */
export function smokeRegression(gates: Gates): SmokeRegression | null {
  const g = gates.smokeRegression;
  if (g === undefined) return null;
  return typeof g === 'number'
    ? { factor: g, runs: 10, minMs: 100 }
    : { factor: g.factor, runs: g.runs ?? 10, minMs: g.minMs ?? 100 };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

/**
 * A passed check measured slower than its baseline allows becomes a failed one, naming the baseline and the
 * measurement. `durations`: its latest successful runs on the environment (newest first, at most `gate.runs`).
 * The limit is `factor` × the median, and never less than the median plus `minMs` (noise on a fast check).
 */
export function judgeDuration(
  result: SmokeResult,
  durations: readonly number[] | undefined,
  gate: SmokeRegression,
  environment: string,
): SmokeResult {
  if (result.status !== 'passed' || !durations || durations.length < MIN_BASELINE_RUNS) return result;
  const baseline = median(durations);
  const limit = Math.max(Math.round(baseline * gate.factor), baseline + gate.minMs);
  if (result.durationMs <= limit) return result;
  return {
    ...result,
    status: 'failed',
    message:
      `slower than its baseline: ${result.durationMs} ms, against a median of ${baseline} ms over its last ${durations.length} successful runs on ${environment} ` +
      `(gates.smokeRegression ${gate.factor}: at most ${limit} ms)`,
  };
}
