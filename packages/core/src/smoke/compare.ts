/**
 * How a smoke check compares what a statement returned with what its file expects. Values from drivers differ in
 * type (a PostgreSQL `numeric` or `bigint` arrives as a string through `pg`, a timestamp as a Date), so values
 * are compared by meaning: numbers numerically, timestamps by instant, JSON structurally.
 */

/** Differences between expected and actual result columns, as sentences; empty when they match. */
export function compareColumns(expected: [string, string][], actual: [string, string][]): string[] {
  const problems: string[] = [];
  const actualTypes = new Map(actual);
  const expectedNames = new Set(expected.map(([n]) => n));
  for (const [name, type] of expected) {
    const got = actualTypes.get(name);
    if (got === undefined) problems.push(`missing column ${name} (${type})`);
    else if (normaliseType(got) !== normaliseType(type))
      problems.push(`column ${name}: expected type ${type}, got ${got}`);
  }
  for (const [name, type] of actual) if (!expectedNames.has(name)) problems.push(`unexpected column ${name} (${type})`);
  if (problems.length === 0) {
    const want = expected.map(([n]) => n).join(', ');
    const got = actual.map(([n]) => n).join(', ');
    if (want !== got) problems.push(`columns in another order: expected ${want}; got ${got}`);
  }
  return problems;
}

function normaliseType(t: string): string {
  return t.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** The first difference between expected and actual rows, as a sentence; null when they match. */
export function compareRows(expected: Record<string, unknown>[], actual: Record<string, unknown>[]): string | null {
  for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
    const want = expected[i]!;
    const got = actual[i]!;
    for (const [column, value] of Object.entries(want)) {
      if (!(column in got))
        return `row ${i + 1}: no column ${column} in the result (columns: ${Object.keys(got).join(', ')})`;
      if (!sameValue(value, got[column]))
        return `row ${i + 1}, column ${column}: expected ${show(value)}, got ${show(got[column])}`;
    }
  }
  if (expected.length !== actual.length) {
    const extra = actual.length > expected.length ? `; first unexpected row: ${show(actual[expected.length])}` : '';
    return `expected ${expected.length} row${expected.length === 1 ? '' : 's'}, got ${actual.length}${extra}`;
  }
  return null;
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** True when a value from a YAML file and a value from a driver mean the same thing. */
export function sameValue(expected: unknown, actual: unknown): boolean {
  if (expected === null || expected === undefined) return actual === null || actual === undefined;
  if (actual === null || actual === undefined) return false;
  if (actual instanceof Date) {
    const t = expected instanceof Date ? expected.getTime() : typeof expected === 'string' ? Date.parse(expected) : NaN;
    return t === actual.getTime();
  }
  if (typeof expected === 'number' || typeof expected === 'bigint') return sameNumber(String(expected), actual);
  if (typeof expected === 'boolean')
    return actual === expected || (typeof actual === 'string' && ['t', 'true'].includes(actual) === expected);
  if (typeof expected === 'string') {
    if (typeof actual === 'string') return actual === expected;
    if (typeof actual === 'number' || typeof actual === 'bigint')
      return NUMERIC.test(expected.trim()) && sameNumber(expected.trim(), actual);
    if (typeof actual === 'boolean') return String(actual) === expected;
    if (typeof actual === 'object') {
      try {
        return sameValue(JSON.parse(expected), actual);
      } catch {
        return false;
      }
    }
    return false;
  }
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) && actual.length === expected.length && expected.every((v, i) => sameValue(v, actual[i]))
    );
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    return (
      Object.keys(a).length === Object.keys(e).length &&
      Object.entries(e).every(([k, v]) => k in a && sameValue(v, a[k]))
    );
  }
  return false;
}

function sameNumber(expected: string, actual: unknown): boolean {
  const text =
    typeof actual === 'string'
      ? actual.trim()
      : typeof actual === 'number' || typeof actual === 'bigint'
        ? String(actual)
        : null;
  if (text === null || !NUMERIC.test(text) || !NUMERIC.test(expected)) return false;
  // Integers beyond 2^53 (bigint columns) are compared exactly, as text; others numerically (0 = 0.00).
  if (/^[+-]?\d+$/.test(text) && /^[+-]?\d+$/.test(expected)) return BigInt(text) === BigInt(expected);
  return Number(text) === Number(expected);
}

/** A value as shown in messages. */
export function show(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value === undefined) return 'nothing';
  return (
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v,
    ) ?? String(value)
  );
}
