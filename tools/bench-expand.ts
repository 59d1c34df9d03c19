/**
 * What a zero-downtime release costs on a PostgreSQL server (docs/zero-downtime.md), measured through dbee itself:
 * every figure comes from a real project deployed in-process (`runDbeeCommand`, as the tests in test/expand do) and
 * then changed by `dbee deploy --strategy expand-contract`, with a breaking change: the type of `t.a` goes from
 * integer to bigint (a shadow column, the expand's sync trigger, a batched backfill, version schemas `s_v0` / `s_v1`).
 *
 *   1. Backfill rows/s at 10k, 100k and 1M rows: the backfill of a real expand, timed by the ledger
 *      (`dbee.backfills`: from the start, counting included, to the end), beside the same `UPDATE` as one statement
 *      on the same table right after (the floor: no batches; the table compacted by `VACUUM FULL` first; the expand's
 *      trigger fires for it too) and pgroll's published backfill figures (53.3k rows/s at 10k, 20.8k at 100k, 9.4k at
 *      300k; PG 14.8, its dev/benchmark-results). Each size runs `--runs` times, each run on a fresh database; the
 *      ratio is the median of the paired ratios (one statement / backfill, per run). The whole
 *      `deploy --strategy expand-contract` (planning included) is shown too.
 *   2. The sync trigger's write amplification: after a real expand of 100k rows, a full-table
 *      `UPDATE s.t SET c = c + 1` with the trigger the expand installed against the same UPDATE with that trigger
 *      disabled, alternating, `--pairs` pairs, the table compacted before each; the median of the paired ratios
 *      (pgroll: 349k rows/s without, 78k with: 4.5x).
 *   3. The old application's latency (one session with the old version's search path `s_v0, s`: read a random row
 *      by key, update it, every 2 ms) on 300k rows, before the release (no release: the plain table), during the
 *      whole migration (`deploy --strategy expand-contract`: expand, backfill, version schemas; then `dbee complete`)
 *      and after it (completed: the old version schema is gone, the search path falls through to the table in its
 *      new shape): p50 and p99 of each read+update pair, the read's p99 alone (a read never waits for a row
 *      lock: a tail only in the pairs is the update's wait), and the errors the app saw; `--runs` times on fresh
 *      databases, medians, and the p99 ratio to before as the median of the paired ratios. The backfill's own
 *      window (from the ledger) is shown apart. The app runs in a worker thread: dbee's in-process planning must not
 *      hold its event loop (it still competes for the same CPUs, as it would on a database host running both).
 *
 * Goals, printed met / NOT MET: backfill >= 50k rows/s at 1M rows; amplification <= 3x; p99 during <= 2x p99 before.
 * The load average is printed at the start, after each section and at the end: the machine may be shared.
 *
 *   node tools/run.js tools/bench-expand.ts                     # 10k, 100k, 1M; 3 runs each; 5 pairs; 300k rows
 *   node tools/run.js tools/bench-expand.ts --sizes 10000,100000 --runs 1 --pairs 3 --app-rows 100000
 *   node tools/run.js tools/bench-expand.ts --sections 3        # only the latency (--sections 1,2,3 by default)
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';
import {
  createDb,
  dbee,
  dbUrl,
  dropDb,
  envVar,
  fmtMs,
  fmtRatio,
  load,
  machine,
  median,
  runMain,
  table,
  writeWorkspace,
} from './bench/lib';

const PGROLL: Record<number, string> = { 10000: '53.3k', 100000: '20.8k', 300000: '9.4k' };

/** The project: one table; release 1 changes the type of `a` (integer → bigint), a breaking change. */
const V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/t.sql': 'CREATE TABLE s.t (id bigint PRIMARY KEY, a integer NOT NULL, b text NOT NULL, c integer);',
};
const V2 = { 's/t.sql': 'CREATE TABLE s.t (id bigint PRIMARY KEY, a bigint NOT NULL, b text NOT NULL, c integer);' };
const ENV = 'bench';
const OLD_SESSION = 'SET search_path = s_v0, s';

/** Thousands of rows per second. */
const fmtRate = (rows: number, ms: number) => `${(rows / ms).toFixed(1)}k`;

/** A progress line on stderr (the figures go to stdout): seconds since the start and what is being done. */
const T0 = performance.now();
const step = (what: string) => process.stderr.write(`[${((performance.now() - T0) / 1000).toFixed(0)} s] ${what}\n`);

