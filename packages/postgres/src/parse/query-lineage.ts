import type { QueryLineage, QueryPosition, RelationName } from '@dbee/core';
import { DbeeError } from '@dbee/core/errors';
import { loadPostgresParser, parseSql } from './libpg';
import { SourceText } from './source-text';

/**
 * The columns one query reads from the relations it names, from PostgreSQL's own syntax tree (`LineageRole.read`).
 * Names are resolved the way PostgreSQL binds them: a query level's FROM items (tables, CTEs, subqueries, functions,
 * joins with `USING`) make its scope; a column reference looks in the innermost level first, then the outer ones (a
 * correlated subquery). An unqualified column goes to the one item that has it, as `columnsOf` knows the columns of a
 * relation; where an item's columns are not known (a relation of another tool, a function) and no known item has the
 * column, it is taken to come from that item and not reported. `ORDER BY`/`GROUP BY` may name an output column.
 *
 * A `*` inside a CTE or a FROM subquery is not a read of every column by itself (dbt's staging models start
 * `with source as (select * from raw_orders)`): each column it brings keeps its origin, and what the query reads of
 * the CTE is read of the relation (`renamed as (select subtotal from source)` reads `raw_orders.subtotal`). Only a `*`
 * of the query's own output, or one in an expression's subquery, reads every column of the relations it reaches.
 */
export async function readQueryLineage(
  sql: string,
  columnsOf: (relation: RelationName) => readonly string[] | null,
): Promise<QueryLineage> {
  await loadPostgresParser();
  const text = new SourceText(sql);
  let stmts: { stmt?: Node }[];
  try {
    stmts = parseSql(sql).stmts as { stmt?: Node }[];
  } catch (e) {
    const cursor = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    const at = text.position(text.indexOfCodePoint(cursor ?? 0));
    throw new DbeeError(`the parser cannot read this query: ${(e as Error).message}`, {
      code: 'QUERY_SYNTAX',
      details: { line: at.line, column: at.column },
    });
  }
  if (stmts.length !== 1 || !stmts[0]!.stmt || !('SelectStmt' in stmts[0]!.stmt))
    throw new DbeeError(
      stmts.length === 1 ? 'this is not a query (SELECT)' : `this is ${stmts.length} statements, not one query`,
      { code: 'QUERY_SYNTAX', details: { line: 1, column: 1 } },
    );
  const walker = new LineageWalker(text, columnsOf);
  walker.select(stmts[0]!.stmt.SelectStmt as Node, [], new Map(), false);
  return walker.out;
}

// biome-ignore lint/suspicious/noExplicitAny: libpg-query's tree is walked generically
type Node = Record<string, any>;

/** A column of a relation of the database that a column of a CTE or subquery is, as a `*` brought it. */
interface Origin {
  relation: RelationName;
  column: string;
}

/**
 * What a CTE or a FROM subquery gives its readers: its output columns (null when not known); for each, the relation
 * columns it is (a column a `*` brought; none for one the query computes or names, whose reads were made inside it);
 * and the relations whose every column a `*` in it passed on, read whole when a reader's own `*` reaches them.
 */
interface Derived {
  columns: readonly string[] | null;
  origins?: readonly (readonly Origin[])[];
  stars?: readonly RelationName[];
}

/** One FROM item of a query level: its name in the query and what its columns are. */
interface Item extends Derived {
  /** The alias, or the relation's name when it has none; null for a join without alias. */
  name: string | null;
  /** A relation of the database (not a CTE): what a read of its columns is reported against. */
  relation: RelationName | null;
  /** The relation's own column names when an alias renames them (`orders o(a, b)`), in the same order. */
  renamedFrom?: readonly string[];
}

/** A query level: its FROM items, the CTEs it can see, and its output column names (for ORDER BY / GROUP BY). */
interface Level {
  items: Item[];
  ctes: Map<string, Derived>;
  outputs?: readonly string[];
  /**
   * Set in a CTE or a FROM subquery: the relations a `*` of its target list passed on (not read whole here; see
   * `Derived.stars`). Unset where a `*` reads every column (the query's own output, an expression's subquery).
   */
  passed?: RelationName[];
}

class LineageWalker {
  readonly out: QueryLineage = { relations: [], columns: [], stars: [], unknown: [] };
  constructor(
    private readonly text: SourceText,
    private readonly columnsOf: (relation: RelationName) => readonly string[] | null,
  ) {}

