import { columnList } from '../src/parse/table-columns';
import { isSignificant, tokenize, type Token } from '../src/parse/splitter';

/**
 * The DDL rules of the test double (tests only; no Teradata system exists here), each taken from Teradata's
 * documentation, which is quoted beside it. Where the documentation gives a rule but no error code, or the code
 * is remembered rather than read, the code is marked "(verify)": check it against a live system (see the live suite,
 * `npm run test:teradata-live`, and docs/teradata.md).
 *
 * What the double emulates of `SHOW TABLE` is documented at {@link canonicalShowTable}.
 */

/** A Teradata error the double raises: code and message text, as the database sends them. */
export interface DdlError {
  code: number;
  text: string;
}

/**
 * Data types a column may have. Teradata Vantage SQL Data Types and Literals (B035-1143), "Data Types": numeric
 * (BYTEINT, SMALLINT, INTEGER, BIGINT, DECIMAL/NUMERIC, NUMBER, FLOAT/REAL/DOUBLE PRECISION), character (CHAR,
 * VARCHAR, LONG VARCHAR, CLOB, GRAPHIC, VARGRAPHIC), byte (BYTE, VARBYTE, BLOB), DateTime (DATE, TIME, TIMESTAMP),
 * INTERVAL, PERIOD, JSON, XML, ST_GEOMETRY, DATASET, and user-defined types (`SYSUDTLIB.name`, or a bare name of a
 * type that exists in SYSUDTLIB: `isType`).
 * Anything else is refused as Teradata does: error 3706 "Syntax error: Data Type "X" does not match a Defined Type
 * name." (Messages, 3706: the syntax error family; the text is the database's for an unknown type (verify)).
 */
const TYPE_WORDS = new Set([
  'BYTEINT',
  'SMALLINT',
  'INTEGER',
  'INT',
  'BIGINT',
  'DECIMAL',
  'DEC',
  'NUMERIC',
  'NUMBER',
  'FLOAT',
  'REAL',
  'DOUBLE',
  'CHAR',
  'CHARACTER',
  'VARCHAR',
  'LONG',
  'CLOB',
  'GRAPHIC',
  'VARGRAPHIC',
  'BYTE',
  'VARBYTE',
  'BLOB',
  'BINARY',
  'DATE',
  'TIME',
  'TIMESTAMP',
  'INTERVAL',
  'PERIOD',
  'JSON',
  'XML',
  'ST_GEOMETRY',
  'DATASET',
  'MBR',
  'SYSUDTLIB',
]);

/** Words that open a table-level item of the column list (not a column). */
const TABLE_ITEM_WORDS = new Set([
  'CONSTRAINT',
  'PRIMARY',
  'UNIQUE',
  'FOREIGN',
  'CHECK',
  'INDEX',
  'PERIOD',
  'PARTITION',
]);

interface ColumnDef {
  name: string;
  /** Text of the definition after the name, whitespace collapsed. */
  rest: Token[];
  source: string;
}

/** A CREATE TABLE statement, taken apart. */
export interface ParsedTable {
  kind: 'SET' | 'MULTISET' | null;
  /** Words between CREATE and TABLE other than SET/MULTISET (VOLATILE, GLOBAL TEMPORARY). */
  modifiers: string[];
  /** The name as written, e.g. `DEV_EDW.orders`. */
  name: string;
  /** Table options between the name and the column list, as written (`NO FALLBACK`, `FALLBACK`, `NO BEFORE JOURNAL`...). */
  options: string[];
  columns: ColumnDef[];
  /** Table-level items of the column list (constraints), as written. */
  tableItems: string[];
  /** Index clauses after the column list: `PRIMARY INDEX (a)`, `UNIQUE PRIMARY INDEX (a)`, `NO PRIMARY INDEX`, `INDEX (b)`... */
  indexes: { text: string; columns: string[]; primary: boolean; unique: boolean; none: boolean }[];
  /** `PARTITION BY ...` as written, or null. */
  partition: string | null;
  /** Columns the partitioning expression names (first word inside RANGE_N / CASE_N / COLUMN). */
  partitionColumns: string[];
  /** Text after the column list that the double does not interpret (`ON COMMIT PRESERVE ROWS`...). */
  trailer: string[];
}

