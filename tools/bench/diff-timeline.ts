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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineByName } from '@dbee/cli';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';
import { inclusive, instrument, requestLines, startRun, timeline } from './timeline';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(option('runs') ?? 5);
const REQUESTS = option('requests');
/** Let go of the server shadow this process keeps before each run: every diff makes its own, as a CLI process does. */
const FRESH = argv.includes('--fresh');
const PROFILE = argv.includes('--cpu-profile');
const TOP = Number(option('top') ?? 8);

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
      const logged = await startRun(PROFILE);
      const r = await diff();
      const { requests, profile } = await logged.stop();
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
      if (profile) console.log(inclusive(profile, logged.startUs, windows, TOP).join('\n'));
      if (REQUESTS) appendFileSync(REQUESTS, requestLines(run, requests));
    }
    console.log(
      `\n${steps} steps; diff ${L.fmtMs(L.median(walls))} (CPU ${L.fmtMs(L.median(cpus))}), floor ${L.fmtMs(L.median(floors))}, paired ratio median ${L.fmtRatio(L.median(ratios))} (${ratios.map(L.fmtRatio).join(' ')}); load at end ${L.load()}`,
    );
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
