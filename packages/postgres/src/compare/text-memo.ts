/**
 * Results of a pure function of a text, kept for the next call with the same text, up to a budget of characters (keys
 * and values together); past it, everything kept is dropped and it fills again. For work a process repeats on the
 * same printed definitions: a fleet's targets print each view of a release alike, and parsing them (`readBackForm`,
 * `sameDefinition`) was a fifth of a fleet deployment's CPU (docs/performance.md, "Issue 90's cuts"). A process that
 * sees each text once (one deployment) only pays for the map, bounded by the budget.
 */
export class TextMemo {
  private readonly kept = new Map<string, string>();
  private size = 0;

  /** @param budget The most characters kept, keys and values counted. */
  constructor(private readonly budget: number) {}

  /** `compute(key)`'s value: kept from an earlier call with the same key, or computed now (and kept when it fits). */
  get(key: string, compute: () => string): string {
    const known = this.kept.get(key);
    if (known !== undefined) return known;
    const value = compute();
    const cost = key.length + value.length;
    if (cost > this.budget) return value;
    if (this.size + cost > this.budget) {
      this.kept.clear();
      this.size = 0;
    }
    this.kept.set(key, value);
    this.size += cost;
    return value;
  }
}
