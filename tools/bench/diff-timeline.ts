/**
 * Where the uncached diff's time goes (issue 90): `npm run bench`'s row "dbee diff F0 vs sources, uncached" alone, as
 * a request timeline. The generated project's script goes into a database by `psql -1` (F0, as the bench's `base`
 * environment), the sources with the bench's change set are diffed against it in this process (`dbee diff gen --env
 * base --no-cache --format json`, `shadow: server`), each run right after a floor of its own (`psql -X -1 -f` of the
 * script into an empty database) and `L.quietServer()`, as the bench does.
 *
 *   node tools/run.js tools/bench/diff-timeline.ts [objects=1000] [--runs 5] [--requests FILE] [--fresh] [--cpu-profile [--top 8]]
 *
 * Every request of the measured diffs is timed on its session (PgConnection's `query`, `queryMany`, `execute`,
 * `queryPrepared`, `executeBatch`, `open`), and per run a timeline is printed: each session's requests merged into
 * busy spans with what they were, and the time with no request in flight (JavaScript in this process). With
 * `--requests FILE`, every request is written there, one a line (run, ms from the diff's start, ms, session, kind,
 * the statement's start). The server shadow a diff leaves is kept by this process for the next one within 5 s (as in
 * the bench's process, when its previous shadow build is that recent); `--fresh` lets it go before each floor, so that
 * each diff makes a new one, as a CLI process does. `--cpu-profile`: the measured diffs are profiled (node:inspector,
 * a sample each 200 us), and for each stretch of over 5 ms with no request in flight the functions of dbee's packages
 * that were on the stack the most are printed (`--top` of them; inclusive time: what ran in that stretch and what called
 * it).
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineByName } from '@dbee/cli';
import { PgConnection } from '@dbee/postgres';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(option('runs') ?? 5);
const REQUESTS = option('requests');
/** Let go of the server shadow this process keeps before each run: every diff makes its own, as a CLI process does. */
const FRESH = argv.includes('--fresh');
const PROFILE = argv.includes('--cpu-profile');

interface CpuProfile {
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

/** Per window (ms since the run's start): dbee's functions on the stack, by the time they were there (inclusive). */
function inclusive(
  profile: CpuProfile,
  runStartUs: number,
  windows: [number, number][],
  top = Number(option('top') ?? 8),
): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const m = /\/(packages|plugins)\/([^/]+)\/src\/(.+)$/.exec(f.url);
    return m ? `${f.functionName || '(anonymous)'} (${m[2]}/${m[3]}:${f.lineNumber + 1})` : null;
  };
  const out: string[] = [];
  const acc = windows.map(() => new Map<string, number>());
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    const at = (t - runStartUs) / 1000;
    const w = windows.findIndex(([a, b]) => at >= a && at < b);
    if (w < 0) return;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = label(n);
      if (l && !seen.has(l)) {
        seen.add(l);
        acc[w]!.set(l, (acc[w]!.get(l) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
      }
    }
  });
  windows.forEach(([a, b], w) => {
    const rows = [...acc[w]!].sort((x, y) => y[1] - x[1]).slice(0, top);
    out.push(`  ${a.toFixed(0)}-${b.toFixed(0)} (${(b - a).toFixed(0)} ms):`);
    for (const [k, v] of rows) out.push(`      ${v.toFixed(1).padStart(6)} ms  ${k}`);
  });
  return out;
}

function post(session: Session, method: string, params?: object): Promise<unknown> {
  return new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
}

interface Request {
  session: number;
  label: string;
  kind: string;
  start: number;
  end: number;
  sql: string;
}

let log: Request[] | null = null;
let t0 = 0;
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

