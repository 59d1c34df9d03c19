import type { Connection, ObjectKey } from '@dbee/core';
import { backupName } from './postgres-objects';
import { ident, qualified } from '../render/quote';

/**
 * `dbee disable` on PostgreSQL: find a routine by name, and the statements that make it uncallable (revoke EXECUTE
 * from PUBLIC and from every role but its owner, or rename it aside) with their exact reverse. Reads only: the
 * statements run later, in the disable's transaction.
 */

/**
 * Routines (functions and procedures) called `schema.name`, as keys with their argument types as `format_type`
 * prints them (user types schema-qualified), the way plans name them.
 */
export async function findRoutines(conn: Connection, schema: string, name: string): Promise<ObjectKey[]> {
  return conn.transaction(async (tx) => {
    // An empty search path makes format_type qualify every user type, as object keys do.
    await tx.execute('SET LOCAL search_path TO pg_catalog');
    const r = await tx.query<{ kind: string; args: string[] | null }>(
      `SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
              ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i) ORDER BY i) AS args
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = $1 AND p.proname = $2 AND p.prokind IN ('f', 'p')
        ORDER BY 2`,
      [schema, name],
    );
    return r.rows.map((row) => ({ kind: row.kind as ObjectKey['kind'], schema, name, args: row.args ?? [] }));
  });
}

/**
 * What disables a routine. `revoke`: one `REVOKE EXECUTE` per grantee other than the owner that holds EXECUTE
 * (PUBLIC included, which holds it by default), and as reverse the matching `GRANT`s (with grant option where
 * there was one). `rename`: `ALTER ROUTINE ... RENAME TO <name>_bak_<stamp>`, and back. Null when the routine does
 * not exist. A `revoke` with no grantee to revoke from returns no statements.
 */
export async function disableRoutine(
  conn: Connection,
  key: ObjectKey,
  how: 'revoke' | 'rename',
  stamp: string,
): Promise<{
  key: ObjectKey;
  statements: string[];
  reverse: string[];
  revoked: string[];
  renamedTo: string | null;
} | null> {
  const signature = `${qualified(key.schema, key.name)}(${(key.args ?? []).join(', ')})`;
  const found = await conn.query<{ oid: number | null }>(
    `SELECT CASE WHEN (SELECT bool_and(to_regtype(a) IS NOT NULL) FROM unnest($2::text[]) a) IS NOT FALSE THEN to_regprocedure($1)::oid::int END AS oid`,
    [signature, key.args ?? []],
  );
  const oid = found.rows[0]?.oid;
  if (!oid) return null;
  if (how === 'rename') {
    const renamed = backupName(key.name, stamp);
    return {
      key,
      statements: [`ALTER ROUTINE ${signature} RENAME TO ${ident(renamed)}`],
      reverse: [
        `ALTER ROUTINE ${qualified(key.schema, renamed)}(${(key.args ?? []).join(', ')}) RENAME TO ${ident(key.name)}`,
      ],
      revoked: [],
      renamedTo: `${key.schema}.${renamed}`,
    };
  }
  const grants = await conn.query<{ grantee: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END AS grantee, bool_or(a.is_grantable) AS grantable
       FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      WHERE p.oid = $1::oid AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
      GROUP BY 1`,
    [oid],
  );
  // PUBLIC first, then roles by name: a stable, readable order.
  grants.rows.sort((a, b) =>
    a.grantee === 'PUBLIC'
      ? -1
      : b.grantee === 'PUBLIC'
        ? 1
        : a.grantee < b.grantee
          ? -1
          : a.grantee > b.grantee
            ? 1
            : 0,
  );
  const to = (g: string) => (g === 'PUBLIC' ? 'PUBLIC' : ident(g));
  return {
    key,
    statements: grants.rows.map((g) => `REVOKE EXECUTE ON ROUTINE ${signature} FROM ${to(g.grantee)}`),
    reverse: grants.rows.map(
      (g) => `GRANT EXECUTE ON ROUTINE ${signature} TO ${to(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`,
    ),
    revoked: grants.rows.map((g) => g.grantee),
    renamedTo: null,
  };
}
