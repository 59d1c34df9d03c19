import { columnList, isColumnItem } from '../src/parse/table-columns';
import { isSignificant, tokenize, type Token } from '../src/parse/splitter';

/**
 * A small SQL evaluator behind the fake Teradata session (tests only; no server exists here). It runs the DML that
 * dbee itself sends — the ledger's INSERT/SELECT/UPDATE/DELETE, the lock row, the `INSERT ... SELECT` that copies a
 * renamed-aside table's rows, catalog lookups on `DBC.TablesV` — against in-memory rows, with Teradata's error codes
 * for what matters to dbee: a missing table or column (3807, 5628), a NULL in a NOT NULL column (3604), a duplicate
 * unique primary index (2801), a boolean parameter (the drivers cannot bind one).
 *
 * It is deliberately small: one statement per request; SELECT with a comma-separated FROM list, WHERE, ORDER BY and
 * aggregates without GROUP BY; scalar subqueries; `?` parameters; literals, `DATE '...'`, `INTERVAL 'n' unit`,
 * `CURRENT_TIMESTAMP(n)`, `USER`; `+ - * / ||`, comparisons, `IN (...)`, `IS [NOT] NULL`, `LIKE`, `AND/OR/NOT`;
 * COALESCE, NULLIF, MAX, MIN, COUNT, SUM, UPPER, LOWER, TRIM, HASHROW, CHAR2HEXINT. Anything else throws, so a test
 * notices.
 */

/** A table's shape as read from its CREATE TABLE text. */
export interface FakeColumn {
  /** Upper case. */
  name: string;
  /** Type family: `int`, `decimal`, `float`, `text`, `timestamp`, `date`, `other`. */
  type: 'int' | 'decimal' | 'float' | 'text' | 'timestamp' | 'date' | 'other';
  notNull: boolean;
  identity: boolean;
  /** The DEFAULT expression, evaluated on insert. */
  default?: Expr;
}

export interface FakeTableShape {
  columns: FakeColumn[];
  /** Columns of a UNIQUE PRIMARY INDEX (or PRIMARY KEY); duplicates raise 2801. */
  unique: string[] | null;
  /** A SET table (its CREATE says SET): no two rows alike (see `runSql`'s INSERT). MULTISET or not said: false. */
  set?: boolean;
}

export type Row = Record<string, unknown>;

/** What the evaluator needs from the fake session. */
export interface SqlHost {
  /** A table's shape and rows by database and name (upper case); null when it does not exist. */
  table(database: string, name: string): { shape: FakeTableShape; rows: Row[] } | null;
  /** Rows of a DBC view (`TABLESV`, `COLUMNSV`, `DATABASESV`), or null when the fake does not have it. */
  dbcView(name: string): Row[] | null;
  /** Database of unqualified names. */
  defaultDatabase: string | null;
  /**
   * Whether character comparisons ignore case: true in a Teradata-mode (TERA) session, false in an ANSI one. Teradata
   * compares case-specifically when either operand is CASESPECIFIC, and literals and USING values are NOT CASESPECIFIC
   * by default in TERA mode, CASESPECIFIC in ANSI mode (SQL Functions, Expressions, and Predicates, "Equality
   * Comparison"; SQL Data Manipulation Language, "Character String Definitions in a USING Request Modifier"). The
   * dictionary's name columns are NOT CASESPECIFIC (verify), so a name compared with a literal or a parameter follows
   * the session's mode.
   */
  caseBlind?: boolean;
  /** The session's mode: an INSERT ... SELECT of duplicate rows into a SET table is refused in ANSI mode only. */
  tmode?: 'TERA' | 'ANSI';
  user: string;
  /** The session's number (`SESSION`). */
  session?: number;
  now(): Date;
  /** Next identity value of a table. */
  nextIdentity(database: string, name: string, column: string, rows: Row[]): number;
  /** Throws 2644 when `rows` do not fit in the database's PERM (`fake-space.ts`). */
  room?(database: string, rows: Row[]): void;
  /** Throws 2646 when a request's spooled rows exceed the user's SPOOL (`fake-space.ts`). */
  spool?(rows: unknown[][]): void;
}

export class FakeSqlError extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
  ) {
    super(text);
  }
}

