import type { DeferrableConstraint, ObjectKey, Reference } from '@dbee/core';
import type { ColumnDef, Constraint, CreateStmt, Node } from '@pgsql/types';
import { chooseName, nameAddition } from './default-names';
import { parseSql, scanSql } from './libpg';
import { nameList, quoteIdent, quoteQualified } from './names';
import { SourceText } from './source-text';

/** A foreign key declared inside CREATE TABLE, as a table constraint or on a column. */
export interface ForeignKey {
  /** Its name: the given one, or PostgreSQL's default `<table>_<columns>_fkey`. */
  name: string;
  constraint: Constraint;
  /** The column of a column-level `REFERENCES`. */
  column?: ColumnDef;
  /** Index of the table element (column or table constraint) in `tableElts`. */
  element: number;
}

/** The foreign keys of a CREATE TABLE, in order, with the names PostgreSQL gives them. */
export function foreignKeysOf(stmt: CreateStmt): ForeignKey[] {
  const table = stmt.relation?.relname ?? '';
  const used = new Set<string>();
  const elements = stmt.tableElts ?? [];
  for (const e of elements) {
    for (const c of constraintsOf(e)) if (c.conname) used.add(c.conname);
  }
  const out: ForeignKey[] = [];
  elements.forEach((e, element) => {
    const column = (e as { ColumnDef?: ColumnDef }).ColumnDef;
    for (const c of constraintsOf(e)) {
      if (c.contype !== 'CONSTR_FOREIGN') continue;
      const columns = column ? [column.colname ?? ''] : nameList(c.fk_attrs);
      const name = c.conname ?? chooseName(table, nameAddition(columns), 'fkey', used);
      out.push(column ? { name, constraint: c, column, element } : { name, constraint: c, element });
    }
  });
  return out;
}

function constraintsOf(element: Node): Constraint[] {
  const e = element as { ColumnDef?: ColumnDef; Constraint?: Constraint };
  if (e.Constraint) return [e.Constraint];
  return (e.ColumnDef?.constraints ?? []).map((n) => (n as { Constraint: Constraint }).Constraint).filter(Boolean);
}

interface Token {
  start: number;
  end: number;
  text: string;
}

/**
 * Cuts foreign keys out of a CREATE TABLE statement's text using PostgreSQL's lexer and the constraints' positions,
 * leaving every other character as written. Positions are string indexes in `text`.
 */
export class CreateTableText {
  private readonly tokens: Token[];
  /** Token ranges `[first, last]` of each table element, in the order of `tableElts`. */
  private readonly elements: [number, number][];

  /**
   * @param text the statement text.
   * @param stmt its parse tree.
   * @param indexOf maps a node position of `stmt` (a UTF-8 byte offset) to a string index in `text`.
   */
  constructor(
    readonly text: string,
    private readonly stmt: CreateStmt,
    private readonly indexOf: (byteOffset: number) => number,
  ) {
    const own = new SourceText(text);
    this.tokens = scanSql(text)
      .filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
      .map((t) => ({ start: own.indexOfByte(t.start), end: own.indexOfByte(t.end), text: t.text }));
    this.elements = this.splitElements();
  }

  /** `ALTER TABLE <table> ADD CONSTRAINT <name> FOREIGN KEY (<columns>) REFERENCES ...` with the clauses as written. */
  addStatement(table: ObjectKey, fk: ForeignKey): string {
    const [first, last] = this.constraintTokens(fk);
    const head = `ALTER TABLE ${quoteQualified(table.schema, table.name)} ADD CONSTRAINT ${quoteIdent(fk.name)} `;
    const end = this.tokens[last]!.end;
    if (fk.column) {
      const at = this.find(first, last, 'references');
      return `${head}FOREIGN KEY (${quoteIdent(fk.column.colname ?? '')}) ${this.text.slice(this.tokens[at]!.start, end)}`;
    }
    return head + this.text.slice(this.tokens[this.find(first, last, 'foreign')]!.start, end);
  }

