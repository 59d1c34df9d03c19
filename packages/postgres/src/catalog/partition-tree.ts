import type { Connection, TablePartition } from '@dbee/core';
import { relationNames } from './relation-names';

/** What a partition-wise index build (`safeSourceStep`) reads of a partitioned table before it is planned. */
export interface PartitionTree {
  /** Every partition at every level, each after its parent (by name within a level). */
  partitions: TablePartition[];
  /** The relations' names in the schemas of the table and its partitions (`schema` → names). */
  taken: Map<string, Set<string>>;
  /**
   * What an earlier build of `index` that failed or was stopped left (it is INVALID): the index itself (qualified),
   * the partitions' indexes attached to it, and the INVALID, unattached indexes of the partitions named as dbee and
   * PostgreSQL name a partition's index (`<partition>..._idx[n]`), which the build that failed was making.
   */
  leftover: {
    index: string;
    attached: { schema: string; name: string }[];
    invalid: { schema: string; name: string }[];
  } | null;
}

/** The partition tree of `schema.table` and what an interrupted build of its index `index` left. */
export async function partitionTree(
  conn: Connection,
  schema: string,
  table: string,
  index: string,
): Promise<PartitionTree> {
  const r = await conn.query<{ schema: string; name: string; parent_schema: string; parent: string; leaf: boolean }>(
    `WITH RECURSIVE tree AS (
       SELECT c.oid, 0 AS depth FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2
       UNION ALL
       SELECT h.inhrelid, t.depth + 1 FROM tree t JOIN pg_inherits h ON h.inhparent = t.oid WHERE t.depth < 64)
     SELECT n.nspname AS schema, c.relname AS name, pn.nspname AS parent_schema, p.relname AS parent, c.relkind <> 'p' AS leaf
       FROM tree t JOIN pg_class c ON c.oid = t.oid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_inherits h ON h.inhrelid = c.oid JOIN pg_class p ON p.oid = h.inhparent
       JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE t.depth > 0 ORDER BY t.depth, 1, 2`,
    [schema, table],
  );
  const partitions = r.rows.map((p) => ({
    schema: p.schema,
    name: p.name,
    parent: { schema: p.parent_schema, name: p.parent },
    leaf: p.leaf,
  }));
  const schemas = [...new Set([schema, ...partitions.map((p) => p.schema)])];
  const taken = await relationNames(conn, schemas);
  const invalid = await conn.query<{ valid: boolean; partitioned: boolean }>(
    `SELECT i.indisvalid AS valid, c.relkind = 'I' AS partitioned FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, index],
  );
  const row = invalid.rows[0];
  if (!row || row.valid || !row.partitioned) return { partitions, taken, leftover: null };
  const children = await conn.query<{ schema: string; name: string; table: string; attached: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, t.relname AS table,
            EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid AND h.inhparent = to_regclass($3)) AS attached
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      WHERE (tn.nspname, t.relname) IN (SELECT x.schema, x.name FROM unnest($1::text[], $2::text[]) x(schema, name))
        AND (EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid AND h.inhparent = to_regclass($3))
             OR (NOT i.indisvalid AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid)))
      ORDER BY 1, 2`,
    [
      partitions.map((p) => p.schema),
      partitions.map((p) => p.name),
      `"${schema.replace(/"/g, '""')}"."${index.replace(/"/g, '""')}"`,
    ],
  );
  const ours = (c: { name: string; table: string }) => c.name.startsWith(c.table) && /_idx\d*$/.test(c.name);
  return {
    partitions,
    taken,
    leftover: {
      index,
      attached: children.rows.filter((c) => c.attached).map((c) => ({ schema: c.schema, name: c.name })),
      invalid: children.rows.filter((c) => !c.attached && ours(c)).map((c) => ({ schema: c.schema, name: c.name })),
    },
  };
}
