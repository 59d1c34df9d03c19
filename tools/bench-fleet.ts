/**
 * What a fleet deployment costs (docs/fleets.md): a generated project (about 50 objects) deployed to N server
 * databases (200 by default), each from empty, by
 *
 *   - `dbee deploy gen --env fleet --concurrency P` (one process, the fleet dispatch) at P = 1, 4, 8 and 16;
 *   - a shell loop of `dbee deploy gen --env fleet/<target>`, one process per database, 8 at a time (`xargs -P 8`);
 *   - the floor: `psql -1 -f` of the same statements into each database, P at a time, committing the way dbee's
 *     steps commit (`synchronous_commit` off, as `engine.ledger.asyncCommit` sets it for a step's transaction: a crash
 *     can lose only whole newest steps, never make the ledger lie), so that the ratio compares the work and not a
 *     disk flush the floor would pay per database and dbee not.
 *
 * Every dbee row runs the compiled dist/ (`npm run build` first), as users run it, under `/usr/bin/time` for its peak
 * memory. Between rows the databases are emptied again (their schemas and the ledger dropped). Each row runs `--runs`
 * times (5 by default); the ratios are medians of the paired ratios (fleet run i / floor run i). The goals of issue
 * #61 at P = 8 (at most 1.25x the floor, at most 500 MB of memory) are printed with their verdicts, the range of the
 * paired ratios and the load average; `--write-docs` rewrites the benchmark's table in docs/performance.md.
 *
 *   node tools/run.js tools/bench-fleet.ts                    # 200 databases, 50 objects, 5 runs, concurrency 8
 *   node tools/run.js tools/bench-fleet.ts 20 --runs 3        # 20 databases, 3 runs (too few for a verdict)
 *   node tools/run.js tools/bench-fleet.ts --all              # concurrency 1, 4, 8 and 16, and the shell loop
 *   node tools/run.js tools/bench-fleet.ts --runs 5 --only 8 --against /tmp/main   # this build against another one
 *
 * `--against DIR`: another checkout whose dist/ is built (`npm run build` there), e.g. `git archive main` extracted
 * with this workspace's node_modules linked: each run deploys with both builds, in alternating order, each paired
 * with a floor run of its own, and the table adds the other build's row and the median of the paired quotients
 * (this build's ratio / the other's): a before/after comparison that the machine's load moves less than two runs.
 * Before the runs, each build deploys the fleet once from a workspace without dbee's cache (not counted in the
 * ratios): the first deployment of a workspace builds the sources' model (an embedded shadow, in the process), which
 * the later runs read from the cache; its peak memory and CPU are printed per build, beside the counted runs'.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { generateProject } from './bench/generate';
import { checkOtherBuild } from './bench/other-build';
import {
  buildDist,
  createDb,
  dbUrl,
  dropAll,
  fmtMs,
  fmtRatio,
  load,
  machine,
  median,
  psqlFile,
  REPO,
  runMain,
  writeFleetConfig,
  table,
  timeProcess,
  type Timed,
} from './bench/lib';
import { type Goal, goalsTable, printGoals, writeDocs } from './bench/goals';

const CONCURRENCY = [1, 4, 8, 16];
/** The floor's transactions commit as dbee's steps do: without waiting for the disk (see the header). */
const FLOOR_COMMIT = { PGOPTIONS: '-c synchronous_commit=off' };
const LOOP_CONCURRENCY = 8;
const BIN = join(REPO, 'packages/cli/bin/dbee.js');