const text = (tokens: Token[]): string => {
  let out = '';
  for (const [i, t] of tokens.entries()) {
    const prev = tokens[i - 1];
    // Written as in the source: `RANGE_N(` stays together, `INDEX (a)` keeps its space.
    const tight =
      prev &&
      (t.text === ')' ||
        t.text === ',' ||
        t.text === '.' ||
        prev.text === '(' ||
        prev.text === '.' ||
        (t.text === '(' && t.start === prev.end));
    out += (i === 0 || tight ? '' : ' ') + t.text;
  }
  return out;
};

function splitTopLevel(tokens: Token[]): Token[][] {
  const items: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.text === '(') depth++;
    if (t.text === ')') depth--;
    if (depth === 0 && t.text === ',') {
      items.push([]);
      continue;
    }
    items[items.length - 1]!.push(t);
  }
  return items.filter((i) => i.length);
}

/** Names inside the first parenthesis at or after `from`. */
function parenNames(tokens: Token[], from: number): string[] {
  const open = tokens.findIndex((t, k) => k >= from && t.text === '(');
  if (open < 0) return [];
  const out: string[] = [];
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.text === '(') depth++;
    else if (t.text === ')') {
      depth--;
      if (depth === 0) break;
    } else if (
      depth === 1 &&
      (t.type === 'word' || t.type === 'quoted') &&
      (tokens[k - 1]!.text === '(' || tokens[k - 1]!.text === ',')
    )
      out.push(t.value);
  }
  return out;
}

/** Take a `CREATE [SET|MULTISET] TABLE name [, options] (columns) [indexes] [PARTITION BY ...]` apart; null for other forms (AS ... WITH DATA). */
export function parseCreateTable(sql: string): ParsedTable | null {
  const w = tokenize(sql, '<fake table>').filter((t) => isSignificant(t) && t.type !== 'semicolon');
  if (w[0]?.value !== 'CREATE') return null;
  const tableAt = w.findIndex((t) => t.type === 'word' && t.value === 'TABLE');
  if (tableAt < 0) return null;
  const between = w.slice(1, tableAt).map((t) => t.value);
  const kind = between.includes('MULTISET') ? 'MULTISET' : between.includes('SET') ? 'SET' : null;
  const modifiers = between.filter((v) => v !== 'SET' && v !== 'MULTISET');
  // Name: word [. word]
  let i = tableAt + 1;
  const nameTokens = [w[i]!];
  if (w[i + 1]?.text === '.') nameTokens.push(w[i + 1]!, w[i + 2]!), (i += 2);
  i++;
  const name = nameTokens.map((t) => t.text).join('');
  const list = columnList(w);
  if (!list) return null;
  const { open, close } = list;
  const options = splitTopLevel(w.slice(i, open)).map(text);
  const columns: ColumnDef[] = [];
  const tableItems: string[] = [];
  for (const item of list.items) {
    const head = item[0]!;
    if (
      head.type === 'word' &&
      TABLE_ITEM_WORDS.has(head.value) &&
      !(head.value === 'PERIOD' && item[1]?.text !== 'FOR')
    )
      tableItems.push(text(item));
    else columns.push({ name: head.value, rest: item.slice(1), source: text(item) });
  }
  // After the column list: index clauses, PARTITION BY, and the rest.
  const after = w.slice(close + 1);
  const indexes: ParsedTable['indexes'] = [];
  let partition: string | null = null;
  let partitionColumns: string[] = [];
  const trailer: string[] = [];
  let k = 0;
  const clauseEnd = (from: number): number => {
    let d = 0;
    for (let j = from; j < after.length; j++) {
      if (after[j]!.text === '(') d++;
      if (after[j]!.text === ')') {
        d--;
        if (d === 0) return j + 1;
      }
      if (d === 0 && j > from && after[j]!.text === ',') return j;
    }
    return after.length;
  };
  while (k < after.length) {
    const t = after[k]!;
    if (t.text === ',') {
      k++;
      continue;
    }
    const v = [t.value, after[k + 1]?.value, after[k + 2]?.value, after[k + 3]?.value];
    if (v[0] === 'NO' && v[1] === 'PRIMARY' && v[2] === 'INDEX') {
      indexes.push({ text: 'NO PRIMARY INDEX', columns: [], primary: true, unique: false, none: true });
      k += 3;
      continue;
    }
    const unique = v[0] === 'UNIQUE';
    const primary = (unique ? v[1] : v[0]) === 'PRIMARY';
    if (primary || unique || v[0] === 'INDEX') {
      const end = clauseEnd(k);
      const clause = after.slice(k, end);
      indexes.push({ text: text(clause), columns: parenNames(clause, 0), primary, unique, none: false });
      k = end;
      continue;
    }
    if (v[0] === 'PARTITION' && v[1] === 'BY') {
      // Up to the next top-level index clause.
      let d = 0;
      let j = k + 2;
      for (; j < after.length; j++) {
        if (after[j]!.text === '(') d++;
        if (after[j]!.text === ')') d--;
        if (d === 0 && ['INDEX', 'UNIQUE', 'PRIMARY'].includes(after[j]!.value) && after[j - 1]!.text !== '(') break;
      }
      const clause = after.slice(k, j);
      partition = text(clause);
      // RANGE_N(col BETWEEN ...), CASE_N(col ...), COLUMN(...): the first name inside the parenthesis.
      partitionColumns = clause
        .map((x, n) =>
          x.text === '(' && ['RANGE_N', 'CASE_N'].includes(clause[n - 1]?.value ?? '') ? clause[n + 1] : null,
        )
        .filter((x): x is Token => !!x && (x.type === 'word' || x.type === 'quoted'))
        .map((x) => x.value);
      k = j;
      continue;
    }
    const end = clauseEnd(k);
    trailer.push(text(after.slice(k, end)));
    k = end;
  }
  return { kind, modifiers, name, options, columns, tableItems, indexes, partition, partitionColumns, trailer };
}

