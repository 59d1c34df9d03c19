import { describe, expect, it } from 'vitest';
import { parseLabels, parseShard, selectByLabels, shardOf, targetsOfShard } from './select';

const targets = Array.from({ length: 200 }, (_, i) => ({
  name: `tenant_${String(i + 1).padStart(3, '0')}`,
  labels: { region: i % 3 === 0 ? 'eu' : 'us', tier: i % 2 ? 'a' : 'b' },
}));

describe('fleet target selection', () => {
  it('--labels keeps the targets that match every pair, any of the values given with |', () => {
    const eu = selectByLabels(targets, parseLabels('region=eu'));
    expect(eu.length).toBe(67);
    expect(eu.every((t) => t.labels.region === 'eu')).toBe(true);
    const euA = selectByLabels(targets, parseLabels('region=eu,tier=a'));
    expect(euA.every((t) => t.labels.region === 'eu' && t.labels.tier === 'a')).toBe(true);
    expect(euA.length).toBe(33);
    expect(selectByLabels(targets, parseLabels('region=eu|us')).length).toBe(200);
    expect(selectByLabels(targets, parseLabels('plan=gold')).length).toBe(0);
  });

  it('refuses a --labels pair that is not key=value', () => {
    expect(() => parseLabels('region')).toThrow(/--labels: "region" is not key=value/);
  });

  it('--shard i/n puts every target in exactly one shard, the canaries in shard 1, whatever order the targets come in', () => {
    const canaries = new Set(targets.slice(0, 2).map((t) => t.name));
    const shards = [1, 2, 3, 4].map((index) =>
      targetsOfShard(targets, canaries, { index, count: 4 }).map((t) => t.name),
    );
    const all = shards.flat();
    expect(all.length).toBe(200);
    expect(new Set(all).size).toBe(200);
    for (const c of canaries) expect(shards[0]).toContain(c);
    // Every shard gets a share (a hash of the name, not a position: a new target moves no other).
    for (const s of shards) expect(s.length).toBeGreaterThan(25);
    const reversed = [1, 2, 3, 4].map((index) =>
      targetsOfShard([...targets].reverse(), canaries, { index, count: 4 })
        .map((t) => t.name)
        .sort(),
    );
    expect(reversed).toEqual(shards.map((s) => [...s].sort()));
    expect(shardOf('tenant_007', 4)).toBe(shardOf('tenant_007', 4));
  });

  it('--shard reads JOB_COMPLETION_INDEX (0-based) with auto/n, and refuses what is out of range', () => {
    expect(parseShard('2/4', {})).toEqual({ index: 2, count: 4 });
    expect(parseShard('auto/4', { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 1, count: 4 });
    expect(parseShard('/4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 4, count: 4 });
    expect(parseShard(undefined, {})).toBeNull();
    expect(() => parseShard('5/4', {})).toThrow(/between 1 and 4/);
    expect(() => parseShard('0/4', {})).toThrow(/between 1 and 4/);
    expect(() => parseShard('auto/4', {})).toThrow(/JOB_COMPLETION_INDEX is not set/);
    expect(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: '4' })).toThrow(/between 1 and 4/);
    expect(() => parseShard('two/4', {})).toThrow(/expected i\/n/);
  });
});
