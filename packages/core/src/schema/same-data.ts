/** Structural equality of plain data (JSON values); object key order does not matter. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // A missing key reads as `undefined`, so `{}` and `{ a: undefined }` are the same data.
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((v, i) => sameData(v, y[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const k of keys) if (!sameData(x[k], y[k])) return false;
  return true;
}
