/**
 * What the full deploy's server time is made of (issue #14): the requests an in-process `dbee deploy` of the generated
 * project sends are captured once, then re-sent to fresh databases of the same server with parts left out, each
 * variant paired with the psql floor of the same round (`psql -X -1 -f`, as `npm run bench`). The rows that leave
 * parts out are not something dbee can do; they bound what any change to those parts can win.
 *
 *   node tools/run.js tools/bench/parts.ts [objects=1000] [--runs 5]
 *
 * Per round, as `npm run bench` does: two untimed psql runs, then each measurement on a database of its own created
 * for it, after an untimed CHECKPOINT and `sync`; the round's databases are dropped at its end. A variant whose
 * edit finds nothing to remove (the requests changed shape) stops the run instead of printing a figure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PgConnection } from '@dbee/postgres';
import { generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 5);

/** One call the deploy made on its connection: a single statement (with parameters) or a request of many. */
interface Call {
  sql: string | string[];
  params?: unknown[];
  /** Sent as a named prepared statement with a generic plan and these settings (`PgConnection.queryPrepared`). */
  prepared?: Record<string, string>;
}

const isSmoke = (c: Call) =>
  Array.isArray(c.sql) && c.sql.some((s) => / LIMIT 0$/.test(s) || s.startsWith('INSERT INTO dbee.smoke_results'));
const isStepRequest = (c: Call): c is { sql: string[] } => Array.isArray(c.sql) && !isSmoke(c);
const STEP_ROWS = /^WITH w0 AS \(INSERT INTO dbee\.steps [\s\S]*?\)\), (w1 AS \(UPDATE dbee\.deployments)/;
const RUNNING_COUNT = /, w1 AS \(UPDATE dbee\.deployments SET steps_applied = steps_applied \+ 1 WHERE id = \d+\)/;
const isLedgerRows = (s: string) => s.startsWith('WITH w0 AS (INSERT INTO dbee.steps');
/** The deployment lock's guard (`LockHandle.guard`) in a step's ledger row (its duration times the guard). */
const GUARD = /\(1 \/ \(NOT pg_try_advisory_xact_lock_shared\((-?\d+)::bigint\)\)::integer\)/;
const GUARD_IN_ROW = new RegExp(` \\* ${GUARD.source}`, 'g');
const isClockMark = (s: string) =>
  s.startsWith("SELECT set_config('synchronous_commit', 'off', true), set_config('dbee.step_started'");

/** Edit the statements of the step requests (null drops one); the smoke baseline and single calls stay. */
const inSteps = (f: (s: string) => string | null) => (calls: Call[]) =>
  calls.map((c) => (isStepRequest(c) ? { ...c, sql: c.sql.map(f).filter((s): s is string => s !== null) } : c));

const variants: { name: string; what: string; edit: (calls: Call[]) => Call[] }[] = [
  {
    name: 'as sent',
    what: "dbee's requests as the deploy sent them (server time and round trips, no JavaScript)",
    edit: (c) => c,
  },
  {
    name: 'no smoke baseline',
    what: 'without the smoke baseline (views compiled) and its result rows',
    edit: (c) => c.filter((x) => !isSmoke(x)),
  },
  {
    name: 'no running count',
    what: "without the deployment's running count (steps_applied) per step",
    edit: inSteps((s) => s.replace(RUNNING_COUNT, '')),
  },
  {
    name: 'no step rows',
    what: 'without the `steps` row per step (objects row and count kept)',
    edit: inSteps((s) => s.replace(STEP_ROWS, 'WITH $1')),
  },
  {
    name: 'no lock guard',
    what: "without the deployment lock's guard (in each step's ledger row)",
    edit: inSteps((s) => s.replace(GUARD_IN_ROW, '')),
  },
  {
    name: 'no ledger rows',
    what: 'without the ledger statement per step (steps, objects, count)',
    edit: inSteps((s) => (isLedgerRows(s) ? null : s)),
  },
  {
    name: 'DDL, a txn per step',
    what: 'only the DDL, one transaction per step (no ledger rows, no clock marks, no smoke baseline)',
    edit: (c) => inSteps((s) => (isLedgerRows(s) || isClockMark(s) ? null : s))(c.filter((x) => !isSmoke(x))),
  },
  {
    name: 'DDL, one txn',
    what: 'only the DDL, in one transaction (what psql -1 sends, in requests of 100 statements)',
    edit: (c) => {
      const out = inSteps((s) => (isLedgerRows(s) || isClockMark(s) || s === 'BEGIN' || s === 'COMMIT' ? null : s))(
        c.filter((x) => !isSmoke(x)),
      );
      const first = out.findIndex(isStepRequest);
      const last = out.findLastIndex(isStepRequest);
      return [
        ...out.slice(0, first),
        { sql: 'BEGIN' },
        ...out.slice(first, last + 1),
        { sql: 'COMMIT' },
        ...out.slice(last + 1),
      ];
    },
  },
];

async function capture(root: string): Promise<Call[]> {
  const calls: Call[] = [];
  const proto = PgConnection.prototype as unknown as Record<
    string,
    (this: unknown, ...a: unknown[]) => Promise<unknown>
  >;
  const saved = {
    query: proto.query!,
    queryPrepared: proto.queryPrepared!,
    execute: proto.execute!,
    executeBatch: proto.executeBatch!,
  };
  for (const m of ['query', 'queryPrepared', 'execute', 'executeBatch'] as const) {
    proto[m] = function (this: unknown, sql: unknown, ...rest: unknown[]) {
      calls.push({
        sql: sql as string | string[],
        params: m === 'query' || m === 'queryPrepared' ? (rest[0] as unknown[] | undefined) : undefined,
        prepared:
          m === 'queryPrepared'
            ? { plan_cache_mode: 'force_generic_plan', ...(rest[1] as Record<string, string> | undefined) }
            : undefined,
      });
      return saved[m].call(this, sql, ...rest);
    };
  }
  try {
    const db = await L.createDb('capture');
    await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(db) });
    await L.dropDb(db);
  } finally {
    Object.assign(proto, saved);
  }
  return calls;
}

