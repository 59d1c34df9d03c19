/**
 * A command's request timeline and the JavaScript between its requests (issue 90), shared by diff-timeline.ts and
 * incremental-timeline.ts: every request of PgConnection (`query`, `queryMany`, `execute`, `queryPrepared`,
 * `executeBatch`, `open`) timed on its session while a run is logged, each session's requests merged into busy spans,
 * and, with a CPU profile of the run, the functions of dbee's packages on the stack in each stretch of over 5 ms with
 * no request in flight (inclusive time: what ran in that stretch and what called it).
 */
import { Session } from 'node:inspector';
import { PgConnection } from '@dbee/postgres';

export interface CpuProfile {
  nodes: {
    id: number;
    parent?: number;
    children?: number[];
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Per window (ms since the run's start): dbee's functions on the stack, by the time they were there (inclusive), and
 * the function each sample was in (self time, any code: a file read, the garbage collector, a dependency).
 */
export function byWindow(
  profile: CpuProfile,
  runStartUs: number,
  windows: [number, number][],
): { inclusive: Map<string, number>; self: Map<string, number> }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const m = /\/(packages|plugins)\/([^/]+)\/src\/(.+)$/.exec(f.url);
    return m ? `${f.functionName || '(anonymous)'} (${m[2]}/${m[3]}:${f.lineNumber + 1})` : null;
  };
  const selfLabel = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^.*\/(node_modules|packages|plugins)\//, '').replace(/^file:\/\//, '');
    return label(id) ?? `${f.functionName || '(anonymous)'}${file ? ` (${file}:${f.lineNumber + 1})` : ''}`;
  };
  const acc = windows.map(() => ({ inclusive: new Map<string, number>(), self: new Map<string, number>() }));
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    const at = (t - runStartUs) / 1000;
    const w = windows.findIndex(([a, b]) => at >= a && at < b);
    if (w < 0) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const self = selfLabel(id);
    acc[w]!.self.set(self, (acc[w]!.self.get(self) ?? 0) + ms);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = label(n);
      if (l && !seen.has(l)) {
        seen.add(l);
        acc[w]!.inclusive.set(l, (acc[w]!.inclusive.get(l) ?? 0) + ms);
      }
    }
  });
  return acc;
}

/** Per window (ms since the run's start): dbee's functions on the stack, by the time they were there (inclusive). */
export function inclusive(profile: CpuProfile, runStartUs: number, windows: [number, number][], top = 8): string[] {
  const out: string[] = [];
  const acc = byWindow(profile, runStartUs, windows);
  windows.forEach(([a, b], w) => {
    const rows = [...acc[w]!.inclusive].sort((x, y) => y[1] - x[1]).slice(0, top);
    out.push(`  ${a.toFixed(0)}-${b.toFixed(0)} (${(b - a).toFixed(0)} ms):`);
    for (const [k, v] of rows) out.push(`      ${v.toFixed(1).padStart(6)} ms  ${k}`);
  });
  return out;
}

export function post(session: Session, method: string, params?: object): Promise<unknown> {
  return new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
}

export interface Request {
  session: number;
  label: string;
  kind: string;
  start: number;
  end: number;
  sql: string;
}

let log: Request[] | null = null;
let t0 = 0;

/**
 * A run's requests and, with `profile`, its CPU profile (node:inspector, a sample each 200 us): `start` before the run
 * (after `instrument()`), `stop` after it.
 */
export async function startRun(profile: boolean): Promise<{
  startUs: number;
  stop: () => Promise<{ requests: Request[]; profile: CpuProfile | null }>;
}> {
  const session = profile ? new Session() : null;
  if (session) {
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: 200 });
    await post(session, 'Profiler.start');
  }
  log = [];
  t0 = performance.now();
  const startUs = Number(process.hrtime.bigint() / 1000n);
  return {
    startUs,
    stop: async () => {
      const requests = log ?? [];
      log = null;
      const p = session ? ((await post(session, 'Profiler.stop')) as { profile: CpuProfile }).profile : null;
      session?.disconnect();
      return { requests, profile: p };
    },
  };
}

/** The requests as lines of a file: run, ms from the run's start, ms, session, kind, the statement's start. */
export function requestLines(run: number | string, requests: Request[]): string {
  return requests
    .sort((a, b) => a.start - b.start)
    .map(
      (q) =>
        `${run}\t${q.start.toFixed(1)}\t${(q.end - q.start).toFixed(1)}\ts${q.session}\t${q.kind}\t${q.sql.replace(/\s+/g, ' ').slice(0, 160)}\n`,
    )
    .join('');
}
const sessions = new WeakMap<object, number>();
const sessionNames: string[] = [];
function sessionOf(conn: object): number {
  let id = sessions.get(conn);
  if (id === undefined) {
    id = sessionNames.length;
    sessions.set(conn, id);
    sessionNames.push((conn as { description?: string }).description ?? '?');
  }
  return id;
}

