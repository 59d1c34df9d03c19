/**
 * Paired A/B of the diff and `plan --out` at scale (issue #40, item 5): this checkout's compiled dist/ against another
 * checkout's (`--against`, built with `npm run build` there), alternated in each round (the order swapped every
 * round); per figure the medians, the median of the paired ratios this / other, and whether both sides printed the
 * same diff and wrote byte-identical package files.
 *
 *   node tools/run.js tools/bench/diff-pair.ts --against /tmp/dbee-before [objects=5000] [--plan-objects 10000] [--runs 3]
 *   node tools/run.js tools/bench/diff-pair.ts --profile [objects=5000] [--plan-objects 10000]
 *
 * The generated project at `objects` is deployed, and a change set of it is diffed against that database: the cached
 * diff in-process (tools/bench/in-process.js: one untimed run, then 5 timed; each side its own workspace copy and
 * cache), the uncached diff in-process (server shadow; one untimed run, then one timed), and `plan --out` of the
 * project at `--plan-objects` as a whole CLI process under /usr/bin/time (its cache removed first; no database).
 * `--profile` profiles this checkout alone instead: the cached diff's timed runs and `plan --out` (`node --cpu-prof`),
 * each summarised as self time by file and by function (tools/bench/profile.ts), the .cpuprofile files kept in
 * $TMPDIR/dbee-bench-cpuprof.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';
import { printProfile } from './cpu-profile';
import { checkOtherBuild } from './other-build';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 5000);
const PLAN_N = Number(option('plan-objects') ?? 10000);
const RUNS = Number(option('runs') ?? 3);
const PROFILE = argv.includes('--profile');
const AGAINST = option('against');
if (!AGAINST && !PROFILE) throw new Error('usage: diff-pair.ts --against <another checkout, built> | --profile');
if (AGAINST) checkOtherBuild(AGAINST);
const SIDES: Record<string, string> = PROFILE ? { after: L.REPO } : { before: AGAINST!, after: L.REPO };
const PROFILES = join(tmpdir(), 'dbee-bench-cpuprof');

/** `runs` timed in-process runs of one side's dist/ (after an untimed one): times and the last output. */
async function inProcess(
  side: string,
  ws: string,
  runs: number,
  options: Record<string, unknown>,
  env: Record<string, string>,
  profile?: string,
): Promise<{ times: number[]; stdout: string }> {
  const script = join(L.REPO, 'tools/bench/in-process.js');
  const args = [script, SIDES[side]!, ws, String(runs), 'diff', JSON.stringify({ project: 'gen', ...options })];
  const r = await L.timeProcess(process.execPath, profile ? [...args, '--cpu-profile', profile] : args, {
    cwd: SIDES[side],
    env: { ...process.env, ...env },
  });
  if (r.code !== 0) throw new Error(`${side}: in-process diff exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { times: number[]; stdout: string };
}

let planRuns = 0;

/**
 * `dbee plan gen --out` as a whole process of one side's dist/, under /usr/bin/time: wall ms, peak MB, its files. Each
 * run writes a new folder, none removed before the end: on an ext4 without a journal (this machine's disk) creating a
 * file skips every inode freed in its block group within the last minute, so removing the last package right before
 * made the next one's system time several times larger (see tools/bench/plan-out-pair.ts).
 */
async function planOut(side: string, ws: string, profileDir?: string) {
  rmSync(join(ws, '.dbee'), { recursive: true, force: true });
  const out = join(ws, 'dist', `package-${++planRuns}`);
  const node = profileDir ? [process.execPath, '--cpu-prof', '--cpu-prof-dir', profileDir] : [process.execPath];
  const r = await L.timeProcess(
    '/usr/bin/time',
    ['-f', 'peak-kb %M', ...node, join(SIDES[side]!, 'packages/cli/bin/dbee.js'), 'plan', 'gen', '--out', out],
    { cwd: ws, env: { ...process.env, DBEE_USE_DIST: '1', [L.envVar('d')]: L.dbUrl('postgres') } },
  );
  if (r.code !== 0) throw new Error(`${side}: plan --out exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return { ms: r.ms, mb: Number(/peak-kb (\d+)/.exec(r.stderr)?.[1] ?? Number.NaN) / 1024, files: filesOf(out) };
}

/** Every file under `dir` with its bytes, by relative path. */
function filesOf(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, 'latin1'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

function sameFiles(a: Map<string, string>, b: Map<string, string>): string {
  if (a.size !== b.size) return `${a.size} files against ${b.size}`;
  const differ = [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
  return differ.length ? `${differ.length} files differ (${differ.slice(0, 3).join(', ')})` : 'byte-identical';
}

/** The generated project at `n` objects deployed to a fresh database, and per side a copy with a change set. */
async function setUp(root: string, n: number) {
  const ws = join(root, `base_${n}`);
  L.writeWorkspace(ws, ['d'], 'server');
  const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: n });
  const db = await L.createDb(`dp_${n}`);
  const env = { [L.envVar('d')]: L.dbUrl(db) };
  await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env);
  const cs = generateChangeSet(gen);
  const changed: Record<string, string> = {};
  for (const side of Object.keys(SIDES)) {
    changed[side] = join(root, `${side}_${n}`);
    cpSync(ws, changed[side]!, { recursive: true });
    rmSync(join(changed[side]!, '.dbee'), { recursive: true, force: true });
    applyChangeSet(join(changed[side]!, 'gen'), cs);
  }
  return { ws, env, changed, objects: gen.objects };
}