export interface SqlResult {
  columns?: string[];
  rows?: unknown[][];
  rowCount: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions

type Expr =
  | { t: 'lit'; v: unknown }
  | { t: 'param'; i: number }
  | { t: 'col'; qualifier: string | null; name: string }
  | { t: 'now' }
  | { t: 'user' }
  | { t: 'session' }
  | { t: 'interval'; ms: number }
  | { t: 'unary'; op: string; e: Expr }
  | { t: 'bin'; op: string; l: Expr; r: Expr }
  | { t: 'isnull'; e: Expr; not: boolean }
  | { t: 'in'; e: Expr; list: Expr[]; not: boolean }
  | { t: 'like'; e: Expr; pattern: Expr; not: boolean }
  | { t: 'fn'; name: string; args: Expr[]; star: boolean }
  | { t: 'sub'; q: Select }
  | { t: 'exists'; q: Select }
  | { t: 'case'; e: Expr | null; whens: { when: Expr; result: Expr }[]; otherwise: Expr | null };

interface SelectItem {
  e: Expr | 'star';
  label: string;
}

interface FromItem {
  database: string | null;
  name: string;
  alias: string;
  /**
   * A derived table, `(SELECT ... [EXCEPT ALL | MINUS ALL SELECT ...]) alias`: the rows of the first query less, one
   * for one, the equal rows of the second ("EXCEPT ALL": duplicates are kept, each row of the second query removes
   * one equal row of the first; SQL Data Manipulation Language, "Set Operators", "EXCEPT/MINUS Operator").
   */
  query?: { first: Select; except: Select | null };
}

interface Select {
  t: 'select';
  /** `SELECT DISTINCT`: equal rows once (trailing blanks ignored, as Teradata compares character values). */
  distinct?: boolean;
  top: number | null;
  items: SelectItem[];
  from: FromItem[];
  where: Expr | null;
  order: { e: Expr; desc: boolean }[];
}

type Statement =
  | Select
  | { t: 'insert'; table: FromItem; columns: string[] | null; values: Expr[] | null; select: Select | null }
  | { t: 'update'; table: FromItem; sets: { column: string; e: Expr }[]; where: Expr | null }
  | { t: 'delete'; table: FromItem; where: Expr | null };

const AGGREGATES = new Set(['MAX', 'MIN', 'COUNT', 'SUM']);
const CLAUSE_WORDS = new Set([
  'FROM',
  'WHERE',
  'ORDER',
  'GROUP',
  'HAVING',
  'UNION',
  'EXCEPT',
  'MINUS',
  'AND',
  'OR',
  'ON',
  'INNER',
  'JOIN',
  'LEFT',
  'SET',
  'VALUES',
  'SELECT',
  'SEL',
  'ALL',
]);
const INTERVAL_MS: Record<string, number> = { SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

class Parser {
  private i = 0;
  params = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(k = 0): Token | undefined {
    return this.tokens[this.i + k];
  }

  private word(k = 0): string | undefined {
    const t = this.peek(k);
    return t?.type === 'word' ? t.value : undefined;
  }

  private punct(k = 0): string | undefined {
    const t = this.peek(k);
    return t?.type === 'punct' ? t.text : undefined;
  }

  private fail(what: string): never {
    const t = this.peek();
    throw new FakeSqlError(3706, `Syntax error: ${what} (fake SQL), near '${t?.text ?? 'end of request'}'.`);
  }

  private expectWord(w: string): void {
    if (this.word() !== w) this.fail(`expected ${w}`);
    this.i++;
  }

  private expectPunct(p: string): void {
    if (this.punct() !== p) this.fail(`expected '${p}'`);
    this.i++;
  }

  private acceptWord(...ws: string[]): string | null {
    const w = this.word();
    if (w && ws.includes(w)) {
      this.i++;
      return w;
    }
    return null;
  }

  private acceptPunct(p: string): boolean {
    if (this.punct() === p) {
      this.i++;
      return true;
    }
    return false;
  }

  /** A name part: a word or a quoted identifier, upper case. */
  private name(): string {
    const t = this.peek();
    if (t && (t.type === 'word' || t.type === 'quoted')) {
      this.i++;
      return t.value;
    }
    return this.fail('expected a name');
  }

  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }

  statement(): Statement {
    const head = this.word();
    let s: Statement;
    if (head === 'SELECT' || head === 'SEL') s = this.select();
    else if (head === 'INSERT' || head === 'INS') s = this.insert();
    else if (head === 'UPDATE' || head === 'UPD') s = this.update();
    else if (head === 'DELETE' || head === 'DEL') s = this.delete();
    else this.fail('unsupported statement');
    if (!this.atEnd()) this.fail('unexpected text after the statement');
    return s;
  }

  private tableRef(withAlias: boolean): FromItem {
    if (withAlias && this.punct() === '(' && (this.word(1) === 'SELECT' || this.word(1) === 'SEL')) {
      this.i++;
      const first = this.select();
      let except: Select | null = null;
      if (this.acceptWord('EXCEPT') || this.acceptWord('MINUS')) {
        if (!this.acceptWord('ALL')) this.fail('only EXCEPT ALL is supported (fake SQL)');
        except = this.select();
      }
      this.expectPunct(')');
      this.acceptWord('AS');
      const alias = this.name();
      return { database: null, name: alias, alias, query: { first, except } };
    }
    const first = this.name();
    let database: string | null = null;
    let name = first;
    if (this.acceptPunct('.')) {
      database = first;
      name = this.name();
    }
    let alias = name;
    if (withAlias) {
      if (this.acceptWord('AS')) alias = this.name();
      else if ((this.peek()?.type === 'word' && !CLAUSE_WORDS.has(this.word()!)) || this.peek()?.type === 'quoted')
        alias = this.name();
    }
    return { database, name, alias };
  }

  select(): Select {
    this.i++; // SELECT
    const distinct = this.acceptWord('DISTINCT') !== null;
    let top: number | null = null;
    if (this.acceptWord('TOP')) {
      top = Number(this.peek()!.text);
      this.i++;
    }
    const items: SelectItem[] = [];
    do {
      if (this.acceptPunct('*')) {
        items.push({ e: 'star', label: '*' });
        continue;
      }
      const start = this.peek();
      const e = this.expr();
      let label = e.t === 'col' ? e.name : (start?.text ?? 'expr');
      // `(TITLE 'text')`: the column's title ("TITLE Phrase", SQL Data Types and Literals); '' leaves BTEQ no heading.
      if (this.punct() === '(' && this.word(1) === 'TITLE' && this.peek(2)?.type === 'string') {
        label = this.peek(2)!.value;
        this.i += 3;
        this.expectPunct(')');
      }
      if (this.acceptWord('AS')) label = this.name();
      else if (this.peek()?.type === 'quoted' || (this.peek()?.type === 'word' && !CLAUSE_WORDS.has(this.word()!)))
        label = this.name();
      items.push({ e, label });
    } while (this.acceptPunct(','));
    const from: FromItem[] = [];
    if (this.acceptWord('FROM')) {
      do from.push(this.tableRef(true));
      while (this.acceptPunct(','));
    }
    const where = this.acceptWord('WHERE') ? this.expr() : null;
    const order: Select['order'] = [];
    if (this.acceptWord('ORDER')) {
      this.expectWord('BY');
      do {
        const e = this.expr();
        const desc = this.acceptWord('DESC') !== null;
        if (!desc) this.acceptWord('ASC');
        order.push({ e, desc });
      } while (this.acceptPunct(','));
    }
    return { t: 'select', top, items, from, where, order, ...(distinct ? { distinct } : {}) };
  }

  private insert(): Statement {
    this.i++;
    this.expectWord('INTO');
    const table = this.tableRef(false);
    let columns: string[] | null = null;
    if (this.punct() === '(' && this.word(1) !== 'SELECT' && this.word(1) !== 'SEL') {
      this.i++;
      columns = [];
      do columns.push(this.name());
      while (this.acceptPunct(','));
      this.expectPunct(')');
    }
    if (this.acceptWord('VALUES')) {
      this.expectPunct('(');
      const values: Expr[] = [];
      do values.push(this.expr());
      while (this.acceptPunct(','));
      this.expectPunct(')');
      return { t: 'insert', table, columns, values, select: null };
    }
    const word = this.word();
    if (word === 'SELECT' || word === 'SEL')
      return { t: 'insert', table, columns, values: null, select: this.select() };
    return this.fail('expected VALUES or SELECT');
  }

  private update(): Statement {
    this.i++;
    const table = this.tableRef(true);
    this.expectWord('SET');
    const sets: { column: string; e: Expr }[] = [];
    do {
      const column = this.name();
      this.expectPunct('=');
      sets.push({ column, e: this.expr() });
    } while (this.acceptPunct(','));
    const where = this.acceptWord('WHERE') ? this.expr() : null;
    return { t: 'update', table, sets, where };
  }

  private delete(): Statement {
    this.i++;
    this.acceptWord('FROM');
    const table = this.tableRef(true);
    if (this.acceptWord('ALL')) return { t: 'delete', table, where: null };
    const where = this.acceptWord('WHERE') ? this.expr() : null;
    return { t: 'delete', table, where };
  }

  expr(): Expr {
    let l = this.and();
    while (this.acceptWord('OR')) l = { t: 'bin', op: 'OR', l, r: this.and() };
    return l;
  }

  private and(): Expr {
    let l = this.not();
    while (this.acceptWord('AND')) l = { t: 'bin', op: 'AND', l, r: this.not() };
    return l;
  }

  private not(): Expr {
    if (this.acceptWord('NOT')) return { t: 'unary', op: 'NOT', e: this.not() };
    // `EXISTS (subquery)`: true when the subquery returns a row (SQL Functions, Expressions, and Predicates, "EXISTS").
    if (this.word() === 'EXISTS' && this.punct(1) === '(') {
      this.i += 2;
      const q = this.select();
      this.expectPunct(')');
      return { t: 'exists', q };
    }
    return this.predicate();
  }

  private predicate(): Expr {
    const l = this.additive();
    const p = this.punct();
    if (p === '=' || p === '<' || p === '>') {
      this.i++;
      let op = p;
      const next = this.punct();
      if ((p === '<' && (next === '>' || next === '=')) || (p === '>' && next === '=')) {
        op += next;
        this.i++;
      }
      return { t: 'bin', op, l, r: this.additive() };
    }
    if (this.acceptWord('IS')) {
      const not = this.acceptWord('NOT') !== null;
      this.expectWord('NULL');
      return { t: 'isnull', e: l, not };
    }
    const negated = this.word() === 'NOT' && ['IN', 'LIKE'].includes(this.word(1) ?? '');
    if (negated) this.i++;
    if (this.acceptWord('IN')) {
      this.expectPunct('(');
      const list: Expr[] = [];
      do list.push(this.expr());
      while (this.acceptPunct(','));
      this.expectPunct(')');
      return { t: 'in', e: l, list, not: negated };
    }
    if (this.acceptWord('LIKE')) return { t: 'like', e: l, pattern: this.additive(), not: negated };
    return l;
  }

  additive(): Expr {
    let l = this.multiplicative();
    for (;;) {
      const p = this.punct();
      if (p === '+' || p === '-') {
        this.i++;
        l = { t: 'bin', op: p, l, r: this.multiplicative() };
      } else if (p === '|' && this.punct(1) === '|') {
        this.i += 2;
        l = { t: 'bin', op: '||', l, r: this.multiplicative() };
      } else return l;
    }
  }

  private multiplicative(): Expr {
    let l = this.unary();
    for (;;) {
      const p = this.punct();
      if (p === '*' || p === '/') {
        this.i++;
        l = { t: 'bin', op: p, l, r: this.unary() };
      } else return l;
    }
  }

  private unary(): Expr {
    if (this.acceptPunct('-')) return { t: 'unary', op: '-', e: this.unary() };
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    if (!t) return this.fail('expected an expression');
    if (t.type === 'number') {
      this.i++;
      return { t: 'lit', v: Number(t.text) };
    }
    if (t.type === 'string') {
      this.i++;
      return { t: 'lit', v: t.value };
    }
    if (t.type === 'punct' && t.text === '?') {
      this.i++;
      return { t: 'param', i: this.params++ };
    }
    if (t.type === 'punct' && t.text === '(') {
      this.i++;
      if (this.word() === 'SELECT' || this.word() === 'SEL') {
        const q = this.select();
        this.expectPunct(')');
        return { t: 'sub', q };
      }
      const e = this.expr();
      this.expectPunct(')');
      return e;
    }
    if (t.type === 'word') {
      const w = t.value;
      if (w === 'NULL') return (this.i++, { t: 'lit', v: null });
      if (w === 'CASE') {
        // CASE [e] WHEN x THEN y ... [ELSE z] END, the valued and the searched form.
        this.i++;
        const e = this.word() === 'WHEN' ? null : this.expr();
        const whens: { when: Expr; result: Expr }[] = [];
        while (this.acceptWord('WHEN')) {
          const when = this.expr();
          this.expectWord('THEN');
          whens.push({ when, result: this.expr() });
        }
        if (!whens.length) this.fail('CASE without WHEN');
        const otherwise = this.acceptWord('ELSE') ? this.expr() : null;
        this.expectWord('END');
        return { t: 'case', e, whens, otherwise };
      }
      if (w === 'USER' || w === 'CURRENT_USER') return (this.i++, { t: 'user' });
      // SESSION: the number of the session (SQL Functions, Expressions, and Predicates, "SESSION").
      if (w === 'SESSION') return (this.i++, { t: 'session' });
      if (w === 'CURRENT_TIMESTAMP') {
        this.i++;
        if (this.acceptPunct('(')) {
          this.i++;
          this.expectPunct(')');
        }
        return { t: 'now' };
      }
      if (w === 'CURRENT_DATE') return (this.i++, { t: 'lit', v: new Date().toISOString().slice(0, 10) });
      if ((w === 'DATE' || w === 'TIMESTAMP') && this.peek(1)?.type === 'string') {
        this.i += 2;
        return { t: 'lit', v: w === 'DATE' ? this.peek(-1)!.value : toDate(this.peek(-1)!.value) };
      }
      if (w === 'INTERVAL' && this.peek(1)?.type === 'string') {
        const n = Number(this.peek(1)!.value);
        const unit = this.word(2) ?? '';
        if (!(unit in INTERVAL_MS)) this.fail('unsupported interval unit');
        this.i += 3;
        return { t: 'interval', ms: n * INTERVAL_MS[unit]! };
      }
      if (w === 'CAST' && this.punct(1) === '(') {
        // CAST(e AS type): the value as is (the double keeps character data as JS strings, CLOB or not).
        this.i += 2;
        const e = this.expr();
        this.expectWord('AS');
        let depth = 0;
        for (;;) {
          const p = this.punct();
          if (p === ')' && depth === 0) break;
          if (!this.peek()) this.fail('CAST without its closing parenthesis');
          if (p === '(') depth++;
          if (p === ')') depth--;
          this.i++;
        }
        this.expectPunct(')');
        return e;
      }
      if (this.punct(1) === '(') {
        this.i += 2;
        if (this.acceptPunct('*')) {
          this.expectPunct(')');
          return { t: 'fn', name: w, args: [], star: true };
        }
        const args: Expr[] = [];
        if (!this.acceptPunct(')')) {
          do args.push(this.expr());
          while (this.acceptPunct(','));
          this.expectPunct(')');
        }
        return { t: 'fn', name: w, args, star: false };
      }
    }
    if (t.type === 'word' || t.type === 'quoted') {
      const first = this.name();
      if (this.acceptPunct('.')) return { t: 'col', qualifier: first, name: this.name() };
      return { t: 'col', qualifier: null, name: first };
    }
    return this.fail('expected an expression');
  }
}

/** Parse one DEFAULT expression of a column definition (from `DEFAULT` on). */
function parseDefault(tokens: Token[]): Expr {
  return new Parser(tokens).additive();
}

// ---------------------------------------------------------------------------------------------------------------
// Table shapes from CREATE TABLE text

function typeFamily(word: string): FakeColumn['type'] {
  if (['INTEGER', 'INT', 'BIGINT', 'SMALLINT', 'BYTEINT'].includes(word)) return 'int';
  if (['DECIMAL', 'DEC', 'NUMERIC', 'NUMBER'].includes(word)) return 'decimal';
  if (['FLOAT', 'REAL', 'DOUBLE'].includes(word)) return 'float';
  if (['VARCHAR', 'CHAR', 'CHARACTER', 'CLOB', 'LONG', 'VARGRAPHIC', 'GRAPHIC'].includes(word)) return 'text';
  if (word === 'TIMESTAMP') return 'timestamp';
  if (word === 'DATE') return 'date';
  return 'other';
}

/** Columns, NOT NULL, DEFAULT, identity and the unique primary index of a `CREATE TABLE` text; null when it has no column list. */
export function tableShape(createSql: string): FakeTableShape | null {
  const words = tokenize(createSql, '<fake table>').filter(isSignificant);
  const list = columnList(words);
  if (!list) return null;
  const tableIdx = words.findIndex((t) => t.type === 'word' && t.value === 'TABLE');
  const { items } = list;
  const columns: FakeColumn[] = [];
  let unique: string[] | null = null;
  for (const item of items) {
    const head = item[0];
    if (!head) continue;
    if (!isColumnItem(item)) {
      if (head.value === 'PRIMARY' || (head.value === 'UNIQUE' && item[1]?.value !== 'INDEX'))
        unique = listAfter(item, 1);
      continue;
    }
    const column: FakeColumn = {
      name: head.value,
      type: typeFamily(item[1]?.value ?? ''),
      notNull: false,
      identity: false,
    };
    for (let k = 2; k < item.length; k++) {
      const t = item[k]!;
      if (t.type !== 'word') continue;
      if (t.value === 'NOT' && item[k + 1]?.value === 'NULL') column.notNull = true;
      if (t.value === 'IDENTITY') column.identity = true;
      if (t.value === 'DEFAULT') column.default = parseDefault(item.slice(k + 1));
      if (t.value === 'PRIMARY' && item[k + 1]?.value === 'KEY') unique = [column.name];
    }
    columns.push(column);
  }
  // After the column list: UNIQUE PRIMARY INDEX (a, b).
  const rest = words.slice(list.close + 1);
  for (let k = 0; k < rest.length; k++) {
    if (rest[k]!.value === 'UNIQUE' && rest[k + 1]?.value === 'PRIMARY' && rest[k + 2]?.value === 'INDEX')
      unique = listAfter(rest, k + 3);
  }
  const set = words.slice(0, tableIdx).some((t) => t.type === 'word' && t.value === 'SET');
  return { columns, unique, ...(set ? { set } : {}) };
}

function listAfter(tokens: Token[], from: number): string[] {
  const out: string[] = [];
  let k = from;
  while (k < tokens.length && !(tokens[k]!.type === 'punct' && tokens[k]!.text === '(')) k++;
  for (k++; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'punct' && t.text === ')') break;
    if (t.type === 'word' || t.type === 'quoted') out.push(t.value);
  }
  return out;
}

