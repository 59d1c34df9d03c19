import type { SourceLocation } from '@dbee/core';

/**
 * A text and the position arithmetic the parser needs. libpg-query reports node and statement positions as UTF-8
 * byte offsets and syntax-error positions as character (code point) offsets, while JavaScript strings index UTF-16
 * code units; this class converts between them. Columns are counted in characters (code points), 1-based.
 */
export class SourceText {
  readonly text: string;
  private readonly ascii: boolean;
  private byteToIndex?: Uint32Array;
  private lineStarts?: number[];

  constructor(text: string) {
    this.text = text;
    // eslint-disable-next-line no-control-regex
    this.ascii = !/[^\x00-\x7f]/.test(text);
  }

  /** JavaScript string index of a UTF-8 byte offset (clamped to the text; mid-character offsets round down). */
  indexOfByte(byteOffset: number): number {
    if (byteOffset <= 0) return 0;
    if (this.ascii) return Math.min(byteOffset, this.text.length);
    const map = (this.byteToIndex ??= buildByteMap(this.text));
    return map[Math.min(byteOffset, map.length - 1)]!;
  }

  /** JavaScript string index of a 0-based character (code point) offset. */
  indexOfCodePoint(offset: number): number {
    if (offset <= 0) return 0;
    if (this.ascii) return Math.min(offset, this.text.length);
    let index = 0;
    for (let n = 0; n < offset && index < this.text.length; n++)
      index += this.text.codePointAt(index)! > 0xffff ? 2 : 1;
    return index;
  }

  /** 1-based line and column (in characters) of a string index. */
  position(index: number): { line: number; column: number } {
    const starts = (this.lineStarts ??= buildLineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    const start = starts[lo]!;
    return { line: lo + 1, column: this.ascii ? index - start + 1 : codePoints(this.text, start, index) + 1 };
  }

  /** String index where a 1-based line starts (the text's length past the last line). */
  lineStart(line: number): number {
    const starts = (this.lineStarts ??= buildLineStarts(this.text));
    return line <= 1 ? 0 : line > starts.length ? this.text.length : starts[line - 1]!;
  }

  /** A {@link SourceLocation} for a string index. */
  location(file: string, index: number): SourceLocation {
    return { file, ...this.position(index) };
  }
}

function buildByteMap(text: string): Uint32Array {
  const map = new Uint32Array(Buffer.byteLength(text, 'utf8') + 1);
  let b = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const width = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < width; k++) map[b + k] = i;
    b += width;
    i += cp > 0xffff ? 2 : 1;
  }
  map[b] = text.length;
  return map;
}

function buildLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function codePoints(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

/** Index of the first character at or after `from` that is neither whitespace nor inside a comment. */
export function skipSpaceAndComments(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('--', i)) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
    } else if (text.startsWith('/*', i)) {
      // PostgreSQL block comments nest.
      let depth = 0;
      do {
        if (text.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (text.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < text.length);
    } else return i;
  }
}
