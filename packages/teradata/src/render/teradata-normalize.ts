import { quoteIdent } from '../parse/teradata-identifiers';
import { CONSTRAINT_WORDS } from '../parse/table-columns';
import { parseTeradata } from '../parse/teradata-parser';
import { splitStatements, type Token } from '../parse/splitter';

/**
 * Canonical text of a Teradata definition, so that an object read back with SHOW compares equal to its source.
 *
 * - Line endings, whitespace, comments and letter case (outside strings) do not matter; `REPLACE` equals `CREATE`.
 * - Tables: SHOW TABLE spells out every default. The defaults are removed from both sides: `NO FALLBACK`,
 *   `NO BEFORE JOURNAL`, `NO AFTER JOURNAL`, `CHECKSUM = DEFAULT`, `DEFAULT MERGEBLOCKRATIO`, `MAP = TD_MAP1`,
 *   `BLOCKCOMPRESSION = DEFAULT`, `DEFAULT DATABLOCKSIZE`, `DEFAULT FREESPACE`, `LOG`; column
 *   `CHARACTER SET <default>`, `NOT CASESPECIFIC` (TERA) or `CASESPECIFIC` (ANSI), `FORMAT 'YY/MM/DD'` on DATE,
 *   a bare `NULL`; type synonyms and default lengths (`INT` = `INTEGER`, `CHAR` = `CHAR(1)`,
 *   `DECIMAL` = `DECIMAL(5,0)`, `TIMESTAMP` = `TIMESTAMP(6)`...). A table without SET/MULTISET gets the session
 *   mode's default (SET in TERA mode, MULTISET in ANSI mode). Table options are sorted.
 * - An unqualified object name is qualified with `defaultDatabase` when given.
 */

export interface NormalizeOptions {
  /** Transaction mode the objects were created in: decides the SET/MULTISET and CASESPECIFIC defaults. Default TERA. */
  tmode?: 'TERA' | 'ANSI';
  /** The database's default character set for character columns. Default LATIN. */
  defaultCharacterSet?: 'LATIN' | 'UNICODE';
  /** The database's default protection: when true, `FALLBACK` is the default and `NO FALLBACK` is kept. Default false. */
  defaultFallback?: boolean;
  /** The system's default map. Default `TD_MAP1`. */
  defaultMap?: string;
  /** Default DATE format SHOW writes out. Default `YY/MM/DD`. */
  defaultDateFormat?: string;
  /** Qualifies an unqualified object name. */
  defaultDatabase?: string;
}

type Item = { type: Token['type']; text: string };

const CHAR_TYPES = new Set(['CHAR', 'VARCHAR', 'CLOB']);
const TABLE_MODIFIERS = new Set(['SET', 'MULTISET', 'GLOBAL', 'TEMPORARY', 'VOLATILE']);

function toItems(tokens: Token[]): Item[] {
  const out: Item[] = [];
  for (const t of tokens) {
    if (t.type === 'word') out.push({ type: 'word', text: t.value });
    else if (t.type === 'quoted') out.push({ type: 'word', text: quoteIdent(t.value) });
    else out.push({ type: t.type, text: t.text });
  }
  return out;
}

const isP = (i: Item | undefined, text: string): boolean => !!i && i.type === 'punct' && i.text === text;
const isW = (i: Item | undefined, ...texts: string[]): boolean => !!i && i.type === 'word' && texts.includes(i.text);

/** Join items with single spaces, none inside `( )`, before `,` or around `.` and after `:`. */
export function renderItems(items: Item[]): string {
  let out = '';
  let prev: Item | undefined;
  for (const it of items) {
    const tight =
      !prev ||
      isP(prev, '(') ||
      isP(prev, '.') ||
      isP(prev, ':') ||
      isP(it, ')') ||
      isP(it, ',') ||
      isP(it, '.') ||
      isP(it, '(');
    out += (tight ? '' : ' ') + it.text;
    prev = it;
  }
  return out;
}

/** Index just past the balanced parenthesis group that opens at `i`. */
function closeParen(items: Item[], i: number): number {
  let depth = 0;
  for (let k = i; k < items.length; k++) {
    if (isP(items[k], '(')) depth++;
    else if (isP(items[k], ')') && --depth === 0) return k + 1;
  }
  return items.length;
}

/** Split items at top-level commas. */
function splitTop(items: Item[]): Item[][] {
  const parts: Item[][] = [[]];
  let depth = 0;
  for (const it of items) {
    if (isP(it, '(')) depth++;
    if (isP(it, ')')) depth--;
    if (depth === 0 && isP(it, ',')) parts.push([]);
    else parts[parts.length - 1]!.push(it);
  }
  return parts.filter((p) => p.length);
}