/** The CREATE TABLE text with column definitions appended to its column list (`ALTER TABLE ... ADD`). */
export function addColumnsToShow(createSql: string, definitions: string[]): string {
  const tokens = tokenize(createSql, '<fake table>');
  let depth = 0;
  let started = false;
  for (const t of tokens) {
    if (t.type !== 'punct') continue;
    if (t.text === '(') {
      depth++;
      started = true;
    } else if (t.text === ')') {
      depth--;
      if (started && depth === 0)
        return (
          createSql.slice(0, t.start).trimEnd() + ',\n  ' + definitions.join(',\n  ') + '\n' + createSql.slice(t.start)
        );
    }
  }
  return createSql;
}

/** `ALTER TABLE t ADD c type, ADD d type`: the column definitions added, or null for any other ALTER. */
export function alterAddColumns(sql: string): string[] | null {
  const tokens = tokenize(sql, '<fake alter>').filter(isSignificant);
  if (tokens[0]?.value !== 'ALTER' || tokens[1]?.value !== 'TABLE') return null;
  const start = tokens.findIndex((t) => t.type === 'word' && t.value === 'ADD');
  if (start < 0) return null;
  const defs: string[] = [];
  let from = -1;
  let depth = 0;
  for (let k = start; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'punct' && t.text === '(') depth++;
    if (t.type === 'punct' && t.text === ')') depth--;
    if (
      depth === 0 &&
      t.type === 'word' &&
      t.value === 'ADD' &&
      (k === start || (tokens[k - 1]!.type === 'punct' && tokens[k - 1]!.text === ','))
    ) {
      if (from >= 0) defs.push(sql.slice(tokens[from]!.start, tokens[k - 1]!.start).trim());
      from = k + 1;
    }
  }
  if (from >= 0) defs.push(sql.slice(tokens[from]!.start, tokens[tokens.length - 1]!.end).trim());
  return defs;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new FakeSqlError(2665, `Invalid date supplied for a TIMESTAMP: '${String(v)}'.`);
  return d;
}

