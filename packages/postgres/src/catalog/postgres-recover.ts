import type { Connection, ObjectKey, StepOutcome } from '@dbee/core';
import { quoteIdent } from '../parse/names';

/**
 * What a step outside a transaction left behind when its process died (see `ObjectCatalog.stepOutcome`). PostgreSQL runs
 * `CREATE INDEX CONCURRENTLY` and `DROP INDEX CONCURRENTLY` that way: an index that exists and is valid was built; an
 * INVALID one is what a cancelled or killed build leaves (it is dropped, then built again by the next plan).
 */
export async function stepOutcome(conn: Connection, key: ObjectKey, action: string): Promise<StepOutcome> {
  if (key.kind !== 'index' || !key.schema) return { state: 'unknown' };
  const r = await conn.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
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
  return row.valid ? { state: 'done' } : { state: 'invalid', clear: [dropIndex(key)] };
}

function dropIndex(key: ObjectKey): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(key.schema)}.${quoteIdent(key.name)}`;
}
