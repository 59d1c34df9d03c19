import { grantees } from './managed-scope';

function roleName(item: string, builtIn: RegExp): string | null {
  const t = item.trim();
  if (!t) return null;
  if (/^"(?:[^"]|"")+"$/.test(t)) return t.slice(1, -1).replace(/""/g, '"');
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(t) || builtIn.test(t)) return null;
  return t.toLowerCase();
}

/**
 * Roles the statements name: grantees of GRANT/REVOKE, the roles of `CREATE POLICY ... TO`, `OWNER TO` and
 * `AUTHORIZATION`, without `PUBLIC` and the engine's `builtIn` roles (`EngineFacts.builtInRoles`: roles every
 * database has, and words like `CURRENT_USER`). A shadow database needs them to exist for the sources to build,
 * e.g. `['app', 'reporting']`.
 */
export function rolesNamed(statements: Iterable<string>, builtIn: RegExp): string[] {
  const list = [...statements];
  const out = new Set(grantees(list).filter((r) => r !== 'PUBLIC' && !builtIn.test(r)));
  for (const raw of list) {
    const sql = raw.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
    const policy = /^\s*(?:CREATE|ALTER)\s+POLICY\b[\s\S]*?\bTO\s+([\s\S]+?)(?:\s+USING\b|\s+WITH\s+CHECK\b|;|$)/i.exec(
      sql,
    );
    if (policy)
      for (const item of policy[1]!.split(',')) (roleName(item, builtIn) ?? '') && out.add(roleName(item, builtIn)!);
    for (const m of sql.matchAll(/\b(?:OWNER\s+TO|AUTHORIZATION)\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/gi)) {
      const name = roleName(m[1]!, builtIn);
      if (name) out.add(name);
    }
  }
  return [...out].sort();
}
