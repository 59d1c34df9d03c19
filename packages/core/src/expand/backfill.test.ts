import { describe, expect, it } from 'vitest';
import { walPace, YIELD_MAX_PAUSE_MS, yieldPace } from './backfill';

describe('backfill WAL pace', () => {
  it('pauses until the WAL of the batches fits the rate, makes up a late timer within its slack, keeps the pause floor', () => {
    let t = 1000;
    // 1 MB of WAL per second; a floor of 2 ms.
    const pace = walPace(1_000_000, 2, () => t);
    // A batch of 100 kB that took 10 ms: 100 ms of budget, 90 left.
    t += 10;
    expect(pace(100_000)).toBe(90);
    // The timer ran 15 ms late and the next batch (50 kB: 50 ms of budget) took 5 ms: 30 ms left.
    t += 105 + 5;
    expect(pace(50_000)).toBe(30);
    // Far behind (a lock wait of 2 s): the clock is at most 20 ms behind; 10 kB ask for 10 ms of it: the floor.
    t += 2000;
    expect(pace(10_000)).toBe(2);
    // No WAL: the floor; not measured: the floor.
    t += 2;
    expect(pace(0)).toBe(2);
    expect(pace(undefined)).toBe(2);
    // Never longer than the batch's own WAL asks for, however much WAL the server writes between batches.
    const quiet = walPace(1_000_000, 0, () => 0);
    expect(quiet(512)).toBe(1);
  });
});

describe('backfill gives way to the application', () => {
  it('halves the batch and doubles its pause while sessions wait on its locks, and lets both go when none do', () => {
    const giveWay = yieldPace();
    // Nobody waited: no limit on the size, no pause.
    expect(giveWay(1000, { waiting: 0, waitedMs: 0 }, 10)).toEqual({ size: Number.POSITIVE_INFINITY, pauseMs: 0 });
    // Two sessions waited, the longest 40 ms: half the size, a pause of at least that wait.
    expect(giveWay(1000, { waiting: 2, waitedMs: 40 }, 10)).toEqual({ size: 500, pauseMs: 40 });
    // Still waited on, briefly: the pause doubles, the size halves again, never under the smallest batch.
    expect(giveWay(500, { waiting: 1, waitedMs: 5 }, 10)).toEqual({ size: 250, pauseMs: 80 });
    expect(giveWay(12, { waiting: 1, waitedMs: 5 }, 10)).toEqual({ size: 10, pauseMs: 160 });
    // Then nobody: the pause halves away (and ends under 10 ms), the size is left to the other bounds.
    expect(giveWay(10, { waiting: 0, waitedMs: 0 }, 10).pauseMs).toBe(80);
    expect([40, 20, 10, 0].map(() => giveWay(10, { waiting: 0 }, 10).pauseMs)).toEqual([40, 20, 10, 0]);
    // A long wait: at most the longest pause.
    expect(giveWay(10, { waiting: 3, waitedMs: 60_000 }, 10).pauseMs).toBe(YIELD_MAX_PAUSE_MS);
    // Waiters not read (the option off): nothing changes.
    expect(yieldPace()(1000, {}, 10)).toEqual({ size: Number.POSITIVE_INFINITY, pauseMs: 0 });
  });
});
