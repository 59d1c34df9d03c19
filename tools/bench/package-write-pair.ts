/**
 * The writing of a `plan --out` package in-process (issue 90, decision 7), on the package of a generated project:
 *
 * - `writePackage` of this checkout against another's (`--against`, built: its dist/), on the same plan, alternated in
 *   each round: wall, user and system CPU of this process, and whether both wrote the CLI's manifest byte for byte;
 * - the package's files (the same names and texts) written again one `writeFileSync` at a time against a pool of
 *   asynchronous writes (`fs.writeFile`, `--pool` at a time, default 4 and 16): what a pool would change.
 *
 *   node tools/run.js tools/bench/package-write-pair.ts --against <checkout, built> [objects=10000] [--runs 7] [--pool 4,16]
 *
 * The package is made once by this checkout's `dbee plan gen --out`. The writing runs with the dbee command's V8 flags
 * (`--turbo-filter=findStringEnd`, bin/dbee.js). CPU is the whole process's (libuv's threads included), from `process.resourceUsage()`. Every write goes to a new folder, removed at the end only (see
 * plan-out-pair.ts: ext4 without a journal makes a file created right after a removal cost several times more).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFile, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { readPackage, writePackage } from '@dbee/core';
import { generateProject } from './generate';
import * as L from './lib';
import { checkOtherBuild } from './other-build';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 10000);
const RUNS = Number(option('runs') ?? 7);
const POOLS = (option('pool') ?? '4,16').split(',').map(Number);
const AGAINST = option('against');
if (!AGAINST) throw new Error('usage: package-write-pair.ts --against <another checkout, built> [objects] [--runs n]');
checkOtherBuild(AGAINST);
// As the dbee command runs its code: V8's baseline compiler is its top tier but for one function (bin/dbee.js).
setFlagsFromString('--turbo-filter=findStringEnd');
setFlagsFromString('--no-maglev');
const other = require(join(AGAINST, 'packages/core/dist/index.js')) as typeof import('@dbee/core');

interface Cost {
  wall: number;
  user: number;
  system: number;
}

/** `work`'s wall time and this process's user and system CPU during it (ms). */
async function measure(work: () => void | Promise<void>): Promise<Cost> {
  const c0 = process.resourceUsage();
  const t0 = performance.now();
  await work();
  const wall = performance.now() - t0;
  const c1 = process.resourceUsage();
  return { wall, user: (c1.userCPUTime - c0.userCPUTime) / 1000, system: (c1.systemCPUTime - c0.systemCPUTime) / 1000 };
}

/** Every file under `dir`, package-relative with `/`. */
function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const abs = join(dir, name);
    return statSync(abs).isDirectory() ? listFiles(abs, base) : [relative(base, abs).split('\\').join('/')];
  });
}

function folders(out: string, files: [string, string][]): void {
  for (const d of new Set(files.map(([rel]) => dirname(join(out, rel))))) mkdirSync(d, { recursive: true });
}

/** The files written one `writeFileSync` at a time. */
function writeSync(out: string, files: [string, string][]): void {
  folders(out, files);
  for (const [rel, text] of files) writeFileSync(join(out, rel), text);
}

/** The files written by `width` asynchronous writes at a time. */
function writePool(out: string, files: [string, string][], width: number): Promise<void> {
  folders(out, files);
  let next = 0;
  const lane = (): Promise<void> =>
    next >= files.length
      ? Promise.resolve()
      : new Promise<void>((done, fail) => {
          const [rel, text] = files[next++]!;
          writeFile(join(out, rel), text, (e) => (e ? fail(e) : done()));
        }).then(lane);
  return Promise.all(Array.from({ length: width }, lane)).then(() => undefined);
}

