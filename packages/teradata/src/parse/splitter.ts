import { DbeeError } from '@dbee/core';

/**
 * Teradata SQL lexer and statement splitter. Teradata has no parser on npm (see the research note), so dbee
 * splits and classifies statements itself. The lexer knows exactly what it must to find statement boundaries:
 * string literals (`''` escapes), quoted identifiers (`""` escapes), `--` and `/* *\/` comments, BTEQ
 * dot-commands, parentheses (macro and trigger bodies) and BEGIN ... END blocks of procedure bodies.
 */

export type TokenType =
  /** Keyword or unquoted identifier. */
  | 'word'
  /** `"quoted identifier"`. */
  | 'quoted'
  /** `'string literal'`. */
  | 'string'
  | 'number'
  /** Any other single character: `(`, `)`, `,`, `.`, `=`, `:`, `?`... */
  | 'punct'
  | 'semicolon'
  | 'line-comment'
  | 'block-comment'
  | 'whitespace'
  /** A BTEQ dot-command line (`.LOGON ...`), only recognised between statements. */
  | 'bteq';

export interface Token {
  type: TokenType;
  /** The exact source text. */
  text: string;
  /** Upper-cased text for words; the unescaped, upper-cased name for quoted identifiers. */
  value: string;
  /** Offset of the first character in the source. */
  start: number;
  /** Offset just past the last character. */
  end: number;
  /** 1-based line of the first character. */
  line: number;
  /** 1-based column of the first character. */
  column: number;
}

/** Tokens that carry meaning (not whitespace or comments). */
export function isSignificant(t: Token): boolean {
  return t.type !== 'whitespace' && t.type !== 'line-comment' && t.type !== 'block-comment';
}

function syntaxError(message: string, file: string, line: number, column: number, hint?: string): DbeeError {
  return new DbeeError(message, {
    code: 'SQL_SYNTAX',
    location: { file, line, column },
    hint,
    details: { file, line, column },
  });
}

const WORD_START = /[\p{L}_$#@]/u;
const WORD_PART = /[\p{L}\p{N}_$#@]/u;

/**
 * Split source text into tokens. Throws `DbeeError` `SQL_SYNTAX` (with file, line and column of the opening
 * character) for an unterminated string, quoted identifier or block comment.
 */
export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  // True while no significant token has been seen since the start of the text or the last `;`.
  let atBoundary = true;
  const n = text.length;

  const push = (type: TokenType, start: number, end: number, value?: string): void => {
    const tokText = text.slice(start, end);
    tokens.push({ type, text: tokText, value: value ?? tokText, start, end, line, column: start - lineStart + 1 });
  };
  // Advance line counters over text[from, to).
  const advanceLines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) {
      const c = text.charCodeAt(k);
      if (c === 10 || (c === 13 && text.charCodeAt(k + 1) !== 10)) {
        line++;
        lineStart = k + 1;
      }
    }
  };

  while (i < n) {
    const c = text[i]!;
    const start = i;
    // Whitespace.
    if (/\s/.test(c)) {
      while (i < n && /\s/.test(text[i]!)) i++;
      push('whitespace', start, i);
      advanceLines(start, i);
      continue;
    }
    // BTEQ dot-command: `.` as the first non-blank of a line, between statements, followed by a letter.
    if (c === '.' && atBoundary && /^[ \t]*$/.test(text.slice(lineStart, i)) && /[A-Za-z]/.test(text[i + 1] ?? '')) {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      push('bteq', start, i);
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      push('line-comment', start, i);
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0)
        throw syntaxError('unterminated comment: "/*" has no closing "*/"', file, line, start - lineStart + 1);
      i = close + 2;
      push('block-comment', start, i);
      advanceLines(start, i);
      continue;
    }
    if (c === "'" || c === '"') {
      // `''` inside a string and `""` inside a quoted identifier are escaped quotes.
      let k = i + 1;
      for (;;) {
        const q = text.indexOf(c, k);
        if (q < 0) {
          const what = c === "'" ? 'string literal' : 'quoted identifier';
          throw syntaxError(
            `unterminated ${what}: ${c} has no closing ${c}`,
            file,
            line,
            start - lineStart + 1,
            c === "'" ? "write a quote inside a string as ''" : 'write a double quote inside a quoted name as ""',
          );
        }
        if (text[q + 1] === c) {
          k = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      const inner = text
        .slice(start + 1, i - 1)
        .split(c + c)
        .join(c);
      push(c === "'" ? 'string' : 'quoted', start, i, c === '"' ? inner.toUpperCase() : inner);
      advanceLines(start, i);
      atBoundary = false;
      continue;
    }
    if (WORD_START.test(c)) {
      while (i < n && WORD_PART.test(text[i]!)) i++;
      push('word', start, i, text.slice(start, i).toUpperCase());
      atBoundary = false;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(\d*\.?\d+|\d+\.)([eE][+-]?\d+)?/.exec(text.slice(i))!;
      i += m[0].length;
      push('number', start, i);
      atBoundary = false;
      continue;
    }
    i++;
    if (c === ';') {
      push('semicolon', start, i);
      atBoundary = true;
      continue;
    }
    push('punct', start, i);
    atBoundary = false;
  }
  return tokens;
}