/** A TIMESTAMP WITH TIME ZONE as the drivers return it: a string (`2026-11-21 10:30:00.123000+00:00`). */
export function formatTimestamp(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '000+00:00');
}

function compare(a: unknown, b: unknown, caseBlind = false): number {
  if (a instanceof Date || b instanceof Date) return toDate(a).getTime() - toDate(b).getTime();
  if (typeof a === 'number' || typeof b === 'number') return Number(a) - Number(b);
  const x = caseBlind ? String(a).toUpperCase() : String(a);
  const y = caseBlind ? String(b).toUpperCase() : String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Rows visible to an expression: alias → row (upper-case column names), innermost scope first. */
type Env = { alias: string; row: Row; columns: string[] }[];

interface EvalContext {
  host: SqlHost;
  params: unknown[];
  now: Date;
}

function evaluate(e: Expr, env: Env, ctx: EvalContext, group?: Env[]): unknown {
  switch (e.t) {
    case 'lit':
      return e.v;
    case 'param': {
      if (e.i >= ctx.params.length)
        throw new FakeSqlError(
          3939,
          'There is a mismatch between the number of parameters specified and the number of parameters required.',
        );
      return ctx.params[e.i] ?? null;
    }
    case 'now':
      return ctx.now;
    case 'session':
      return ctx.host.session ?? 0;
    case 'user':
      return ctx.host.user.toUpperCase();
    case 'interval':
      return { intervalMs: e.ms };
    case 'col': {
      for (const scope of env) {
        if (e.qualifier !== null && scope.alias !== e.qualifier) continue;
        if (scope.columns.includes(e.name)) return scope.row[e.name] ?? null;
      }
      throw new FakeSqlError(5628, `Column ${e.qualifier ? e.qualifier + '.' : ''}${e.name} not found.`);
    }
    case 'unary': {
      const v = evaluate(e.e, env, ctx, group);
      if (e.op === 'NOT') return v === null ? null : !v;
      return v === null ? null : -Number(v);
    }
    case 'bin': {
      if (e.op === 'AND') {
        const l = evaluate(e.l, env, ctx, group);
        if (l === false) return false;
        const r = evaluate(e.r, env, ctx, group);
        return r === false ? false : l === null || r === null ? null : true;
      }
      if (e.op === 'OR') {
        const l = evaluate(e.l, env, ctx, group);
        if (l === true) return true;
        const r = evaluate(e.r, env, ctx, group);
        return r === true ? true : l === null || r === null ? null : false;
      }
      const l = evaluate(e.l, env, ctx, group);
      const r = evaluate(e.r, env, ctx, group);
      if (l === null || r === null) return null;
      switch (e.op) {
        case '+':
        case '-': {
          const interval = (v: unknown) =>
            typeof v === 'object' && v !== null && 'intervalMs' in v ? (v as { intervalMs: number }).intervalMs : null;
          const li = interval(l);
          const ri = interval(r);
          if (ri !== null) return new Date(toDate(l).getTime() + (e.op === '+' ? ri : -ri));
          if (li !== null && e.op === '+') return new Date(toDate(r).getTime() + li);
          return e.op === '+' ? Number(l) + Number(r) : Number(l) - Number(r);
        }
        case '*':
          return Number(l) * Number(r);
        case '/':
          return Number(l) / Number(r);
        case '||':
          return String(l) + String(r);
        case '=':
          return compare(l, r, ctx.host.caseBlind) === 0;
        case '<>':
          return compare(l, r, ctx.host.caseBlind) !== 0;
        case '<':
          return compare(l, r) < 0;
        case '<=':
          return compare(l, r) <= 0;
        case '>':
          return compare(l, r) > 0;
        case '>=':
          return compare(l, r) >= 0;
      }
      throw new FakeSqlError(3706, `unsupported operator ${e.op}`);
    }
    case 'isnull': {
      const v = evaluate(e.e, env, ctx, group);
      return e.not ? v !== null : v === null;
    }
    case 'in': {
      const v = evaluate(e.e, env, ctx, group);
      if (v === null) return null;
      const hit = e.list.some((x) => {
        const w = evaluate(x, env, ctx, group);
        return w !== null && compare(v, w, ctx.host.caseBlind) === 0;
      });
      return e.not ? !hit : hit;
    }
    case 'like': {
      const v = evaluate(e.e, env, ctx, group);
      const p = evaluate(e.pattern, env, ctx, group);
      if (v === null || p === null) return null;
      const re = new RegExp(
        '^' +
          String(p)
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            .replace(/%/g, '.*')
            .replace(/_/g, '.') +
          '$',
        's',
      );
      return re.test(String(v)) !== e.not;
    }
    case 'fn': {
      if (AGGREGATES.has(e.name)) {
        if (!group)
          throw new FakeSqlError(
            3504,
            `Selected non-aggregate values must be part of the associated group (${e.name} outside a SELECT list).`,
          );
        const values = e.star
          ? group.map(() => 1)
          : group.map((g) => evaluate(e.args[0]!, g, ctx)).filter((v) => v !== null);
        if (e.name === 'COUNT') return values.length;
        if (!values.length) return null;
        if (e.name === 'SUM') return values.reduce((a: number, b) => a + Number(b), 0);
        return values.reduce((a, b) => ((e.name === 'MAX' ? compare(b, a) > 0 : compare(b, a) < 0) ? b : a));
      }
      const args = e.args.map((a) => evaluate(a, env, ctx, group));
      switch (e.name) {
        case 'COALESCE':
          return args.find((a) => a !== null) ?? null;
        case 'NULLIF':
          return args[0] !== null && args[1] !== null && compare(args[0], args[1]) === 0 ? null : args[0];
        case 'UPPER':
          return args[0] === null ? null : String(args[0]).toUpperCase();
        case 'LOWER':
          return args[0] === null ? null : String(args[0]).toLowerCase();
        case 'TRIM':
          return args[0] === null ? null : String(args[0]).trim();
        case 'HASHROW':
          return hashRow(args, ctx.host.caseBlind ?? false);
        case 'CHAR2HEXINT':
          // "the hexadecimal representation for a character string" (SQL Functions, Expressions, and Predicates,
          // CHAR2HEXINT): here of the UNICODE form, four digits per character (LATIN would give two); case-specific.
          return args[0] === null
            ? null
            : [...String(args[0])].map((ch) => ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')).join('');
      }
      throw new FakeSqlError(3706, `unsupported function ${e.name} (fake SQL)`);
    }
    case 'sub': {
      const r = runSelect(e.q, ctx, env);
      return r.rows[0]?.[0] ?? null;
    }
    case 'exists':
      return runSelect(e.q, ctx, env).rows.length > 0;
    case 'case': {
      const v = e.e ? evaluate(e.e, env, ctx, group) : null;
      for (const w of e.whens) {
        const x = evaluate(w.when, env, ctx, group);
        const hit = e.e ? v !== null && x !== null && compare(v, x, ctx.host.caseBlind) === 0 : x === true;
        if (hit) return evaluate(w.result, env, ctx, group);
      }
      return e.otherwise ? evaluate(e.otherwise, env, ctx, group) : null;
    }
  }
}

/**
 * `HASHROW(expr, ...)`: the 4-byte row hash of the values, as 8 hexadecimal digits (SQL Functions, Expressions, and
 * Predicates, "HASHROW": "the hexadecimal row hash value for an expression or sequence of expressions"; the double's hash
 * is FNV-1a over the values, not Teradata's hashing algorithm). Values that compare equal hash alike: character values
 * without trailing blanks and, in a Teradata-mode session, in upper case (NOT CASESPECIFIC, verify); numbers by value.
 * NULL, 0 and blank text hash alike: HASHROW of "an expression that evaluates to NULL", of "a list of expressions where
 * all the expressions evaluate to NULL" and of "an expression that evaluates to 0, '', ' ', or a similar value" is
 * '00000000'XB (HASHROW, "Result"); within a longer list the double hashes each of them as the same zero value too (a
 * NULL is hashed as its internal zero bytes: Database Design, "Hashing on Nulls"; how a list mixing them hashes on
 * Teradata is unverified). At most 64 expressions (verify the limit).
 */
function hashRow(values: unknown[], caseBlind: boolean): string {
  if (values.length > 64) throw new FakeSqlError(3706, 'HASHROW takes at most 64 expressions (fake SQL, verify).');
  const zero = (v: unknown) =>
    v === null ||
    v === undefined ||
    ((typeof v === 'number' || typeof v === 'bigint') && Number(v) === 0) ||
    (typeof v === 'string' && v.trim() === '');
  if (values.length && values.every(zero)) return '00000000';
  let h = 0x811c9dc5;
  const text = values
    .map((v) => {
      if (zero(v)) return '\u0000';
      if (v instanceof Date) return v.toISOString();
      if (typeof v === 'number' || typeof v === 'bigint') return `n${Number(v)}`;
      if (v instanceof Uint8Array) return `b${Buffer.from(v).toString('hex')}`;
      const str = String(v).replace(/ +$/, '');
      return `s${caseBlind ? str.toUpperCase() : str}`;
    })
    .join('\u0001');
  for (const ch of Buffer.from(text, 'utf8')) {
    h ^= ch;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).toUpperCase().padStart(8, '0');
}

function hasAggregate(e: Expr): boolean {
  switch (e.t) {
    case 'fn':
      return AGGREGATES.has(e.name) || e.args.some(hasAggregate);
    case 'unary':
    case 'isnull':
      return hasAggregate(e.e);
    case 'bin':
      return hasAggregate(e.l) || hasAggregate(e.r);
    case 'in':
      return hasAggregate(e.e) || e.list.some(hasAggregate);
    case 'like':
      return hasAggregate(e.e) || hasAggregate(e.pattern);
    default:
      return false;
  }
}

interface Source {
  alias: string;
  columns: string[];
  rows: Row[];
}

function resolveTable(item: FromItem, host: SqlHost): { database: string; shape: FakeTableShape; rows: Row[] } {
  if (item.database === 'DBC') {
    const rows = host.dbcView(item.name);
    if (!rows) throw new FakeSqlError(3807, `Object 'DBC.${item.name}' does not exist.`);
    return {
      database: 'DBC',
      shape: {
        columns: Object.keys(rows[0] ?? {}).map((name) => ({ name, type: 'other', notNull: false, identity: false })),
        unique: null,
      },
      rows,
    };
  }
  const database = item.database ?? host.defaultDatabase;
  const table = database ? host.table(database, item.name) : null;
  if (!database || !table)
    throw new FakeSqlError(3807, `Object '${database ? database + '.' : ''}${item.name}' does not exist.`);
  return { database, ...table };
}

function dbcColumns(item: FromItem, host: SqlHost): string[] {
  // DBC views keep their columns even when they have no rows.
  const known: Record<string, string[]> = {
    TABLESV: [
      'DATABASENAME',
      'TABLENAME',
      'TABLEKIND',
      'CREATORNAME',
      'CREATETIMESTAMP',
      'LASTALTERNAME',
      'LASTALTERTIMESTAMP',
      'COMMENTSTRING',
    ],
    COLUMNSV: [
      'DATABASENAME',
      'TABLENAME',
      'COLUMNNAME',
      'COLUMNID',
      'COMMENTSTRING',
      'COLUMNTYPE',
      'COLUMNLENGTH',
      'DECIMALTOTALDIGITS',
      'DECIMALFRACTIONALDIGITS',
      'NULLABLE',
      'CHARTYPE',
      'UPPERCASEFLAG',
      'COLUMNUDTNAME',
    ],
    STATSV: ['DATABASENAME', 'TABLENAME', 'COLUMNNAME', 'LASTCOLLECTTIMESTAMP'],
    AUTHORIZATIONSV: [
      'DATABASENAME',
      'AUTHORIZATIONNAME',
      'AUTHORIZATIONTYPE',
      'AUTHORIZATIONSUBTYPE',
      'OSDOMAINNAME',
      'OSUSERNAME',
    ],
    FUNCTIONMAPPINGSV: ['DATABASENAME', 'FUNCTIONMAPPINGNAME'],
    DATABASESV: ['DATABASENAME', 'DBKIND', 'OWNERNAME', 'PERMSPACE', 'SPOOLSPACE', 'TEMPSPACE'],
    ALLRIGHTSV: ['USERNAME', 'DATABASENAME', 'TABLENAME', 'COLUMNNAME', 'ACCESSRIGHT', 'GRANTAUTHORITY'],
    ALLROLERIGHTSV: ['ROLENAME', 'DATABASENAME', 'TABLENAME', 'COLUMNNAME', 'ACCESSRIGHT'],
    TRIGGERSV: ['DATABASENAME', 'TRIGGERNAME', 'SUBJECTTABLEDATABASENAME', 'TABLENAME'],
    JOININDICESV: ['INDEXDATABASENAME', 'INDEXNAME', 'DATABASENAME', 'TABLENAME'],
    HASHINDICESV: ['INDEXDATABASENAME', 'INDEXNAME', 'DATABASENAME', 'TABLENAME'],
    DISKSPACEV: ['VPROC', 'DATABASENAME', 'ACCOUNTNAME', 'MAXPERM', 'CURRENTPERM', 'PEAKPERM'],
    TABLESIZEV: ['VPROC', 'DATABASENAME', 'ACCOUNTNAME', 'TABLENAME', 'CURRENTPERM', 'PEAKPERM'],
    SESSIONINFOV: ['SESSIONNO', 'USERNAME', 'LOGONDATE', 'LOGONTIME', 'TRANSACTION_MODE'],
    INDICESV: [
      'DATABASENAME',
      'TABLENAME',
      'INDEXNUMBER',
      'INDEXTYPE',
      'UNIQUEFLAG',
      'INDEXNAME',
      'COLUMNNAME',
      'COLUMNPOSITION',
    ],
  };
  return known[item.name] ?? Object.keys(host.dbcView(item.name)?.[0] ?? {});
}

/** The rows of a derived table (see `FromItem.query`), keyed by the first query's column labels. */
function derivedRows(query: NonNullable<FromItem['query']>, ctx: EvalContext): Source & { alias: string } {
  const first = runSelect(query.first, ctx);
  let rows = first.rows;
  if (query.except) {
    const second = runSelect(query.except, ctx);
    if (second.columns.length !== first.columns.length)
      throw new FakeSqlError(3654, 'Corresponding select-list expressions are incompatible.');
    const key = (row: unknown[]) => JSON.stringify(row.map((v) => (v instanceof Date ? v.toISOString() : v)));
    const remove = new Map<string, number>();
    for (const row of second.rows) remove.set(key(row), (remove.get(key(row)) ?? 0) + 1);
    rows = rows.filter((row) => {
      const n = remove.get(key(row)) ?? 0;
      if (n > 0) remove.set(key(row), n - 1);
      return n === 0;
    });
  }
  const columns = first.columns.map((c) => c.toUpperCase());
  return {
    alias: '',
    columns,
    rows: rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]]))),
  };
}