  private at(location: number | undefined): QueryPosition {
    return this.text.position(this.text.indexOfByte(location ?? 0));
  }

  /**
   * A SELECT (or set operation) inside the levels `outer` (innermost first), seeing the CTEs `visible`: what it gives
   * its readers (`Derived`). `derived`: it is a CTE or a FROM subquery, whose `*` passes columns on (see the file's
   * comment) rather than reading them.
   */
  select(stmt: Node, outer: Level[], visible: ReadonlyMap<string, Derived>, derived: boolean): Derived {
    const ctes = new Map(visible);
    const withClause = stmt.withClause as Node | undefined;
    for (const c of withClause?.ctes ?? []) {
      const cte = c.CommonTableExpr as Node;
      const name = cte.ctename as string;
      const query = cte.ctequery?.SelectStmt as Node | undefined;
      const aliased = this.aliasNames(cte.aliascolnames);
      // A recursive CTE names itself in its second term: its columns are the first term's.
      if (withClause?.recursive) ctes.set(name, { columns: aliased ?? null });
      const got: Derived = query ? this.select(query, outer, ctes, true) : { columns: null };
      if (!query) this.out.unknown.push({ reason: `a data-changing CTE ${name}`, at: this.at(cte.location) });
      ctes.set(name, { ...got, columns: aliased ?? got.columns });
    }
    if (stmt.op && stmt.op !== 'SETOP_NONE') {
      const left = this.select(stmt.larg, outer, ctes, derived);
      const right = this.select(stmt.rarg, outer, ctes, derived);
      const level: Level = { items: [], ctes, outputs: left.columns ?? [] };
      this.expressions([stmt.sortClause, stmt.limitCount, stmt.limitOffset], [level, ...outer]);
      // A column of a set operation is the columns at its place in every arm.
      const origins = left.origins?.map((o, i) => [...o, ...(right.origins?.[i] ?? [])]);
      return { columns: left.columns, origins, stars: [...(left.stars ?? []), ...(right.stars ?? [])] };
    }
    if (stmt.valuesLists) {
      this.expressions(stmt.valuesLists, [{ items: [], ctes }, ...outer]);
      return { columns: null };
    }
    const level: Level = { items: [], ctes, ...(derived ? { passed: [] } : {}) };
    const scopes = [level, ...outer];
    for (const from of stmt.fromClause ?? []) level.items.push(...this.fromItem(from, scopes));
    const outputs = this.outputs(stmt.targetList ?? [], level);
    this.expressions([stmt.targetList, stmt.whereClause, stmt.havingClause, stmt.windowClause], scopes);
    this.expressions([stmt.distinctClause], scopes);
    level.outputs = outputs?.columns ?? [];
    this.expressions([stmt.groupClause, stmt.sortClause, stmt.limitCount, stmt.limitOffset], scopes);
    if (!outputs) return { columns: null, ...(level.passed?.length ? { stars: level.passed } : {}) };
    return {
      columns: outputs.columns,
      origins: outputs.origins,
      ...(level.passed?.length ? { stars: level.passed } : {}),
    };
  }

  private aliasNames(list: Node[] | undefined): string[] | undefined {
    return list?.length ? list.map((n) => n.String?.sval as string) : undefined;
  }

