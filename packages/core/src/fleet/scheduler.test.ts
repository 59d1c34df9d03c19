import { describe, expect, it } from 'vitest';
import { runWaves } from './scheduler';

const names = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `t${i + 1}` }));

/** A run that records start/end order and how many ran at once; `fails` names the targets that fail. */
function recorder(fails: Set<string>) {
  const events: string[] = [];
  let inFlight = 0;
  let most = 0;
  const run = async (t: { name: string }, wave: 1 | 2) => {
    inFlight++;
    most = Math.max(most, inFlight);
    events.push(`start ${t.name} w${wave}`);
    // Let other workers start before this one ends: the order of events is decided by the scheduler, not by timing.
    await new Promise((r) => setImmediate(r));
    inFlight--;
    events.push(`end ${t.name}`);
    return { ok: !fails.has(t.name) };
  };
  return { events, run, most: () => most };
}

describe('fleet waves', () => {
  it('runs the canaries first, then the rest at most `concurrency` at once', async () => {
    const r = recorder(new Set());
    const out = await runWaves(names(10), { canary: 2, concurrency: 4, maxFailures: 1 }, r.run, (x) => !x.ok);
    expect(out.stopped).toBeNull();
    const firstWave2 = r.events.findIndex((e) => e.endsWith('w2'));
    expect(r.events.slice(0, firstWave2).sort()).toEqual(['end t1', 'end t2', 'start t1 w1', 'start t2 w1']);
    expect(r.most()).toBe(4);
    expect(out.targets.every((t) => t.result?.ok)).toBe(true);
  });

  it('stops scheduling after --max-failures failures; targets in flight finish, the rest are not started', async () => {
    const r = recorder(new Set(['t7']));
    const out = await runWaves(names(40), { canary: 2, concurrency: 4, maxFailures: 1 }, r.run, (x) => !x.ok);
    expect(out.stopped).toBe('1 target failed (--max-failures 1)');
    const started = out.targets.filter((t) => t.result).map((t) => t.target);
    // t3..t6 in flight when t7 starts; t7 fails; whatever had started finishes, nothing after it starts.
    expect(started).toContain('t7');
    expect(started.length).toBeLessThanOrEqual(10);
    for (const name of started) expect(r.events).toContain(`end ${name}`);
    expect(out.targets.filter((t) => !t.result).length).toBe(40 - started.length);
    expect(out.targets.find((t) => t.target === 't40')!.result).toBeNull();
  });

  it('a failed canary stops the fleet: no target of the second wave starts', async () => {
    const r = recorder(new Set(['t2']));
    const out = await runWaves(names(10), { canary: 2, concurrency: 4, maxFailures: 5 }, r.run, (x) => !x.ok);
    expect(out.stopped).toBe('canary t2 failed');
    expect(r.events.some((e) => e.endsWith('w2'))).toBe(false);
    expect(out.targets.filter((t) => t.result).map((t) => t.target)).toEqual(['t1', 't2']);
  });

  it('with --max-failures 3, goes on after two failures and stops at the third', async () => {
    const r = recorder(new Set(['t3', 't5', 't8']));
    const out = await runWaves(names(20), { canary: 0, concurrency: 1, maxFailures: 3 }, r.run, (x) => !x.ok);
    expect(out.failures).toBe(3);
    expect(out.targets.filter((t) => t.result).map((t) => t.target)).toEqual([
      't1',
      't2',
      't3',
      't4',
      't5',
      't6',
      't7',
      't8',
    ]);
  });
});
