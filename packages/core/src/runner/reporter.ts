import type { PlanStep } from '../plan/plan';

/** How a step ended, for progress output. */
export interface StepOutcome {
  status: 'applied' | 'failed' | 'rolled-back' | 'skipped';
  durationMs: number;
  error?: string;
}

/** Where progress goes: a terminal gets a live step line with elapsed time, CI gets plain lines. */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  /** A step starts; `index` of `total` counts the steps of its project. */
  step(index: number, total: number, step: PlanStep): void;
  /** A step ended (optional: reporters that only log starts may leave it out). */
  stepDone?(index: number, total: number, step: PlanStep, outcome: StepOutcome): void;
}

import { formatDuration } from '../model/duration';

/** In model/duration.ts (the backfill below the runner formats durations too); kept here for the runner's importers. */
export { formatDuration };

const MARK: Record<StepOutcome['status'], string> = {
  applied: 'ok',
  failed: 'FAILED',
  'rolled-back': 'rolled back',
  skipped: 'skipped',
};

/**
 * Progress on a stream. On a terminal (`tty`, default: the stream's `isTTY`) a step's line shows its elapsed time
 * while it runs and its outcome when it ends; elsewhere (CI logs) every start and end is a plain line of its own.
 */
export function streamReporter(
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream = out,
  options: { tty?: boolean } = {},
): Reporter {
  const tty = options.tty ?? Boolean((out as { isTTY?: boolean }).isTTY);
  let live: { line: string; t0: number; timer: NodeJS.Timeout } | null = null;
  const endLive = () => {
    if (!live) return;
    clearInterval(live.timer);
    out.write('\n');
    live = null;
  };
  // A folded migration on a new environment is recorded, not run (planner/baseline.ts): the line says so.
  const label = (i: number, n: number, s: PlanStep) =>
    `  [${i}/${n}] ${s.action} ${s.key}${s.baseline?.recorded ? ' (in the baseline: recorded, not run)' : ''}`;
  return {
    info: (m) => {
      endLive();
      out.write(m + '\n');
    },
    warn: (m) => {
      endLive();
      err.write('warning: ' + m + '\n');
    },
    step(i, n, s) {
      if (!tty) {
        out.write(label(i, n, s) + '\n');
        return;
      }
      endLive();
      const line = label(i, n, s);
      const t0 = Date.now();
      out.write(line);
      const timer = setInterval(() => out.write(`\r${line}  ${formatDuration(Date.now() - t0)}`), 1000);
      timer.unref();
      live = { line, t0, timer };
    },
    stepDone(i, n, s, o) {
      const tail = `${MARK[o.status]}${o.status === 'skipped' ? '' : ` ${formatDuration(o.durationMs)}`}${o.error ? `: ${o.error.split('\n')[0]}` : ''}`;
      if (!tty) {
        out.write(`  [${i}/${n}] ${tail}\n`);
        return;
      }
      if (live && live.line === label(i, n, s)) {
        clearInterval(live.timer);
        out.write(`\r${live.line}  ${tail}\n`);
        live = null;
      } else {
        endLive();
        out.write(`${label(i, n, s)}  ${tail}\n`);
      }
    },
  };
}
