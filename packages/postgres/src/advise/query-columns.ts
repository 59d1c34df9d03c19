import type { Connection, QueryColumn } from '@dbee/core';
import { ident, qualified } from '../render/quote';
import { loadPostgresParser, parseSql } from '../parse/libpg';
import { withSearchPath } from './advise-catalog';

// biome-ignore lint/suspicious/noExplicitAny: the parse tree is walked generically
type AnyNode = Record<string, any>;

/** A relation of one query level, by the name (or alias) its columns are qualified with. */
interface ScopeRelation {
  alias: string;
  schema: string | null;
  name: string;
}

/** A column reference found in a predicate or sort, before it is resolved to a table. */
interface RawUse {
  fields: string[];
  scope: ScopeRelation[];
  use: QueryColumn['use'];
  equality: boolean;
}

/**
 * The columns a query filters, joins and sorts on, as Dexter takes its candidates: a column compared with a value
 * (`=`, `IN`, ranges, `LIKE`, `IS NULL`), two columns of different relations compared (a join), a column in `ORDER BY`;
 * in every level of the query (subqueries, CTEs, `UPDATE`/`DELETE` with their `WHERE`). A column inside an expression
 * (`lower(email)`) is not a plain index's column and is left out. Null when the text does not parse.
 */
export async function queryColumns(conn: Connection, sql: string, searchPath: string[]): Promise<QueryColumn[] | null> {
  await loadPostgresParser();
  let tree: AnyNode;
  try {
    tree = parseSql(sql) as AnyNode;
  } catch {
    return null;
  }
  const uses: RawUse[] = [];
  const ctes = new Set<string>();
  walk(tree, (node) => {
    for (const cte of node['WithClause']?.ctes ?? []) ctes.add(cte.CommonTableExpr?.ctename);
  });
  walk(tree, (node) => {
    const level = node['SelectStmt'] ?? node['UpdateStmt'] ?? node['DeleteStmt'];
    if (level) collectLevel(level, ctes, uses);
  });
  const relations = new Map<string, { schema: string; name: string; columns: Set<string> } | null>();
  for (const u of uses) for (const r of u.scope) relations.set(relKey(r), null);
  await withSearchPath(conn, searchPath, async () => {
    for (const key of relations.keys()) {
      const [schema, name] = JSON.parse(key) as [string | null, string];
      const found = await conn.query<{ schema: string; name: string; columns: string[] }>(
        `SELECT n.nspname AS schema, c.relname AS name,
                array(SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped)::text[] AS columns
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid = to_regclass($1) AND c.relkind IN ('r','p','m')`,
        [schema ? qualified(schema, name) : ident(name)],
      );
      const row = found.rows[0];
      relations.set(key, row ? { schema: row.schema, name: row.name, columns: new Set(row.columns) } : null);
    }
  });
  const out = new Map<string, QueryColumn>();
  for (const u of uses) {
    const column = u.fields[u.fields.length - 1]!;
    const qualifier = u.fields.slice(0, -1);
    const candidates = u.scope.filter((r) =>
      qualifier.length === 0
        ? true
        : qualifier.length === 1
          ? r.alias === qualifier[0]
          : r.schema === qualifier[0] && r.name === qualifier[1],
    );
    const tables = candidates.map((r) => relations.get(relKey(r))).filter((t) => t?.columns.has(column));
    if (tables.length !== 1) continue;
    const t = tables[0]!;
    const id = `${t.schema}.${t.name}.${column}.${u.use}`;
    const seen = out.get(id);
    if (seen) seen.equality ||= u.equality;
    else out.set(id, { schema: t.schema, name: t.name, column, use: u.use, equality: u.equality });
  }
  return [...out.values()];
}

function relKey(r: ScopeRelation): string {
  return JSON.stringify([r.schema, r.name]);
}

/** One level's relations, then the columns of its predicates and sorts. */
function collectLevel(level: AnyNode, ctes: Set<string>, uses: RawUse[]): void {
  const scope: ScopeRelation[] = [];
  const quals: AnyNode[] = [];
  const addFrom = (item: AnyNode | undefined) => {
    if (!item) return;
    const rv = item['RangeVar'];
    if (rv) {
      if (!rv.schemaname && ctes.has(rv.relname)) return;
      scope.push({ alias: rv.alias?.aliasname ?? rv.relname, schema: rv.schemaname ?? null, name: rv.relname });
    }
    const join = item['JoinExpr'];
    if (join) {
      addFrom(join.larg);
      addFrom(join.rarg);
      if (join.quals) quals.push(join.quals);
    }
  };
  if (level.relation) addFrom({ RangeVar: level.relation });
  for (const item of [...(level.fromClause ?? []), ...(level.usingClause ?? [])]) addFrom(item);
  if (level.whereClause) quals.push(level.whereClause);
  for (const q of quals) predicates(q, scope, uses);
  for (const s of level.sortClause ?? []) {
    const ref = s.SortBy?.node?.ColumnRef;
    if (ref) uses.push({ fields: fieldsOf(ref), scope, use: 'sort', equality: false });
  }
}

/** Comparisons under AND/OR (not inside subqueries, which are levels of their own). */
function predicates(node: AnyNode, scope: ScopeRelation[], uses: RawUse[]): void {
  if (node['BoolExpr']) {
    for (const arg of node['BoolExpr'].args ?? []) predicates(arg, scope, uses);
    return;
  }
  const nullTest = node['NullTest']?.arg?.ColumnRef;
  if (nullTest) uses.push({ fields: fieldsOf(nullTest), scope, use: 'filter', equality: false });
  const e = node['A_Expr'];
  if (!e) return;
  const left = columnOf(e.lexpr);
  const right = columnOf(e.rexpr);
  const op = e.name?.[0]?.String?.sval;
  const equality = (e.kind === 'AEXPR_OP' && op === '=') || e.kind === 'AEXPR_IN';
  if (left && right) {
    uses.push({ fields: left, scope, use: 'join', equality });
    uses.push({ fields: right, scope, use: 'join', equality });
  } else if (left || right) {
    uses.push({ fields: (left ?? right)!, scope, use: 'filter', equality });
  }
}

function columnOf(node: AnyNode | undefined): string[] | null {
  const ref = node?.['ColumnRef'];
  if (!ref) return null;
  const fields = fieldsOf(ref);
  return fields.length ? fields : null;
}

function fieldsOf(ref: AnyNode): string[] {
  const fields = (ref.fields ?? []) as AnyNode[];
  if (fields.some((f) => !f.String)) return [];
  return fields.map((f) => f.String.sval as string);
}

function walk(node: unknown, visit: (n: AnyNode) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  visit(node as AnyNode);
  for (const value of Object.values(node)) walk(value, visit);
}