  /** The statement without the given foreign keys (and the comma that separated a table constraint). */
  without(fks: readonly ForeignKey[]): string {
    const ranges: [number, number][] = [];
    const removed = new Set(fks.filter((f) => !f.column).map((f) => f.element));
    const firstKept = this.elements.findIndex((_, i) => !removed.has(i));
    for (const fk of fks) {
      if (fk.column) {
        // From the end of the token before the constraint: `b int REFERENCES u NOT NULL` → `b int NOT NULL`.
        const [first, last] = this.constraintTokens(fk);
        ranges.push([this.tokens[first - 1]!.end, this.tokens[last]!.end]);
        continue;
      }
      const e = fk.element;
      const [first, last] = this.elements[e]!;
      if (firstKept === -1) {
        const lastElement = this.elements[this.elements.length - 1]!;
        ranges.push([this.tokens[this.elements[0]![0]]!.start, this.tokens[lastElement[1]]!.end]);
      } else if (e < firstKept) {
        // Before the first kept element: remove it with the comma after it, up to the next element.
        ranges.push([this.tokens[first]!.start, this.tokens[this.elements[e + 1]![0]]!.start]);
      } else {
        // Otherwise remove the comma before it, from the end of the previous element.
        ranges.push([this.tokens[this.elements[e - 1]![1]]!.end, this.tokens[last]!.end]);
      }
    }
    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    for (const [from, to] of ranges) {
      if (to <= at) continue;
      out += this.text.slice(at, Math.max(at, from));
      at = to;
    }
    return out + this.text.slice(at);
  }

  /** Token range of a foreign key: a whole table element, or a column constraint and its DEFERRABLE attributes. */
  private constraintTokens(fk: ForeignKey): [number, number] {
    if (!fk.column) return this.elements[fk.element]!;
    const [, elementLast] = this.elements[fk.element]!;
    const first = this.tokenAt(this.indexOf(fk.constraint.location ?? -1));
    let stop = elementLast + 1;
    const constraints = (fk.column.constraints ?? []).map((n) => (n as { Constraint: Constraint }).Constraint);
    const own = constraints.indexOf(fk.constraint);
    const next = constraints.slice(own + 1).find((c) => !c.contype?.startsWith('CONSTR_ATTR_'));
    if (next?.location !== undefined) stop = Math.min(stop, this.tokenAt(this.indexOf(next.location)));
    const collate = fk.column.collClause?.location;
    if (collate !== undefined) {
      const t = this.tokenAt(this.indexOf(collate));
      if (t > first) stop = Math.min(stop, t);
    }
    return [first, stop - 1];
  }

