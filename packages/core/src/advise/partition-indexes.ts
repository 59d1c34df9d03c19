import type { IndexShape, PartitionIndex, TablePartition } from '../engine/advise-role';
import { indexName } from './missing-indexes';

/**
 * The per-partition indexes of an index advised on a partitioned table, parents before their partitions: PostgreSQL
 * cannot build an index on a partitioned table `CONCURRENTLY`, so the advice makes it `ON ONLY` the parent (invalid,
 * instantly), builds each partition's `CONCURRENTLY` and attaches it; the parent's becomes valid with the last one.
 */
export function partitionIndexes(index: IndexShape, partitions: TablePartition[]): PartitionIndex[] {
  const names = new Map<string, { schema: string; name: string }>([
    [`${index.schema}.${index.table}`, { schema: index.schema, name: index.name }],
  ]);
  const out: PartitionIndex[] = [];
  for (const p of partitions) {
    const attachTo = names.get(`${p.parent.schema}.${p.parent.name}`);
    if (!attachTo) continue;
    const own = { schema: p.schema, table: p.name, columns: index.columns, name: indexName(p.name, index.columns) };
    names.set(`${p.schema}.${p.name}`, { schema: p.schema, name: own.name });
    out.push({ index: own, attachTo, leaf: p.leaf });
  }
  return out;
}
