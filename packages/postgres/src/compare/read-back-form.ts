import type { DefinitionForm } from '@dbee/core';
import { BoundedMemo } from '@dbee/core/schema';
import { isPostgresParserLoaded, parseSql, scanSql } from '../parse/libpg';

/**
 * A definition as PostgreSQL prints it (`pg_get_viewdef`, `pg_get_constraintdef`, `pg_get_indexdef`,
 * `pg_get_triggerdef`, `pg_get_expr`), rewritten where needed so that PostgreSQL reads it back as the tree it was
 * printed from: created again from this text (by extract's files, a clone, a re-creation), the object prints exactly
 * as its origin does, and `pg_dump -s` of the copy equals the origin's.
 *
 * PostgreSQL's printed form is not always such a text (see `sameDefinition`, which compares through the same forms):
 * - An implicit coercion of an `ARRAY[...]` constructor to another array type (how `col IN ('a', 'b')` on a varchar
 *   column is stored, `(ARRAY['a'::varchar, 'b'::varchar])::text[]`) is printed as a cast, which the parser moves
 *   onto the elements when it reads it (`ARRAY[('a'::varchar)::text, ...]`). Without the cast the parser derives the
 *   same coercion again from the context, so the cast is left out. Only when `arrayCasts` is true: the caller knows
 *   from the stored tree that no such coercion in it was an explicit cast (`ARRAY[...]::int8[]::int4[]`, printed the
 *   same way, whose cast must stay).
 * - An output column without a name of its own (`?column?`) in a branch of a set operation other than the first, or in
 *   a subquery of an expression, is printed without `AS`, and read back it gets the name its expression suggests
 *   (`NULL::integer` is named `int4`, printed `NULL::integer AS int4` from then on). It is given `AS "?column?"`.
 *
 * A text that does not parse, or a rewrite that would not parse, leaves the definition as printed.
 *
 * A pure function of its arguments, so each answer is kept (`BoundedMemo`) for the next database that prints the same
 * definition: a fleet's targets print every view of the release alike.
 */
export function readBackForm(definition: string, form: DefinitionForm, arrayCasts: boolean): string {
  if (!isPostgresParserLoaded() || !mayBeRewritten(definition, arrayCasts)) return definition;
  // The key starts with what is not the definition: a form's letter and whether array casts are dropped.
  const key = `${form[0]}${arrayCasts ? 1 : 0}${definition}`;
  return READ_BACK.getOrCompute(key, () => rewritten(definition, form, arrayCasts));
}

/** The read-back forms computed in this process: 4 million characters (a few MB; about 4,000 views of 1 KB). */
const READ_BACK = new BoundedMemo<string>(4_000_000, (form) => form.length);

