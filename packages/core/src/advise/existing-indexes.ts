import type { AdviseIndex, ColumnSet } from '../engine/advise-role';
import type { CostedQuery } from './missing-indexes';
import { queryLabel } from './query-label';

/** An index another one makes useless. */
export interface RedundantIndex {
  index: AdviseIndex;
  /** The index that serves its queries. */
  coveredBy: string;
  reason: 'duplicate' | 'prefix';
}

/** An index no scan used since the statistics were reset. */
export interface UnusedIndex {
  index: AdviseIndex;
  /** Workload queries whose current plan scans it (then it is not droppable whatever the counter says). */
  usedByPlans: string[];
}

/**
 * Duplicates (same table, method, columns and predicate) and prefixes (a btree whose columns lead another btree's,
 * same predicate). An index that enforces a constraint (primary key, unique, exclusion) is never the redundant one.
 */
export function redundantIndexes(indexes: AdviseIndex[]): RedundantIndex[] {
  const out: RedundantIndex[] = [];
  for (const i of indexes) {
    if (i.columns === null || i.unique || i.constraint) continue;
    for (const o of indexes) {
      if (o === i || o.columns === null || o.schema !== i.schema || o.table !== i.table) continue;
      if (o.method !== i.method || (o.predicate ?? '') !== (i.predicate ?? '')) continue;
      const same = o.columns.length === i.columns.length && i.columns.every((c, n) => o.columns![n] === c);
      if (same) {
        // Of two equal plain indexes, the later name is the duplicate; a unique one always covers a plain one.
        if (o.unique || o.constraint || o.name < i.name) {
          out.push({ index: i, coveredBy: o.name, reason: 'duplicate' });
          break;
        }
        continue;
      }
      if (
        i.method === 'btree' &&
        o.columns.length > i.columns.length &&
        i.columns.every((c, n) => o.columns![n] === c)
      ) {
        out.push({ index: i, coveredBy: o.name, reason: 'prefix' });
        break;
      }
    }
  }
  return out;
}

/**
 * Indexes with no scans since the counters were reset: not constraint-backing, not the only index a foreign key's
 * columns lead (it serves the referenced side's deletes and updates), not already redundant. Each with the workload
 * queries whose current plan scans it: those plans would change without it.
 */
export function unusedIndexes(
  indexes: AdviseIndex[],
  foreignKeys: ColumnSet[],
  redundant: RedundantIndex[],
  workload: CostedQuery[],
): UnusedIndex[] {
  const skip = new Set(redundant.map((r) => r.index));
  return indexes
    .filter((i) => i.scans === 0 && !i.unique && !i.constraint && !skip.has(i))
    .filter(
      (i) =>
        !foreignKeys.some(
          (fk) =>
            fk.schema === i.schema &&
            fk.table === i.table &&
            i.columns !== null &&
            fk.columns.every((c) => i.columns!.slice(0, fk.columns.length).includes(c)),
        ),
    )
    .map((index) => ({
      index,
      usedByPlans: workload.filter((q) => q.indexes.includes(index.name)).map((q) => queryLabel(q.query)),
    }));
}