function instrument(): void {
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

/** Per session: its requests merged into spans (gaps under 1 ms joined), each with its kinds and counts. */
function timeline(requests: Request[], wall: number, windows: [number, number][] = []): string {
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
      if (s - prevEnd > 5) gaps.push(`${prevEnd.toFixed(0)}-${s.toFixed(0)}`), windows.push([prevEnd, s]);
      [cs, ce] = [s, e];
    } else ce = Math.max(ce, e);
    prevEnd = Math.max(prevEnd, e);
  }
  busy += ce - cs;
  if (wall - prevEnd > 5) gaps.push(`${prevEnd.toFixed(0)}-${wall.toFixed(0)}`), windows.push([prevEnd, wall]);
  lines.push(`  no request in flight: ${(wall - busy).toFixed(0)} ms; gaps over 5 ms: ${gaps.join(', ')}`);
  return lines.join('\n');
}

L.runMain(async () => {
  instrument();
  console.log(`dbee diff-timeline: ${N} objects, ${RUNS} runs; ${L.machine()}; load ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-diff-timeline-'));
  try {
    const ws = join(root, 'base');
    L.writeWorkspace(ws, ['base'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const wsChanged = join(root, 'changed');
    cpSync(ws, wsChanged, { recursive: true });
    applyChangeSet(join(wsChanged, 'gen'), generateChangeSet(gen));
    const script = join(root, 'script.sql');
    writeFileSync(script, gen.script);
    const f0 = await L.createDb('dt_f0');
    await L.psqlFile(f0, script);
    const env = { [L.envVar('base')]: L.dbUrl(f0) };
    const diff = () => L.dbee(wsChanged, 'diff', { project: 'gen', env: 'base', cache: false, format: 'json' }, env);
    // Warm the process (modules, the parser, V8's code), as the bench's earlier rows do.
    const first = await diff();
    const steps = (JSON.parse(first.stdout) as { steps: unknown[] }).steps.length;
    await diff();
    const ratios: number[] = [];
    const walls: number[] = [];
    const floors: number[] = [];
    const cpus: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      if (FRESH) await engineByName('postgres').release?.();
      const f = await L.createDb(`dt_floor_${run}`);
      await L.quietServer();
      const floor = (await L.psqlFile(f, script)).ms;
      await L.quietServer();
      const session = PROFILE ? new Session() : null;
      if (session) {
        session.connect();
        await post(session, 'Profiler.enable');
        await post(session, 'Profiler.setSamplingInterval', { interval: 200 });
        await post(session, 'Profiler.start');
      }
      log = [];
      t0 = performance.now();
      const startUs = Number(process.hrtime.bigint() / 1000n);
      const r = await diff();
      const requests = log;
      log = null;
      const profile = session ? ((await post(session, 'Profiler.stop')) as { profile: CpuProfile }).profile : null;
      session?.disconnect();
      const got = (JSON.parse(r.stdout) as { steps: unknown[] }).steps.length;
      if (got !== steps) throw new Error(`run ${run}: ${got} steps, the first diff had ${steps}`);
      await L.dropDb(f);
      ratios.push(r.ms / floor);
      walls.push(r.ms);
      floors.push(floor);
      cpus.push(r.cpuMs);
      console.log(
        `\nrun ${run}/${RUNS}: diff ${L.fmtMs(r.ms)} (CPU ${L.fmtMs(r.cpuMs)}), floor ${L.fmtMs(floor)}: ${L.fmtRatio(r.ms / floor)}; load ${L.load()}`,
      );
      const windows: [number, number][] = [];
      console.log(timeline(requests, r.ms, windows));
      if (profile) console.log(inclusive(profile, startUs, windows).join('\n'));
      if (REQUESTS)
        appendFileSync(
          REQUESTS,
          requests
            .sort((a, b) => a.start - b.start)
            .map(
              (q) =>
                `${run}\t${q.start.toFixed(1)}\t${(q.end - q.start).toFixed(1)}\ts${q.session}\t${q.kind}\t${q.sql.replace(/\s+/g, ' ').slice(0, 160)}\n`,
            )
            .join(''),
        );
    }
    console.log(
      `\n${steps} steps; diff ${L.fmtMs(L.median(walls))} (CPU ${L.fmtMs(L.median(cpus))}), floor ${L.fmtMs(L.median(floors))}, paired ratio median ${L.fmtRatio(L.median(ratios))} (${ratios.map(L.fmtRatio).join(' ')}); load at end ${L.load()}`,
    );
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
