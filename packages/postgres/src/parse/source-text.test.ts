import { describe, expect, it } from 'vitest';
import { skipSpaceAndComments, SourceText } from './source-text';

describe('SourceText', () => {
  it('maps UTF-8 byte offsets and code point offsets to string indexes', () => {
    // 'é' is 2 bytes, '😀' 4 bytes and 2 string units.
    const s = new SourceText('aé😀b');
    expect([0, 1, 3, 7, 8].map((b) => s.indexOfByte(b))).toEqual([0, 1, 2, 4, 5]);
    expect(s.indexOfByte(2)).toBe(1); // inside 'é': its start
    expect([0, 1, 2, 3, 4].map((c) => s.indexOfCodePoint(c))).toEqual([0, 1, 2, 4, 5]);
  });

  it('gives 1-based lines and columns counted in characters', () => {
    const s = new SourceText('ab\n😀é x\r\nlast');
    expect(s.position(0)).toEqual({ line: 1, column: 1 });
    expect(s.position(3)).toEqual({ line: 2, column: 1 });
    expect(s.position(6)).toEqual({ line: 2, column: 3 }); // ' ' after '😀é'
    expect(s.position(10)).toEqual({ line: 3, column: 1 });
    expect(s.lineStart(3)).toBe(10);
  });

  it('is exact on ASCII text without building maps', () => {
    const s = new SourceText('select 1;\nselect 2;');
    expect(s.indexOfByte(12)).toBe(12);
    expect(s.location('f.sql', 17)).toEqual({ file: 'f.sql', line: 2, column: 8 });
  });
});

describe('skipSpaceAndComments', () => {
  it('skips blanks, line comments and nested block comments', () => {
    const text = '  -- a\n /* b /* nested */ c */\n\tselect';
    expect(text.slice(skipSpaceAndComments(text, 0))).toBe('select');
  });
});