/** Send `calls` to `db` as the deploy did; single calls that failed for the deploy (it caught them) fail here too. */
async function replay(db: string, calls: Call[]): Promise<number> {
  const c = new Client({ connectionString: L.dbUrl(db, 'dbee-bench-parts') });
  await c.connect();
  // The lock's guard raises unless its holder lock is held, as the deploy's lock session held it.
  const holder = new Client({ connectionString: L.dbUrl(db, 'dbee-bench-parts-lock') });
  await holder.connect();
  const ids = new Set(
    calls
      .flatMap((x) => (Array.isArray(x.sql) ? x.sql : [x.sql]))
      .flatMap((s) => [...s.matchAll(new RegExp(GUARD.source, 'g'))].map((m) => m[1]!)),
  );
  for (const id of ids) await holder.query('SELECT pg_advisory_lock($1::bigint)', [id]);
  try {
    const t = performance.now();
    let n = 0;
    for (const call of calls) {
      if (Array.isArray(call.sql)) await c.query(call.sql.join('\n;\n'));
      else if (call.prepared) {
        // As queryPrepared sends a catalog read (fingerprint, existence checks): its settings for the call only.
        const names = Object.keys(call.prepared);
        const set = await c.query(
          `SELECT ${names.map((_, i) => `current_setting($${2 * i + 1}) AS o${i}, set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ')}`,
          names.flatMap((k) => [k, call.prepared![k]]),
        );
        await c.query({ name: `parts_${n++}`, text: call.sql, values: call.params });
        await c.query(
          `SELECT ${names.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ')}`,
          names.flatMap((k, i) => [k, set.rows[0][`o${i}`]]),
        );
      } else await c.query(call.sql, call.params).catch(() => {});
    }
    return performance.now() - t;
  } finally {
    await c.end();
    await holder.end();
  }
}

async function main(): Promise<void> {
  console.log(`dbee full deploy, its parts: ${N} objects, ${RUNS} runs; ${L.machine()}; load ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-parts-'));
  L.writeWorkspace(root, ['d'], 'server');
  const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: N });
  const script = join(root, 'script.sql');
  writeFileSync(script, gen.script);
  const env = (db: string) => ({ [L.envVar('d')]: L.dbUrl(db) });
  // Warm-up: this process loads dbee and parses the sources (cached), as `npm run bench`'s in-process rows.
  for (const w of ['warm_a', 'warm_b'])
    await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, env(await L.createDb(w)));
  const calls = await capture(root);
  const requests = calls.filter(isStepRequest);
  console.log(
    `captured: ${calls.length} calls, ${requests.length} step requests of ${requests.reduce((n, r) => n + r.sql.length, 0)} statements`,
  );
  const edited = variants.map((v) => {
    const out = v.edit(calls);
    if (v.name !== 'as sent' && JSON.stringify(out) === JSON.stringify(calls))
      throw new Error(
        `variant "${v.name}" removed nothing: the deploy's requests changed shape; update tools/bench/parts.ts`,
      );
    return { ...v, calls: out };
  });
  await L.dropAll();

  const quiet = async () => (await L.sql('postgres', 'CHECKPOINT'), spawnSync('sync'));
  const rows = new Map<string, { ms: number[]; ratio: number[] }>();
  const rec = (k: string, ms: number, floor: number) => {
    const r = rows.get(k) ?? { ms: [], ratio: [] };
    r.ms.push(ms);
    r.ratio.push(ms / floor);
    rows.set(k, r);
  };
  for (let run = 1; run <= RUNS; run++) {
    for (const w of ['warm1', 'warm2']) await L.psqlFile(await L.createDb(`${w}_${run}`), script);
    const floor = async (label: string) => (
      await quiet(), (await L.psqlFile(await L.createDb(`${label}_${run}`), script)).ms
    );
    const measure = async (label: string, f: (db: string) => Promise<number>) => {
      const fl = await floor(`f_${label}`);
      const db = await L.createDb(`${label}_${run}`);
      await quiet();
      rec(label, await f(db), fl);
      rec('psql -1 -f (floor)', fl, fl);
    };
    await measure(
      'dbee deploy, in-process',
      async (db) => (await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, env(db))).ms,
    );
    for (const v of edited) await measure(v.name, (db) => replay(db, v.calls));
    await measure('psql -f, a txn per statement', async (db) => (await L.psqlFile(db, script, false)).ms);
    await L.dropAll();
    console.log(`  run ${run}/${RUNS} done, load ${L.load()}`);
  }
  const what = new Map(variants.map((v) => [v.name, v.what]));
  what.set('psql -1 -f (floor)', 'the floor (medians of all its runs)');
  what.set('dbee deploy, in-process', 'runDbeeCommand in this process, warm (as `npm run bench`)');
  what.set('psql -f, a txn per statement', 'psql without -1: each statement its own transaction');
  console.log(
    L.table(
      ['measurement', 'median', 'paired ratio to the floor (median, range)', 'what'],
      [...rows].map(([k, r]) => [
        k,
        L.fmtMs(L.median(r.ms)),
        `${L.fmtRatio(L.median(r.ratio))} (${L.fmtRatio(Math.min(...r.ratio))} - ${L.fmtRatio(Math.max(...r.ratio))})`,
        what.get(k) ?? '',
      ]),
    ),
  );
  console.log(`load average at the end: ${L.load()}`);
}

L.runMain(main);
