import type { Connection, ObjectKey, StartedStep, StepOutcome } from '@dbee/core';
import { quoteIdent } from '../parse/names';

/**
 * What a step outside a transaction left behind when its process died (see `ObjectCatalog.stepOutcome`). PostgreSQL runs
 * `CREATE INDEX CONCURRENTLY` and `DROP INDEX CONCURRENTLY` that way: an index that exists and is valid was built; an
 * INVALID one is what a cancelled or killed build leaves (it is dropped, then built again by the next plan).
 *
 * A partitioned table's index built per partition (`partitionWiseBuild`) stops INVALID, with the partitions' indexes
 * built so far: it is dropped (not `CONCURRENTLY`, which PostgreSQL refuses for it; those attached go with it), and
 * so is each partition's index the step built (`IF EXISTS`: the one it was building when it stopped is not attached).
 */
export async function stepOutcome(
  conn: Connection,
  key: ObjectKey,
  action: string,
  step?: Pick<StartedStep, 'statements'>,
): Promise<StepOutcome> {
  if (key.kind !== 'index' || !key.schema) return { state: 'unknown' };
  const r = await conn.query<{ valid: boolean; partitioned: boolean }>(
    `SELECT i.indisvalid AS valid, c.relkind = 'I' AS partitioned FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [key.schema, key.name],
  );
  const row = r.rows[0];
  if (action === 'drop')
    return row
      ? row.valid
        ? { state: 'not-done' }
        : { state: 'invalid', clear: [dropIndex(key)] }
      : { state: 'done' };
  if (!row) return { state: 'not-done' };
  if (row.valid) return { state: 'done' };
  if (!row.partitioned) return { state: 'invalid', clear: [dropIndex(key)] };
  const built = (step?.statements ?? []).flatMap((sql) => {
    const m = PARTITION_BUILD.exec(sql);
    return m ? [`DROP INDEX CONCURRENTLY IF EXISTS ${m[2]}.${m[1]}`] : [];
  });
  return {
    state: 'invalid',
    clear: [`DROP INDEX IF EXISTS ${quoteIdent(key.schema)}.${quoteIdent(key.name)}`, ...built],
    left: `an INVALID index of a partitioned table${built.length ? " and the partitions' indexes it built" : ''}`,
  };
}

/** A partition's index built `CONCURRENTLY` by a partition-wise build: its name, its table's schema (as written). */
const NAME = String.raw`(?:"(?:[^"]|"")*"|[^\s".]+)`;
const PARTITION_BUILD = new RegExp(
  String.raw`^\s*CREATE (?:UNIQUE )?INDEX CONCURRENTLY (${NAME}) ON (${NAME})\.${NAME} `,
);

function dropIndex(key: ObjectKey): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(key.schema)}.${quoteIdent(key.name)}`;
}
