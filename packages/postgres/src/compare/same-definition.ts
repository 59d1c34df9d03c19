import type { DefinitionForm } from '@dbee/core';
import { BoundedMemo } from '@dbee/core/schema';
import { isPostgresParserLoaded } from '../parse';
import { parseSync } from 'libpg-query';

/**
 * Whether two definitions as PostgreSQL prints them (`pg_get_viewdef`, `pg_get_constraintdef`, `pg_get_indexdef`,
 * `pg_get_triggerdef`, `pg_get_expr`) say the same thing. Both texts are parsed by PostgreSQL's own parser and
 * compared as trees, without source positions, after the rewrites below. Anything that does not parse compares as
 * different.
 *
 * PostgreSQL does not always print a definition in the form it reads back: a definition created from its own
 * printed text is stored as another tree, printed again differently (a fixed point from then on). An extracted
 * schema deployed elsewhere, or a database cloned from another, would then differ from its origin forever. The forms
 * known to do that are rewritten to the form their re-parse prints:
 * - a cast of an `ARRAY[...]` constructor is moved onto its elements: `(ARRAY['a'::varchar, 'b'::varchar])::text[]`
 *   (how `col IN ('a', 'b')` on a varchar column is stored) is read back as `ARRAY[('a'::varchar)::text, ...]`;
 * - the column names of every branch of a set operation but the first are dropped: they name nothing (the first
 *   branch names the columns), and an unaliased constant there is printed back with one (`NULL::varchar AS "varchar"`).
 *
 * Servers of different major versions print the same view differently as well: PostgreSQL 16 and later leave out a
 * column's table qualifier when the query reads a single relation (`SELECT id FROM a.t` where 15 prints
 * `SELECT t.id FROM a.t`, and `SELECT id FROM (...) q` for `SELECT q.id FROM (...) q`), so qualifiers that name
 * the only relation (or subquery) of their SELECT are dropped too.
 */
export function sameDefinition(a: string, b: string, form: DefinitionForm): boolean {
  if (a === b) return true;
  if (!isPostgresParserLoaded()) return false;
  try {
    return canonical(a, form) === canonical(b, form);
  } catch {
    return false;
  }
}

/** The text of a statement PostgreSQL's parser reads, for a definition of each form. */
const STATEMENT: Record<DefinitionForm, (definition: string) => string> = {
  query: (d) => d,
  statement: (d) => d,
  constraint: (d) => `ALTER TABLE t ADD ${d}`,
  expression: (d) => `SELECT ${d}`,
  'index-without-options': (d) => d,
  'constraint-without-timing': (d) => `ALTER TABLE t ADD ${d}`,
};

/**
 * The fields a form leaves out of one kind of node: an index's storage parameters (`IndexStmt.options`, its
 * `WITH (...)`), a constraint's deferrability (`Constraint.deferrable`, `initdeferred`). Only the statement's own node
 * has them (an index's expressions or a check's expression hold no such node).
 */
const LEFT_OUT: Partial<Record<DefinitionForm, { node: string; fields: string[] }>> = {
  'index-without-options': { node: 'IndexStmt', fields: ['options'] },
  'constraint-without-timing': { node: 'Constraint', fields: ['deferrable', 'initdeferred'] },
};

/**
 * A definition's tree as compared, without positions and after the rewrites above (JSON). Kept per text (`BoundedMemo`):
 * a fleet's targets compare the same printed definitions with the same sources. A text that does not parse throws,
 * and is not kept.
 */
function canonical(sql: string, form: DefinitionForm): string {
  return CANONICAL.getOrCompute(`${form}\0${sql}`, () =>
    JSON.stringify(normalise(leftOut(parseSync(STATEMENT[form](sql)), LEFT_OUT[form]), null)),
  );
}