/**
 * What Teradata refuses in a CREATE TABLE before it creates anything, or null:
 *
 * - an unknown data type: 3706 (see {@link TYPE_WORDS});
 * - an index or partitioning column that is not a column of the table. Teradata Vantage SQL Data Definition
 *   Language Syntax and Examples, CREATE TABLE, "Index Definition": "index_column_name ... must be defined in the
 *   column list of the table". Error 5628 "Column ... not found in ..." (the code is the one Teradata gives for a
 *   column that does not exist; for this case (verify));
 * - a column defined twice: 3560 "Column ... specified more than once" (verify).
 */
export function checkCreateTable(t: ParsedTable, isType: (name: string) => boolean = () => false): DdlError | null {
  const names = new Set<string>();
  for (const c of t.columns) {
    if (names.has(c.name)) return { code: 3560, text: `Column ${c.name} specified more than once in ${t.name}.` };
    names.add(c.name);
    const type = c.rest[0];
    if (!type || type.type !== 'word' || (!TYPE_WORDS.has(type.value) && !isType(type.value))) {
      return { code: 3706, text: `Syntax error: Data Type "${type?.text ?? ''}" does not match a Defined Type name.` };
    }
  }
  for (const ix of t.indexes) {
    const missing = ix.columns.find((c) => !names.has(c));
    if (missing) return { code: 5628, text: `Column ${missing} not found in ${t.name}.` };
  }
  const missing = t.partitionColumns.find((c) => !names.has(c));
  if (missing) return { code: 5628, text: `Column ${missing} not found in ${t.name}.` };
  return null;
}

const CHAR_TYPES = new Set(['CHAR', 'CHARACTER', 'VARCHAR', 'LONG', 'CLOB']);

