import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlanStep } from '../plan/plan';
import { formatDuration, streamReporter } from './reporter';

const step = { action: 'create', key: 'table:sales.orders' } as PlanStep;

function sink() {
  const out = { text: '' };
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out.text += String(chunk);
      cb();
    },
  });
  return { out, stream };
}

describe('streamReporter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('on a terminal, keeps one line per step with its elapsed time, then its outcome', () => {
    const { out, stream } = sink();
    const r = streamReporter(stream, stream, { tty: true });
    r.step(3, 10, step);
    vi.advanceTimersByTime(2100);
    r.stepDone!(3, 10, step, { status: 'applied', durationMs: 2100 });
    expect(out.text).toBe(
      '  [3/10] create table:sales.orders' +
        '\r  [3/10] create table:sales.orders  1.0 s' +
        '\r  [3/10] create table:sales.orders  2.0 s' +
        '\r  [3/10] create table:sales.orders  ok 2.1 s\n',
    );
  });

  it('in CI, writes a plain line when a step starts and one when it ends', () => {
    const { out, stream } = sink();
    const r = streamReporter(stream, stream, { tty: false });
    r.step(1, 2, step);
    vi.advanceTimersByTime(5000);
    r.stepDone!(1, 2, step, { status: 'failed', durationMs: 12, error: 'boom\n  statement: x' });
    expect(out.text).toBe('  [1/2] create table:sales.orders\n  [1/2] FAILED 12 ms: boom\n');
  });

  it('formats durations for people', () => {
    expect([formatDuration(850), formatDuration(12_345), formatDuration(125_000)]).toEqual([
      '850 ms',
      '12.3 s',
      '2 min 5 s',
    ]);
  });
});