/** `readBackForm`'s work: the definition parsed and rewritten until no edit is left. */
function rewritten(definition: string, form: DefinitionForm, arrayCasts: boolean): string {
  const prefix = PREFIX[form];
  let text: Buffer = Buffer.from(prefix + definition, 'utf8');
  // Without an array constructor no cast of one can be edited: the tree is not walked for them.
  const withArrays = /ARRAY\[/i.test(definition);
  try {
    // Each pass applies the edits that do not overlap; an edit inside another one waits for the next pass.
    for (let pass = 0; pass < 8; pass++) {
      const tree = parseSql(text.toString('utf8')) as unknown;
      const edits = [
        ...(arrayCasts && withArrays ? arrayCastEdits(tree, text) : []),
        ...unnamedColumnEdits(tree, text),
      ];
      const chosen = disjoint(edits);
      if (!chosen.length) break;
      text = applyEdits(text, chosen);
    }
    const out = text.toString('utf8');
    parseSql(out);
    return out.slice(prefix.length);
  } catch {
    return definition;
  }
}

/**
 * Whether `readBackForm` can change `definition`, told from its text without parsing it (a full deploy reads back
 * hundreds of views, and most are plain `SELECT … FROM … WHERE …`). An edit needs one of:
 * - an `ARRAY[...]` constructor (its cast, with `arrayCasts`);
 * - a set operation (`UNION`, `INTERSECT`, `EXCEPT`: a branch other than the first);
 * - a subquery in an expression, which PostgreSQL prints after an opening parenthesis (`EXISTS ( SELECT`,
 *   `IN ( SELECT`, `ARRAY( SELECT`, `( WITH … SELECT`). A subquery in `FROM` or a `WITH` query is printed the same
 *   way and is parsed for nothing: a text that may need an edit is parsed, never one that may not.
 * A word inside a literal or a quoted name matches too, and only costs the parse.
 */
export function mayBeRewritten(definition: string, arrayCasts: boolean): boolean {
  return (
    (arrayCasts && /ARRAY\[/i.test(definition)) ||
    /\b(?:UNION|INTERSECT|EXCEPT)\b|\(\s*(?:SELECT|WITH)\b/i.test(definition)
  );
}

/** What a definition of each form is wrapped in to make a statement (its length is taken off again). */
const PREFIX: Record<DefinitionForm, string> = {
  query: '',
  statement: '',
  constraint: 'ALTER TABLE t ADD ',
  expression: 'SELECT ',
  'index-without-options': '',
  'constraint-without-timing': 'ALTER TABLE t ADD ',
};

type Node = Record<string, unknown>;

/** A replacement of the bytes `[start, end)` of the statement. */
interface Edit {
  start: number;
  end: number;
  text: Buffer;
}

/** Every node of `tree`, with the object that holds it and the key it is held under. */
function* nodes(tree: unknown, parent: Node | null = null, key = ''): Generator<[Node, Node | null, string]> {
  if (Array.isArray(tree)) {
    for (const t of tree) yield* nodes(t, parent, key);
    return;
  }
  if (!tree || typeof tree !== 'object') return;
  const node = tree as Node;
  yield [node, parent, key];
  for (const [k, v] of Object.entries(node)) yield* nodes(v, node, k);
}

/** `(ARRAY[...])::t[]` (no type modifier) → `ARRAY[...]`. */
function arrayCastEdits(tree: unknown, text: Buffer): Edit[] {
  const edits: Edit[] = [];
  const tokens = scanSql(text.toString('utf8'));
  const at = (offset: number) => tokens.findIndex((t) => t.start === offset);
  for (const [node] of nodes(tree)) {
    const cast = node.TypeCast as Node | undefined;
    const array = (cast?.arg as Node | undefined)?.A_ArrayExpr as Node | undefined;
    const type = cast?.typeName as Node | undefined;
    if (!cast || !array || !type || (type.arrayBounds as unknown[] | undefined)?.length !== 1 || type.typmods) continue;
    const open = at(array.location as number) - 1;
    const close = at(array.list_end as number) + 1;
    const colons = at(cast.location as number);
    if (open < 0 || tokens[open]?.text !== '(' || tokens[close]?.text !== ')' || colons !== close + 1) continue;
    const typeStart = at(type.location as number);
    let bracket = typeStart;
    while (bracket >= 0 && bracket < tokens.length && tokens[bracket]!.text !== ']') bracket++;
    if (typeStart < 0 || bracket >= tokens.length || tokens[bracket - 1]?.text !== '[') continue;
    edits.push({
      start: tokens[open]!.start,
      end: tokens[bracket]!.end,
      text: text.subarray(array.location as number, (array.list_end as number) + 1),
    });
  }
  return edits;
}

/**
 * The select lists whose output names PostgreSQL does not print when they are `?column?` (every branch of a set
 * operation but the first, and subqueries in expressions): their unnamed columns other than plain column references.
 */
function unnamedTargets(tree: unknown): Node[] {
  const found: Node[] = [];
  const walk = (node: unknown, visible: boolean): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n, visible);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const obj = node as Node;
    const select = obj.SelectStmt as Node | undefined;
    if (select?.op && select.op !== 'SETOP_NONE') {
      walk({ SelectStmt: select.larg }, visible);
      walk({ SelectStmt: select.rarg }, false);
      for (const [k, v] of Object.entries(select)) if (k !== 'larg' && k !== 'rarg') walk(v, true);
      return;
    }
    if (select && !visible) {
      for (const t of (select.targetList as Node[] | undefined) ?? []) {
        const target = t.ResTarget as Node | undefined;
        if (target && target.name === undefined && target.val && !(target.val as Node).ColumnRef) found.push(target);
      }
    }
    // A subquery in an expression (a SubLink's) names its columns as a hidden branch does; any other is visible.
    for (const [k, v] of Object.entries(obj)) walk(v, k !== 'subselect');
  };
  walk(tree, true);
  return found;
}

/** An unnamed output column of `unnamedTargets` given the name it had: `AS "?column?"` after its expression. */
function unnamedColumnEdits(tree: unknown, text: Buffer): Edit[] {
  const targets = unnamedTargets(tree);
  if (!targets.length) return [];
  const tokens = scanSql(text.toString('utf8'));
  const alias = Buffer.from(' AS "?column?"', 'utf8');
  const edits: Edit[] = [];
  for (const target of targets) {
    const start = target.location as number;
    const want = JSON.stringify(positionless(target.val));
    // The expression ends where the name, put there, is read as this column's name with the expression unchanged.
    const first = tokens.findIndex((t) => t.start >= start);
    // An output column's expression is rarely long; past a few hundred tokens the name is left as printed.
    for (const token of first < 0 ? [] : tokens.slice(first, first + 400)) {
      const candidate = Buffer.concat([text.subarray(0, token.end), alias, text.subarray(token.end)]);
      let named: Node | undefined;
      try {
        named = findTarget(parseSql(candidate.toString('utf8')), start);
      } catch {
        continue;
      }
      if (named?.name === '?column?' && JSON.stringify(positionless(named.val)) === want) {
        edits.push({ start: token.end, end: token.end, text: alias });
        break;
      }
    }
  }
  return edits;
}

/** The output column of `tree` whose expression starts at byte `location`. */
function findTarget(tree: unknown, location: number): Node | undefined {
  for (const [node] of nodes(tree)) {
    const target = node.ResTarget as Node | undefined;
    if (target && target.location === location && target.val) return target;
  }
  return undefined;
}

const POSITIONS = new Set(['location', 'stmt_location', 'stmt_len', 'list_start', 'list_end']);

function positionless(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(positionless);
  if (!node || typeof node !== 'object') return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node as Node)) if (!POSITIONS.has(k)) out[k] = positionless(v);
  return out;
}

/** The edits that overlap no other (an edit inside another one is done in a later pass). */
function disjoint(edits: Edit[]): Edit[] {
  return edits.filter(
    (e) => !edits.some((o) => o !== e && o.start < e.end && e.start < o.end && o.end - o.start >= e.end - e.start),
  );
}

function applyEdits(text: Buffer, edits: Edit[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const e of [...edits].sort((a, b) => a.start - b.start)) {
    parts.push(text.subarray(at, e.start), e.text);
    at = e.end;
  }
  parts.push(text.subarray(at));
  return Buffer.concat(parts);
}
