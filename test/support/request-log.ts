import { PgConnection, PgliteConnection } from '@dbee/postgres';
import { TABLES_SQL } from '../../packages/postgres/src/introspect/catalog-queries';

/** One request of a PostgreSQL session, sent or answered, in the order of the process's events. */
export interface RequestEvent {
  at: number;
  kind: 'sent' | 'done';
  /** The session (a `PgConnection`), numbered in the order it first sent something. */
  session: number;
  /** The session's description (a shadow's says `(shadow <name>)`). */
  description: string;
  text: string;
}

/**
 * Log every request of every `PgConnection` of this process (`query`, `queryPrepared`, `queryMany`, `execute`, `executeBatch`), and
 * with `pglite` of every `PgliteConnection` too: when it was sent and when it was answered, by which session. `restore`
 * puts the methods back. Tests of what runs at the same time assert the order of these events, never a time.
 */
export function logRequests(options: { pglite?: boolean } = {}): { events: RequestEvent[]; restore(): void } {
  const events: RequestEvent[] = [];
  let tick = 0;
  let count = 0;
  const sessions = new WeakMap<object, number>();
  const originals: (() => void)[] = [];
  const classes = options.pglite ? [PgConnection, PgliteConnection] : [PgConnection];
  for (const proto of classes.map(
    (k) => k.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>,
  ))
    for (const m of ['query', 'queryPrepared', 'queryMany', 'execute', 'executeBatch']) {
      const original = proto[m];
      if (!original) continue;
      originals.push(() => (proto[m] = original));
      proto[m] = function (this: { description?: string }, ...a: unknown[]) {
        if (!sessions.has(this)) sessions.set(this, ++count);
        const at = { session: sessions.get(this)!, description: this.description ?? '' };
        // A batch's statements, or `queryMany`'s queries, one after the other.
        const text = Array.isArray(a[0])
          ? a[0].map((q: string | { sql: string }) => (typeof q === 'string' ? q : q.sql)).join(';\n')
          : String(a[0]);
        events.push({ at: tick++, kind: 'sent', ...at, text });
        const done = () => void events.push({ at: tick++, kind: 'done', ...at, text });
        const p = original.apply(this, a);
        p.then(done, done);
        return p;
      };
    }
  return {
    events,
    restore: () => {
      for (const put of originals) put();
    },
  };
}

/**
 * How the target's reads of the catalog's tables in `events` asked for them: `named` (narrowed to names, issue 75) or
 * `whole`, in order. A shadow database's reads (the sources' model) are left out.
 */
export function tableReads(events: readonly RequestEvent[]): ('named' | 'whole')[] {
  return events
    .filter((e) => e.kind === 'sent' && !/shadow/.test(e.description) && e.text.includes(TABLES_SQL.trim()))
    .map((e) => (e.text.includes('any($2::text[])') ? 'named' : 'whole'));
}