interface Header {
  /** Index of the kind word (TABLE, VIEW...). */
  kindAt: number;
  kind: string;
  /** Index of the first item of the object name, and just past it. */
  nameAt: number;
  nameEnd: number;
}

function readHeader(items: Item[]): Header | null {
  if (!isW(items[0], 'CREATE', 'REPLACE')) return null;
  let i = 1;
  while (isW(items[i], ...TABLE_MODIFIERS)) i++;
  const word = items[i];
  if (!word || word.type !== 'word') return null;
  let kind = word.text;
  let next = i + 1;
  if ((kind === 'JOIN' || kind === 'HASH') && isW(items[next], 'INDEX')) {
    kind += ' INDEX';
    next++;
  } else if (kind === 'RECURSIVE' && isW(items[next], 'VIEW')) {
    kind = 'VIEW';
    next++;
  } else if (kind === 'SPECIFIC' && isW(items[next], 'FUNCTION')) {
    kind = 'FUNCTION';
    next++;
  }
  let end = next + 1;
  while (isP(items[end], '.') && items[end + 1]?.type === 'word') end += 2;
  return { kindAt: i, kind, nameAt: next, nameEnd: end };
}

function normalizeOption(opt: Item[], o: Required<Omit<NormalizeOptions, 'defaultDatabase'>>): string | null {
  let text = renderItems(opt);
  text = text
    .replace(/\bPROTECTION$/, '')
    .trim()
    .replace(/\s*=\s*/g, ' = ');
  const defaults = new Set([
    o.defaultFallback ? 'FALLBACK' : 'NO FALLBACK',
    'NO BEFORE JOURNAL',
    'NO AFTER JOURNAL',
    'NO JOURNAL',
    'CHECKSUM = DEFAULT',
    'DEFAULT MERGEBLOCKRATIO',
    `MAP = ${o.defaultMap}`,
    'BLOCKCOMPRESSION = DEFAULT',
    'DEFAULT DATABLOCKSIZE',
    'DEFAULT FREESPACE',
    'LOG',
  ]);
  return defaults.has(text) ? null : text;
}

function normalizeType(items: Item[]): Item[] {
  const out = [...items];
  const t = out[0];
  if (!t || t.type !== 'word') return out;
  const word = (text: string): Item => ({ type: 'word', text });
  const punct = (text: string): Item => ({ type: 'punct', text });
  const num = (text: string): Item => ({ type: 'number', text });
  if (t.text === 'CHARACTER' || t.text === 'CHAR') {
    if (isW(out[1], 'VARYING')) out.splice(0, 2, word('VARCHAR'));
    else out[0] = word('CHAR');
  }
  if (t.text === 'INT') out[0] = word('INTEGER');
  if (t.text === 'DEC' || t.text === 'NUMERIC') out[0] = word('DECIMAL');
  if (t.text === 'REAL') out[0] = word('FLOAT');
  if (t.text === 'DOUBLE' && isW(out[1], 'PRECISION')) out.splice(0, 2, word('FLOAT'));
  const head = out[0]!.text;
  const hasLength = isP(out[1], '(');
  if (!hasLength) {
    if (head === 'CHAR' || head === 'BYTE' || head === 'GRAPHIC') out.splice(1, 0, punct('('), num('1'), punct(')'));
    if (head === 'DECIMAL') out.splice(1, 0, punct('('), num('5'), punct(','), num('0'), punct(')'));
    if (head === 'TIMESTAMP' || head === 'TIME') out.splice(1, 0, punct('('), num('6'), punct(')'));
  } else if (head === 'DECIMAL' && isP(out[3], ')')) {
    out.splice(3, 0, punct(','), num('0'));
  }
  return out;
}

function normalizeColumn(col: Item[], o: Required<Omit<NormalizeOptions, 'defaultDatabase'>>): Item[] {
  const [name, ...rest] = col;
  const typed = normalizeType(rest);
  const typeWord = typed[0]?.text ?? '';
  const out: Item[] = [];
  for (let i = 0; i < typed.length; i++) {
    const it = typed[i]!;
    // CHARACTER SET <default>
    if (isW(it, 'CHARACTER') && isW(typed[i + 1], 'SET') && CHAR_TYPES.has(typeWord)) {
      if (isW(typed[i + 2], o.defaultCharacterSet)) {
        i += 2;
        continue;
      }
    }
    // [NOT] CASESPECIFIC / [NOT] CS: drop the mode's default.
    if (isW(it, 'NOT') && isW(typed[i + 1], 'CASESPECIFIC', 'CS')) {
      if (o.tmode === 'TERA') {
        i += 1;
        continue;
      }
      out.push(it, { type: 'word', text: 'CASESPECIFIC' });
      i += 1;
      continue;
    }
    if (isW(it, 'CASESPECIFIC', 'CS')) {
      if (o.tmode === 'ANSI') continue;
      out.push({ type: 'word', text: 'CASESPECIFIC' });
      continue;
    }
    if (
      isW(it, 'FORMAT') &&
      typeWord === 'DATE' &&
      typed[i + 1]?.type === 'string' &&
      typed[i + 1]!.text === `'${o.defaultDateFormat}'`
    ) {
      i += 1;
      continue;
    }
    if (isW(it, 'NULL') && !isW(out[out.length - 1], 'NOT') && !isW(out[out.length - 1], 'DEFAULT')) continue;
    out.push(it);
  }
  return [name!, ...out];
}

