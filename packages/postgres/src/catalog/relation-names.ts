import type { Connection } from '@dbee/core';

/** The relations' names in `schemas` (`schema` → names): what a new index must not be named (advice, partition-wise builds). */
export async function relationNames(conn: Connection, schemas: string[]): Promise<Map<string, Set<string>>> {
  const rows = await conn.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1::text[])`,
    [schemas],
  );
  const out = new Map<string, Set<string>>();
  for (const r of rows.rows) out.set(r.schema, (out.get(r.schema) ?? new Set()).add(r.name));
  return out;
}
