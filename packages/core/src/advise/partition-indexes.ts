import type { AdviseIndex, IndexShape, PartitionIndex, TablePartition } from '../engine/advise-role';
import { indexName } from './missing-indexes';

/** PostgreSQL's longest identifier, in bytes. */
const MAX_NAME = 63;

/** Names taken in each schema (`schema` → names): the catalog's relations, and the ones this advice has given. */
export type TakenNames = Map<string, Set<string>>;

/**
 * `wanted`, or, when a relation of `schema` has that name, PostgreSQL's own way out (`ChooseRelationName`): a number
 * after it (`orders_customer_id_idx1`), the table and columns part cut to leave room. The name given is taken from
 * then on.
 */
export function freeName(taken: TakenNames, schema: string, wanted: string): string {
  const names = taken.get(schema) ?? new Set<string>();
  taken.set(schema, names);
  // The label (`_idx`) is kept whole and the number put after it; what is cut is the table and columns part.
  const label = wanted.endsWith('_idx') ? '_idx' : '';
  const stem = wanted.slice(0, wanted.length - label.length);
  let name = wanted;
  for (let n = 1; names.has(name); n++) {
    const suffix = `${label}${n}`;
    name = `${cut(stem, MAX_NAME - Buffer.byteLength(suffix))}${suffix}`;
  }
  names.add(name);
  return name;
}

/** `text` cut to at most `bytes` UTF-8 bytes, never inside a character. */
function cut(text: string, bytes: number): string {
  let out = text;
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
  return out;
}

/**
 * The per-partition indexes of an index advised on a partitioned table, parents before their partitions: PostgreSQL
 * cannot build an index on a partitioned table `CONCURRENTLY`, so the advice makes it `ON ONLY` the parent (invalid,
 * instantly), builds each partition's `CONCURRENTLY` and attaches it; the parent's becomes valid with the last one.
 * A leaf that has such an index already (same columns, plain b-tree, not unique, not partial) gets it attached
 * instead of a second one; a built one is named `<partition>_<columns>_idx`, numbered when a relation has that name.
 */
export function partitionIndexes(
  index: IndexShape,
  partitions: TablePartition[],
  existing: readonly AdviseIndex[] = [],
  taken: TakenNames = new Map(),
): PartitionIndex[] {
  const names = new Map<string, { schema: string; name: string }>([
    [`${index.schema}.${index.table}`, { schema: index.schema, name: index.name }],
  ]);
  const out: PartitionIndex[] = [];
  for (const p of partitions) {
    const attachTo = names.get(`${p.parent.schema}.${p.parent.name}`);
    if (!attachTo) continue;
    const same = p.leaf
      ? existing
          .filter((i) => i.schema === p.schema && i.table === p.name && equivalent(i, index.columns))
          .sort((a, b) => a.name.localeCompare(b.name))[0]
      : undefined;
    const name = same ? same.name : freeName(taken, p.schema, indexName(p.name, index.columns));
    const own = { schema: p.schema, table: p.name, columns: index.columns, name };
    names.set(`${p.schema}.${p.name}`, { schema: p.schema, name });
    out.push({ index: own, attachTo, leaf: p.leaf, ...(same ? { existing: true } : {}) });
  }
  return out;
}

/** An index a partitioned table's plain index can take as a partition's: a plain b-tree on exactly these columns. */
function equivalent(i: AdviseIndex, columns: string[]): boolean {
  return (
    i.method === 'btree' &&
    !i.unique &&
    !i.predicate &&
    i.columns !== null &&
    i.columns.length === columns.length &&
    i.columns.every((c, n) => c === columns[n])
  );
}
