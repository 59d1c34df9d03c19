import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDITS } from './edits';
import { RealEditBench, REAL_SEEDS } from './real-edits';

/**
 * Edit fuzzing over the real corpus (issue 88, deliverable 3), its fixed sample: one round of edits on AdventureWorks
 * (five schemas, domains, cross-schema views, a materialized view), typed into one database by hand and carried to
 * another by dbee; the oracle is real-edits.ts's. `tools/diff-fuzz.ts --real` runs many rounds on every schema of
 * `REAL_SEEDS` (docs/diff-properties.md: seeds, counts, the classes found).
 */
const SCHEMA = 'adventureworks';
const SEED = 1;
const EDITS_PER_ROUND = 8;

describe('edit fuzzing over a real schema [postgres]', () => {
  let bench: RealEditBench;
  beforeAll(async () => {
    bench = await RealEditBench.open(REAL_SEEDS.find((s) => s.name === SCHEMA)!);
  }, 120_000);
  afterAll(() => bench?.close());

  it(`the catalogue holds at least 60 kinds over every form, and seed ${SEED}'s ${EDITS_PER_ROUND} edits converge`, async () => {
    expect(EDITS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(EDITS.map((e) => e.form)).size).toBe(10);
    // A second extract, unedited, plans nothing (it wrote `REVOKE USAGE ON SCHEMA public FROM PUBLIC` once, for a
    // public schema that grants it: docs/diff-properties.md).
    expect(bench.settled).toEqual([]);
    const r = await bench.round(SEED, EDITS_PER_ROUND);
    expect(r.failure, JSON.stringify(r.edits, null, 2)).toBeNull();
    expect(r.edits.map((e) => e.kind)).toHaveLength(EDITS_PER_ROUND);
  }, 120_000);
});
