/**
 * What the full deploy's server time is made of (issue #14): the requests an in-process `dbee deploy` of the generated
 * project sends are captured once, then re-sent to fresh databases of the same server with parts left out, each
 * variant paired with the psql floor of the same round (`psql -X -1 -f`, as `npm run bench`). The rows that leave
 * parts out are not something dbee can do; they bound what any change to those parts can win.
 *
 *   node tools/run.js tools/bench/parts.ts [objects=1000] [--runs 5] [--shared-server] [--write-docs]
 *
 * It runs on a cluster of its own (initdb in a temporary folder, a free port, fsync off: lib.ts `useOwnCluster`), where
 * nothing else spends the server's CPU; `--shared-server` runs on the shared server instead. The goals (issue #61: the
 * ledger rows' share <= 0.10x of the floor's server CPU; kept from issue #14: the smoke baseline's share, the lock
 * guard) are judged on the median of the rounds' paired figures, with their range and the load average.
 *
 * Per round, as `npm run bench` does: two untimed psql runs, then each measurement on a database of its own created
 * for it, after an untimed CHECKPOINT and `sync`; the round's databases are dropped at its end. A variant whose
 * edit finds nothing to remove (the requests changed shape) stops the run instead of printing a figure.
 *
 * Each variant is also set against "as sent" of the same round: "as sent" over it (the lock guard's cost is "as sent"
 * over "no lock guard"), and the share of the floor of the part it leaves out ("as sent"'s paired ratio minus its own).
 * The step rows are a named statement of the session (`PREPARE`, then `EXECUTE` per step): the parts are left out of
 * its definition; "rows as literal statements" writes them as the deploy did before, parsed and planned per step.
 * The goals (guard, ledger rows' share, smoke baseline's share) are printed with a met / not met verdict, the shares
 * both in wall time and in the server's CPU time: the replays read their backend's CPU time from /proc (the server
 * runs on this machine), and the floor's CPU time is its statements sent the way psql -1 -f sends them (one by one, in
 * one transaction), so that a loaded machine still gives a share that means something.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PgConnection } from '@dbee/postgres';
import { generateProject } from './generate';
import * as G from './goals';
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

/** The smoke baseline's request of compiles (its views, `SELECT * ... LIMIT 0`, rolled back). */
const isSmoke = (c: Call) => Array.isArray(c.sql) && c.sql.some((s) => / LIMIT 0$/.test(s));
const isStepRequest = (c: Call): c is { sql: string[] } => Array.isArray(c.sql) && !isSmoke(c);
const text = (c: Call) => (Array.isArray(c.sql) ? c.sql.join('\n') : c.sql);
/** The smoke baseline's result rows, written in the closing row's request (split out of its chain by `unchained`). */
const isSmokeRows = (s: string) => s.startsWith('INSERT INTO dbee.smoke_results');
/** A smoke baseline's call after the steps: its existence check (in a transaction rolled back), the views' dependencies, its compiles. */
const isSmokeCall = (c: Call) =>
  isSmoke(c) ||
  (typeof c.sql === 'string' &&
    (/^BEGIN; SET LOCAL statement_timeout/.test(c.sql) ||
      /^\s*WITH k AS MATERIALIZED \(\s*SELECT \* FROM unnest\(/.test(c.sql) ||
      /^\s*WITH RECURSIVE edge AS MATERIALIZED/.test(c.sql)));
/**
 * Without the smoke baseline: after the last step request, its calls (the existence check with the `ROLLBACK` that
 * ends its transaction, the views' dependencies, the compiles) and its result rows in the closing row's request.
 */
function withoutSmoke(calls: Call[]): Call[] {
  const lastStep = calls.findLastIndex((c) => isStepRequest(c) && c.sql.some(isStepRows));
  const out: Call[] = [];
  for (const [i, c] of calls.entries()) {
    if (i <= lastStep) out.push(c);
    else if (isSmokeCall(c)) continue;
    else if (c.sql === 'ROLLBACK' && i > 0 && isSmokeCall(calls[i - 1]!)) continue;
    else if (Array.isArray(c.sql)) out.push({ ...c, sql: c.sql.filter((s) => !isSmokeRows(s)) });
    else out.push(c);
  }
  return out;
}
/**
 * The captured calls with every chained write of the closing row's request (`WITH w0 AS (<write>) <write>`, the smoke
 * results before the fold) sent as two statements of the same request: the variants take out one without the other.
 */
function unchained(calls: Call[]): Call[] {
  const split = (s: string): string[] => {
    const m = /^WITH w0 AS \((INSERT INTO dbee\.smoke_results [\s\S]*?\))\) (INSERT INTO dbee\.[\s\S]*)$/.exec(s);
    return m ? [m[1]!, m[2]!] : [s];
  };
  return calls.map((c) => (Array.isArray(c.sql) ? { ...c, sql: c.sql.flatMap(split) } : c));
}
/** A step's ledger rows: the session's named statement run with the step's values (`Ledger.inlineNamed`). */
const isStepRows = (s: string) =>
  s.startsWith('EXECUTE dbee_ledger_') ||
  s.startsWith('WITH w0 AS (INSERT INTO dbee.steps') ||
  s.startsWith('INSERT INTO dbee.steps');
/** The fold of a deployment's steps into `objects` when it ends (`Ledger.fold`): its upsert, its delete and count. */
const isFold = (s: string) =>
  /^INSERT INTO dbee\.objects [\s\S]* SELECT /.test(s) || s.startsWith('WITH w0 AS (DELETE FROM dbee.objects');
/** The ledger's statements of a deployment's steps: each step's rows and their fold into `objects`. */
const isLedgerRows = (s: string) => isStepRows(s) || isFold(s);
/** The definition of a named ledger statement, sent once per session before the first request that runs it. */
const DEFINITION = /^PREPARE (dbee_ledger_\w+) AS ([\s\S]*)$/;
const isDefinition = (c: Call) => typeof c.sql === 'string' && DEFINITION.test(c.sql);
/** The `steps` row of a definition chained with another row (a migration's), as a `WITH` query before it. */
const STEP_ROW = /w0 AS \(INSERT INTO dbee\.steps [\s\S]*?\)\) (?=INSERT INTO dbee\.)/;
/** A definition that is a step's `steps` row alone (its object's state is folded when the deployment ends). */
const STEP_ROW_ALONE = /^INSERT INTO dbee\.steps \([\s\S]*$/;
/** The deployment lock's guard (`LockHandle.guard`) in a step's ledger row (its duration times the guard). */
const GUARD = /\(1 \/ \(NOT pg_try_advisory_xact_lock_shared\((-?\d+)::bigint\)\)::integer\)/;
/**
 * The `objects` row each step wrote before the fold (ledger rows as the deploy sent them before `Ledger.fold`), chained
 * after its `steps` row: the project read from the deployment's row by its key (the row had it as a value).
 */
const OBJECTS_ROW = (steps: string) =>
  `WITH w0 AS (${steps}) INSERT INTO dbee.objects (project, object_key, checksum, deployment_id) SELECT d.project, $3, $5, $1 FROM dbee.deployments d WHERE d.id = $1 ON CONFLICT (project, object_key) DO UPDATE SET checksum = EXCLUDED.checksum, deployment_id = EXCLUDED.deployment_id, updated_at = EXCLUDED.updated_at`;
/** The variant with an `objects` row per step, as before the fold. */
const OBJECTS_PER_STEP = 'objects rows per step';
/** The variant with the per-step rows' foreign keys that ledger version 6 dropped: the ledger rows as they were. */
const FK_ROWS = 'rows with foreign keys';
const GUARD_IN_ROW = new RegExp(` \\* ${GUARD.source}`, 'g');
const isClockMark = (s: string) =>
  s.startsWith("SELECT set_config('synchronous_commit', 'off', true), set_config('dbee.step_started'");

/** Edit the statements of the step requests (null drops one); the smoke baseline and single calls stay. */
const inSteps = (f: (s: string) => string | null) => (calls: Call[]) =>
  calls.map((c) => (isStepRequest(c) ? { ...c, sql: c.sql.map(f).filter((s): s is string => s !== null) } : c));

/**
 * Edit the definitions of the named ledger statements. A part left out keeps its parameters, typed as text (the
 * values still come as arguments; a `WITH` query nothing refers to that does not modify data is never run).
 */
const inDefinitions = (f: (sql: string) => string) => (calls: Call[]) =>
  calls.map((c) => {
    const m = typeof c.sql === 'string' ? DEFINITION.exec(c.sql) : null;
    return m ? { ...c, sql: `PREPARE ${m[1]} AS ${f(m[2]!)}` } : c;
  });
const keepParams = (part: string) =>
  `SELECT ${[...new Set(part.match(/\$\d+/g) ?? [])].map((p) => `${p}::text`).join(', ') || '1'}`;

/** The arguments of `EXECUTE name(a, b, ...)`: literals (`E'...'` with backslash escapes, NULL, TRUE, numbers). */
function executeArgs(sql: string): { name: string; args: string[] } | null {
  const m = /^EXECUTE (\w+)(?:\(([\s\S]*)\))?$/.exec(sql);
  if (!m) return null;
  const args: string[] = [];
  const body = m[2] ?? '';
  let cur = '';
  let inStr = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (inStr) {
      cur += ch;
      if (ch === '\\') cur += body[++i] ?? '';
      else if (ch === "'") {
        if (body[i + 1] === "'") cur += body[++i];
        else inStr = false;
      }
    } else if (ch === "'") {
      inStr = true;
      cur += ch;
    } else if (ch === ',') {
      args.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) args.push(cur.trim());
  return { name: m[1]!, args };
}

/** The ledger rows written as literal statements, as before they were named statements (the definitions dropped). */
function asLiterals(calls: Call[]): Call[] {
  const defs = new Map<string, string>();
  for (const c of calls) {
    const m = typeof c.sql === 'string' ? DEFINITION.exec(c.sql) : null;
    if (m) defs.set(m[1]!, m[2]!);
  }
  const expand = (s: string) => {
    const e = s.startsWith('EXECUTE dbee_ledger_') ? executeArgs(s) : null;
    if (!e) return s;
    return defs.get(e.name)!.replace(/\$(\d+)/g, (_, n: string) => e.args[Number(n) - 1]!);
  };
  return inSteps(expand)(calls.filter((c) => !isDefinition(c)));
}

const variants: { name: string; what: string; edit: (calls: Call[]) => Call[] }[] = [
  {
    name: 'as sent',
    what: "dbee's requests as the deploy sent them (server time and round trips, no JavaScript)",
    edit: (c) => c,
  },
  {
    name: 'rows as literal statements',
    what: 'the ledger rows written as literal statements (parsed and planned per step), as before they were named statements',
    edit: asLiterals,
  },
  {
    name: 'no smoke baseline',
    what: 'without the smoke baseline (existence check, views compiled, their dependencies read) and its result rows',
    edit: withoutSmoke,
  },
  {
    name: 'no step rows',
    what: 'without the `steps` row per step (its fold into `objects` kept)',
    edit: inDefinitions((s) =>
      STEP_ROW_ALONE.test(s) ? keepParams(s) : s.replace(STEP_ROW, (part) => `w0 AS (${keepParams(part)}) `),
    ),
  },
  {
    name: FK_ROWS,
    what: "the `steps` and `objects` rows with foreign keys to their deployment's row, as ledger version 5 had them",
    edit: inSteps((s) =>
      /^CREATE TABLE dbee\.(steps|objects) /.test(s)
        ? s.replace(/deployment_id bigint NOT NULL,/, 'deployment_id bigint NOT NULL REFERENCES dbee.deployments(id),')
        : s,
    ),
  },
  {
    name: OBJECTS_PER_STEP,
    what: "an `objects` row per step, in the step's statement, instead of their fold when the deployment ends (as before the fold)",
    edit: (c) =>
      inSteps((s) => (isFold(s) ? null : s))(inDefinitions((s) => (STEP_ROW_ALONE.test(s) ? OBJECTS_ROW(s) : s))(c)),
  },
  {
    name: 'no lock guard',
    what: "without the deployment lock's guard (in each step's ledger row)",
    edit: inDefinitions((s) => s.replace(GUARD_IN_ROW, '')),
  },
  {
    name: 'no ledger rows',
    what: 'without the ledger statement per step (steps, objects)',
    edit: inSteps((s) => (isLedgerRows(s) ? null : s)),
  },
  {
    name: 'DDL, a txn per step',
    what: 'only the DDL, one transaction per step (no ledger rows, no clock marks, no smoke baseline)',
    edit: (c) => inSteps((s) => (isLedgerRows(s) || isClockMark(s) ? null : s))(withoutSmoke(c)),
  },
  {
    name: 'DDL, one txn',
    what: 'only the DDL, in one transaction (what psql -1 sends, in requests of 100 statements)',
    edit: (c) => {
      const out = inSteps((s) => (isLedgerRows(s) || isClockMark(s) || s === 'BEGIN' || s === 'COMMIT' ? null : s))(
        withoutSmoke(c),
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
            ? // What `PgConnection.queryPrepared` sets for the call: without `jit: 'off'` the server compiled the
              // fingerprint's query with LLVM in the replays (2.5 s of each, where the deploy spends ~10 ms on it).
              { plan_cache_mode: 'force_generic_plan', jit: 'off', ...(rest[1] as Record<string, string> | undefined) }
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

/**
 * CPU time a server backend has used so far, in ms, from /proc (the server runs on this machine): the server's work
 * for a session, much less moved by the load of other processes than its wall time. From `schedstat` (nanoseconds)
 * where the kernel keeps it, else `stat` (user + system, in clock ticks of 10 ms). Null where /proc cannot be read.
 */
function backendCpuMs(pid: number): number | null {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    if (ns > 0) return ns / 1e6;
  } catch {
    // no schedstat: the ticks of stat below
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** A measurement: wall time, and the server backend's CPU time for it when it could be read. */
interface Timing {
  ms: number;
  cpu: number | null;
}

/** The floor's statements sent as psql -1 -f sends them (one by one, in one transaction), with the backend's CPU time. */
async function floorReplayed(db: string, statements: string[]): Promise<Timing> {
  return replay(db, [{ sql: 'BEGIN' }, ...statements.map((sql) => ({ sql })), { sql: 'COMMIT' }]);
}

/** Send `calls` to `db` as the deploy did; single calls that failed for the deploy (it caught them) fail here too. */
async function replay(db: string, calls: Call[]): Promise<Timing> {
  const c = new Client({ connectionString: L.dbUrl(db, 'dbee-bench-parts') });
  await c.connect();
  const pid = Number((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
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
    const cpu0 = backendCpuMs(pid);
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
    const ms = performance.now() - t;
    const cpu1 = backendCpuMs(pid);
    return { ms, cpu: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
  } finally {
    await c.end();
    await holder.end();
  }
}

/** Run `f`, again after a pause when the server's shared lock table was full (`L.retryingLocks`). */
const sharingLocks = (label: string, f: () => Promise<void>): Promise<void> => L.retryingLocks(label, f);

/**
 * The ledger rows' share as variant `variant` writes them, in the same rounds: `variant` minus "no ledger rows", in
 * paired ratios to the floor and over the floor's server CPU of each round.
 */
function shareAs(
  variant: string,
  label: string,
  rows: Map<string, { ratio: number[]; cpu: number[] }>,
  floorCpus: number[],
): string {
  const share = (f: (k: string, i: number) => number | undefined) =>
    L.median(
      Array.from({ length: RUNS }, (_, i) => f(variant, i)! - f('no ledger rows', i)!).filter((x) => !Number.isNaN(x)),
    );
  const cpu =
    rows.get(variant)!.cpu.length === RUNS && floorCpus.length === RUNS
      ? L.fmtRatio(share((k, i) => rows.get(k)!.cpu[i]! / floorCpus[i]!))
      : 'n/a';
  return `the ledger rows' share ${label} (same rounds): ${L.fmtRatio(share((k, i) => rows.get(k)!.ratio[i]))} in wall time, ${cpu} in server CPU`;
}

/** The floor sent by this process (as psql -1 -f sends it), for the server's CPU time of the floor. */
const FLOOR_CPU = 'the floor, replayed';

async function main(): Promise<void> {
  const loadAtStart = L.load();
  // The server's CPU of the floor and of the parts, on a cluster of the benchmark's own (issue #61): nothing else runs
  // on it, and its lock table holds the floor's one transaction. `--shared-server`: the shared server instead.
  if (!argv.includes('--shared-server')) await L.useOwnCluster({ max_locks_per_transaction: '1024' });
  console.log(
    `dbee full deploy, its parts: ${N} objects, ${RUNS} runs; ${L.machine()} (${argv.includes('--shared-server') ? 'the shared server' : 'a cluster of its own, fsync off'}); load ${loadAtStart}`,
  );
  const root = mkdtempSync(join(tmpdir(), 'dbee-parts-'));
  L.writeWorkspace(root, ['d'], 'server');
  const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: N });
  const script = join(root, 'script.sql');
  writeFileSync(script, gen.script);
  const env = (db: string) => ({ [L.envVar('d')]: L.dbUrl(db) });
  // Warm-up: this process loads dbee and parses the sources (cached), as `npm run bench`'s in-process rows.
  for (const w of ['warm_a', 'warm_b'])
    await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, env(await L.createDb(w)));
  const calls = unchained(await capture(root));
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

  const quiet = () => L.quietServer();
  /** Per measurement: times, paired ratios to the floor, and (variants) "as sent" over it and its share of the floor. */
  type Row = { ms: number[]; ratio: number[]; vsSent: number[]; share: number[]; cpu: number[]; cpuShare: number[] };
  const rows = new Map<string, Row>();
  const rec = (k: string, t: number | Timing, floor: number) => {
    const r = rows.get(k) ?? { ms: [], ratio: [], vsSent: [], share: [], cpu: [], cpuShare: [] };
    const ms = typeof t === 'number' ? t : t.ms;
    r.ms.push(ms);
    r.ratio.push(ms / floor);
    if (typeof t !== 'number' && t.cpu !== null) r.cpu.push(t.cpu);
    rows.set(k, r);
  };
  const statements = L.splitScript(gen.script);
  for (let run = 1; run <= RUNS; run++) {
    for (const w of ['warm1', 'warm2'])
      await sharingLocks(w, async () => void (await L.psqlFile(await L.createDb(`${w}_${run}`), script)));
    const floor = async (label: string) => (
      await quiet(), (await L.psqlFile(await L.createDb(`${label}_${run}`), script)).ms
    );
    const measure = (label: string, f: (db: string) => Promise<number | Timing>) =>
      sharingLocks(label, async () => {
        const fl = await floor(`f_${label}`);
        const db = await L.createDb(`${label}_${run}`);
        await quiet();
        const t = await f(db);
        rec(label, t, fl);
        rec('psql -1 -f (floor)', fl, fl);
      });
    await measure(
      'dbee deploy, in-process',
      async (db) => (await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, env(db))).ms,
    );
    await measure(FLOOR_CPU, (db) => floorReplayed(db, statements));
    for (const v of edited) await measure(v.name, (db) => replay(db, v.calls));
    const sent = rows.get('as sent')!;
    const floorCpu = rows.get(FLOOR_CPU)!.cpu.at(-1);
    for (const v of edited) {
      const r = rows.get(v.name)!;
      // This round's figures: the variant against "as sent" of the same round (each paired with its own floor).
      r.vsSent.push(sent.ms[sent.ms.length - 1]! / r.ms[r.ms.length - 1]!);
      r.share.push(sent.ratio[sent.ratio.length - 1]! - r.ratio[r.ratio.length - 1]!);
      if (floorCpu && sent.cpu.length === run && r.cpu.length === run)
        r.cpuShare.push((sent.cpu[run - 1]! - r.cpu[run - 1]!) / floorCpu);
    }
    await measure('psql -f, a txn per statement', async (db) => (await L.psqlFile(db, script, false)).ms);
    await L.dropAll();
    console.log(`  run ${run}/${RUNS} done, load ${L.load()}`);
  }
  const what = new Map(variants.map((v) => [v.name, v.what]));
  what.set('psql -1 -f (floor)', 'the floor (medians of all its runs)');
  what.set(FLOOR_CPU, "the floor's statements sent one by one in one transaction, as psql -1 -f sends them");
  what.set('dbee deploy, in-process', 'runDbeeCommand in this process, warm (as `npm run bench`)');
  what.set('psql -f, a txn per statement', 'psql without -1: each statement its own transaction');
  const range = (xs: number[]) =>
    `${L.fmtRatio(L.median(xs))} (${L.fmtRatio(Math.min(...xs))} - ${L.fmtRatio(Math.max(...xs))})`;
  const figures = L.table(
    [
      'measurement',
      'median',
      'paired ratio to the floor (median, range)',
      'as sent / this, same round (median)',
      "part's share of the floor",
      'server CPU (median)',
      "part's share of the floor's server CPU",
      'what',
    ],
    [...rows].map(([k, r]) => [
      k,
      L.fmtMs(L.median(r.ms)),
      range(r.ratio),
      r.vsSent.length && k !== 'as sent' ? L.fmtRatio(L.median(r.vsSent)) : '',
      r.share.length && k !== 'as sent' ? L.fmtRatio(L.median(r.share)) : '',
      r.cpu.length ? L.fmtMs(L.median(r.cpu)) : '',
      r.cpuShare.length && k !== 'as sent' ? L.fmtRatio(L.median(r.cpuShare)) : '',
      what.get(k) ?? '',
    ]),
  );
  console.log(figures);
  const share = (k: string) => rows.get(k)!.share;
  const goals: G.Goal[] = [
    {
      label: "the ledger rows' share of the floor's server CPU: <= 0.10x (as sent minus without them, per round)",
      samples: rows.get('no ledger rows')!.cpuShare,
      bound: 'max',
      limit: 0.1,
      detail: `in wall time ${L.fmtRatio(L.median(share('no ledger rows')))} (not a goal)`,
    },
    {
      label: "(kept from issue #14) the smoke baseline's share of the floor's server CPU: <= 0.08x",
      samples: rows.get('no smoke baseline')!.cpuShare,
      bound: 'max',
      limit: 0.08,
      detail: `in wall time ${L.fmtRatio(L.median(share('no smoke baseline')))}`,
    },
    {
      label: '(kept from issue #14) the lock guard costs <= 2 % (as sent / without it, per round)',
      samples: rows.get('no lock guard')!.vsSent,
      bound: 'max',
      limit: 1.02,
    },
  ];
  console.log(shareAs(FK_ROWS, 'with the foreign keys of ledger version 5', rows, rows.get(FLOOR_CPU)!.cpu));
  console.log(
    shareAs(OBJECTS_PER_STEP, 'with an objects row per step (before the fold)', rows, rows.get(FLOOR_CPU)!.cpu),
  );
  const judged = G.printGoals(goals, loadAtStart);
  G.writeDocs(
    'parts',
    `\`npm run bench:parts\`: ${N} objects, ${RUNS} rounds, on a cluster of the benchmark's own.\n\n${G.goalsTable(judged)}\n\n${figures}`,
  );
}

L.runMain(main);
