import { isPostgresParserLoaded } from '../parse';
import { parseSync } from 'libpg-query';

/**
 * Whether two view definitions (as `pg_get_viewdef` prints them) are the same query. Servers of different major
 * versions print the same view differently: PostgreSQL 16 and later leave out a column's table qualifier when the
 * query reads a single relation (`SELECT id FROM a.t` where 15 prints `SELECT t.id FROM a.t`). Both texts are
 * parsed by PostgreSQL's own parser and compared as trees, without source positions and without qualifiers that
 * name the only relation of their SELECT. Anything that does not parse compares as different.
 */
export function sameViewDefinition(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isPostgresParserLoaded()) return false;
  try {
    return canonical(a) === canonical(b);
  } catch {
    return false;
  }
}

function canonical(sql: string): string {
  const tree = parseSync(sql) as unknown;
  return JSON.stringify(normalise(tree, null));
}

/** Names a lone relation of a SELECT can be referred to by (its alias, else its name). */
function loneRelation(select: Record<string, unknown>): string | null {
  const from = select.fromClause as unknown[] | undefined;
  if (!from || from.length !== 1) return null;
  const rv = (from[0] as { RangeVar?: { relname: string; alias?: { aliasname: string } } }).RangeVar;
  if (!rv) return null;
  return rv.alias?.aliasname ?? rv.relname;
}

function normalise(node: unknown, lone: string | null): unknown {
  if (Array.isArray(node)) return node.map((n) => normalise(n, lone));
  if (!node || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (obj.SelectStmt) {
    const select = obj.SelectStmt as Record<string, unknown>;
    return { SelectStmt: normalise(select, loneRelation(select)) };
  }
  if (obj.ColumnRef && lone) {
    const fields = (obj.ColumnRef as { fields: { String?: { sval: string } }[] }).fields;
    if (fields.length === 2 && fields[0]?.String?.sval === lone) {
      return { ColumnRef: { fields: [normalise(fields[1], lone)] } };
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'location' || k === 'stmt_location' || k === 'stmt_len') continue;
    out[k] = normalise(v, lone);
  }
  return out;
}