  /** The items one FROM entry adds to its level (a join adds both sides, and itself when it has an alias). */
  private fromItem(node: Node, scopes: Level[]): Item[] {
    const level = scopes[0]!;
    if (node.RangeVar) {
      const rv = node.RangeVar as Node;
      const alias = rv.alias?.aliasname as string | undefined;
      const renamed = this.aliasNames(rv.alias?.colnames);
      if (!rv.schemaname && level.ctes.has(rv.relname)) {
        const cte = level.ctes.get(rv.relname)!;
        return [{ ...cte, name: alias ?? rv.relname, relation: null, columns: renamed ?? cte.columns }];
      }
      const relation: RelationName = {
        ...(rv.catalogname ? { database: rv.catalogname } : {}),
        ...(rv.schemaname ? { schema: rv.schemaname } : {}),
        name: rv.relname,
      };
      this.out.relations.push({ ...relation, at: this.at(rv.location) });
      const known = this.columnsOf(relation);
      // Columns renamed by the alias are positional: a read of the new name is a read of the column at that place.
      const columns = renamed && known ? known.map((c, i) => renamed[i] ?? c) : known;
      return [{ name: alias ?? rv.relname, relation, columns, ...(renamed && known ? { renamedFrom: known } : {}) }];
    }
    if (node.RangeSubselect) {
      const sub = node.RangeSubselect as Node;
      // Only a LATERAL subquery sees the FROM items before it.
      const got = this.select(sub.subquery.SelectStmt, sub.lateral ? scopes : scopes.slice(1), level.ctes, true);
      const name = (sub.alias?.aliasname as string | undefined) ?? null;
      return [{ ...got, name, relation: null, columns: this.aliasNames(sub.alias?.colnames) ?? got.columns }];
    }
    if (node.RangeFunction) {
      const fn = node.RangeFunction as Node;
      // A function in FROM sees the items before it, LATERAL or not.
      this.expressions([fn.functions], scopes);
      const name = (fn.alias?.aliasname as string | undefined) ?? null;
      return [{ name, relation: null, columns: null }];
    }
    if (node.JoinExpr) {
      const join = node.JoinExpr as Node;
      const left = this.fromItem(join.larg, scopes);
      const right = this.fromItem(join.rarg, scopes);
      const both = [...left, ...right];
      const joinLevel: Level = { items: both, ctes: level.ctes };
      for (const u of join.usingClause ?? [])
        this.column([u.String.sval], join.location, [joinLevel, ...scopes.slice(1)]);
      // The ON condition sees the items joined so far in this level and both sides.
      this.expressions([join.quals], [{ items: [...level.items, ...both], ctes: level.ctes }, ...scopes.slice(1)]);
      const alias = join.alias?.aliasname as string | undefined;
      if (!alias) return both;
      return [...both.map((i) => ({ ...i, name: null })), { name: alias, relation: null, columns: null }];
    }
    this.out.unknown.push({
      reason: `a FROM item the check does not follow (${Object.keys(node)[0]})`,
      at: this.at(0),
    });
    return [{ name: null, relation: null, columns: null }];
  }

  /**
   * Output column names of a target list, with the relation columns each is when a `*` brought it (none for the
   * others); null when a `*` over an item of unknown columns is among them.
   */
  private outputs(
    targets: Node[],
    level: Level,
  ): { columns: readonly string[]; origins: readonly (readonly Origin[])[] } | null {
    const names: string[] = [];
    const origins: (readonly Origin[])[] = [];
    for (const t of targets) {
      const rt = t.ResTarget as Node;
      const ref = rt.val?.ColumnRef as Node | undefined;
      const fields = (ref?.fields ?? []) as Node[];
      if (ref && fields.at(-1)?.A_Star) {
        const qual = fields.length > 1 ? (fields.at(-2)!.String?.sval as string) : null;
        const items = qual ? level.items.filter((i) => i.name === qual) : level.items;
        for (const i of items) {
          if (!i.columns) return null;
          names.push(...i.columns);
          origins.push(...i.columns.map((c, k) => originsOf(i, c, k)));
        }
        continue;
      }
      names.push(
        (rt.name as string | undefined) ??
          (ref
            ? (fields.at(-1)?.String?.sval as string)
            : (rt.val?.FuncCall?.funcname?.at(-1)?.String?.sval ?? '?column?')),
      );
      origins.push([]);
    }
    return { columns: names, origins };
  }

  /** Walks expressions: column references are resolved, subqueries are queries of their own with this scope outside. */
  private expressions(nodes: unknown[], scopes: Level[]): void {
    const visit = (n: unknown): void => {
      if (Array.isArray(n)) {
        for (const x of n) visit(x);
        return;
      }
      if (!n || typeof n !== 'object') return;
      const node = n as Node;
      if (node.ColumnRef) {
        const fields = node.ColumnRef.fields as Node[];
        if (fields.at(-1)?.A_Star)
          this.star(
            fields.slice(0, -1).map((f) => f.String?.sval as string),
            node.ColumnRef.location,
            scopes,
          );
        else
          this.column(
            fields.map((f) => f.String?.sval as string),
            node.ColumnRef.location,
            scopes,
          );
        return;
      }
      if (node.SelectStmt) {
        this.select(node.SelectStmt, scopes, scopes[0]?.ctes ?? new Map(), false);
        return;
      }
      for (const v of Object.values(node)) visit(v);
    };
    for (const n of nodes) visit(n);
  }