function normalizeTable(items: Item[], h: Header, o: Required<Omit<NormalizeOptions, 'defaultDatabase'>>): Item[] {
  const head = items.slice(0, h.nameEnd);
  const modifiers = head.slice(1, h.kindAt).map((m) => m.text);
  if (!modifiers.includes('SET') && !modifiers.includes('MULTISET')) {
    head.splice(1, 0, { type: 'word', text: o.tmode === 'ANSI' ? 'MULTISET' : 'SET' });
  }
  let i = h.nameEnd;
  // Table options: `, NO FALLBACK, ...` up to the column list (or AS for CREATE TABLE ... AS).
  const opts: Item[] = [];
  while (i < items.length && !isP(items[i], '(') && !isW(items[i], 'AS')) opts.push(items[i++]!);
  const options = splitTop(opts)
    .map((opt) => normalizeOption(opt, o))
    .filter((x): x is string => x !== null)
    .sort();
  const out: Item[] = [...head];
  for (const opt of options) out.push({ type: 'punct', text: ',' }, { type: 'word', text: opt });
  if (isP(items[i], '(')) {
    const end = closeParen(items, i);
    const elements = splitTop(items.slice(i + 1, end - 1));
    out.push({ type: 'punct', text: '(' });
    elements.forEach((el, k) => {
      if (k) out.push({ type: 'punct', text: ',' });
      const isColumn = el[0]?.type === 'word' && !CONSTRAINT_WORDS.has(el[0].text.toUpperCase());
      out.push(...(isColumn ? normalizeColumn(el, o) : el));
    });
    out.push({ type: 'punct', text: ')' });
    i = end;
  }
  out.push(...items.slice(i));
  return out;
}

function defaults(options: NormalizeOptions): Required<Omit<NormalizeOptions, 'defaultDatabase'>> {
  return {
    tmode: options.tmode ?? 'TERA',
    defaultCharacterSet: options.defaultCharacterSet ?? 'LATIN',
    defaultFallback: options.defaultFallback ?? false,
    defaultMap: (options.defaultMap ?? 'TD_MAP1').toUpperCase(),
    defaultDateFormat: options.defaultDateFormat ?? 'YY/MM/DD',
  };
}

/** Canonical items of one statement. */
function normalizeItems(tokens: Token[], options: NormalizeOptions): Item[] {
  let items = toItems(tokens);
  if (isW(items[0], 'REPLACE')) items[0] = { type: 'word', text: 'CREATE' };
  if (isW(items[0], 'CT')) items.splice(0, 1, { type: 'word', text: 'CREATE' }, { type: 'word', text: 'TABLE' });
  const h = readHeader(items);
  if (!h) return items;
  if (
    options.defaultDatabase &&
    h.nameEnd === h.nameAt + 1 &&
    h.kind !== 'DATABASE' &&
    h.kind !== 'USER' &&
    h.kind !== 'ROLE'
  ) {
    items.splice(
      h.nameAt,
      0,
      { type: 'word', text: quoteIdent(options.defaultDatabase) },
      { type: 'punct', text: '.' },
    );
    h.nameEnd += 2;
  }
  if (h.kind === 'TABLE') items = normalizeTable(items, h, defaults(options));
  return items;
}

/** Canonical text of the first statement of `sql` (see the module comment for what is normalised). */
export function normalizeDefinition(sql: string, options: NormalizeOptions = {}): string {
  const statements = splitStatements(sql.replace(/\r\n?/g, '\n'), '<definition>', { bteq: 'skip' });
  return statements.length ? renderItems(normalizeItems(statements[0]!.words, options)) : '';
}

export interface DefinitionComparison {
  equal: boolean;
  /** Canonical source text. */
  source: string;
  /** Canonical text of the matching statement of the SHOW output. */
  live: string;
}

/**
 * Compare a source statement with SHOW output. SHOW may return several statements; the one that defines the same
 * object is compared (else the first).
 */