/** One statement found by {@link splitStatements}. */
export interface SplitStatement {
  /** Text from the first to the last significant token, comments inside kept, without the `;`. */
  sql: string;
  /** All tokens of the statement (including comments inside it), without the terminating `;`. */
  tokens: Token[];
  /** Significant tokens only. */
  words: Token[];
  line: number;
  column: number;
  start: number;
  end: number;
}

export interface SplitOptions {
  /**
   * What to do with BTEQ dot-commands (`.LOGON`, `.SET ...`) found between statements: `reject` (default) throws
   * `DbeeError` `BTEQ_COMMAND`; `skip` ignores them.
   */
  bteq?: 'reject' | 'skip';
}

/** Kinds of statement whose body holds `;`-terminated statements inside BEGIN ... END. */
const ROUTINE_KINDS = new Set(['PROCEDURE', 'FUNCTION', 'TRIGGER']);
/** Words after END that close a construct which did not open a block (IF, LOOP...). */
const END_NON_BLOCK = new Set(['IF', 'LOOP', 'WHILE', 'FOR', 'REPEAT', 'TRANSACTION', 'LOGGING', 'QUERY', 'ISOLATED']);

/** `CREATE|REPLACE [SPECIFIC] PROCEDURE|FUNCTION|TRIGGER`, checked as the words arrive. */
function isRoutineHeader(words: Token[]): boolean {
  const first = words[0]!.value;
  if (first !== 'CREATE' && first !== 'REPLACE') return false;
  const last = words[words.length - 1]!;
  if (words.length === 2) return ROUTINE_KINDS.has(last.value);
  return words.length === 3 && words[1]!.value === 'SPECIFIC' && last.value === 'FUNCTION';
}

/**
 * Split Teradata source text into statements at `;`. A `;` does not end a statement inside parentheses (macro
 * bodies `AS ( ...; ...; )`, trigger bodies) or inside the BEGIN ... END body of a procedure, SQL function or
 * trigger (nested BEGIN/END, CASE ... END [CASE], IF/LOOP/WHILE/FOR/REPEAT ... END IF etc. are understood).
 */
export function splitStatements(text: string, file: string, options: SplitOptions = {}): SplitStatement[] {
  const tokens = tokenize(text, file);
  const out: SplitStatement[] = [];
  let current: Token[] = [];
  let words: Token[] = [];
  const parens: Token[] = [];
  const blocks: Token[] = [];
  let routine = false;
  let skip = -1;

  const nextWord = (from: number): Token | undefined => {
    for (let k = from + 1; k < tokens.length; k++) if (isSignificant(tokens[k]!)) return tokens[k];
    return undefined;
  };
  const flush = (): void => {
    if (words.length) {
      const first = words[0]!;
      const last = words[words.length - 1]!;
      const firstIdx = current.indexOf(first);
      const lastIdx = current.indexOf(last);
      out.push({
        sql: text.slice(first.start, last.end),
        tokens: current.slice(firstIdx, lastIdx + 1),
        words,
        line: first.line,
        column: first.column,
        start: first.start,
        end: last.end,
      });
    }
    current = [];
    words = [];
    parens.length = 0;
    blocks.length = 0;
    routine = false;
  };

  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'bteq') {
      if (options.bteq === 'skip') continue;
      throw new DbeeError(`BTEQ command "${t.text.trim().split(/\s+/)[0]}" in a SQL source file`, {
        code: 'BTEQ_COMMAND',
        location: { file, line: t.line, column: t.column },
        hint: 'dbee sources hold SQL only: it opens the session itself; remove the dot-command (export BTEQ scripts with `toBteq`)',
        details: { command: t.text.trim().split(/\s+/)[0] },
      });
    }
    if (t.type === 'semicolon' && parens.length === 0 && blocks.length === 0) {
      flush();
      continue;
    }
    current.push(t);
    if (!isSignificant(t)) continue;
    words.push(t);
    if (t.type === 'punct' && t.text === '(') parens.push(t);
    else if (t.type === 'punct' && t.text === ')') {
      if (!parens.pop()) throw syntaxError('unbalanced ")": no "(" is open here', file, t.line, t.column);
    } else if (t.type === 'word') {
      if (!routine && isRoutineHeader(words)) {
        routine = true;
      } else if (routine) {
        const next = nextWord(k);
        if (k === skip) continue; // the CASE of `END CASE`
        if (t.value === 'BEGIN' && next?.value !== 'TRANSACTION' && next?.value !== 'WORK') blocks.push(t);
        else if (t.value === 'CASE') blocks.push(t);
        else if (t.value === 'END' && !(next && next.type === 'word' && END_NON_BLOCK.has(next.value))) {
          if (!blocks.pop()) throw syntaxError('unbalanced END: no BEGIN or CASE is open here', file, t.line, t.column);
          if (next && next.type === 'word' && next.value === 'CASE') skip = tokens.indexOf(next, k);
        }
      }
    }
  }
  if (parens.length) {
    const p = parens[parens.length - 1]!;
    throw syntaxError('unclosed "(": the statement ends before its ")"', file, p.line, p.column);
  }
  if (blocks.length) {
    const b = blocks[blocks.length - 1]!;
    throw syntaxError(`${b.value} has no matching END before the end of the file`, file, b.line, b.column);
  }
  flush();
  return out;
}