const kindOf = (sql: string): string => {
  const s = sql.trimStart().slice(0, 300);
  if (/^(CREATE|DROP) DATABASE\b/i.test(s)) return 'CREATE/DROP DATABASE';
  if (/^COMMENT ON DATABASE/i.test(s)) return 'shadow comment';
  if (/^(BEGIN|COMMIT|ROLLBACK)\b/i.test(s)) return s.split(/\s/)[0]!.toUpperCase();
  if (/^SET\b|^RESET\b|set_config/i.test(s)) return 'session settings';
  if (/pg_try_advisory|pg_advisory/i.test(s)) return 'lock';
  if (/\bdbee\.|dbee_/i.test(s)) return 'ledger';
  if (/^(CREATE|ALTER|DROP|COMMENT|GRANT|REVOKE|DO)\b/i.test(s)) return 'DDL';
  if (/\bpg_[a-z_]+|information_schema/i.test(s)) return 'catalog';
  return 'other';
};

async function timed<T>(conn: object, kind: string, sql: string, send: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await send();
  } finally {
    if (log)
      log.push({ session: sessionOf(conn), label: kind, kind, start: start - t0, end: performance.now() - t0, sql });
  }
}

export function instrument(): void {
  const proto = PgConnection.prototype as unknown as Record<
    string,
    (this: object, ...a: unknown[]) => Promise<unknown>
  >;
  for (const m of ['query', 'execute', 'queryPrepared'] as const) {
    const orig = proto[m]!;
    proto[m] = function (this: object, sql: unknown, ...rest: unknown[]) {
      return timed(this, kindOf(String(sql)), String(sql), () => orig.call(this, sql, ...rest));
    };
  }
  const many = proto.queryMany!;
  proto.queryMany = function (this: object, queries: unknown, ...rest: unknown[]) {
    const qs = queries as { sql: string }[];
    return timed(this, `catalog x${qs.length}`, qs.map((q) => q.sql).join('; '), () =>
      many.call(this, queries, ...rest),
    );
  };
  const batch = proto.executeBatch!;
  proto.executeBatch = function (this: object, statements: unknown) {
    const ss = statements as string[];
    return timed(this, `batch x${ss.length}`, ss.join('; '), () => batch.call(this, statements));
  };
  const Open = PgConnection as unknown as { open: (...a: unknown[]) => Promise<object> };
  const open = Open.open.bind(PgConnection);
  Open.open = async (...a: unknown[]) => {
    const start = performance.now();
    const conn = await open(...a);
    if (log)
      log.push({
        session: sessionOf(conn),
        label: 'connect',
        kind: 'connect',
        start: start - t0,
        end: performance.now() - t0,
        sql: '',
      });
    return conn;
  };
}

/**
 * Per session: its requests merged into spans (gaps under 1 ms joined), each with its kinds and counts; the stretches
 * of over `minGap` ms with no request in flight are pushed to `windows`.
 */
export function timeline(requests: Request[], wall: number, windows: [number, number][] = [], minGap = 5): string {
  const lines: string[] = [];
  const bySession = new Map<number, Request[]>();
  for (const r of requests) bySession.set(r.session, [...(bySession.get(r.session) ?? []), r]);
  for (const [s, rs] of [...bySession].sort((a, b) => a[1][0]!.start - b[1][0]!.start)) {
    rs.sort((a, b) => a.start - b.start);
    lines.push(`  s${s} ${sessionNames[s]!.replace(/postgres:\/\/\S+/, '').slice(0, 60)}`);
    let span: Request[] = [];
    const flush = () => {
      if (!span.length) return;
      const counts = new Map<string, { n: number; ms: number }>();
      for (const r of span) {
        const c = counts.get(r.label) ?? { n: 0, ms: 0 };
        c.n++;
        c.ms += r.end - r.start;
        counts.set(r.label, c);
      }
      const what = [...counts].map(([k, c]) => `${k}${c.n > 1 ? ` x${c.n}` : ''} ${c.ms.toFixed(0)}`).join(', ');
      lines.push(
        `    ${span[0]!.start.toFixed(0).padStart(5)} - ${Math.max(...span.map((r) => r.end))
          .toFixed(0)
          .padStart(5)}  ${what}`,
      );
      span = [];
    };
    for (const r of rs) {
      const last = span.length ? Math.max(...span.map((x) => x.end)) : 0;
      if (span.length && r.start - last > 1) flush();
      span.push(r);
    }
    flush();
  }
  // JavaScript: the time with no request in flight.
  const ivs = requests.map((r) => [r.start, r.end] as const).sort((a, b) => a[0] - b[0]);
  let busy = 0;
  let [cs, ce] = [0, 0];
  const gaps: string[] = [];
  let prevEnd = 0;
  for (const [s, e] of ivs) {
    if (s > ce) {
      busy += ce - cs;
      if (s - prevEnd > minGap) gaps.push(`${prevEnd.toFixed(0)}-${s.toFixed(0)}`), windows.push([prevEnd, s]);
      [cs, ce] = [s, e];
    } else ce = Math.max(ce, e);
    prevEnd = Math.max(prevEnd, e);
  }
  busy += ce - cs;
  if (wall - prevEnd > minGap) gaps.push(`${prevEnd.toFixed(0)}-${wall.toFixed(0)}`), windows.push([prevEnd, wall]);
  lines.push(`  no request in flight: ${(wall - busy).toFixed(0)} ms; gaps over ${minGap} ms: ${gaps.join(', ')}`);
  return lines.join('\n');
}