function runSelect(q: Select, ctx: EvalContext, outer: Env = []): { columns: string[]; rows: unknown[][] } {
  const sources: Source[] = q.from.map((f) => {
    if (f.query) return { ...derivedRows(f.query, ctx), alias: f.alias };
    const t = resolveTable(f, ctx.host);
    return {
      alias: f.alias,
      columns: f.database === 'DBC' ? dbcColumns(f, ctx.host) : t.shape.columns.map((c) => c.name),
      rows: t.rows,
    };
  });
  // Cross product of the FROM list, filtered by WHERE.
  let envs: Env[] = [[]];
  for (const s of sources) {
    const next: Env[] = [];
    for (const env of envs) for (const row of s.rows) next.push([...env, { alias: s.alias, row, columns: s.columns }]);
    envs = next;
  }
  const scoped = (env: Env): Env => [...env, ...outer];
  if (q.where) envs = envs.filter((env) => evaluate(q.where!, scoped(env), ctx) === true);
  const labels = q.items.flatMap((it) => (it.e === 'star' ? sources.flatMap((s) => s.columns) : [it.label]));
  const project = (env: Env, group?: Env[]): unknown[] =>
    q.items.flatMap((it) =>
      it.e === 'star'
        ? env.flatMap((s) => s.columns.map((c) => s.row[c] ?? null))
        : [evaluate(it.e, scoped(env), ctx, group?.map(scoped))],
    );
  if (q.items.some((it) => it.e !== 'star' && hasAggregate(it.e))) {
    return { columns: labels, rows: [project(envs[0] ?? [], envs)] };
  }
  if (q.order.length) {
    const keys = envs.map((env) => q.order.map((o) => evaluate(o.e, scoped(env), ctx)));
    const idx = envs.map((_, k) => k);
    idx.sort((a, b) => {
      for (let k = 0; k < q.order.length; k++) {
        const x = keys[a]![k];
        const y = keys[b]![k];
        const c = x === null ? (y === null ? 0 : -1) : y === null ? 1 : compare(x, y);
        if (c !== 0) return q.order[k]!.desc ? -c : c;
      }
      return 0;
    });
    envs = idx.map((k) => envs[k]!);
  }
  if (q.top !== null) envs = envs.slice(0, q.top);
  let rows = envs.map((env) => project(env));
  if (q.distinct) {
    const seen = new Set<string>();
    rows = rows.filter((r) => {
      const k = JSON.stringify(r.map((v) => (typeof v === 'string' ? v.trimEnd() : output(v))));
      return seen.has(k) ? false : (seen.add(k), true);
    });
  }
  return { columns: labels, rows };
}