async function profileMain(root: string): Promise<void> {
  rmSync(PROFILES, { recursive: true, force: true });
  mkdirSync(PROFILES, { recursive: true });
  const s = await setUp(root, N);
  const cached = join(PROFILES, `cached-diff-${N}.cpuprofile`);
  const r = await inProcess('after', s.changed.after!, 5, { env: 'd', format: 'json' }, s.env, cached);
  console.log(`cached diff at ${s.objects} objects, in-process: ${r.times.map(L.fmtMs).join(', ')}`);
  printProfile('cached diff (5 runs)', cached);
  const ws = join(root, `plan_${PLAN_N}`);
  L.writeWorkspace(ws, ['d'], 'server');
  generateProject(join(ws, 'gen'), { name: 'gen', objects: PLAN_N });
  const dir = join(PROFILES, `plan-out-${PLAN_N}`);
  const p = await planOut('after', ws, dir);
  console.log(`\nplan --out at ${PLAN_N} objects, CLI: ${L.fmtMs(p.ms)}, ${p.mb.toFixed(0)} MB`);
  printProfile('plan --out', join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!));
}

/** Per figure: the medians of each side, the median of the paired ratios after / before, and the load. */
function summary(label: string, pairs: { before: number; after: number; load: string }[], unit = 'ms'): string[] {
  const fmt = (v: number) => (unit === 'ms' ? L.fmtMs(v) : `${v.toFixed(0)} MB`);
  return [
    label,
    fmt(L.median(pairs.map((p) => p.before))),
    fmt(L.median(pairs.map((p) => p.after))),
    L.fmtRatio(L.median(pairs.map((p) => p.after / p.before))),
    pairs.map((p) => L.fmtRatio(p.after / p.before)).join(' '),
    pairs.map((p) => p.load.split(' ')[0]).join(' '),
  ];
}

async function pairMain(root: string): Promise<void> {
  if (!L.buildDist()) throw new Error('npm run build failed: the sides run the compiled dist/');
  const s = await setUp(root, N);
  const ws = join(root, `plan_${PLAN_N}`);
  L.writeWorkspace(ws, ['d'], 'server');
  generateProject(join(ws, 'gen'), { name: 'gen', objects: PLAN_N });
  const rows = { cached: [] as Pair[], uncached: [] as Pair[], plan: [] as Pair[], planMb: [] as Pair[] };
  type Pair = { before: number; after: number; load: string };
  const same = { cached: new Set<string>(), uncached: new Set<string>(), plan: new Set<string>() };
  for (let round = 0; round < RUNS; round++) {
    const order = round % 2 ? ['after', 'before'] : ['before', 'after'];
    const got: Record<string, { cached: number; uncached: number; plan: number; planMb: number }> = {};
    const outputs: Record<string, { cached: string; uncached: string; files: Map<string, string> }> = {};
    const load = L.load();
    for (const side of order) {
      const w = s.changed[side]!;
      const u = await inProcess(side, w, 1, { env: 'd', format: 'json', cache: false }, s.env);
      const c = await inProcess(side, w, 5, { env: 'd', format: 'json' }, s.env);
      const p = await planOut(side, ws);
      got[side] = { cached: L.median(c.times), uncached: u.times[0]!, plan: p.ms, planMb: p.mb };
      outputs[side] = { cached: c.stdout, uncached: u.stdout, files: p.files };
    }
    for (const k of ['cached', 'uncached', 'plan', 'planMb'] as const)
      rows[k].push({ before: got.before![k], after: got.after![k], load });
    same.cached.add(outputs.before!.cached === outputs.after!.cached ? 'identical' : 'DIFFERENT');
    same.uncached.add(outputs.before!.uncached === outputs.after!.uncached ? 'identical' : 'DIFFERENT');
    same.plan.add(sameFiles(outputs.before!.files, outputs.after!.files));
    console.log(`  round ${round + 1}/${RUNS} done, load ${L.load()}`);
  }
  console.log(
    L.table(
      ['figure', 'before (median)', 'after (median)', 'after / before (median)', 'paired ratios', 'load per round'],
      [
        summary(`diff, cached, in-process, ${s.objects} objects`, rows.cached),
        summary(`diff, uncached, in-process, ${s.objects} objects`, rows.uncached),
        summary(`CLI plan --out, no cache, ${PLAN_N} objects`, rows.plan),
        summary('CLI plan --out, peak memory', rows.planMb, 'mb'),
      ],
    ),
  );
  console.log(
    `outputs, this against the other: cached diff ${[...same.cached].join('/')}, uncached diff ${[...same.uncached].join('/')}, package files ${[...same.plan].join('/')}`,
  );
}

L.runMain(async () => {
  console.log(`dbee diff-pair: ${N} objects (plan --out: ${PLAN_N}), ${L.machine()}; load ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-diff-pair-'));
  try {
    await (PROFILE ? profileMain(root) : pairMain(root));
    console.log(`load at end ${L.load()}; date ${new Date().toISOString().slice(0, 16)}`);
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
