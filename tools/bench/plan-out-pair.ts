/**
 * Paired A/B of `dbee plan <project> --out <folder>` as whole CLI processes (issue #40, item 5: <= 2 s and <= 500 MB at
 * 10,000 objects): this checkout's compiled dist/ against another checkout's (`--against`, built with `npm run build`
 * there), alternated in each round (the order swapped every round), each run with the parse cache removed and a new
 * output folder (none is removed before a run: see below). Per figure the medians of each side and the median of the
 * paired ratios this / other, with the load average of each round; user and system CPU from /usr/bin/time beside the
 * wall time, since the machine is shared; and whether both sides wrote the same package (their manifests are the same
 * bytes and each package verifies against its own: every file's SHA-256, no file missing or added).
 *
 *   node tools/run.js tools/bench/plan-out-pair.ts --against /tmp/dbee-before [objects=10000] [--runs 5] [--out-root <dir>]
 *
 * Each side has its own compile cache (NODE_COMPILE_CACHE; packages/core/src/compile-cache.ts), warmed by one untimed
 * run: an installed dbee finds its modules' compiled code there, where the shared default file is rewritten by every
 * other checkout's processes on this machine.
 *
 * `--out-root` puts the packages elsewhere (default: a folder beside the workspace, on the same disk), e.g. /dev/shm to
 * take the file system's cost of creating 20,000 files out of the figures. The outputs are removed at the end only:
 * on an ext4 without a journal (this machine's disk), creating a file skips every inode of its block group freed
 * within the last minute (`recently_deleted` in fs/ext4/ialloc.c), so a package removed right before the next one is
 * written makes that one's system time several times larger.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProject } from './generate';
import * as L from './lib';
import { checkOtherBuild } from './other-build';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 10000);
const RUNS = Number(option('runs') ?? 5);
const AGAINST = option('against');
if (!AGAINST) throw new Error('usage: plan-out-pair.ts --against <another checkout, built> [objects] [--runs n]');
checkOtherBuild(AGAINST);
const SIDES = { before: AGAINST, after: L.REPO } as const;
type Side = keyof typeof SIDES;
const FIGURES = ['wall', 'user CPU', 'system CPU', 'user + system CPU', 'peak memory'] as const;
type Figure = (typeof FIGURES)[number];

/** One `plan --out` of one side under /usr/bin/time: its figures (ms, and MB for the peak memory). */
async function planOut(side: Side, ws: string, out: string, env: Record<string, string>) {
  rmSync(join(ws, '.dbee', 'cache'), { recursive: true, force: true });
  const dbee = join(SIDES[side], 'packages/cli/bin/dbee.js');
  const r = await L.timeProcess(
    '/usr/bin/time',
    ['-f', 'dbee-time %e %U %S %M', process.execPath, dbee, 'plan', 'gen', '--env', 'd', '--out', out, '--cwd', ws],
    { cwd: ws, env: { ...process.env, DBEE_USE_DIST: '1', NODE_COMPILE_CACHE: join(ws, '..', `cc-${side}`), ...env } },
  );
  const t = /dbee-time ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.code !== 0 || !t) throw new Error(`${side}: plan --out exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const [wall, user, sys, kb] = t.slice(1).map(Number) as [number, number, number, number];
  const fig: Record<Figure, number> = {
    wall: wall * 1000,
    'user CPU': user * 1000,
    'system CPU': sys * 1000,
    'user + system CPU': (user + sys) * 1000,
    'peak memory': kb / 1024,
  };
  return fig;
}

/** Whether two packages are the same bytes: the same manifest, and each verifying against it (this checkout's reader). */
async function samePackage(a: string, b: string): Promise<string> {
  const { readPackage } = (await import(join(L.REPO, 'packages/core/dist/index.js'))) as typeof import('@dbee/core');
  for (const dir of [a, b]) readPackage(dir);
  const manifest = (dir: string) => readFileSync(join(dir, 'manifest.json'), 'latin1');
  return manifest(a) === manifest(b) ? 'byte-identical packages' : 'the packages DIFFER (manifest.json)';
}

L.runMain(async () => {
  if (!L.buildDist()) throw new Error('npm run build failed: the CLI processes run the compiled dist/');
  const root = mkdtempSync(join(tmpdir(), 'dbee-plan-out-'));
  const outRoot = mkdtempSync(join(option('out-root') ?? root, 'packages-'));
  try {
    const ws = join(root, 'ws');
    L.writeWorkspace(ws, ['d'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const env = { [L.envVar('d')]: L.dbUrl(await L.createDb(`planout_${N}`)) };
    const pairs = new Map<Figure, { before: number; after: number }[]>(FIGURES.map((f) => [f, []]));
    const loads: string[] = [];
    for (const side of ['before', 'after'] as Side[]) await planOut(side, ws, join(outRoot, `${side}-warm-up`), env);
    for (let round = 0; round < RUNS; round++) {
      const order: Side[] = round % 2 ? ['after', 'before'] : ['before', 'after'];
      const got = {} as Record<Side, Record<Figure, number>>;
      for (const side of order) got[side] = await planOut(side, ws, join(outRoot, `${side}-${round}`), env);
      for (const f of FIGURES) pairs.get(f)!.push({ before: got.before[f], after: got.after[f] });
      loads.push(L.load().split(' ')[0]!);
      console.error(`round ${round + 1}/${RUNS}: ${order.map((s) => `${s} ${L.fmtMs(got[s].wall)}`).join(', ')}`);
    }
    const fmt = (f: Figure, v: number) => (f === 'peak memory' ? `${v.toFixed(0)} MB` : L.fmtMs(v));
    const rows = FIGURES.map((f) => {
      const p = pairs.get(f)!;
      return [
        f,
        fmt(f, L.median(p.map((x) => x.before))),
        fmt(f, L.median(p.map((x) => x.after))),
        L.fmtRatio(L.median(p.map((x) => x.after / x.before))),
        p.map((x) => L.fmtRatio(x.after / x.before)).join(' '),
      ];
    });
    console.log(`\nplan gen --out, ${gen.objects} objects, parse cache removed, ${RUNS} rounds alternated`);
    console.log(`before: ${SIDES.before}; after: ${SIDES.after}; packages under ${outRoot}`);
    console.log(L.table(['figure', 'before (median)', 'after (median)', 'after / before (median)', 'ratios'], rows));
    console.log(`load average (1 min) per round: ${loads.join(' ')}; ${L.machine()}`);
    const after = (f: Figure) => L.median(pairs.get(f)!.map((x) => x.after));
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET');
    console.log(
      `goal at 10,000 objects: <= 2 s ${verdict(after('wall') <= 2000)} (${L.fmtMs(after('wall'))}), <= 500 MB ${verdict(after('peak memory') <= 500)} (${after('peak memory').toFixed(0)} MB)${N === 10000 ? '' : ` (measured at ${gen.objects})`}`,
    );
    console.log(`outputs: ${await samePackage(join(outRoot, 'before-0'), join(outRoot, 'after-0'))}`);
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
});
