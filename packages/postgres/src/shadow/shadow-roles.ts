import type { Connection } from '@dbee/core';
import { ident, literal } from '../render/quote';

/**
 * Make the roles the sources name in a shadow database, when they do not exist there yet (NOLOGIN, no rights):
 * `GRANT ... TO app` and `CREATE POLICY ... TO app` then build. Returns the roles it made, so that a server
 * shadow (where roles belong to the whole server) can drop them again. Never called on a target.
 */
export async function ensureShadowRoles(conn: Connection, roles: readonly string[]): Promise<string[]> {
  if (!roles.length) return [];
  const existing = await conn.query<{ rolname: string }>(
    `SELECT rolname FROM pg_roles WHERE rolname = ANY(ARRAY[${roles.map(literal).join(', ')}]::text[])`,
  );
  const have = new Set(existing.rows.map((r) => r.rolname));
  const made: string[] = [];
  for (const role of roles) {
    if (have.has(role)) continue;
    // Another shadow build may make the same role at the same time: that is not an error.
    await conn.execute(
      `DO $$ BEGIN CREATE ROLE ${ident(role)} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
    );
    made.push(role);
  }
  return made;
}

/** Drop roles a server shadow made, once its database is gone (they own nothing elsewhere). */
export async function dropShadowRoles(admin: Connection, roles: readonly string[]): Promise<void> {
  for (const role of roles) await admin.execute(`DROP ROLE IF EXISTS ${ident(role)}`).catch(() => {});
}
