/**
 * Positions in an editor's text, and the names written in it. An editor counts lines from 0 and characters in UTF-16
 * code units (the Language Server Protocol's default); dbee's parsers report 1-based lines and 1-based columns in
 * characters (code points). This module converts, and finds where a name starts and ends: the parser says where a
 * reference starts, the editor wants the whole name underlined.
 *
 * Names are found by a scan of the text for identifier chains (`sales.orders`, `"Odd Name".t`, `{{env}}_EDW.orders`),
 * skipping comments and string literals. It is no parser: what a statement means always comes from the engine's
 * parser; this only says where its words are.
 */

/** A place in a text: line and character, both 0-based, characters in UTF-16 code units. */
export interface TextPosition {
  line: number;
  character: number;
}

/** A span of a text, `end` excluded. */
export interface TextRange {
  start: TextPosition;
  end: TextPosition;
}

/** One name of a chain: its text as written (quotes included), its value (quotes removed), its span as offsets. */
export interface NamePart {
  written: string;
  value: string;
  quoted: boolean;
  start: number;
  end: number;
}

/** Names joined by dots (`core.customers`, `o.customer_id`), in offsets of the text. */
export interface NameChain {
  parts: NamePart[];
  start: number;
  end: number;
}

/** A text with its line starts, for conversions between offsets, editor positions and dbee's locations. */
export class TextLines {
  private readonly starts: number[] = [0];
  private chainsCache?: NameChain[];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  get lineCount(): number {
    return this.starts.length;
  }

  /** The offset of an editor position (clamped to the text). */
  offsetAt(position: TextPosition): number {
    const line = Math.min(Math.max(position.line, 0), this.starts.length - 1);
    const start = this.starts[line]!;
    const end = this.lineEnd(line);
    return Math.min(start + Math.max(position.character, 0), end);
  }

