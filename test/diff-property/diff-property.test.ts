import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ENGINES } from '../diff/helpers';
import { PropertyBench, seedRange } from './harness';

/**
 * Fixed seeds: the same pairs on every run, each both ways (A to B, B to A) and through desired state (A and B built
 * from sources by dbee's planner equal A and B built directly). `tools/diff-fuzz.ts` runs many more.
 */
const PAIRS_PER_ENGINE = 30;
const FIRST_SEED = 1;

describe.each(ENGINES)('diff property: random schema pairs converge [%s]', (engine) => {
  let bench: PropertyBench;
  beforeAll(async () => {
    bench = await PropertyBench.open(engine);
  });
  afterAll(async () => {
    await bench?.close();
  });

  test(`${PAIRS_PER_ENGINE} pairs (seeds ${FIRST_SEED}..${FIRST_SEED + PAIRS_PER_ENGINE - 1}), both ways and from sources: plan applies, second diff empty, catalogs${engine === 'postgres' ? ' and pg_dump' : ''} equal, default rows insert`, async () => {
    const run = await bench.run(seedRange(FIRST_SEED, PAIRS_PER_ENGINE), { full: true });
    expect(run.failures).toEqual([]);
    expect(run.pairs).toBe(PAIRS_PER_ENGINE);
  });
});