const timed = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};

/** A workspace folder (dbee.yaml, the project at V1) and a database per `prepare`. */
class Bench {
  readonly root = mkdtempSync(join(tmpdir(), 'dbee-bench-expand-'));
  constructor() {
    writeWorkspace(this.root, [ENV]);
  }

  write(files: Record<string, string>): void {
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.root, rel)), { recursive: true });
      writeFileSync(join(this.root, rel), text);
    }
  }

  /** A fresh database with the project at V1 deployed by dbee and `rows` rows, vacuumed; the sources then at V2. */
  async prepare(label: string, rows: number): Promise<{ db: string; c: Client; vars: Record<string, string> }> {
    step(`${label}: database, deploy of the project, ${rows.toLocaleString('en-US')} rows`);
    const db = await createDb(label);
    const vars = { [envVar(ENV)]: dbUrl(db) };
    this.write(V1);
    step('  deploy');
    await dbee(this.root, 'deploy', { project: 's', env: ENV }, vars);
    step('  seed');
    const c = new Client({ connectionString: dbUrl(db, 'bench') });
    await c.connect();
    await c.query(
      `INSERT INTO s.t (id, a, b, c) SELECT g, g % 100000, md5(g::text), g % 7 FROM generate_series(1, ${rows}) g`,
    );
    await c.query('VACUUM (ANALYZE) s.t');
    this.write(V2);
    return { db, c, vars };
  }

  /** `dbee deploy s --strategy expand-contract`: expand, backfill, version schemas; its wall time. */
  expand(vars: Record<string, string>) {
    step('deploy --strategy expand-contract');
    return dbee(this.root, 'deploy', { project: 's', env: ENV, strategy: 'expand-contract' }, vars);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The expand's backfill of s.t as the ledger recorded it: rows, milliseconds from its start to its end, SET list. */
async function ledgerBackfill(c: Client): Promise<{ rows: number; ms: number; set: string; batches: number }> {
  const r = await c.query(
    `SELECT done, batches, set_clause, extract(epoch FROM finished_at - started_at) * 1000 AS ms
       FROM dbee.backfills WHERE table_schema = 's' AND table_name = 't' AND status = 'done'`,
  );
  if (r.rows.length !== 1)
    throw new Error(`expected one finished backfill of s.t in dbee.backfills, found ${r.rows.length}`);
  const row = r.rows[0];
  return { rows: Number(row.done), ms: Number(row.ms), set: String(row.set_clause), batches: Number(row.batches) };
}

/** The sync trigger the expand installed on s.t. */
async function syncTrigger(c: Client): Promise<string> {
  const r = await c.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 's.t'::regclass AND NOT tgisinternal`);
  if (r.rows.length !== 1) throw new Error(`expected the expand's one sync trigger on s.t, found ${r.rows.length}`);
  return String(r.rows[0].tgname);
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Milliseconds since the epoch, to the microsecond: the same clock in every thread (and the server's, here). */
const now = () => performance.timeOrigin + performance.now();

/**
 * The old application's loop, in a worker thread of its own: dbee runs in the main thread (in-process, as the tests
 * run it) and its planning would otherwise hold the app's event loop and show up as the app's latency.
 */
const APP_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const { Client } = require(workerData.pg);
const now = () => performance.timeOrigin + performance.now();
(async () => {
  const client = new Client({ connectionString: workerData.url });
  await client.connect();
  await client.query(workerData.session);
  const samples = [];
  const errors = [];
  let stopped = false;
  parentPort.on('message', () => (stopped = true));
  parentPort.postMessage({ ready: true });
  while (!stopped) {
    const id = 1 + Math.floor(Math.random() * workerData.rows);
    const t0 = now();
    try {
      const r = await client.query('SELECT id, a, b, c FROM t WHERE id = $1', [id]);
      if (r.rows.length !== 1) throw new Error('row ' + id + ' not found');
      const read = now() - t0;
      await client.query('UPDATE t SET c = c + 1 WHERE id = $1', [id]);
      samples.push({ at: t0, ms: now() - t0, read });
    } catch (e) {
      errors.push({ at: t0, message: e.message });
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await client.end();
  parentPort.postMessage({ samples, errors });
})().catch((e) => parentPort.postMessage({ samples: [], errors: [{ at: now(), message: 'app failed: ' + e.message }] }));
`;

type AppResult = { samples: { at: number; ms: number; read: number }[]; errors: { at: number; message: string }[] };

/** The old application: one session on the old version's search path, a read and an update of a random row. */
class OldApp {
  private constructor(
    private readonly worker: Worker,
    private readonly result: Promise<AppResult>,
  ) {}

  static async start(url: string, rows: number): Promise<OldApp> {
    const worker = new Worker(APP_LOOP, {
      eval: true,
      workerData: { url, rows, session: OLD_SESSION, pg: require.resolve('pg') },
    });
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    const result = new Promise<AppResult>((resolve, reject) => {
      worker.on('message', (m: { ready?: boolean } & AppResult) => (m.ready ? ready() : resolve(m)));
      worker.on('error', reject);
    });
    await Promise.race([started, result]);
    return new OldApp(worker, result);
  }

  /** Stops the loop; its latencies and errors, each at the time (`now()`) its pair started. */
  async stop(): Promise<AppResult> {
    this.worker.postMessage('stop');
    const r = await this.result;
    await this.worker.terminate();
    return r;
  }
}

/** Section 1: the backfill of a real expand at each size, `runs` times; the median rate at 1M rows and each run's. */
async function backfillSection(
  bench: Bench,
  sizes: number[],
  runs: number,
): Promise<{ rateAt1M: number | null; ratesAt1M: number[] }> {
  // 1. Backfill rows/s, through the real expand.
  const rows1: string[][] = [];
  let rateAt1M: number | null = null;
  let ratesAt1M: number[] = [];
  let n = 0;
  for (const size of sizes) {
    const backfillMs: number[] = [];
    const statementMs: number[] = [];
    const expandMs: number[] = [];
    const batches: number[] = [];
    for (let r = 0; r < runs; r++) {
      const { db, c, vars } = await bench.prepare(`bf${n++}`, size);
      try {
        expandMs.push((await bench.expand(vars)).ms);
        const bf = await ledgerBackfill(c);
        if (bf.rows !== size) throw new Error(`the backfill updated ${bf.rows} rows of ${size}`);
        backfillMs.push(bf.ms);
        batches.push(bf.batches);
        // The floor: the same SET as one statement, on the same table compacted (the trigger fires for it too).
        step('  the same UPDATE as one statement');
        await c.query('VACUUM FULL s.t');
        await c.query('ANALYZE s.t');
        statementMs.push(await timed(() => c.query(`UPDATE s.t SET ${bf.set}`)));
      } finally {
        await c.end();
        await dropDb(db);
      }
    }
    const bf = median(backfillMs);
    const st = median(statementMs);
    if (size === 1_000_000) {
      rateAt1M = (size / bf) * 1000;
      ratesAt1M = backfillMs.map((ms) => size / ms);
    }
    rows1.push([
      size.toLocaleString('en-US'),
      `${fmtRate(size, bf)} rows/s (${fmtMs(bf)}, ${median(batches)} batches)`,
      `${fmtRate(size, st)} rows/s (${fmtMs(st)})`,
      fmtRatio(median(backfillMs.map((b, i) => statementMs[i]! / b))),
      fmtMs(median(expandMs)),
      PGROLL[size] ? `${PGROLL[size]} rows/s` : '-',
      String(runs),
    ]);
  }
  console.log(
    '\n1. backfill of a real `deploy --strategy expand-contract` (s.t.a integer -> bigint), default options, timed by the ledger',
  );
  console.log(
    table(
      [
        'rows',
        'expand backfill',
        'one UPDATE statement',
        'backfill / statement',
        'whole expand',
        'pgroll backfill',
        'runs',
      ],
      rows1,
    ),
  );
  console.log('   pgroll at 300k rows: 9.4k rows/s (its published figures: 10k, 100k, 300k)');
  console.log(`   load average: ${load()}`);

  return { rateAt1M, ratesAt1M };
}

/** Section 2: the expand's sync trigger on a full-table UPDATE, `pairs` alternating pairs; the median paired ratio. */
async function amplificationSection(bench: Bench, pairs: number): Promise<number> {
  // 2. Write amplification of the trigger the expand installed.
  const ampRows = 100_000;
  const withMs: number[] = [];
  const withoutMs: number[] = [];
  let trigger = '';
  {
    const { db, c, vars } = await bench.prepare('amp', ampRows);
    try {
      await bench.expand(vars);
      trigger = await syncTrigger(c);
      const update = async (enabled: boolean) => {
        await c.query(`ALTER TABLE s.t ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER ${trigger}`);
        await c.query('VACUUM FULL s.t');
        await c.query('ANALYZE s.t');
        return timed(() => c.query('UPDATE s.t SET c = c + 1'));
      };
      for (let p = 0; p < pairs; p++) {
        withoutMs.push(await update(false));
        withMs.push(await update(true));
      }
    } finally {
      await c.end();
      await dropDb(db);
    }
  }
  const amplification = median(withMs.map((w, i) => w / withoutMs[i]!));
  console.log(
    `\n2. write amplification: full-table UPDATE of ${ampRows.toLocaleString('en-US')} rows after a real expand, ${pairs} pairs`,
  );
  console.log(
    table(
      ['', 'trigger disabled', `with ${trigger}`, 'with / without (median of paired ratios)', 'pgroll'],
      [
        [
          'UPDATE s.t SET c = c + 1',
          `${fmtRate(ampRows, median(withoutMs))} rows/s`,
          `${fmtRate(ampRows, median(withMs))} rows/s`,
          fmtRatio(amplification),
          '349k vs 78k rows/s: 4.47x',
        ],
      ],
    ),
  );
  console.log(`   load average: ${load()}`);

  return amplification;
}

/** Section 3: the old app through a whole migration, `runs` times; the median paired p99 ratio and its errors. */
async function latencySection(
  bench: Bench,
  runs: number,
  appRows: number,
  phaseMs: number,
): Promise<{ p99ratio: number; errors: number }> {
  // 3. The old application's latency before, during and after the whole migration, `--runs` times.
  const PHASES = [
    'before (no release)',
    'during: expand + backfill',
    '  of which the backfill',
    'during: complete',
    'during (whole migration)',
    'after (completed)',
  ] as const;
  type Phase = { ms: number[]; read: number[]; errors: string[]; wall: number };
  const appRuns: Record<(typeof PHASES)[number], Phase>[] = [];
  /** What `t` is for a session on the old app's search path: the table, or the old version schema's view. */
  const resolved: string[][] = [];
  for (let r = 0; r < runs; r++) {
    const { db, c, vars } = await bench.prepare(`app${r}`, appRows);
    const app = await OldApp.start(dbUrl(db, 'old-app'), appRows);
    let stopped: AppResult | null = null;
    const seen: string[] = [];
    const resolve = async () => {
      await c.query(OLD_SESSION);
      const q = await c.query(
        `SELECT n.nspname || '.' || k.relname || CASE k.relkind WHEN 'v' THEN ' (view)' ELSE ' (table)' END AS t
             FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = to_regclass('t')`,
      );
      await c.query('RESET search_path');
      seen.push(String(q.rows[0].t));
    };
    try {
      const wait = (ms: number) => new Promise((res) => setTimeout(res, ms));
      await resolve();
      const t0 = now();
      await wait(phaseMs);
      const t1 = now();
      await bench.expand(vars);
      const t2 = now();
      await resolve();
      step('complete');
      await dbee(bench.root, 'complete', { project: 's', env: ENV }, vars);
      const t3 = now();
      await resolve();
      await wait(phaseMs);
      const t4 = now();
      stopped = await app.stop();
      const { samples, errors } = stopped;
      const at = (from: number, to: number): Phase => ({
        ms: samples.filter((x) => x.at >= from && x.at < to).map((x) => x.ms),
        read: samples.filter((x) => x.at >= from && x.at < to).map((x) => x.read),
        errors: errors.filter((x) => x.at >= from && x.at < to).map((x) => x.message),
        wall: to - from,
      });
      // The backfill's window from the ledger's times (the server runs on this machine: the same clock).
      const w = await c.query(
        `SELECT extract(epoch FROM started_at) * 1000 AS s, extract(epoch FROM finished_at) * 1000 AS f
             FROM dbee.backfills WHERE table_schema = 's' AND table_name = 't'`,
      );
      appRuns.push({
        'before (no release)': at(t0, t1),
        'during: expand + backfill': at(t1, t2),
        '  of which the backfill': at(Number(w.rows[0]?.s), Number(w.rows[0]?.f)),
        'during: complete': at(t2, t3),
        'during (whole migration)': at(t1, t3),
        'after (completed)': at(t3, t4),
      });
      resolved.push(seen);
    } finally {
      if (!stopped) await app.stop().catch(() => undefined);
      await c.end();
      await dropDb(db);
    }
  }
  const f = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(2)} ms` : '-');
  const p99Ratio = (phase: (typeof PHASES)[number]) =>
    median(appRuns.map((a) => pct(a[phase].ms, 99) / pct(a['before (no release)'].ms, 99)));
  console.log(
    `\n3. old application (search path s_v0, s: read + update of a random row every 2 ms) on ${appRows.toLocaleString('en-US')} rows, ${runs} runs (medians)`,
  );
  console.log(
    table(
      [
        'phase',
        'wall',
        'operations (all runs)',
        'errors (all runs)',
        'p50',
        'p99',
        'worst (all runs)',
        'p99 of the read alone',
        'p99 / p99 before (median of paired ratios)',
      ],
      PHASES.map((phase) => {
        const ps = appRuns.map((a) => a[phase]);
        return [
          phase,
          fmtMs(median(ps.map((p) => p.wall))),
          String(ps.reduce((n, p) => n + p.ms.length, 0)),
          String(ps.reduce((n, p) => n + p.errors.length, 0)),
          f(median(ps.map((p) => pct(p.ms, 50)))),
          f(median(ps.map((p) => pct(p.ms, 99)))),
          f(Math.max(...ps.flatMap((p) => p.ms))),
          f(median(ps.map((p) => pct(p.read, 99)))),
          fmtRatio(p99Ratio(phase)),
        ];
      }),
    ),
  );
  console.log(
    `   the old app's t: before ${resolved[0]?.[0]}, expanded ${resolved[0]?.[1]}, after complete ${resolved[0]?.[2]}`,
  );
  const errors = appRuns.flatMap((a) => [
    ...a['before (no release)'].errors,
    ...a['during (whole migration)'].errors,
    ...a['after (completed)'].errors,
  ]);
  if (errors.length) console.log(`   first error of the old app: ${errors[0]}`);
  console.log(`   load average: ${load()}`);

  return { p99ratio: p99Ratio('during (whole migration)'), errors: errors.length };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1]! : fallback;
  };
  const sizes = arg('--sizes', '10000,100000,1000000').split(',').map(Number);
  const runs = Number(arg('--runs', '3'));
  const pairs = Number(arg('--pairs', '5'));
  const appRows = Number(arg('--app-rows', '300000'));
  const phaseMs = Number(arg('--phase-ms', '5000'));
  const sections = arg('--sections', '1,2,3').split(',');
  console.log(`dbee expand/contract benchmark: ${machine()}`);
  console.log(`load average at start: ${load()}`);
  const bench = new Bench();
  try {
    const none = { rateAt1M: null, ratesAt1M: [] as number[] };
    const { rateAt1M, ratesAt1M } = sections.includes('1') ? await backfillSection(bench, sizes, runs) : none;
    const amplification = sections.includes('2') ? await amplificationSection(bench, pairs) : NaN;
    const latency = sections.includes('3')
      ? await latencySection(bench, runs, appRows, phaseMs)
      : { p99ratio: NaN, errors: 0 };

    const goal = (ok: boolean) => (ok ? 'met' : 'NOT MET');
    const ratio = (x: number, max: number) =>
      Number.isNaN(x) ? 'not measured (--sections)' : `${fmtRatio(x)}, ${goal(x <= max)}`;
    console.log('\ngoals');
    console.log(
      `  backfill >= 50k rows/s at 1M rows: ${rateAt1M === null ? 'not measured (1M not among --sizes, or --sections)' : `${(rateAt1M / 1000).toFixed(1)}k rows/s (median; runs ${ratesAt1M.map((k) => `${k.toFixed(1)}k`).join(', ')}), ${goal(rateAt1M >= 50_000)}`}`,
    );
    console.log(`  write amplification <= 3x: ${ratio(amplification, 3)}`);
    const { p99ratio, errors } = latency;
    console.log(`  p99 during the migration <= 2x p99 before: ${ratio(p99ratio, 2)}; old app errors: ${errors}`);
    console.log(`load average at end: ${load()}`);
  } finally {
    bench.remove();
  }
}

runMain(main);