/** One column as SHOW TABLE writes it: canonical type name and the attributes Teradata spells out. */
function canonicalColumn(c: ColumnDef, tmode: 'TERA' | 'ANSI'): string {
  const r = c.rest;
  let k = 0;
  const word = r[k]!.value;
  let type: string;
  const paren = (): string => {
    if (r[k]?.text !== '(') return '';
    let d = 0;
    const start = k;
    for (; k < r.length; k++) {
      if (r[k]!.text === '(') d++;
      if (r[k]!.text === ')' && --d === 0) break;
    }
    k++;
    return text(r.slice(start, k)).replace(/\s+/g, '');
  };
  k++;
  if (word === 'INT' || word === 'INTEGER') type = 'INTEGER';
  else if (word === 'DEC' || word === 'DECIMAL' || word === 'NUMERIC') type = 'DECIMAL' + (paren() || '(5,0)');
  else if (word === 'CHARACTER' || word === 'CHAR') {
    if (r[k]?.value === 'VARYING') {
      k++;
      type = 'VARCHAR' + paren();
    } else type = 'CHAR' + (paren() || '(1)');
  } else if (word === 'LONG' && r[k]?.value === 'VARCHAR') {
    k++;
    type = 'LONG VARCHAR';
  } else if (word === 'DOUBLE' && r[k]?.value === 'PRECISION') {
    k++;
    type = 'FLOAT';
  } else if (word === 'REAL') type = 'FLOAT';
  else if (word === 'TIMESTAMP' || word === 'TIME') type = word + (paren() || '(6)');
  else type = word + paren();
  let rest = r.slice(k);
  const attrs: string[] = [type];
  const cs = rest.findIndex((t, n) => t.value === 'CHARACTER' && rest[n + 1]?.value === 'SET');
  if (cs >= 0 && rest[cs + 2]) {
    attrs.push(`CHARACTER SET ${rest[cs + 2]!.value}`);
    rest = [...rest.slice(0, cs), ...rest.slice(cs + 3)];
  }
  const restText = text(rest);
  if (CHAR_TYPES.has(word)) {
    // "CHARACTER SET LATIN ... [NOT] CASESPECIFIC": written out by SHOW when the source leaves them to defaults
    // (Teradata Vantage SQL Data Types and Literals, "Default Case Sensitivity of Character Columns": NOT
    // CASESPECIFIC in Teradata mode, CASESPECIFIC in ANSI mode; the default server character set assumed LATIN).
    if (cs < 0) attrs.push('CHARACTER SET LATIN');
    if (!/\bCASESPECIFIC\b|\b(NOT\s+)?CS\b/i.test(restText))
      attrs.push(tmode === 'TERA' ? 'NOT CASESPECIFIC' : 'CASESPECIFIC');
  }
  // DATE columns get the default format of the system (integer dates): 'YY/MM/DD'.
  if (word === 'DATE' && !/\bFORMAT\b/i.test(restText)) attrs.push("FORMAT 'YY/MM/DD'");
  if (restText) attrs.push(restText);
  return `${c.source.split(/\s/)[0]} ${attrs.join(' ')}`;
}

/**
 * The text `SHOW TABLE` returns for a table created from `t`. Teradata's SHOW TABLE returns the table's DDL in a
 * canonical form, "with every default written out" (Teradata Vantage SQL Data Definition Language Syntax and
 * Examples, SHOW object: "SHOW TABLE ... returns the CREATE TABLE text ... with all defaults"). The double writes:
 *
 * ```
 * CREATE MULTISET TABLE DEV_EDW.orders ,NO FALLBACK ,
 *      NO BEFORE JOURNAL,
 *      NO AFTER JOURNAL,
 *      CHECKSUM = DEFAULT,
 *      DEFAULT MERGEBLOCKRATIO,
 *      MAP = TD_MAP1
 *      (
 *       order_id BIGINT NOT NULL,
 *       status CHAR(1) CHARACTER SET LATIN NOT CASESPECIFIC NOT NULL,
 *       order_date DATE FORMAT 'YY/MM/DD' NOT NULL)
 * PRIMARY INDEX ( customer_id )
 * PARTITION BY RANGE_N(...);
 * ```
 *
 * - SET or MULTISET always (default SET in Teradata mode, MULTISET in ANSI mode);
 * - FALLBACK or NO FALLBACK (default NO FALLBACK, the usual system setting), the journal, checksum, merge block ratio
 *   and map options with their defaults unless the source set them;
 * - types in their canonical names (INT → INTEGER, DEC/NUMERIC → DECIMAL(p,s), CHAR → CHAR(1), TIMESTAMP →
 *   TIMESTAMP(6)), character columns with CHARACTER SET and [NOT] CASESPECIFIC, DATE with FORMAT 'YY/MM/DD';
 *   other attributes (NOT NULL, DEFAULT, TITLE, COMPRESS) as written, whitespace collapsed;
 * - the primary index always (a table without one gets a non-unique primary index on its first column, the
 *   documented default when the table has no PRIMARY KEY or UNIQUE constraint: CREATE TABLE, "Primary Index
 *   Defaults"), then secondary indexes, then PARTITION BY, each as written with `( a ,b )` column lists;
 * - `\n` line ends here (the session sends them as `\r`, as Teradata does); a `;` at the end;
 * - not emulated: the exact spacing of partition expressions, COMPRESS value lists, and `MAP =` on systems before
 *   17.0 (it is written always).
 */
