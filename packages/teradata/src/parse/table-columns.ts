import { isSignificant, type Token, tokenize } from './splitter';

/**
 * Words that open a table-level item of a `CREATE TABLE` column list (a constraint, an index, a period, a
 * partitioning clause) rather than a column definition.
 */
export const CONSTRAINT_WORDS: ReadonlySet<string> = new Set([
  'CONSTRAINT',
  'PRIMARY',
  'UNIQUE',
  'FOREIGN',
  'CHECK',
  'INDEX',
  'PERIOD',
  'PARTITION',
]);

/** The column list of a `CREATE TABLE`, found among its significant tokens (see {@link columnList}). */
export interface ColumnList {
  /** Index of the list's `(` among the tokens. */
  open: number;
  /** Index of the `)` that closes it. */
  close: number;
  /** Its items, split at the commas outside parentheses: column definitions and table-level items. */
  items: Token[][];
}

/**
 * The column list of a `CREATE [SET|MULTISET] TABLE name [, options] ( ... )` given as its significant tokens: the
 * first parenthesis after `TABLE <name>`. Null when there is none (`CREATE TABLE x AS y WITH DATA`: an `AS` comes
 * first) or it is not closed. The one place that reads a table's column list: `tableColumns`, the table model of
 * diffs, and the test double's tables all start here.
 */
export function columnList(tokens: readonly Token[]): ColumnList | null {
  const tableAt = tokens.findIndex((t) => t.type === 'word' && t.value === 'TABLE');
  if (tableAt < 0) return null;
  let open = tableAt + 1;
  while (open < tokens.length && !(tokens[open]!.type === 'punct' && tokens[open]!.text === '(')) {
    if (tokens[open]!.type === 'word' && tokens[open]!.value === 'AS') return null;
    open++;
  }
  if (open >= tokens.length) return null;
  const items: Token[][] = [[]];
  let depth = 0;
  for (let k = open + 1; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'punct' && t.text === '(') depth++;
    else if (t.type === 'punct' && t.text === ')') {
      if (depth === 0) return { open, close: k, items: items.filter((i) => i.length) };
      depth--;
    } else if (depth === 0 && t.type === 'punct' && t.text === ',') {
      items.push([]);
      continue;
    }
    items[items.length - 1]!.push(t);
  }
  return null;
}

/** Whether a column-list item is a column definition (its first word opens no table-level item). */
export function isColumnItem(item: readonly Token[]): boolean {
  const head = item[0];
  return !!head && (head.type === 'quoted' || (head.type === 'word' && !CONSTRAINT_WORDS.has(head.value)));
}

/**
 * Column names of a `CREATE TABLE ... ( col type, ... )`, upper case, in order; null when the statement has no
 * column list (`CREATE TABLE x AS y WITH DATA`).
 */
export function tableColumns(createSql: string): string[] | null {
  const list = columnList(tokenize(createSql, '<statement>').filter(isSignificant));
  return list ? list.items.filter(isColumnItem).map((item) => item[0]!.value) : null;
}

/**
 * Teradata's predefined data types, as a column definition's first word names them (SQL Data Types and Literals):
 * any other word there names a user-defined type, which lives in SYSUDTLIB (`ST_GEOMETRY` and `MBR` are such types,
 * made by the system).
 */
const PREDEFINED_TYPES: ReadonlySet<string> = new Set(
  (
    'BYTEINT SMALLINT INTEGER INT BIGINT DECIMAL DEC NUMERIC NUMBER FLOAT REAL DOUBLE CHAR CHARACTER VARCHAR LONG ' +
    'CLOB BLOB BINARY BYTE VARBYTE GRAPHIC VARGRAPHIC DATE TIME TIMESTAMP INTERVAL PERIOD JSON XML XMLTYPE DATASET ARRAY VARRAY'
  ).split(' '),
);

/**
 * The user-defined type of a column definition (its tokens, the column's name first): `SYSUDTLIB.money` or a bare
 * `money` that is no predefined type, with its first token; null for a predefined type or a table-level item.
 */
export function columnUdt(item: readonly Token[]): { name: string; token: Token } | null {
  const head = item[0];
  const type = item[1];
  if (!head || !type || (head.type === 'word' && CONSTRAINT_WORDS.has(head.value))) return null;
  if (type.type !== 'word' && type.type !== 'quoted') return null;
  if (type.value === 'SYSUDTLIB' && item[2]?.text === '.' && item[3]) return { name: item[3].value, token: type };
  if (type.type === 'word' && PREDEFINED_TYPES.has(type.value)) return null;
  return { name: type.value, token: type };
}
