/**
 * Paired A/B of the in-process incremental deploy (issue 90): `profile.ts N --incremental --runs R` of another checkout
 * (`--against`, its own sources run by its own tools/run.js) and of this one, as whole processes alternated in each
 * round (the order swapped every round). Each process builds its own base database and workspace and pairs each of
 * its deploys with its own floor (the change set's `psql -1` and the smoke baseline's compiles), so a round gives
 * each side its median deploy wall time and its median ratio to the floor. Reported: per side the medians over the
 * rounds, and after / before as the median of the paired ratios (one pair per round); the process's CPU during the
 * deploys (when the other checkout's profile.ts prints it); from the request logs
 * (`--requests`), when the first step was sent and how long the deploy ran after its last step's request began.
 *
 *   node tools/run.js tools/bench/incremental-pair.ts --against <checkout> [objects=1000] [--rounds 3] [--runs 3]
 *
 * Run it under the machine's measurement lock (`flock /work/measure.lock ...` on a shared machine): it measures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const ROUNDS = Number(option('rounds') ?? 3);
const RUNS = Number(option('runs') ?? 3);
const AGAINST = option('against');
if (!AGAINST)
  throw new Error('usage: incremental-pair.ts --against <another checkout> [objects] [--rounds n] [--runs n]');
const SIDES = { before: AGAINST, after: L.REPO } as const;
type Side = keyof typeof SIDES;

interface Round {
  wall: number;
  ratio: number;
  floor: number;
  /** Median over the runs of when the first step's request was sent, ms from the deploy's start. */
  firstStep: number;
  /** Median over the runs of the time from the last step's request to the deploy's end. */
  afterSteps: number;
  /** Median over the runs of the process's CPU time during the deploy (NaN from a profile.ts that does not print it). */
  cpu: number;
}

function withoutSwcProject(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SWC_NODE_PROJECT;
  return env;
}

/** One `profile.ts --incremental` process of `side`, its summary lines and request log read. */
function round(side: Side, dir: string, i: number): Round {
  const requests = join(dir, `${side}-${i}.txt`);
  const r = spawnSync(
    process.execPath,
    [
      'tools/run.js',
      'tools/bench/profile.ts',
      String(N),
      '--incremental',
      '--runs',
      String(RUNS),
      '--requests',
      requests,
    ],
    // Without this process's SWC_NODE_PROJECT (tools/dev-register.js sets it): its tsconfig's paths would compile the
    // other checkout's imports of @dbee/* to this checkout's sources.
    { cwd: SIDES[side], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: withoutSwcProject() },
  );
  if (r.status !== 0 || !existsSync(requests))
    throw new Error(`${side}: profile.ts exited ${r.status}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
  const ms = (s: string) => (s.endsWith(' s') ? Number.parseFloat(s) * 1000 : Number.parseFloat(s));
  const wall = /median wall ([\d.]+ m?s)/.exec(r.stdout);
  const ratio =
    /paired ratio deploy \/ \(change-set floor \+ compiles\): median ([\d.]+)x.*floor \+ compiles median ([\d.]+ m?s)/.exec(
      r.stdout,
    );
  const cpu = /deploy CPU median ([\d.]+ m?s)/.exec(r.stdout);
  if (!wall || !ratio) throw new Error(`${side}: no summary in profile.ts's output:\n${r.stdout.slice(-3000)}`);
  // Request log lines: label, kind, ms, start, session, statement. A step's request is a batch that opens a transaction
  // with the step's settings (`set_config('dbee.step_started', ...)`).
  const runs = new Map<string, { start: number; end: number; kind: string; text: string }[]>();
  for (const line of readFileSync(requests, 'utf8').split('\n')) {
    const [label, kind, took, start, , text] = line.split('\t');
    if (!label?.startsWith('incremental-cached-')) continue;
    const list = runs.get(label) ?? [];
    list.push({ start: Number(start), end: Number(start) + Number(took), kind: kind!, text: text ?? '' });
    runs.set(label, list);
  }
  const steps = [...runs.values()].map((list) => {
    const isStep = (q: { kind: string; text: string }) => q.kind === 'batch' && q.text.includes('dbee.step_started');
    const stepsOf = list.filter(isStep);
    const end = Math.max(...list.map((q) => q.end));
    return {
      first: Math.min(...stepsOf.map((q) => q.start)),
      after: end - Math.max(...stepsOf.map((q) => q.start)),
    };
  });
  return {
    wall: ms(wall[1]!),
    ratio: Number(ratio[1]),
    floor: ms(ratio[2]!),
    firstStep: L.median(steps.map((s) => s.first)),
    afterSteps: L.median(steps.map((s) => s.after)),
    cpu: cpu ? ms(cpu[1]!) : Number.NaN,
  };
}

L.runMain(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbee-incremental-pair-'));
  console.log(
    `incremental deploy pair: ${N} objects, ${ROUNDS} rounds of ${RUNS} runs per side; ${L.machine()}; load ${L.load()}`,
  );
  try {
    const rounds: Record<Side, Round[]> = { before: [], after: [] };
    for (let i = 0; i < ROUNDS; i++) {
      const order: Side[] = i % 2 ? ['after', 'before'] : ['before', 'after'];
      for (const side of order) rounds[side].push(round(side, dir, i));
      const b = rounds.before[i]!;
      const a = rounds.after[i]!;
      console.log(
        `  round ${i + 1}/${ROUNDS}: before ${L.fmtMs(b.wall)} (${L.fmtRatio(b.ratio)}), after ${L.fmtMs(a.wall)} (${L.fmtRatio(a.ratio)}); load ${L.load()}`,
      );
    }
    const figure = (k: keyof Round) => ({
      before: rounds.before.map((r) => r[k]),
      after: rounds.after.map((r) => r[k]),
    });
    const row = (label: string, k: keyof Round, fmt: (x: number) => string) => {
      const f = figure(k);
      const paired = f.after.map((a, i) => a / f.before[i]!);
      return [
        label,
        fmt(L.median(f.before)),
        fmt(L.median(f.after)),
        L.fmtRatio(L.median(paired)),
        paired.map((r) => r.toFixed(2)).join(' '),
      ];
    };
    console.log(
      L.table(
        ['figure', 'before (median)', 'after (median)', 'after / before (median of paired ratios)', 'paired ratios'],
        [
          row('incremental deploy, in-process, wall', 'wall', L.fmtMs),
          row('incremental deploy / its floor', 'ratio', L.fmtRatio),
          row('incremental deploy, CPU of the process', 'cpu', L.fmtMs),
          row('its floor (psql -1 + compiles)', 'floor', L.fmtMs),
          row('first step sent at', 'firstStep', L.fmtMs),
          row('from the last step to the end', 'afterSteps', L.fmtMs),
        ],
      ),
    );
    console.log(`load at end ${L.load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