export function canonicalShowTable(t: ParsedTable, qualifiedName: string, tmode: 'TERA' | 'ANSI'): string {
  const kind = t.kind ?? (tmode === 'TERA' ? 'SET' : 'MULTISET');
  const opts = t.options.map((o) => o.toUpperCase());
  const has = (re: RegExp) => opts.some((o) => re.test(o));
  const fallback = opts.find((o) => /^(NO\s+)?FALLBACK\b/.test(o)) ?? 'NO FALLBACK';
  const lines: string[] = [`CREATE ${[...t.modifiers, kind].join(' ')} TABLE ${qualifiedName} ,${fallback} ,`];
  const options: string[] = [];
  options.push(...opts.filter((o) => /JOURNAL/.test(o)));
  if (!has(/BEFORE\s+JOURNAL|^(NO\s+|DUAL\s+)?JOURNAL$/)) options.unshift('NO BEFORE JOURNAL');
  if (!has(/AFTER\s+JOURNAL|^(NO\s+|DUAL\s+)?JOURNAL$/)) options.push('NO AFTER JOURNAL');
  options.push(opts.find((o) => o.startsWith('CHECKSUM')) ?? 'CHECKSUM = DEFAULT');
  options.push(opts.find((o) => /MERGEBLOCKRATIO/.test(o)) ?? 'DEFAULT MERGEBLOCKRATIO');
  options.push(opts.find((o) => o.startsWith('MAP')) ?? 'MAP = TD_MAP1');
  options.push(...opts.filter((o) => !/^(NO\s+)?FALLBACK\b|JOURNAL|^CHECKSUM|MERGEBLOCKRATIO|^MAP\b/.test(o)));
  lines.push(...options.map((o, i) => `     ${o}${i < options.length - 1 ? ',' : ''}`));
  lines.push('     (');
  const items = [...t.columns.map((c) => canonicalColumn(c, tmode)), ...t.tableItems];
  lines.push(...items.map((c, i) => `      ${c}${i < items.length - 1 ? ',' : ')'}`));
  const spaced = (s: string) =>
    s.replace(/\(\s*([^()]*?)\s*\)/, (_m, inner: string) => `( ${inner.split(/\s*,\s*/).join(' ,')} )`);
  const hasPi = t.indexes.some((i) => i.primary);
  const hasKey =
    t.tableItems.some((i) => /^(CONSTRAINT\s+\S+\s+)?(PRIMARY\s+KEY|UNIQUE)\b/i.test(i)) ||
    t.columns.some((c) => /\bPRIMARY\s+KEY\b|\bUNIQUE\b/i.test(text(c.rest)));
  const clauses: string[] = [];
  if (!hasPi && !hasKey && t.columns[0]) clauses.push(`PRIMARY INDEX ( ${t.columns[0].source.split(/\s/)[0]} )`);
  for (const ix of t.indexes) clauses.push(ix.none ? 'NO PRIMARY INDEX' : spaced(ix.text));
  if (t.partition) clauses.push(t.partition);
  clauses.push(...t.trailer);
  return [...lines, ...clauses].join('\n') + ';';
}

/**
 * The CREATE TABLE text of a table taken apart by {@link parseCreateTable} (after the double's ALTER TABLE, CREATE
 * INDEX or DROP INDEX changed its parts), for the double to parse, check and canonicalise again.
 */
export function renderParsedTable(t: ParsedTable): string {
  const head = `CREATE ${[...t.modifiers, ...(t.kind ? [t.kind] : [])].join(' ')} TABLE ${t.name}${t.options.map((o) => `, ${o}`).join('')}`;
  const items = [...t.columns.map((c) => c.source), ...t.tableItems];
  const tail = [...t.indexes.map((i) => i.text), ...(t.partition ? [t.partition] : []), ...t.trailer];
  return `${head} (\n  ${items.join(',\n  ')}\n)\n${tail.join('\n')};`;
}