function coerce(column: FakeColumn, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (column.type) {
    case 'int':
    case 'decimal':
    case 'float': {
      const n = Number(v);
      if (Number.isNaN(n))
        throw new FakeSqlError(2620, `The format or data contains a bad character (column ${column.name}).`);
      return column.type === 'int' ? Math.trunc(n) : n;
    }
    case 'text':
      return v instanceof Date ? formatTimestamp(v) : String(v);
    case 'timestamp':
      return toDate(v);
    default:
      return v;
  }
}

function output(v: unknown): unknown {
  return v instanceof Date ? formatTimestamp(v) : v;
}

/** Run one DML or SELECT request; `undefined` when it is not one (DDL and the rest are the caller's). */
export function runSql(sql: string, params: unknown[], host: SqlHost): SqlResult | undefined {
  let tokens = tokenize(sql, '<fake request>').filter((t) => isSignificant(t) && t.type !== 'semicolon');
  // `LOCKING ROW FOR ACCESS` (a request modifier: the read does not wait for write locks) changes nothing here.
  if (
    tokens
      .slice(0, 4)
      .map((t) => t.value)
      .join(' ') === 'LOCKING ROW FOR ACCESS'
  )
    tokens = tokens.slice(4);
  const head = tokens[0]?.type === 'word' ? tokens[0].value : '';
  if (!['SELECT', 'SEL', 'INSERT', 'INS', 'UPDATE', 'UPD', 'DELETE', 'DEL'].includes(head)) return undefined;
  for (const p of params) {
    if (typeof p === 'boolean')
      throw new FakeSqlError(0, 'Unsupported bind value type boolean (the driver cannot bind a JavaScript boolean).');
  }
  const parser = new Parser(tokens);
  const statement = parser.statement();
  if (parser.params !== params.length) {
    throw new FakeSqlError(
      3939,
      `There is a mismatch between the number of parameters specified (${params.length}) and the number of parameters required (${parser.params}).`,
    );
  }
  const ctx: EvalContext = { host, params, now: host.now() };
  if (statement.t === 'select') {
    const r = runSelect(statement, ctx);
    host.spool?.(r.rows);
    return { columns: r.columns, rows: r.rows.map((row) => row.map(output)), rowCount: r.rows.length };
  }
  const target = resolveTable(statement.table, host);
  if (target.database === 'DBC')
    throw new FakeSqlError(3523, 'The user does not have INSERT/UPDATE/DELETE access to DBC.');
  const { shape, rows } = target;
  const byName = new Map(shape.columns.map((c) => [c.name, c]));
  const columnOf = (name: string): FakeColumn => {
    const c = byName.get(name);
    if (!c) throw new FakeSqlError(5628, `Column ${name} not found in ${target.database}.${statement.table.name}.`);
    return c;
  };
  const check = (row: Row, others: Row[]) => {
    for (const c of shape.columns) {
      if (c.notNull && (row[c.name] === null || row[c.name] === undefined))
        throw new FakeSqlError(3604, `Cannot place a null value in a NOT NULL field (${c.name}).`);
    }
    if (shape.unique) {
      const key = (r: Row) => JSON.stringify(shape.unique!.map((u) => output(r[u] ?? null)));
      const k = key(row);
      if (others.some((o) => o !== row && key(o) === k))
        throw new FakeSqlError(2801, `Duplicate unique prime key error in ${target.database}.${statement.table.name}.`);
    }
  };
  const env = (row: Row): Env => [{ alias: statement.table.alias, row, columns: shape.columns.map((c) => c.name) }];

  if (statement.t === 'insert') {
    const names = statement.columns ?? shape.columns.map((c) => c.name);
    for (const n of names) columnOf(n);
    const tuples: unknown[][] = statement.values
      ? [statement.values.map((e) => evaluate(e, [], ctx))]
      : runSelect(statement.select!, ctx).rows;
    if (!statement.values) host.spool?.(tuples);
    const added: Row[] = [];
    for (const values of tuples) {
      if (values.length !== names.length)
        throw new FakeSqlError(
          3812,
          `The positional assignment list has too ${values.length < names.length ? 'few' : 'many'} values.`,
        );
      const row: Row = {};
      for (const c of shape.columns) {
        const k = names.indexOf(c.name);
        if (k >= 0) row[c.name] = coerce(c, values[k]);
        else if (c.identity)
          row[c.name] = host.nextIdentity(target.database, statement.table.name, c.name, [...rows, ...added]);
        else row[c.name] = c.default ? coerce(c, evaluate(c.default, [], ctx)) : null;
      }
      check(row, [...rows, ...added]);
      // A SET table holds no two rows alike (trailing pad characters ignored). "SET: not inserted. An error is
      // returned" for an INSERT of one row; for INSERT ... SELECT "In ANSI session mode, the system rejects the request
      // and returns an error message", while "In Teradata session mode" it rejects the duplicate rows and "inserts the
      // non-duplicate rows" (SQL Data Manipulation Language, INSERT ... SELECT, "Duplicate Rows and INSERT"; both
      // 15.10 and 17.20). Code 2802, "Duplicate row error in <table>." (Messages; verify the text).
      if (shape.set) {
        const same = (r: Row) =>
          JSON.stringify(
            shape.columns.map((c) => output(r[c.name] ?? null)).map((v) => (typeof v === 'string' ? v.trimEnd() : v)),
          );
        const k = same(row);
        if ([...rows, ...added].some((o) => same(o) === k)) {
          if (statement.values || host.tmode === 'ANSI')
            throw new FakeSqlError(2802, `Duplicate row error in ${target.database}.${statement.table.name}.`);
          continue;
        }
      }
      added.push(row);
    }
    host.room?.(target.database, added);
    rows.push(...added);
    return { rowCount: added.length };
  }
  const matches = rows.filter((row) => !statement.where || evaluate(statement.where, env(row), ctx) === true);
  if (statement.t === 'delete') {
    for (const m of matches) rows.splice(rows.indexOf(m), 1);
    return { rowCount: matches.length };
  }
  // UPDATE: compute every new row first, so a failure changes nothing.
  const updated = matches.map((row) => {
    const next = { ...row };
    for (const s of statement.sets) next[s.column] = coerce(columnOf(s.column), evaluate(s.e, env(row), ctx));
    return next;
  });
  const after = rows.map((r) => updated[matches.indexOf(r)] ?? r);
  for (const u of updated) check(u, after);
  for (const [k, m] of matches.entries()) rows[rows.indexOf(m)] = updated[k]!;
  return { rowCount: matches.length };
}
