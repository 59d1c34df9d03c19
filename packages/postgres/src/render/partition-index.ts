import type { IndexShape, PartitionIndex } from '@dbee/core';
import { qualified } from './quote';

/**
 * How one index of a partition-wise build is made: `ONLY` on a partitioned table (the index of that table alone,
 * invalid until each of its partitions has one attached), `CONCURRENTLY` on a leaf (a table with rows).
 */
export type PartitionBuild = 'ONLY' | 'CONCURRENTLY';

/**
 * The statements that build an index of a partitioned table without blocking writes (PostgreSQL refuses
 * `CREATE INDEX CONCURRENTLY` on a partitioned table; its documentation's way round): the index `ON ONLY` the parent,
 * then per partition, parents first (`partitionIndexes` in core orders and names them), its index (`CONCURRENTLY` on a
 * leaf, `ON ONLY` on a sub-partitioned one; none when the partition has an equal one already) and
 * `ALTER INDEX ... ATTACH PARTITION`. The parent's index becomes valid with the last attach. `create` writes one
 * `CREATE INDEX` of `index` as `how` says (the advice from columns, a plan from the desired index's definition).
 */
export function partitionWiseIndex(
  parent: IndexShape,
  partitions: readonly PartitionIndex[],
  create: (index: IndexShape, how: PartitionBuild) => string,
): string[] {
  return [
    create(parent, 'ONLY'),
    ...partitions.flatMap((p) => [
      ...(p.existing ? [] : [create(p.index, p.leaf ? 'CONCURRENTLY' : 'ONLY')]),
      `ALTER INDEX ${qualified(p.attachTo.schema, p.attachTo.name)} ATTACH PARTITION ${qualified(p.index.schema, p.index.name)}`,
    ]),
  ];
}
