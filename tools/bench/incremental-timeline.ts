/**
 * Where the incremental deploy's critical path goes (issue 90): `npm run bench`'s incremental deploy (the generated
 * project deployed, its change set's sources deployed in this process with their desired model cached, into a copy of
 * the deployed database) alone, as a request timeline with the JavaScript between the requests named.
 *
 *   node tools/run.js tools/bench/incremental-timeline.ts [objects=1000] [--runs 5] [--requests FILE] [--cpu-profile [--top 8]] [--gap 2]
 *
 * Per run, after an untimed warm deploy and `L.quietServer()`: each session's requests merged into busy spans, the
 * time with no request in flight, and the stretches of over `--gap` ms (default 2) in which the deployment's session
 * (the one that sends the steps: the critical path) has no request in flight. `--cpu-profile`: each measured deploy is
 * profiled (node:inspector, a sample each 200 us) and for each such stretch the functions of dbee's packages on the
 * stack the most are printed (`--top` of them, inclusive time) with the functions the samples were in (self time), and
 * the stretches before the first step summed by function over the runs. `--requests FILE`: every request, one a line (run, ms from the deploy's start, ms,
 * session, kind, the statement's start). The ratio to the floor is `profile.ts --incremental`'s and
 * `incremental-pair.ts`'s; this prints the deploy's wall and CPU time only.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';
import { byWindow, instrument, type Request, requestLines, startRun, timeline } from './timeline';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(option('runs') ?? 5);
const REQUESTS = option('requests');
const PROFILE = argv.includes('--cpu-profile');
const TOP = Number(option('top') ?? 8);
const GAP = Number(option('gap') ?? 2);

const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);

/** The stretches of over `minGap` ms in which none of `requests` is in flight, from 0 to `wall`. */
function gapsOf(requests: Request[], wall: number, minGap: number): [number, number][] {
  const out: [number, number][] = [];
  let end = 0;
  for (const q of [...requests].sort((a, b) => a.start - b.start)) {
    if (q.start - end > minGap) out.push([end, q.start]);
    end = Math.max(end, q.end);
  }
  if (wall - end > minGap) out.push([end, wall]);
  return out;
}

L.runMain(async () => {
  instrument();
  console.log(`dbee incremental-timeline: ${N} objects, ${RUNS} runs; ${L.machine()}; load ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-incremental-timeline-'));
  try {
    const ws = join(root, 'base');
    L.writeWorkspace(ws, ['d'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const wsChanged = join(root, 'changed');
    cpSync(ws, wsChanged, { recursive: true });
    applyChangeSet(join(wsChanged, 'gen'), generateChangeSet(gen));
    const base = await L.createDb('it_base');
    const env = { [L.envVar('d')]: L.dbUrl(base) };
    await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env);
    // The changed sources' desired model into the cache (a dry run plans by the same diff), as profile.ts does.
    await L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd', dryRun: true, verify: false }, env);
    const deployCopy = async (label: string) => {
      const db = await L.createDb(label, base);
      return {
        db,
        deploy: () => L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(db) }),
      };
    };
    // Warm the process (modules, the parser, V8's code), as the bench's earlier rows do.
    for (let i = 0; i < 2; i++) {
      const w = await deployCopy(`it_warm_${i}`);
      await w.deploy();
      await L.dropDb(w.db);
    }
    const walls: number[] = [];
    const cpus: number[] = [];
    const beforeFirstStep = new Map<string, number>();
    const beforeFirstStepSelf = new Map<string, number>();
    const jsBeforeFirstStep: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const copy = await deployCopy(`it_run_${run}`);
      await L.quietServer();
      const logged = await startRun(PROFILE);
      const r = await copy.deploy();
      const { requests, profile } = await logged.stop();
      await L.dropDb(copy.db);
      walls.push(r.ms);
      cpus.push(r.cpuMs);
      const firstStep = Math.min(...requests.filter((q) => q.kind.startsWith('batch')).map((q) => q.start));
      console.log(
        `\nrun ${run}/${RUNS}: deploy ${L.fmtMs(r.ms)} (CPU ${L.fmtMs(r.cpuMs)}), first step sent at ${firstStep.toFixed(0)} ms; load ${L.load()}`,
      );
      console.log(timeline(requests, r.ms, [], GAP));
      // The critical path runs on the deployment's session (the one that sends the steps): its stretches with no
      // request of its own in flight are this process's JavaScript (or a wait for the lock's session).
      const own = requests.filter((q) => q.session === requests.find((x) => x.kind.startsWith('batch'))?.session);
      const windows = gapsOf(own, r.ms, GAP);
      console.log(
        `  the deployment's session idle for ${windows.reduce((n, [a, b]) => n + b - a, 0).toFixed(0)} ms in stretches over ${GAP} ms`,
      );
      if (profile) {
        const acc = byWindow(profile, logged.startUs, windows);
        windows.forEach(([a, b], w) => {
          console.log(`  ${a.toFixed(0)}-${b.toFixed(0)} (${(b - a).toFixed(0)} ms):`);
          for (const [k, v] of top(acc[w]!.inclusive, TOP)) console.log(`      ${v.toFixed(1).padStart(6)} ms  ${k}`);
          console.log(
            `      self: ${top(acc[w]!.self, 4)
              .map(([k, v]) => `${k} ${v.toFixed(1)}`)
              .join(', ')}`,
          );
        });
        // The critical path before the first step: those stretches before it.
        const before = windows
          .filter(([a]) => a < firstStep)
          .map(([a, b]) => [a, Math.min(b, firstStep)] as [number, number]);
        for (const w of byWindow(profile, logged.startUs, before))
          for (const [into, from] of [
            [beforeFirstStep, w.inclusive],
            [beforeFirstStepSelf, w.self],
          ] as const)
            for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
        jsBeforeFirstStep.push(before.reduce((n, [a, b]) => n + b - a, 0));
      }
      if (REQUESTS) appendFileSync(REQUESTS, requestLines(run, requests));
    }
    console.log(
      `\ndeploy ${L.fmtMs(L.median(walls))} (CPU ${L.fmtMs(L.median(cpus))}), medians of ${RUNS}; load at end ${L.load()}`,
    );
    if (beforeFirstStep.size) {
      console.log(
        `before the first step, the deployment's session idle for ${L.fmtMs(L.median(jsBeforeFirstStep))} (median; stretches over ${GAP} ms): dbee's functions on the stack (inclusive), mean of ${RUNS} runs:`,
      );
      for (const [k, v] of [...beforeFirstStep].sort((a, b) => b[1] - a[1]).slice(0, 50))
        console.log(`  ${(v / RUNS).toFixed(1).padStart(6)} ms  ${k}`);
      console.log('the same stretches, self time by function:');
      for (const [k, v] of [...beforeFirstStepSelf].sort((a, b) => b[1] - a[1]).slice(0, 30))
        console.log(`  ${(v / RUNS).toFixed(1).padStart(6)} ms  ${k}`);
    }
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
