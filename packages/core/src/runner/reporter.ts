import type { PlanStep } from '../plan/plan';

/** Where progress goes: a terminal gets step counters, CI gets plain lines. */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  step(index: number, total: number, step: PlanStep): void;
}

export function streamReporter(out: NodeJS.WritableStream, err: NodeJS.WritableStream = out): Reporter {
  return {
    info: (m) => out.write(m + '\n'),
    warn: (m) => err.write('warning: ' + m + '\n'),
    step: (i, n, s) => out.write(`  [${i}/${n}] ${s.action} ${s.key}\n`),
  };
}
