/**
 * How the advice names a query: its origin when that places it (`app/queries.sql:12`), else (a statistics source
 * names no place: a live source of the engine) the origin and the start of its text.
 */
export function queryLabel(q: { origin: string; text: string }): string {
  if (/:\d+$/.test(q.origin)) return q.origin;
  const text = q.text.replace(/\s+/g, ' ').trim();
  return `${q.origin}: ${text.length > 90 ? `${text.slice(0, 87)}...` : text}`;
}
