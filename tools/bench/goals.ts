/**
 * The goals of issue #61 ("Performance, decided"), judged the same way by every benchmark: each goal has one sample
 * per run, taken from a pair measured next to each other in that run (dbee and its floor, right after one another),
 * so that a load spike on the shared machine moves both sides of a pair; the verdict is on the median of those paired
 * samples (or, for a margin the range must not cross, on the run's worst pair), and it says how many runs it rests
 * on and their range. Fewer runs than the goal needs give no verdict.
 *
 * `--write-docs` makes a benchmark replace its own block of docs/performance.md (between `<!-- bench:<id> -->` and
 * `<!-- /bench:<id> -->`) with its table: the date, what was measured, each goal with its figure and verdict. No
 * load average and no commit go there (user docs); the console output has the load.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type Status = 'met' | 'NOT MET' | 'not measured' | 'too few runs';

export interface Goal {
  /** What is judged and its bound, e.g. "full deploy, in-process, 1,005 objects: <= 1.2x the psql floor". */
  label: string;
  /** One paired sample per run (a ratio, a difference in ms...). */
  samples: number[];
  /** `max`: the figure must be at most `limit`; `min`: at least `limit`. */
  bound: 'max' | 'min';
  limit: number;
  /** `median` (default) of the samples, or the `worst` sample (a margin the range must not cross). */
  judge?: 'median' | 'worst';
  /** Runs the verdict needs (5 by default). */
  minRuns?: number;
  /** How a figure is printed (default: a ratio, `1.23x`). */
  format?: (x: number) => string;
  /** Why there are no samples (a peer not installed...), printed instead of a figure. */
  why?: string;
  /** What the figure was measured against, in a few words, printed after it (the medians of both sides...). */
  detail?: string;
  /** What one sample is, for the count printed (default `run`; e.g. `project`). */
  sample?: string;
}

export const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');
export const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '-');
export const perSecond = (x: number) => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)}k rows/s` : '-');

export function median(xs: readonly number[]): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Judged {
  goal: Goal;
  status: Status;
  /** The judged figure (median, or worst sample), NaN when not measured. */
  value: number;
  min: number;
  max: number;
}

export function judge(goal: Goal): Judged {
  const xs = goal.samples.filter((x) => Number.isFinite(x));
  if (!xs.length) return { goal, status: 'not measured', value: Number.NaN, min: Number.NaN, max: Number.NaN };
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  const value = goal.judge === 'worst' ? (goal.bound === 'max' ? max : min) : median(xs);
  const ok = goal.bound === 'max' ? value <= goal.limit : value >= goal.limit;
  const status: Status = xs.length < (goal.minRuns ?? 5) ? 'too few runs' : ok ? 'met' : 'NOT MET';
  return { goal, status, value, min, max };
}

/** "median 1.15x (1.08x - 1.31x, 5 runs)" or "worst pair 1.31x (...)". */
export function figure(j: Judged): string {
  const f = j.goal.format ?? ratio;
  if (j.status === 'not measured') return j.goal.why ?? 'not measured';
  const n = j.goal.samples.filter((x) => Number.isFinite(x)).length;
  const sample = j.goal.sample ?? 'run';
  const runs = `${n} ${sample}${n === 1 ? '' : 's'}${j.status === 'too few runs' ? `, needs ${j.goal.minRuns ?? 5}` : ''}`;
  const head =
    j.goal.judge !== 'worst'
      ? 'median'
      : sample === 'run' && !j.goal.format
        ? 'worst pair'
        : j.goal.bound === 'max'
          ? 'largest'
          : 'smallest';
  return `${head} ${f(j.value)} (range ${f(j.min)} - ${f(j.max)}, ${runs})${j.goal.detail ? `; ${j.goal.detail}` : ''}`;
}

/** Print the goals with their verdicts, and the load average at the start and now. */
export function printGoals(goals: readonly Goal[], loadAtStart: string): Judged[] {
  const judged = goals.map(judge);
  console.log('goals (paired medians over the runs; the range is of the paired samples):');
  for (const j of judged) console.log(`  ${j.status.padEnd(12)} ${j.goal.label}: ${figure(j)}`);
  console.log(`load average (1, 5, 15 min): ${loadAtStart} at start, ${loadNow()} at end`);
  return judged;
}

export function loadNow(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/** The goals as a Markdown table (for docs/performance.md: no load average, no commit). */
export function goalsTable(judged: readonly Judged[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| goal | figure | verdict |',
    '| --- | --- | --- |',
    ...judged.map(
      (j) => `| ${esc(j.goal.label)} | ${esc(figure(j))} | ${j.status === 'met' ? 'met' : `**${j.status}**`} |`,
    ),
  ].join('\n');
}

const DOCS = resolve(__dirname, '..', '..', 'docs', 'performance.md');

/**
 * With `--write-docs` on the command line: replace the block `id` of docs/performance.md with `markdown` (the date
 * first). The block's markers must be there already (a benchmark writes only its own block).
 */
export function writeDocs(id: string, markdown: string, file = DOCS): void {
  if (!process.argv.includes('--write-docs')) return;
  const text = readFileSync(file, 'utf8');
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no block ${start} ... ${end}: add the markers where the table goes`);
  const body = `${start}\n\nLast run ${new Date().toISOString().slice(0, 10)}. ${markdown.trim()}\n\n`;
  writeFileSync(file, text.slice(0, a) + body + text.slice(b));
  console.log(`wrote ${file} (block ${id})`);
}