  /**
   * `*` or `t.*`: every column of the items it covers, and of the relations a CTE or subquery among them passed on;
   * in a CTE or FROM subquery whose columns are known, passed on in turn (`Level.passed`), not read here.
   */
  private star(qualifier: string[], location: number, scopes: Level[]): void {
    const items = qualifier.length ? this.itemsNamed(qualifier, scopes) : scopes[0]!.items;
    const passed = scopes[0]!.passed;
    for (const item of items) {
      const whole = [...(item.relation ? [item.relation] : []), ...(item.stars ?? [])];
      if (passed && item.columns) passed.push(...whole);
      else for (const relation of whole) this.out.stars.push({ relation, at: this.at(location) });
    }
    if (qualifier.length && !items.length)
      this.out.unknown.push({ reason: `${qualifier.join('.')}.* names nothing in scope`, at: this.at(location) });
  }

  /** The items a qualifier names, innermost level first (`t`, `s.t`, `db.s.t`). */
  private itemsNamed(qualifier: string[], scopes: Level[]): Item[] {
    const name = qualifier.at(-1)!;
    const schema = qualifier.length > 1 ? qualifier.at(-2) : undefined;
    for (const level of scopes) {
      const found = level.items.filter(
        (i) => i.name === name && (!schema || (i.relation?.schema === schema && i.relation.name === name)),
      );
      if (found.length) return found;
    }
    return [];
  }

  /** A column reference: `c`, `t.c`, `s.t.c`, or a whole row `t`; `(t.c).f` arrives here as `t.c`. */
  private column(fields: string[], location: number, scopes: Level[]): void {
    const at = this.at(location);
    if (fields.length > 1) {
      const column = fields.at(-1)!;
      const items = this.itemsNamed(fields.slice(0, -1), scopes);
      if (!items.length) {
        // `t.c` where `t` is a column of composite type and `c` a field of it.
        if (fields.length === 2 && this.resolveUnqualified(fields[0]!, at, scopes)) return;
        this.out.unknown.push({ reason: `${fields.join('.')} names no table in scope`, at });
        return;
      }
      this.read(items[0]!, column, at);
      return;
    }
    if (this.resolveUnqualified(fields[0]!, at, scopes)) return;
    this.out.unknown.push({ reason: `column ${fields[0]} is in no relation the check knows`, at });
  }

  /** An unqualified name: the item of the innermost level that has it; true when resolved (or left to an unknown item). */
  private resolveUnqualified(name: string, at: QueryPosition, scopes: Level[]): boolean {
    for (const level of scopes) {
      const having = level.items.filter((i) => i.columns?.includes(name));
      if (having.length) {
        this.read(having[0]!, name, at);
        return true;
      }
      if (level.items.some((i) => !i.columns)) return true;
      const whole = level.items.filter((i) => i.name === name);
      if (whole.length) {
        // A whole row is a value of the relation's row type: which of its columns are used is not known.
        this.out.unknown.push({ reason: `reads whole rows of ${name}`, at });
        return true;
      }
      if (level.outputs?.includes(name)) return true;
    }
    return false;
  }

  private read(item: Item, column: string, at: QueryPosition): void {
    if (!item.relation) {
      const index = item.columns?.indexOf(column) ?? -1;
      if (item.columns && index < 0)
        this.out.unknown.push({ reason: `column ${column} is not among ${item.name ?? 'a subquery'}'s columns`, at });
      // A column a `*` of the CTE or subquery brought is the relation's column it came from.
      for (const o of item.origins?.[index] ?? []) this.out.columns.push({ ...o, at });
      return;
    }
    const index = item.columns?.indexOf(column) ?? -1;
    const real = item.renamedFrom && index >= 0 ? item.renamedFrom[index]! : column;
    this.out.columns.push({ relation: item.relation, column: real, at });
  }
}

/** The relation columns the `k`th column (`column`) of `item` is: itself for a relation's, else what it was given. */
function originsOf(item: Item, column: string, k: number): readonly Origin[] {
  if (item.relation) return [{ relation: item.relation, column: item.renamedFrom?.[k] ?? column }];
  return item.origins?.[k] ?? [];
}
