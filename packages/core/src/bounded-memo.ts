/**
 * Results of a pure function kept by key for the next call with the same key, up to a budget of characters (each entry
 * costs its key's length and `cost` of its value); past it, everything kept is dropped and it fills again. For work a
 * process repeats on the same texts: a fleet's targets print each view of a release alike, and parsing them (the
 * PostgreSQL engine's `readBackForm` and `sameDefinition`) was a fifth of a fleet deployment's CPU; a routine read back
 * from a shadow, then from the targets, is parsed for its references once (`referencesOf`, schema/body-dependencies.ts).
 * A process that sees each text once (one deployment) only pays for the map, bounded by the budget.
 */
export class BoundedMemo<V> {
  private readonly kept = new Map<string, V>();
  private size = 0;

  /**
   * @param budget The most characters kept, keys and values counted (4,000,000: a few MB of strings).
   * @param cost A value's size in characters (a string: its length).
   */
  constructor(
    private readonly budget: number,
    private readonly cost: (value: V) => number,
  ) {}

  /** The value kept for `key`; undefined when none is. */
  get(key: string): V | undefined {
    return this.kept.get(key);
  }

  /** Keep `value` for `key`; one that costs more than the whole budget is not kept, and drops nothing. */
  set(key: string, value: V): void {
    const cost = key.length + this.cost(value);
    if (cost > this.budget) return;
    if (this.size + cost > this.budget) {
      this.kept.clear();
      this.size = 0;
    }
    this.kept.set(key, value);
    this.size += cost;
  }

  /** `compute()`'s value for `key`: kept from an earlier call with the same key, or computed now (and kept). */
  getOrCompute(key: string, compute: () => V): V {
    const known = this.kept.get(key);
    if (known !== undefined) return known;
    const value = compute();
    this.set(key, value);
    return value;
  }
}
