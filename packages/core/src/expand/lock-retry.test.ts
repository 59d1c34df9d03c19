import { describe, expect, it } from 'vitest';
import { DbeeError } from '../errors';
import { adapt } from './backfill';
import { backoffMs, isLockTimeout } from './lock-retry';

describe('lock retry backoff', () => {
  it('doubles from the base delay up to the cap, each delay between half and all of it', () => {
    const low = (attempt: number) => backoffMs(attempt, { random: () => 0 });
    const high = (attempt: number) => backoffMs(attempt, { random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(high)).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    expect([1, 2, 3, 7].map(low)).toEqual([100, 200, 400, 5000]);
    expect(backoffMs(3, { baseDelayMs: 10, maxDelayMs: 25, random: () => 0.999999 })).toBe(25);
  });

  it('knows a lock timeout, mapped by the engine or raw from a driver, from any other error', () => {
    expect(isLockTimeout(new DbeeError('x', { code: 'LOCK_TIMEOUT' }))).toBe(true);
    expect(isLockTimeout(new DbeeError('x', { code: 'STATEMENT_FAILED', details: { sqlstate: '55P03' } }))).toBe(true);
    expect(isLockTimeout({ code: '55P03', message: 'canceling statement due to lock timeout' })).toBe(true);
    expect(isLockTimeout(new DbeeError('x', { code: 'DEADLOCK', details: { sqlstate: '40P01' } }))).toBe(false);
    expect(isLockTimeout(new Error('boom'))).toBe(false);
  });
});

describe('backfill batch size', () => {
  it('scales toward the target duration, at most halved or doubled per batch, within its bounds', () => {
    expect(adapt(1000, 500, 250, 10, 50_000)).toBe(500);
    expect(adapt(1000, 5000, 250, 10, 50_000)).toBe(500);
    expect(adapt(1000, 200, 250, 10, 50_000)).toBe(1250);
    expect(adapt(1000, 1, 250, 10, 50_000)).toBe(2000);
    expect(adapt(40_000, 1, 250, 10, 50_000)).toBe(50_000);
    expect(adapt(12, 1000, 250, 10, 50_000)).toBe(10);
  });
});