/** `dbee <args>` (dist/) under /usr/bin/time: wall time and peak resident memory in MB. */
async function dbeeTimed(args: string[], root: string, bin = BIN): Promise<Timed & { peakMb: number; cpuMs: number }> {
  const r = await timeProcess(
    '/usr/bin/time',
    ['-f', 'peak-kb %M cpu %U %S', process.execPath, bin, ...args, '--cwd', root],
    {
      env: { ...process.env, DBEE_USE_DIST: '1' },
    },
  );
  const kb = Number(/peak-kb (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  // The process's own CPU (user + system): on a machine of few CPUs it competes with the server for them.
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { ...r, peakMb: kb / 1024, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN };
}

/** Run `tasks` with at most `n` at once. */
async function pool<T>(items: readonly T[], n: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 200);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
  // `--only P`: that concurrency alone, and no shell loop (the goal's row, 8, by default); `--all`: every row.
  const onlyAt = args.indexOf('--only');
  const only = args.includes('--all') ? null : onlyAt >= 0 ? Number(args[onlyAt + 1]) : 8;
  const concurrencies = only === null ? CONCURRENCY : [only];
  const againstAt = args.indexOf('--against');
  const against = againstAt >= 0 ? join(checkOtherBuild(args[againstAt + 1]!), 'packages/cli/bin/dbee.js') : null;
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-fleet-'));
  const loadAtStart = load();
  try {
    console.log(`dbee fleet benchmark: ${machine()}`);
    console.log(`load average at start: ${loadAtStart}`);
    if (!buildDist())
      throw new Error('npm run build did not produce packages/cli/dist: the dbee rows run the compiled CLI');
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: 50 });
    writeFileSync(join(root, 'floor.sql'), gen.script);
    const dbs: string[] = [];
    for (let i = 0; i < count; i++) dbs.push(await createDb(`fleet_${String(i).padStart(3, '0')}`));
    const target = (i: number) => `t${String(i).padStart(3, '0')}`;
    writeFleetConfig(root, dbs, target);
    // Every row starts from empty databases: the project's schemas and the ledger dropped, as before the first row.
    const empty = async () =>
      pool(dbs, 8, async (db) => {
        const c = new Client({ connectionString: dbUrl(db) });
        await c.connect();
        try {
          await c.query(`DROP SCHEMA IF EXISTS ${[...gen.schemas, 'dbee'].join(', ')} CASCADE`);
        } finally {
          await c.end();
        }
      });
    const rec: Records = { fleet: {}, floor: {}, other: {} };
    const { fleet, floor } = rec;
    const loop: { ms: number[]; peakMb: number[]; runs: number[]; failed?: string } = { ms: [], peakMb: [], runs: [] };
    const cold = against ? await coldRuns(root, concurrencies.at(-1)!, empty, [BIN, against], dbs.length) : [];
    for (let run = 0; run < runs; run++) {
      for (const p of concurrencies) await measureRow({ root, dbs, p, empty }, run, against, rec);
      if (only !== null) continue;
      await empty();
      const l = await shellLoop(
        root,
        dbs.map((_, i) => target(i)),
      );
      if ('failed' in l) loop.failed ??= l.failed;
      else {
        loop.ms.push(l.ms);
        loop.runs.push(run);
        loop.peakMb.push(l.peakMb);
      }
    }
    console.log(`project: ${gen.objects} objects; ${count} databases; ${runs} run${runs === 1 ? '' : 's'}`);
    const rows = resultRows(concurrencies, fleet, floor, only === null ? loop : null);
    if (against) rows.push(...againstRows(concurrencies, rec, args[againstAt + 1]!));
    const figures = table(
      [
        'row',
        'time (median)',
        'peak memory',
        'floor: psql -1 -f, same concurrency, synchronous_commit off',
        'ratio to the floor (median of paired)',
      ],
      rows,
    );
    console.log(figures);
    if (against) console.log(processTable(concurrencies, rec, cold, args[againstAt + 1]!));
    const judged = printGoals(fleetGoals(fleet, floor), loadAtStart);
    writeDocs(
      'fleet',
      `\`node tools/run.js tools/bench-fleet.ts${count === 200 ? '' : ` ${count}`} --runs ${runs}\`: a ${gen.objects}-object project to ${count} databases.\n\n${goalsTable(judged)}\n\n${figures}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
    await dropAll();
  }
}

/** What the runs measured: this build's fleet rows and their floors, and the other build's (`--against`). */
interface Records {
  fleet: Record<number, { ms: number[]; peakMb: number[]; cpuMs: number[] }>;
  floor: Record<number, number[]>;
  other: Record<number, { ms: number[]; floor: number[]; peakMb: number[]; cpuMs: number[] }>;
}

/**
 * Run `run` at one concurrency: this build's fleet deployment, and with `against` the other build's as well, before it
 * in odd runs and after it in even ones (each with a floor run of its own).
 */
async function measureRow(
  at: { root: string; dbs: readonly string[]; p: number; empty: () => Promise<void> },
  run: number,
  against: string | null,
  rec: Records,
): Promise<void> {
  const { root, dbs, p, empty } = at;
  const first = against && run % 2 === 1 ? await measure(root, dbs, p, empty, against) : null;
  const m = await measure(root, dbs, p, empty);
  const o = first ?? (against ? await measure(root, dbs, p, empty, against) : null);
  if (o) {
    const r = (rec.other[p] ??= { ms: [], floor: [], peakMb: [], cpuMs: [] });
    r.ms.push(o.fleet.ms);
    r.floor.push(o.floorMs);
    r.peakMb.push(o.fleet.peakMb);
    r.cpuMs.push(o.fleet.cpuMs);
    console.log(
      `  run ${run + 1}, concurrency ${p}, ${against}: fleet ${fmtMs(o.fleet.ms)} (CPU ${fmtMs(o.fleet.cpuMs)}, peak ${Math.round(o.fleet.peakMb)} MB), floor ${fmtMs(o.floorMs)}, ${fmtRatio(o.fleet.ms / o.floorMs)}`,
    );
  }
  (rec.floor[p] ??= []).push(m.floorMs);
  (rec.fleet[p] ??= { ms: [], peakMb: [], cpuMs: [] }).ms.push(m.fleet.ms);
  rec.fleet[p]!.peakMb.push(m.fleet.peakMb);
  rec.fleet[p]!.cpuMs.push(m.fleet.cpuMs);
  console.log(
    `  run ${run + 1}, concurrency ${p}: fleet ${fmtMs(m.fleet.ms)} (its process's CPU ${fmtMs(m.fleet.cpuMs)}, peak ${Math.round(m.fleet.peakMb)} MB), floor ${fmtMs(m.floorMs)}, ${fmtRatio(m.fleet.ms / m.floorMs)}; load ${load()}`,
  );
}

/** One pair: the floor (`psql -1 -f` into every database, `p` at a time), then the fleet deployment at concurrency `p`. */
async function measure(
  root: string,
  dbs: readonly string[],
  p: number,
  empty: () => Promise<void>,
  bin = BIN,
): Promise<{ floorMs: number; fleet: Timed & { peakMb: number; cpuMs: number } }> {
  await empty();
  const t = performance.now();
  await pool(dbs, p, (db) => psqlFile(db, join(root, 'floor.sql'), true, FLOOR_COMMIT));
  const floorMs = performance.now() - t;
  await empty();
  const r = await dbeeTimed(
    ['deploy', 'gen', '--env', 'fleet', '--concurrency', String(p), '--report', 'out/fleet.json'],
    root,
    bin,
  );
  const report = JSON.parse(readFileSync(join(root, 'out/fleet.json'), 'utf8')) as { counts: { succeeded: number } };
  if (r.code !== 0 || report.counts.succeeded !== dbs.length)
    throw new Error(
      `fleet deploy at concurrency ${p} exited ${r.code}, ${report.counts.succeeded} of ${dbs.length} succeeded:\n${r.stderr.slice(-3000)}`,
    );
  return { floorMs, fleet: r };
}

/**
 * The shell loop: one `dbee deploy --env fleet/<target>` process per target, LOOP_CONCURRENCY at a time (`xargs -P`);
 * its wall time and the largest peak memory of its processes. A loop that cannot finish (on a loaded machine a process
 * may time out connecting) is reported as such, and the fleet rows measured before it are still printed.
 */
async function shellLoop(
  root: string,
  targets: readonly string[],
): Promise<{ ms: number; peakMb: number } | { failed: string }> {
  writeFileSync(join(root, 'targets.txt'), targets.join('\n') + '\n');
  const t = performance.now();
  const l = await timeProcess(
    'bash',
    [
      '-c',
      `xargs -a "$0/targets.txt" -P ${LOOP_CONCURRENCY} -I{} /usr/bin/time -a -o "$0/loop-time" -f 'peak-kb %M' "${process.execPath}" "${BIN}" deploy gen --env fleet/{} --cwd "$0" > /dev/null`,
      root,
    ],
    { env: { ...process.env, DBEE_USE_DIST: '1' } },
  );
  const ms = performance.now() - t;
  try {
    if (l.code !== 0) return { failed: `exited ${l.code}: ${l.stderr.trim().split('\n')[0]?.slice(0, 300)}` };
    const peaks = [...readFileSync(join(root, 'loop-time'), 'utf8').matchAll(/peak-kb (\d+)/g)];
    return { ms, peakMb: Math.max(...peaks.map((m) => Number(m[1]) / 1024)) };
  } finally {
    rmSync(join(root, 'loop-time'), { force: true });
  }
}

/** The table's rows: each concurrency's fleet row against its floor, then the shell loop's (unless it was not run). */
function resultRows(
  concurrencies: readonly number[],
  fleet: Record<number, { ms: number[]; peakMb: number[] }>,
  floor: Record<number, number[]>,
  loop: { ms: number[]; peakMb: number[]; runs: number[]; failed?: string } | null,
): string[][] {
  const rows = concurrencies.map((p) => {
    const ratio = median(fleet[p]!.ms.map((ms, i) => ms / floor[p]![i]!));
    return [
      `fleet deploy --concurrency ${p}`,
      fmtMs(median(fleet[p]!.ms)),
      `${Math.round(Math.max(...fleet[p]!.peakMb))} MB`,
      fmtMs(median(floor[p]!)),
      fmtRatio(ratio),
    ];
  });
  if (!loop) return rows;
  if (!loop.ms.length)
    return [...rows, [`shell loop, ${LOOP_CONCURRENCY} at a time`, `could not run: ${loop.failed}`, '', '', '']];
  // Paired with the floor of the same run; a run whose loop failed has no pair.
  const loopRatio = median(loop.ms.map((ms, i) => ms / floor[LOOP_CONCURRENCY]![loop.runs[i]!]!));
  rows.push([
    `shell loop, ${LOOP_CONCURRENCY} at a time`,
    fmtMs(median(loop.ms)),
    `${Math.round(Math.max(...loop.peakMb))} MB each`,
    fmtMs(median(floor[LOOP_CONCURRENCY]!)),
    fmtRatio(loopRatio) + (loop.failed ? ` (another run failed: ${loop.failed})` : ''),
  ]);
  return rows;
}

/** With `--against`: the other build's row per concurrency, and this build's paired ratios over the other's. */
function againstRows(concurrencies: readonly number[], rec: Records, dir: string): string[][] {
  const { fleet, floor, other } = rec;
  return concurrencies.flatMap((p) => {
    const o = other[p]!;
    const ratios = o.ms.map((ms, i) => ms / o.floor[i]!);
    const quotients = fleet[p]!.ms.map((ms, i) => ms / floor[p]![i]! / ratios[i]!);
    return [
      [
        `fleet deploy --concurrency ${p}, ${dir}`,
        fmtMs(median(o.ms)),
        `${Math.round(Math.max(...o.peakMb))} MB`,
        fmtMs(median(o.floor)),
        fmtRatio(median(ratios)),
      ],
      [
        `this build / ${dir}, concurrency ${p}`,
        '',
        '',
        '',
        `${fmtRatio(median(quotients))} (median of paired; ${quotients.map((q) => q.toFixed(2)).join(' ')})`,
      ],
    ];
  });
}

/** A fleet deployment's process from a workspace without dbee's cache: it builds the sources' model first. */
interface ColdRun {
  bin: string;
  ms: number;
  cpuMs: number;
  peakMb: number;
}

/**
 * With `--against`, before the counted runs: each build deploys the fleet at concurrency `p` once from a workspace
 * whose cache (.dbee/) is removed first, so that each pays the first run's build of the sources' model; the counted
 * runs then both read the model from the cache.
 */
async function coldRuns(
  root: string,
  p: number,
  empty: () => Promise<void>,
  bins: readonly string[],
  count: number,
): Promise<ColdRun[]> {
  const out: ColdRun[] = [];
  for (const bin of bins) {
    rmSync(join(root, '.dbee'), { recursive: true, force: true });
    await empty();
    const r = await dbeeTimed(['deploy', 'gen', '--env', 'fleet', '--concurrency', String(p)], root, bin);
    if (r.code !== 0) throw new Error(`the first fleet deploy (${bin}) exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    out.push({ bin, ms: r.ms, cpuMs: r.cpuMs, peakMb: r.peakMb });
    console.log(
      `  first run (no cache), ${bin}: ${count} targets in ${fmtMs(r.ms)}, CPU ${fmtMs(r.cpuMs)}, peak ${Math.round(r.peakMb)} MB`,
    );
  }
  return out;
}

/** With `--against`: each build's process, CPU and peak memory (the counted runs, and its first run without cache). */
function processTable(concurrencies: readonly number[], rec: Records, cold: readonly ColdRun[], dir: string): string {
  const rows = concurrencies.flatMap((p) => {
    const mine = rec.fleet[p]!;
    const o = rec.other[p]!;
    const cpuQ = mine.cpuMs.map((c, i) => c / o.cpuMs[i]!);
    const peakQ = mine.peakMb.map((m, i) => m / o.peakMb[i]!);
    return [
      [
        `this build, concurrency ${p}`,
        fmtMs(median(mine.cpuMs)),
        `${Math.round(median(mine.peakMb))} MB`,
        `${Math.round(Math.max(...mine.peakMb))} MB`,
      ],
      [
        `${dir}, concurrency ${p}`,
        fmtMs(median(o.cpuMs)),
        `${Math.round(median(o.peakMb))} MB`,
        `${Math.round(Math.max(...o.peakMb))} MB`,
      ],
      [`this build / ${dir} (median of paired)`, fmtRatio(median(cpuQ)), fmtRatio(median(peakQ)), ''],
    ];
  });
  for (const c of cold)
    rows.push([
      `first run without cache, ${c.bin === BIN ? 'this build' : dir}`,
      fmtMs(c.cpuMs),
      `${Math.round(c.peakMb)} MB`,
      `${Math.round(c.peakMb)} MB`,
    ]);
  return table(
    ['the fleet process', 'CPU, user + system (median)', 'peak memory (median)', 'peak memory (largest)'],
    rows,
  );
}

/** The goals of issue #61 at concurrency 8, from the paired runs. */
function fleetGoals(fleet: Records['fleet'], floor: Records['floor']): Goal[] {
  const f = fleet[8];
  const why = 'not measured (concurrency 8 not among the rows)';
  return [
    {
      label: "fleet deploy at concurrency 8: <= 1.25x the psql floor committing as dbee's steps commit",
      samples: f ? f.ms.map((ms, i) => ms / floor[8]![i]!) : [],
      bound: 'max',
      limit: 1.25,
      why,
      detail: f ? `fleet ${fmtMs(median(f.ms))}, floor ${fmtMs(median(floor[8]!))} (medians)` : undefined,
    },
    {
      label: 'fleet deploy at concurrency 8: peak memory <= 500 MB',
      samples: f?.peakMb ?? [],
      bound: 'max',
      limit: 500,
      judge: 'worst',
      why,
      format: (mb) => `${mb.toFixed(0)} MB`,
    },
  ];
}

runMain(main);
