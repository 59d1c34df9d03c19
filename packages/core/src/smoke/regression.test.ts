import { describe, expect, it } from 'vitest';
import { judgeDuration, smokeRegression } from './regression';
import type { SmokeResult } from '../model/smoke-check';

const result = (durationMs: number, status: SmokeResult['status'] = 'passed'): SmokeResult => ({
  name: 'c',
  source: 'smoke/c.yaml:1',
  status,
  durationMs,
  message: null,
});

describe('smoke regression', () => {
  it('defaults: 10 runs, 100 ms of noise allowed', () => {
    expect(smokeRegression({ smokeRegression: 1.2 })).toEqual({ factor: 1.2, runs: 10, minMs: 100 });
    expect(smokeRegression({ smokeRegression: { factor: 1.5, minMs: 0 } })).toEqual({
      factor: 1.5,
      runs: 10,
      minMs: 0,
    });
    expect(smokeRegression({})).toBeNull();
  });

  it('fails a check slower than factor x the median (and than median + minMs), naming both numbers', () => {
    const gate = { factor: 1.2, runs: 10, minMs: 0 };
    expect(judgeDuration(result(1200), [1000, 900, 1100], gate, 'prod').status).toBe('passed');
    const slow = judgeDuration(result(1201), [1000, 900, 1100], gate, 'prod');
    expect(slow.status).toBe('failed');
    expect(slow.message).toBe(
      'slower than its baseline: 1201 ms, against a median of 1000 ms over its last 3 successful runs on prod (gates.smokeRegression 1.2: at most 1200 ms)',
    );
    // Median of an even count: the mean of the middle two.
    expect(judgeDuration(result(1261), [1000, 1100, 900, 1200], gate, 'prod').message).toContain('median of 1050 ms');
  });

  it('no baseline under 3 runs; a fast check is not failed for less than minMs; a failed check stays as it is', () => {
    const gate = { factor: 1.2, runs: 10, minMs: 100 };
    expect(judgeDuration(result(5000), [1, 1], gate, 'qa').status).toBe('passed');
    expect(judgeDuration(result(99), [2, 2, 2], gate, 'qa').status).toBe('passed');
    expect(judgeDuration(result(103), [2, 2, 2], gate, 'qa').status).toBe('failed');
    expect(judgeDuration(result(5000, 'failed'), [1, 1, 1], gate, 'qa')).toEqual(result(5000, 'failed'));
  });
});
