/**
 * Where the old application's slow operations come from during a migration of tools/bench-expand.ts
 * (`--attribute`): a sampler in a worker thread of its own reads `pg_stat_activity` about every millisecond (the old
 * app's session, dbee's sessions, the checkpointer and the WAL writer) and each slow operation of the app (a
 * read + update pair slower than the p99 of its release's window before) is attributed to the phase running then
 * (before, the expand's DDL, the backfill, the rest of the expand, complete, after) and to what the samples taken
 * inside it saw: the app's wait event (`CPU` when active without one, `client` when its session was idle: the time
 * was spent outside the server) and dbee's statement at that moment. The sampler costs CPU in every window alike;
 * the ratios of a run with `--attribute` are not the benchmark's figures, the attribution is.
 */
import { Worker } from 'node:worker_threads';

/** One sample of one session. */
export interface ActivitySample {
  t: number;
  /** `app` (the old application), `dbee`, `checkpointer`, `walwriter`, `autovacuum`, `other`. */
  who: string;
  state: string;
  wait: string;
  query: string;
}

const SAMPLER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Client } = require(workerData.pg);
(async () => {
  const c = new Client({ connectionString: workerData.url });
  await c.connect();
  let stopped = false;
  parentPort.on('message', () => (stopped = true));
  const out = [];
  while (!stopped) {
    const r = await c.query(
      "SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t, application_name AS a, backend_type AS b, " +
      "coalesce(state, '') AS s, coalesce(wait_event_type || ':' || wait_event, '') AS w, " +
      "left(regexp_replace(query, '\\\\s+', ' ', 'g'), 70) AS q FROM pg_stat_activity " +
      "WHERE pid <> pg_backend_pid() AND (datname = current_database() OR backend_type IN ('checkpointer', 'walwriter'))");
    for (const x of r.rows) {
      const who = x.a === 'old-app' ? 'app' : x.b === 'checkpointer' ? 'checkpointer' : x.b === 'walwriter' ? 'walwriter'
        : x.b === 'autovacuum worker' ? 'autovacuum' : x.b === 'client backend' && x.a !== 'bench' ? 'dbee' : 'other';
      out.push({ t: Number(x.t), who, state: x.s, wait: x.w, query: x.q || '' });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await c.end();
  parentPort.postMessage(out);
})().catch((e) => parentPort.postMessage({ error: e.message }));
`;

/** Samples `pg_stat_activity` of the database at `url` until `stop`. */
export class ActivitySampler {
  private readonly worker: Worker;
  private readonly result: Promise<ActivitySample[]>;

  constructor(url: string) {
    this.worker = new Worker(SAMPLER, { eval: true, workerData: { url, pg: require.resolve('pg') } });
    this.result = new Promise((resolve, reject) => {
      this.worker.on('message', (m: ActivitySample[] | { error: string }) =>
        Array.isArray(m) ? resolve(m) : reject(new Error(`sampler: ${m.error}`)),
      );
      this.worker.on('error', reject);
    });
  }

  async stop(): Promise<ActivitySample[]> {
    this.worker.postMessage('stop');
    const r = await this.result;
    await this.worker.terminate();
    return r;
  }
}

/** What dbee's session was doing: the kind of its statement (or idle). */
function dbeeLabel(s: ActivitySample): string {
  if (s.state === 'idle') return 'idle';
  if (s.state.startsWith('idle in transaction')) return 'idle in tx';
  const q = s.query.replace(/^(WITH \w+ AS (MATERIALIZED )?\()?/i, '');
  const verb = /^\s*(\w+(\s+(TABLE|INDEX|TRIGGER|FUNCTION|OR REPLACE|SCHEMA|VIEW))?)/i.exec(q)?.[1] ?? '?';
  const kind = /UPDATE\s+"?s"?\."?t"?/i.test(s.query)
    ? 'UPDATE s.t (backfill)'
    : /^(SELECT|WITH)$/i.test(verb)
      ? s.query.slice(0, 50)
      : verb.toUpperCase();
  return `${kind}${s.wait ? ` [${s.wait}]` : ''}`;
}

/** The app's state in a sample: its wait event, `CPU` when running without one, `client` when idle. */
function appLabel(s: ActivitySample): string {
  if (s.state !== 'active') return 'client (session idle)';
  return s.wait || 'CPU';
}

/** The phases of one release, by time. */
export interface ReleaseTimes {
  before: [number, number];
  migration: [number, number];
  backfill: [number, number];
  complete: [number, number];
}

function phaseAt(at: number, r: ReleaseTimes): string | undefined {
  if (at >= r.before[0] && at < r.before[1]) return 'before';
  if (at >= r.backfill[0] && at < r.backfill[1]) return 'backfill';
  if (at >= r.migration[0] && at < r.backfill[0]) return 'expand before the backfill (DDL)';
  if (at >= r.backfill[1] && at < r.migration[1]) return 'expand after the backfill';
  if (at >= r.complete[0] && at < r.complete[1]) return 'complete';
  return undefined;
}

const count = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const top = (m: Map<string, number>, total: number, n = 6) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${((100 * v) / Math.max(1, total)).toFixed(0)}%`)
    .join(', ');

/**
 * Prints, per phase, the slow operations (slower than `threshold`, the p99 of the window before), the share whose
 * update (not the read) was slow, and the share of the samples inside them per app wait and per dbee statement.
 */
export function printAttribution(
  label: string,
  ops: { at: number; ms: number; read: number }[],
  samples: ActivitySample[],
  release: ReleaseTimes,
  threshold: number,
): void {
  samples.sort((a, b) => a.t - b.t);
  const byPhase = new Map<
    string,
    {
      all: number;
      slow: number;
      slowUpdate: number;
      app: Map<string, number>;
      dbee: Map<string, number>;
      other: Map<string, number>;
      n: number;
    }
  >();
  for (const op of ops) {
    const phase = phaseAt(op.at, release);
    if (!phase) continue;
    const p = byPhase.get(phase) ?? {
      all: 0,
      slow: 0,
      slowUpdate: 0,
      app: new Map(),
      dbee: new Map(),
      other: new Map(),
      n: 0,
    };
    byPhase.set(phase, p);
    p.all++;
    if (op.ms <= threshold) continue;
    p.slow++;
    if (op.ms - op.read > op.read) p.slowUpdate++;
    let lo = 0;
    let hi = samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (samples[mid]!.t < op.at) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < samples.length && samples[i]!.t < op.at + op.ms; i++) {
      const s = samples[i]!;
      if (s.who === 'app') {
        count(p.app, appLabel(s));
        p.n++;
      } else if (s.who === 'dbee' && s.state !== 'idle') count(p.dbee, dbeeLabel(s));
      else if ((s.who === 'checkpointer' || s.who === 'walwriter' || s.who === 'autovacuum') && s.wait)
        count(p.other, `${s.who} ${s.wait}`);
    }
  }
  console.log(`   attribution, ${label} (slow: > ${threshold.toFixed(2)} ms, the p99 before):`);
  for (const [phase, p] of byPhase) {
    console.log(
      `     ${phase}: ${p.slow}/${p.all} slow (${((100 * p.slow) / Math.max(1, p.all)).toFixed(1)}%), ${p.slowUpdate} of them in the update; app samples ${p.n}: ${top(p.app, p.n)}`,
    );
    if (p.dbee.size) console.log(`       dbee active then: ${top(p.dbee, p.n)}`);
    if (p.other.size) console.log(`       others then: ${top(p.other, p.n, 4)}`);
  }
}
