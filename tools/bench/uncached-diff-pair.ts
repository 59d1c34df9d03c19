/**
 * `npm run bench`'s uncached diff ("dbee diff F0 vs sources, uncached") for two builds at once (issue 90): this
 * checkout's compiled dist/ against another checkout's (`--against`, built with `npm run build` there), each in a
 * process of its own kept warm (tools/bench/uncached-diff-worker.js), alternated in each round (the order swapped every
 * round). As in the bench, the generated project's script is in a database by `psql -1` (F0, the `base` environment,
 * `shadow: server`), the sources carry the bench's change set, and each diff comes right after a floor of its own
 * (`psql -X -1 -f` of the script into an empty database), each measured once no other session works on the server
 * (`L.quietServer`). Before each floor the side lets go of the server shadow its last diff kept, so that each diff makes
 * its own, as a CLI process (and the bench, whose previous shadow build is seconds before) does.
 *
 *   node tools/run.js tools/bench/uncached-diff-pair.ts --against /work/h-diff-base [objects=1000] [--runs 7]
 *
 * Prints per side the medians of the diff, its CPU and its ratio to its floor, the median of the paired ratios after /
 * before (of the times, and of the ratios to the floors), and whether both sides printed the same diff.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';
import { checkOtherBuild } from './other-build';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(option('runs') ?? 7);
const AGAINST = option('against');
if (!AGAINST) throw new Error('usage: uncached-diff-pair.ts --against <another checkout, built> [objects] [--runs 7]');
checkOtherBuild(AGAINST);
const SIDES = { before: AGAINST, after: L.REPO } as const;
type Side = keyof typeof SIDES;

interface Answer {
  ok: boolean;
  error?: string;
  ms?: number;
  cpuMs?: number;
  stdout?: string;
}

function ask(child: ChildProcess, message: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      const a = m as Answer;
      if (a.ok) resolve(a);
      else reject(new Error(a.error));
    });
    child.send(message);
  });
}

L.runMain(async () => {
  console.log(`dbee uncached-diff-pair: ${N} objects, ${RUNS} rounds; ${L.machine()}; load ${L.load()}`);
  if (!L.buildDist()) throw new Error('npm run build failed: the sides run the compiled dist/');
  const root = mkdtempSync(join(tmpdir(), 'dbee-uncached-diff-pair-'));
  const children: ChildProcess[] = [];
  try {
    const ws = join(root, 'base');
    L.writeWorkspace(ws, ['base'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const script = join(root, 'script.sql');
    writeFileSync(script, gen.script);
    const cs = generateChangeSet(gen);
    const f0 = await L.createDb('udp_f0');
    await L.psqlFile(f0, script);
    const env = { ...process.env, [L.envVar('base')]: L.dbUrl(f0) };
    const workers = {} as Record<Side, ChildProcess>;
    for (const side of Object.keys(SIDES) as Side[]) {
      const w = join(root, side);
      cpSync(ws, w, { recursive: true });
      applyChangeSet(join(w, 'gen'), cs);
      const options = { project: 'gen', env: 'base', cache: false, format: 'json' };
      const child = fork(
        join(L.REPO, 'tools/bench/uncached-diff-worker.js'),
        [SIDES[side], w, JSON.stringify(options)],
        { cwd: SIDES[side], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      children.push(child);
      workers[side] = child;
      // Warm: modules, the parser, V8's code, as the bench's earlier rows warm its process.
      for (let i = 0; i < 2; i++) await ask(child, 'diff');
    }
    type Row = { floor: number; ms: number; cpu: number };
    const rows: Record<Side, Row[]> = { before: [], after: [] };
    const same = new Set<string>();
    for (let round = 0; round < RUNS; round++) {
      const order: Side[] = round % 2 ? ['after', 'before'] : ['before', 'after'];
      const out: Partial<Record<Side, string>> = {};
      for (const side of order) {
        await ask(workers[side], 'release');
        const f = await L.createDb(`udp_floor_${side}_${round}`);
        await L.quietServer();
        const floor = (await L.psqlFile(f, script)).ms;
        await L.quietServer();
        const d = await ask(workers[side], 'diff');
        await L.dropDb(f);
        rows[side].push({ floor, ms: d.ms!, cpu: d.cpuMs! });
        out[side] = d.stdout!;
      }
      same.add(out.before === out.after ? 'identical' : 'DIFFERENT');
      const b = rows.before[round]!;
      const a = rows.after[round]!;
      console.log(
        `  round ${round + 1}/${RUNS}: before ${L.fmtMs(b.ms)} / floor ${L.fmtMs(b.floor)} = ${L.fmtRatio(b.ms / b.floor)}, after ${L.fmtMs(a.ms)} / floor ${L.fmtMs(a.floor)} = ${L.fmtRatio(a.ms / a.floor)}; load ${L.load()}`,
      );
    }
    const med = (xs: number[]) => L.median(xs);
    const sideRow = (side: Side) => [
      side,
      L.fmtMs(med(rows[side].map((r) => r.floor))),
      L.fmtMs(med(rows[side].map((r) => r.ms))),
      L.fmtMs(med(rows[side].map((r) => r.cpu))),
      L.fmtRatio(med(rows[side].map((r) => r.ms / r.floor))),
      rows[side].map((r) => L.fmtRatio(r.ms / r.floor)).join(' '),
    ];
    console.log(
      L.table(
        ['side', 'floor (median)', 'diff (median)', 'diff CPU (median)', 'diff / floor (median)', 'per round'],
        [sideRow('before'), sideRow('after')],
      ),
    );
    const paired = (f: (r: Row) => number) => rows.after.map((a, i) => f(a) / f(rows.before[i]!)).sort((x, y) => x - y);
    const p = paired((r) => r.ms);
    const q = paired((r) => r.ms / r.floor);
    const c = paired((r) => r.cpu);
    console.log(
      `after / before, median of paired ratios: wall ${L.fmtRatio(med(p))} (${p.map(L.fmtRatio).join(' ')}); ratio to the floor ${L.fmtRatio(med(q))} (${q.map(L.fmtRatio).join(' ')}); CPU ${L.fmtRatio(med(c))}`,
    );
    console.log(`outputs, after against before: ${[...same].join('/')}; load at end ${L.load()}`);
  } finally {
    for (const c of children) c.disconnect();
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