/** `tree` with the fields `out` names taken off every node of its kind (`tree` itself unchanged). */
function leftOut(tree: unknown, out: { node: string; fields: string[] } | undefined): unknown {
  if (!out || !tree || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) return tree.map((t) => leftOut(t, out));
  const obj: Node = {};
  for (const [k, v] of Object.entries(tree as Node)) {
    if (k === out.node && v && typeof v === 'object') {
      const kept: Node = {};
      for (const [f, x] of Object.entries(v as Node)) if (!out.fields.includes(f)) kept[f] = leftOut(x, out);
      obj[k] = kept;
    } else obj[k] = leftOut(v, out);
  }
  return obj;
}

/** The canonical trees computed in this process: 8 million characters (a tree's JSON is a few times its text). */
const CANONICAL = new BoundedMemo<string>(8_000_000, (tree) => tree.length);

/** Names a lone relation of a SELECT can be referred to by (its alias, else its name; a subquery's alias). */
function loneRelation(select: Record<string, unknown>): string | null {
  const from = select.fromClause as unknown[] | undefined;
  if (!from || from.length !== 1) return null;
  const item = from[0] as {
    RangeVar?: { relname: string; alias?: { aliasname: string } };
    RangeSubselect?: { alias?: { aliasname: string } };
  };
  if (item.RangeSubselect) return item.RangeSubselect.alias?.aliasname ?? null;
  const rv = item.RangeVar;
  if (!rv) return null;
  return rv.alias?.aliasname ?? rv.relname;
}

type Node = Record<string, unknown>;

/** A set operation's branch with its output names dropped (branches that are set operations, all of theirs). */
function unnamed(select: Node): Node {
  if (select.op && select.op !== 'SETOP_NONE') {
    return { ...select, larg: unnamed(select.larg as Node), rarg: unnamed(select.rarg as Node) };
  }
  const targets = (select.targetList as Node[] | undefined)?.map((t) => {
    if (!t.ResTarget) return t;
    const { name: _name, ...rest } = t.ResTarget as Node;
    return { ResTarget: rest };
  });
  return targets ? { ...select, targetList: targets } : select;
}

/** `(ARRAY[e1, e2])::t[]` as `ARRAY[(e1)::t, (e2)::t]`, the form PostgreSQL reads it back as; other nodes unchanged. */
function castOntoElements(cast: Node): Node | null {
  const array = (cast.arg as Node | undefined)?.A_ArrayExpr as Node | undefined;
  const type = cast.typeName as Node | undefined;
  const bounds = type?.arrayBounds as unknown[] | undefined;
  const elements = (array?.elements as Node[] | undefined) ?? [];
  if (!array || !type || bounds?.length !== 1 || !elements.length || elements.some((e) => e.A_ArrayExpr)) return null;
  const { arrayBounds: _bounds, ...elementType } = type;
  return {
    A_ArrayExpr: { ...array, elements: elements.map((e) => ({ TypeCast: { arg: e, typeName: elementType } })) },
  };
}

const POSITIONS = new Set(['location', 'stmt_location', 'stmt_len', 'list_start', 'list_end']);

function normalise(node: unknown, lone: string | null): unknown {
  if (Array.isArray(node)) return node.map((n) => normalise(n, lone));
  if (!node || typeof node !== 'object') return node;
  const obj = node as Node;
  if (obj.SelectStmt) {
    let select = obj.SelectStmt as Node;
    if (select.op && select.op !== 'SETOP_NONE') {
      select = { ...select, rarg: unnamed(select.rarg as Node) };
    }
    return { SelectStmt: normalise(select, loneRelation(select)) };
  }
  if (obj.TypeCast) {
    const moved = castOntoElements(obj.TypeCast as Node);
    if (moved) return normalise(moved, lone);
  }
  if (obj.ColumnRef && lone) {
    const fields = (obj.ColumnRef as { fields: { String?: { sval: string } }[] }).fields;
    if (fields.length === 2 && fields[0]?.String?.sval === lone) {
      return { ColumnRef: { fields: [normalise(fields[1], lone)] } };
    }
  }
  const out: Node = {};
  for (const [k, v] of Object.entries(obj)) {
    if (POSITIONS.has(k)) continue;
    out[k] = normalise(v, lone);
  }
  return out;
}
