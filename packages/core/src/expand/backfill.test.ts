import { describe, expect, it } from 'vitest';
import { walPace } from './backfill';

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
