import type { SourceLocation } from '@dbee/core';
import type { SourceText } from './source-text';

/**
 * Where a parsed string sits in its source file. The statements of a file are parsed in place; a routine body or a
 * PL/pgSQL expression is parsed on its own, and its node positions (UTF-8 byte offsets in that string) must be
 * moved back to the file.
 */
export interface Frame {
  /** File location of a byte offset in the parsed string; a fallback location when the offset is unknown. */
  locate(byteOffset: number | undefined): SourceLocation;
}

/** A string found verbatim in the file at string index `base` (the file itself when `parsed` is the file). */
export class TextFrame implements Frame {
  constructor(
    private readonly file: string,
    private readonly source: SourceText,
    private readonly parsed: SourceText,
    private readonly base: number,
    private readonly fallback: SourceLocation,
  ) {}

  locate(byteOffset: number | undefined): SourceLocation {
    if (byteOffset === undefined || byteOffset < 0) return this.fallback;
    return this.source.location(this.file, this.base + this.parsed.indexOfByte(byteOffset));
  }
}

/** A string whose position in the file is known only roughly: every node is reported at one location. */
export class FixedFrame implements Frame {
  constructor(private readonly where: SourceLocation) {}

  locate(): SourceLocation {
    return this.where;
  }
}

/** Several strings parsed in one call, joined: each piece keeps its own frame. */
export class PiecesFrame implements Frame {
  /**
   * @param pieces in order; `start` is the piece's byte offset in the joined string, `shift` the bytes to add to an
   * offset inside the piece to get an offset in the piece's own string (negative when a prefix was added).
   */
  constructor(
    private readonly pieces: readonly { start: number; shift: number; frame: Frame }[],
    private readonly fallback: SourceLocation,
  ) {}

  locate(byteOffset: number | undefined): SourceLocation {
    if (byteOffset === undefined || byteOffset < 0 || this.pieces.length === 0) return this.fallback;
    let lo = 0;
    let hi = this.pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.pieces[mid]!.start <= byteOffset) lo = mid;
      else hi = mid - 1;
    }
    const piece = this.pieces[lo]!;
    return piece.frame.locate(Math.max(0, byteOffset - piece.start + piece.shift));
  }
}