export function compareDefinitions(
  sourceText: string,
  showText: string,
  options: NormalizeOptions = {},
): DefinitionComparison {
  const searchPath = options.defaultDatabase ? [options.defaultDatabase] : [];
  const source = splitStatements(sourceText.replace(/\r\n?/g, '\n'), '<source>', { bteq: 'skip' })[0];
  const liveStatements = splitStatements(showText.replace(/\r\n?/g, '\n'), '<SHOW output>', { bteq: 'skip' });
  if (!source || !liveStatements.length)
    return {
      equal: !source && !liveStatements.length,
      source: source ? renderItems(normalizeItems(source.words, options)) : '',
      live: '',
    };
  const key = parseTeradata(source.sql, '<source>', { searchPath })[0]?.key;
  const match =
    liveStatements.find((s) => {
      const k = parseTeradata(s.sql, '<SHOW output>', { searchPath })[0]?.key;
      return k && key && k.name === key.name && k.schema === key.schema;
    }) ?? liveStatements[0]!;
  const a = renderItems(normalizeItems(source.words, options));
  const b = renderItems(normalizeItems(match.words, options));
  return { equal: a === b, source: a, live: b };
}

/** Physical attributes of a table, from its DDL: what core's neutral model keeps in its engine-specific slot. */
export interface TeradataTableAttributes {
  /** SET rejects duplicate rows; MULTISET allows them. */
  tableKind: 'SET' | 'MULTISET';
  /** FALLBACK protection. */
  fallback: boolean;
  /** The primary index; null for `NO PRIMARY INDEX` (a NoPI table); undefined when the DDL does not say. */
  primaryIndex?: { unique: boolean; columns: string[]; amp: boolean } | null;
  /** Canonical `PARTITION BY` expression, or null. */
  partitioning: string | null;
}

/** Read {@link TeradataTableAttributes} from a CREATE TABLE (source or SHOW TABLE output). */
export function tableAttributesFromSql(sql: string, options: NormalizeOptions = {}): TeradataTableAttributes | null {
  const o = defaults(options);
  const statement = splitStatements(sql.replace(/\r\n?/g, '\n'), '<definition>', { bteq: 'skip' })[0];
  if (!statement) return null;
  const items = normalizeItems(statement.words, options);
  const h = readHeader(items);
  if (!h || h.kind !== 'TABLE') return null;
  const modifiers = items.slice(1, h.kindAt).map((m) => m.text);
  const tableKind = modifiers.includes('MULTISET')
    ? 'MULTISET'
    : modifiers.includes('SET')
      ? 'SET'
      : o.tmode === 'ANSI'
        ? 'MULTISET'
        : 'SET';
  // Options (already without defaults) sit between the name and the column list.
  let i = h.nameEnd;
  let fallback = o.defaultFallback;
  while (i < items.length && !isP(items[i], '(') && !isW(items[i], 'AS')) {
    if (items[i]!.text === 'FALLBACK') fallback = true;
    if (items[i]!.text === 'NO FALLBACK') fallback = false;
    i++;
  }
  if (isP(items[i], '(')) i = closeParen(items, i);
  const attrs: TeradataTableAttributes = { tableKind, fallback, partitioning: null };
  let depth = 0;
  for (; i < items.length; i++) {
    const it = items[i]!;
    if (isP(it, '(')) depth++;
    if (isP(it, ')')) depth--;
    if (depth !== 0) continue;
    if (isW(it, 'NO') && isW(items[i + 1], 'PRIMARY') && isW(items[i + 2], 'INDEX')) attrs.primaryIndex = null;
    if (
      isW(it, 'PRIMARY') &&
      !isW(items[i - 1], 'NO') &&
      (isW(items[i + 1], 'INDEX') || (isW(items[i + 1], 'AMP') && isW(items[i + 2], 'INDEX')))
    ) {
      const amp = isW(items[i + 1], 'AMP');
      let k = i + (amp ? 3 : 2);
      if (items[k]?.type === 'word') k++; // index name
      const cols: string[] = [];
      if (isP(items[k], '(')) {
        const end = closeParen(items, k);
        for (const c of items.slice(k + 1, end - 1)) if (c.type === 'word') cols.push(c.text);
      }
      attrs.primaryIndex = { unique: isW(items[i - 1], 'UNIQUE'), columns: cols, amp };
    }
    if (isW(it, 'PARTITION') && isW(items[i + 1], 'BY')) {
      let k = i + 2;
      const start = k;
      if (items[k]?.type === 'word' && isP(items[k + 1], '(')) k = closeParen(items, k + 1);
      else if (isP(items[k], '(')) k = closeParen(items, k);
      else k++;
      attrs.partitioning = renderItems(items.slice(start, k));
    }
  }
  return attrs;
}