function report(title: string, base: string, sides: string[], costs: Map<string, Cost[]>): void {
  console.log(`\n${title}`);
  const b = costs.get(base)!;
  const paired = (c: Cost[], f: (x: Cost) => number) => L.fmtRatio(L.median(c.map((x, i) => f(x) / f(b[i]!))));
  const figures: [string, (x: Cost) => number][] = [
    ['wall', (x) => x.wall],
    ['user CPU', (x) => x.user],
    ['system CPU', (x) => x.system],
    ['user + system', (x) => x.user + x.system],
  ];
  const rows = sides.map((side) => {
    const c = costs.get(side)!;
    return [
      side,
      ...figures.map(([, f]) => L.fmtMs(L.median(c.map(f)))),
      side === base ? '-' : figures.map(([, f]) => paired(c, f)).join(' / '),
    ];
  });
  const header = figures.map(([name]) => `${name} (median)`);
  console.log(L.table(['side', ...header, `the same, against ${base} (median of paired ratios)`], rows));
}

L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-package-write-'));
  try {
    const ws = join(root, 'ws');
    L.writeWorkspace(ws, ['d'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const env = { [L.envVar('d')]: L.dbUrl(await L.createDb(`pkgwrite_${N}`)) };
    const made = join(root, 'made');
    const cli = spawnSync(
      process.execPath,
      [join(L.REPO, 'packages/cli/bin/dbee.js'), 'plan', 'gen', '--env', 'd', '--out', made, '--cwd', ws],
      { cwd: ws, env: { ...process.env, ...env }, encoding: 'utf8' },
    );
    if (cli.status !== 0) throw new Error(`plan --out exited ${cli.status}: ${cli.stderr.slice(-2000)}`);
    const pkg = readPackage(made);
    const sources = Object.keys(pkg.manifest.sources).map((path) => ({
      path,
      text: readFileSync(join(ws, path), 'utf8'),
    }));
    const options = {
      toolVersion: pkg.manifest.tool.version,
      sources,
      release: pkg.release ?? undefined,
      smoke: pkg.smoke,
    };
    const files = listFiles(made).map((rel) => [rel, readFileSync(join(made, rel), 'utf8')] as [string, string]);
    const manifest = readFileSync(join(made, 'manifest.json'), 'latin1');

    const writers = { before: other.writePackage, after: writePackage };
    const packages = new Map<string, Cost[]>([
      ['before', []],
      ['after', []],
    ]);
    const raw = ['writeFileSync', ...POOLS.map((w) => `pool of ${w}`)];
    const writes = new Map<string, Cost[]>(raw.map((r) => [r, []]));
    const same: string[] = [];
    const loads: string[] = [];
    let n = 0;
    for (let round = 0; round < RUNS; round++) {
      for (const side of round % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const)) {
        const out = join(root, `${side}-${round}`);
        packages.get(side)!.push(await measure(() => void writers[side](out, pkg.plan, options)));
        if (readFileSync(join(out, 'manifest.json'), 'latin1') !== manifest) same.push(`${side} round ${round + 1}`);
      }
      const order = round % 2 ? [...raw].reverse() : raw;
      for (const r of order) {
        const out = join(root, `raw-${n++}`);
        const width = r === 'writeFileSync' ? 0 : Number(r.split(' ').pop());
        writes.get(r)!.push(await measure(() => (width ? writePool(out, files, width) : writeSync(out, files))));
      }
      loads.push(L.load().split(' ')[0]!);
      console.error(`round ${round + 1}/${RUNS}`);
    }
    console.log(
      `package of plan gen --out, ${gen.objects} objects, ${files.length} files, ${RUNS} rounds alternated, in-process`,
    );
    console.log(`before: ${AGAINST}; after: ${L.REPO}`);
    report('writePackage, the same plan', 'before', ['before', 'after'], packages);
    console.log(
      same.length
        ? `manifest DIFFERS from the CLI's: ${same.join(', ')}`
        : "every manifest the same bytes as the CLI's",
    );
    report("the package's files written again", 'writeFileSync', raw, writes);
    console.log(`load average (1 min) per round: ${loads.join(' ')}; ${L.machine()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
