import { grantees } from './managed-scope';

/** Roles every database has, or words that stand for a role without naming one. */
const BUILT_IN = /^(public|current_user|session_user|current_role|pg_.*)$/i;

function roleName(item: string): string | null {
  const t = item.trim();
  if (!t) return null;
  if (/^"(?:[^"]|"")+"$/.test(t)) return t.slice(1, -1).replace(/""/g, '"');
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(t) || BUILT_IN.test(t)) return null;
  return t.toLowerCase();
}

/**
 * Roles the statements name: grantees of GRANT/REVOKE, the roles of `CREATE POLICY ... TO`, `OWNER TO` and
 * `AUTHORIZATION` (built-in roles and `PUBLIC`/`CURRENT_USER` left out). A shadow database needs them to exist
 * for the sources to build, e.g. `['app', 'reporting']`.
 */
export function rolesNamed(statements: Iterable<string>): string[] {
  const list = [...statements];
  const out = new Set(grantees(list).filter((r) => r !== 'PUBLIC' && !BUILT_IN.test(r)));
  for (const raw of list) {
    const sql = raw.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
    const policy = /^\s*(?:CREATE|ALTER)\s+POLICY\b[\s\S]*?\bTO\s+([\s\S]+?)(?:\s+USING\b|\s+WITH\s+CHECK\b|;|$)/i.exec(sql);
    if (policy) for (const item of policy[1]!.split(',')) (roleName(item) ?? '') && out.add(roleName(item)!);
    for (const m of sql.matchAll(/\b(?:OWNER\s+TO|AUTHORIZATION)\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/gi)) {
      const name = roleName(m[1]!);
      if (name) out.add(name);
    }
  }
  return [...out].sort();
}