/** Whether a column definition (after its name) starts with a data type, as in `ADD c INTEGER`, not `ADD c DEFAULT 0`. */
export function startsWithType(definition: string): boolean {
  const first = tokenize(definition, '<fake column>').find(isSignificant);
  return !!first && first.type === 'word' && TYPE_WORDS.has(first.value);
}

const DEFAULT_CLAUSE = /\s*\b(?:WITH\s+DEFAULT|DEFAULT\s+(?:'(?:[^']|'')*'|[^\s,()]+(?:\([^)]*\))?))/i;
const TITLE_CLAUSE = /\s*\bTITLE\s+'(?:[^']|'')*'/i;

/**
 * A column definition with attributes changed by `ALTER TABLE t ADD c <attributes>` on an existing column. Teradata
 * Vantage SQL Data Definition Language Syntax and Examples, ALTER TABLE, "ADD column_name ... to change the attributes
 * of an existing column": the DEFAULT or TITLE given replaces the column's own; `DEFAULT NULL` and `TITLE ''` leave
 * the column without one (how SHOW TABLE writes a column whose default was removed is not documented: verify).
 * Other attributes are appended as written.
 */
export function changeColumnAttributes(columnSource: string, attributes: string): string {
  let out = columnSource;
  let rest = attributes;
  const def = DEFAULT_CLAUSE.exec(rest);
  if (def) {
    out = out.replace(DEFAULT_CLAUSE, '');
    rest = rest.replace(def[0], '');
    if (!/^\s*DEFAULT\s+NULL$/i.test(def[0])) out += ' ' + def[0].trim();
  }
  const title = TITLE_CLAUSE.exec(rest);
  if (title) {
    out = out.replace(TITLE_CLAUSE, '');
    rest = rest.replace(title[0], '');
    if (!/^\s*TITLE\s+''$/i.test(title[0])) out += ' ' + title[0].trim();
  }
  // "You can ... add multi-valued compression to an existing column, or you can drop compression from an existing
  // column by specifying the NO COMPRESS attribute" (SQL Data Definition Language Detailed Topics, "Modifying Column
  // Data Types or Multi-Value Compression"): the column's compression is replaced.
  const compress = COMPRESS_CLAUSE.exec(rest);
  if (compress) {
    out = out.replace(COMPRESS_CLAUSE, '');
    rest = rest.replace(compress[0], '');
    if (!/^\s*NO\s+COMPRESS$/i.test(compress[0])) out += ' ' + compress[0].trim();
  }
  return rest.trim() ? `${out} ${rest.trim()}` : out;
}

const COMPRESS_CLAUSE =
  /\s*\b(?:NO\s+COMPRESS|COMPRESS(?:\s*\((?:'(?:[^']|'')*'|[^()'])*\)|\s+(?:'(?:[^']|'')*'|NULL|[-+]?[\d.]+)(?![\w(]))?)/i;

/** Whether a column definition (after its name) compresses its values (`COMPRESS ...`, not `NO COMPRESS`). */
export function compresses(definition: string): boolean {
  const m = COMPRESS_CLAUSE.exec(definition);
  return !!m && !/^\s*NO\s/i.test(m[0]);
}

const VARYING = /^(VARCHAR|CHARACTER\s+VARYING|CHAR\s+VARYING|VARBYTE|VARGRAPHIC)\s*\(\s*(\d+)\s*\)/i;

/**
 * `ALTER TABLE t ADD c <type> ...` on an existing column: the column's source with its type widened, or null when
 * Teradata refuses the change (3558 "Cannot alter the specified attribute(s)"). "The data type defined for a column
 * can be changed only if the new type does not require a change to the existing data ... VARCHAR(6) to VARCHAR(12)
 * valid, VARCHAR(12) to VARCHAR(6) not valid"; "You cannot use ALTER TABLE to change the character set attribute of
 * an existing column"; "Cannot change the data type for a column specified in a primary or secondary index" (SQL Data
 * Definition Language Detailed Topics, ALTER TABLE, "Data Type and Attribute Definitions", "Rules for Changing Column
 * Data Types"). The double keeps the column's other attributes as they were and adds no FORMAT (one report shows a
 * live system keeping the old length's `FORMAT 'X(n)'`: verify).
 */