  /** Index of the first token starting at or after a string index. */
  private tokenAt(index: number): number {
    let lo = 0;
    let hi = this.tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tokens[mid]!.start < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private find(first: number, last: number, word: string): number {
    for (let i = first; i <= last; i++) if (this.tokens[i]!.text.toLowerCase() === word) return i;
    throw new Error(`no ${word.toUpperCase()} in the foreign key at ${this.tokens[first]?.start}`);
  }

  /** Split the parenthesised element list into elements at top-level commas. */
  private splitElements(): [number, number][] {
    const elements = this.stmt.tableElts ?? [];
    if (elements.length === 0) return [];
    let anchor = -1;
    for (const e of elements) {
      const o = e as { ColumnDef?: ColumnDef; Constraint?: Constraint };
      const loc = o.ColumnDef?.location ?? o.Constraint?.location;
      if (loc !== undefined && loc >= 0) {
        anchor = this.tokenAt(this.indexOf(loc));
        break;
      }
    }
    if (anchor === -1) throw new Error('cannot find the table elements');
    let open = anchor - 1;
    for (let depth = 0; open >= 0; open--) {
      const t = this.tokens[open]!.text;
      if (t === ')') depth++;
      else if (t === '(' && depth-- === 0) break;
    }
    const out: [number, number][] = [];
    let start = open + 1;
    for (let i = open + 1, depth = 0; i < this.tokens.length; i++) {
      const t = this.tokens[i]!.text;
      if (t === '(') depth++;
      else if (t === ')' && depth > 0) depth--;
      else if ((t === ',' || t === ')') && depth === 0) {
        out.push([start, i - 1]);
        start = i + 1;
        if (t === ')') break;
      }
    }
    if (out.length !== elements.length)
      throw new Error(`found ${out.length} table elements, expected ${elements.length}`);
    return out;
  }
}

/**
 * The foreign keys of a CREATE TABLE as constraints that can be added separately: for each, the statement that
 * adds it and the CREATE TABLE without it. `targets[i]` is the reference to the table that `fks[i]` points at.
 *
 * The two statements need PostgreSQL's lexer, which costs more than parsing the statement, and the planner reads
 * them only for the few tables whose foreign keys form a cycle: they are computed on first access (enumerable
 * getters). Serialised before that (the parse cache), an entry is its target alone, marked `deferred`, which
 * {@link reviveDeferrable} makes whole again: writing the cache of a 10,000-object project lexed every table with a
 * foreign key (half a second). `text` is called at most once.
 */
export function deferrableConstraints(
  text: () => CreateTableText,
  table: ObjectKey,
  fks: readonly ForeignKey[],
  targets: readonly Reference[],
): DeferrableConstraint[] {
  let surgery: CreateTableText | undefined;
  const get = (): CreateTableText => (surgery ??= text());
  return targets.map((target, i) => lazyConstraint(target, get, table, () => fks[i]!));
}

/** What a lazy entry of {@link deferrableConstraints} serialises to before its statements are computed. */
interface DeferredEntry {
  target: Reference;
  deferred: true;
}

function lazyConstraint(
  target: Reference,
  get: () => CreateTableText,
  table: ObjectKey,
  fk: () => ForeignKey,
): DeferrableConstraint {
  let addStatement: string | undefined;
  let statementWithout: string | undefined;
  const entry = { target } as DeferrableConstraint;
  Object.defineProperties(entry, {
    addStatement: { enumerable: true, get: () => (addStatement ??= get().addStatement(table, fk())) },
    statementWithout: { enumerable: true, get: () => (statementWithout ??= get().without([fk()])) },
    toJSON: {
      enumerable: false,
      value: (): DeferredEntry | Omit<DeferrableConstraint, 'standalone'> =>
        addStatement === undefined && statementWithout === undefined
          ? { target, deferred: true }
          : { target, addStatement: entry.addStatement, statementWithout: entry.statementWithout },
    },
  });
  return entry;
}

/**
 * The deferrable constraints of a CREATE TABLE read back from the parse cache: entries serialised `deferred` get their
 * statements again, computed on first access from the statement's own text (its parse tree and lexer, as
 * {@link removeConstraints} does). The parser must be loaded before a statement is read.
 */
export function reviveDeferrable(
  statement: string,
  table: ObjectKey,
  entries: readonly (DeferrableConstraint | DeferredEntry)[],
): DeferrableConstraint[] {
  if (!entries.some((e) => 'deferred' in e)) return entries as DeferrableConstraint[];
  let tree: { stmt: CreateStmt; fks: ForeignKey[] } | undefined;
  const parsed = () => {
    if (tree) return tree;
    const stmt = (parseSql(statement).stmts?.[0]?.stmt as { CreateStmt?: CreateStmt } | undefined)?.CreateStmt;
    if (!stmt) throw new Error(`not a CREATE TABLE statement: ${statement.slice(0, 80)}`);
    return (tree = { stmt, fks: foreignKeysOf(stmt) });
  };
  let surgery: CreateTableText | undefined;
  const get = (): CreateTableText => {
    if (surgery) return surgery;
    const own = new SourceText(statement);
    return (surgery = new CreateTableText(statement, parsed().stmt, (b) => own.indexOfByte(b)));
  };
  return entries.map((e, i) =>
    'deferred' in e ? lazyConstraint(e.target, get, table, () => parsed().fks[i]!) : (e as DeferrableConstraint),
  );
}

/**
 * Remove several foreign keys at once from a CREATE TABLE statement (the planner's way to create both tables of a
 * foreign-key cycle, then add the constraints). Constraints are given by name or as the {@link DeferrableConstraint}
 * entries the parser produced. Requires the parser to be loaded (`await loadPostgresParser()`; any `parse` does it).
 */
export function removeConstraints(statement: string, constraints: readonly (DeferrableConstraint | string)[]): string {
  const stmt = (parseSql(statement).stmts?.[0]?.stmt as { CreateStmt?: CreateStmt } | undefined)?.CreateStmt;
  if (!stmt) throw new Error('removeConstraints expects a CREATE TABLE statement');
  const own = new SourceText(statement);
  const fks = foreignKeysOf(stmt);
  const wanted = constraints.map((c) => (typeof c === 'string' ? c : constraintNameOf(c.addStatement)));
  const selected = wanted.map((name) => {
    const fk = fks.find((f) => f.name === name);
    if (!fk) throw new Error(`no foreign key named ${name} in: ${statement.slice(0, 80)}`);
    return fk;
  });
  return new CreateTableText(statement, stmt, (b) => own.indexOfByte(b)).without(selected);
}

/** The constraint name of an `ALTER TABLE ... ADD CONSTRAINT name ...` statement, read from its parse tree. */
export function constraintNameOf(addStatement: string): string {
  const stmt = parseSql(addStatement).stmts?.[0]?.stmt as Record<string, any> | undefined;
  const name: unknown = stmt?.['AlterTableStmt']?.cmds?.[0]?.AlterTableCmd?.def?.Constraint?.conname;
  if (typeof name !== 'string') throw new Error(`not an ADD CONSTRAINT statement: ${addStatement.slice(0, 80)}`);
  return name;
}