  /** The editor position of an offset. */
  positionAt(offset: number): TextPosition {
    const o = Math.min(Math.max(offset, 0), this.text.length);
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo]! };
  }

  /** The range of offsets `start`..`end`. */
  range(start: number, end: number): TextRange {
    return { start: this.positionAt(start), end: this.positionAt(end) };
  }

  /** The offset of a 1-based line and 1-based column counted in code points (dbee's `SourceLocation`). */
  offsetOfLocation(line: number, column = 1): number {
    const l = Math.min(Math.max(line - 1, 0), this.starts.length - 1);
    let offset = this.starts[l]!;
    const end = this.lineEnd(l);
    for (let c = 1; c < column && offset < end; c++) {
      const code = this.text.charCodeAt(offset);
      offset += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
    }
    return offset;
  }

  /** Offset of the end of a 0-based line (before its line break). */
  lineEnd(line: number): number {
    const next = this.starts[line + 1];
    if (next === undefined) return this.text.length;
    return next > 0 && this.text[next - 2] === '\r' ? next - 2 : next - 1;
  }

  /** The range of a 0-based line's text without its leading and trailing blanks (an empty range at an empty line). */
  lineRange(line: number): TextRange {
    const l = Math.min(Math.max(line, 0), this.starts.length - 1);
    let start = this.starts[l]!;
    let end = this.lineEnd(l);
    while (start < end && /\s/.test(this.text[start]!)) start++;
    while (end > start && /\s/.test(this.text[end - 1]!)) end--;
    return this.range(start, end);
  }

  /** Every identifier chain of the text, in order (computed once). */
  chains(): NameChain[] {
    return (this.chainsCache ??= nameChains(this.text));
  }

  /** The chain that starts at `offset`, or the first one after it on the same line. */
  chainAt(offset: number): NameChain | undefined {
    const chains = this.chains();
    const lineEnd = this.lineEnd(this.positionAt(offset).line);
    return (
      chains.find((c) => c.start <= offset && offset < c.end) ??
      chains.find((c) => c.start >= offset && c.start <= lineEnd)
    );
  }

  /** The chain whose span holds `offset` (its end included: a cursor just after a name is on it). */
  chainAround(offset: number): NameChain | undefined {
    return this.chains().find((c) => c.start <= offset && offset <= c.end);
  }

  /**
   * The range of the word at `offset` for a message placed there: the name that holds it, else the run of
   * characters up to the next blank (one character at least, when there is one).
   */
  wordRange(offset: number): TextRange {
    const part = this.chainAround(offset)?.parts.find((p) => p.start <= offset && offset < p.end);
    if (part) return this.range(part.start, part.end);
    // Not a name of SQL (a YAML key, a word in a comment): a run of word characters, else of anything but blanks.
    const word = /[\w$-]/.test(this.text[offset] ?? '') ? /[\w$-]/ : /[^\s;,()]/;
    let end = offset;
    while (end < this.text.length && word.test(this.text[end]!)) end++;
    if (end === offset && end < this.text.length && this.text[end] !== '\n') end++;
    return this.range(offset, end);
  }
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/** The identifier chains of an SQL text, skipping comments and string literals (dollar quotes are read through). */
export function nameChains(text: string): NameChain[] {
  const chains: NameChain[] = [];
  let i = 0;
  let current: NameChain | null = null;
  const close = () => {
    if (current) chains.push(current);
    current = null;
  };
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      close();
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      close();
      i = skipBlockComment(text, i);
    } else if (c === "'") {
      close();
      i = skipString(text, i, i > 0 && /[eE]/.test(text[i - 1]!) && !IDENT_PART.test(text[i - 2] ?? ' '));
    } else if (c === '"' || (c === '{' && next === '{') || IDENT_START.test(c)) {
      const part = readName(text, i);
      if (current && (current as NameChain).end === part.start - 1 && text[part.start - 1] === '.') {
        (current as NameChain).parts.push(part);
        (current as NameChain).end = part.end;
      } else {
        close();
        current = { parts: [part], start: part.start, end: part.end };
      }
      i = part.end;
    } else if (c === '.' && current && (current as NameChain).end === i) {
      i++;
    } else if (c === '$') {
      // A dollar quote's tag ($$, $body$) or a parameter ($1): neither is a name.
      close();
      const tag = /^\$[A-Za-z_]*\$|^\$\d+/.exec(text.slice(i, i + 64));
      i += tag ? tag[0].length : 1;
    } else if (/[0-9]/.test(c)) {
      close();
      while (i < text.length && /[0-9.eE]/.test(text[i]!)) i++;
    } else {
      close();
      i++;
    }
  }
  close();
  return chains;
}

function readName(text: string, start: number): NamePart {
  let i = start;
  let value = '';
  let quoted = false;
  for (;;) {
    if (text[i] === '"') {
      quoted = true;
      i++;
      while (i < text.length) {
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
    } else if (text[i] === '{' && text[i + 1] === '{') {
      const end = text.indexOf('}}', i);
      const stop = end < 0 || text.slice(i, end).includes('\n') ? i + 2 : end + 2;
      value += text.slice(i, stop);
      i = stop;
    } else if (i < text.length && (i === start ? IDENT_START : IDENT_PART).test(text[i]!)) {
      while (i < text.length && IDENT_PART.test(text[i]!)) value += text[i++];
    } else break;
    // A name may go on with a placeholder or more letters (`{{env}}_EDW`, `x_{{n}}`).
    if (
      !(text[i] === '{' && text[i + 1] === '{') &&
      !(i < text.length && IDENT_PART.test(text[i]!) && value.endsWith('}}'))
    )
      break;
  }
  return { written: text.slice(start, i), value, quoted, start, end: i };
}

function skipBlockComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text[i] === '/' && text[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (text[i] === '*' && text[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return i;
}

function skipString(text: string, start: number, backslashes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    if (backslashes && text[i] === '\\') {
      i += 2;
      continue;
    }
    if (text[i] === "'") {
      if (text[i + 1] === "'") {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return i;
}

/** Names compare as the keys hold them: without regard to case (a quoted name's case is the key's own). */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