export function widenColumn(columnSource: string, definition: string, indexed: boolean): string | null {
  const space = columnSource.search(/\s/);
  const oldDef = columnSource.slice(space + 1).trim();
  const from = VARYING.exec(oldDef);
  const to = VARYING.exec(definition.trim());
  if (indexed || !from || !to) return null;
  const word = (m: RegExpExecArray) =>
    m[1]!
      .replace(/\s+/g, ' ')
      .toUpperCase()
      .replace(/^CHAR(ACTER)? VARYING$/, 'VARCHAR');
  if (word(from) !== word(to) || Number(to[2]) <= Number(from[2])) return null;
  const charset = (d: string) => /\bCHARACTER\s+SET\s+(\w+)/i.exec(d)?.[1]?.toUpperCase() ?? null;
  const wanted = charset(definition);
  if (wanted && wanted !== (charset(oldDef) ?? 'LATIN')) return null;
  return `${columnSource.slice(0, space)} ${from[1]}(${to[2]})${oldDef.slice(from[0].length)}`;
}

/** `ALTER TABLE t RENAME a TO b` (or `AS b`): the column's old and new names (upper case), or null. */
export function alterRenameColumn(sql: string): { from: string; to: string } | null {
  const w = tokenize(sql, '<fake alter>').filter((t) => isSignificant(t) && t.type !== 'semicolon');
  if (w[0]?.value !== 'ALTER' || w[1]?.value !== 'TABLE') return null;
  const at = w.findIndex((t, k) => k > 2 && t.type === 'word' && t.value === 'RENAME');
  if (at < 0 || !w[at + 1] || !['TO', 'AS'].includes(w[at + 2]?.value ?? '') || !w[at + 3]) return null;
  return { from: w[at + 1]!.value, to: w[at + 3]!.value };
}

/** `ALTER TABLE t DROP c, DROP d`: the columns dropped (upper case), or null for any other ALTER. */
export function alterDropColumns(sql: string): string[] | null {
  const w = tokenize(sql, '<fake alter>').filter((t) => isSignificant(t) && t.type !== 'semicolon');
  if (w[0]?.value !== 'ALTER' || w[1]?.value !== 'TABLE') return null;
  const out: string[] = [];
  let depth = 0;
  for (let k = 2; k < w.length; k++) {
    const t = w[k]!;
    if (t.text === '(') depth++;
    if (t.text === ')') depth--;
    if (depth !== 0 || t.type !== 'word') continue;
    if (t.value === 'ADD') return null;
    if (t.value === 'DROP' && w[k + 1]) out.push(w[k + 1]!.value);
  }
  return out.length ? out : null;
}

/**
 * `CREATE [UNIQUE] INDEX [name] (cols) ON t` / `DROP INDEX name ON t` / `DROP INDEX (cols) ON t` (Teradata Vantage
 * SQL Data Definition Language Syntax and Examples, CREATE INDEX, DROP INDEX): the index as the table's SHOW text
 * writes it, its name and columns.
 */
export function secondaryIndexClause(
  sql: string,
): { unique: boolean; name: string | null; columns: string[]; clause: string } | null {
  const w = tokenize(sql, '<fake index>').filter((t) => isSignificant(t) && t.type !== 'semicolon');
  const at = w.findIndex((t) => t.type === 'word' && t.value === 'INDEX');
  if (at < 0) return null;
  const unique = w[at - 1]?.value === 'UNIQUE';
  const name = w[at + 1] && w[at + 1]!.text !== '(' ? w[at + 1]!.value : null;
  const on = w.findIndex((t, k) => k > at && t.type === 'word' && t.value === 'ON');
  if (name === 'ON' || on < 0) return null;
  const columns = parenNames(w.slice(0, on), at);
  const clause = `${unique ? 'UNIQUE ' : ''}INDEX ${name ? name + ' ' : ''}(${columns.join(', ')})`;
  return { unique, name, columns, clause };
}
