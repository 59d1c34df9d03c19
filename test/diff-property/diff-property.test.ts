import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ENGINES } from '../diff/helpers';
import { PropertyBench, seedRange } from './harness';

/** Fixed seeds: the same pairs on every run. `tools/diff-fuzz.ts` runs many more. */
const PAIRS_PER_ENGINE = 150;
const FIRST_SEED = 1;

describe.each(ENGINES)('diff property: random schema pairs converge [%s]', (engine) => {
  let bench: PropertyBench;
  beforeAll(async () => {
    bench = await PropertyBench.open(engine);
  });
  afterAll(async () => {
    await bench?.close();
  });

  test(`${PAIRS_PER_ENGINE} pairs (seeds ${FIRST_SEED}..${FIRST_SEED + PAIRS_PER_ENGINE - 1}): plan applies, second diff empty, catalogs${engine === 'postgres' ? ' and pg_dump' : ''} equal, default rows insert`, async () => {
    const run = await bench.run(seedRange(FIRST_SEED, PAIRS_PER_ENGINE));
    expect(run.failures).toEqual([]);
    expect(run.pairs).toBe(PAIRS_PER_ENGINE);
  });
});
