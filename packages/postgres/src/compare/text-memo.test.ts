import { describe, expect, test } from 'vitest';
import { TextMemo } from './text-memo';

describe('TextMemo', () => {
  test('a text computed once is answered from the memo, until the budget is spent', () => {
    const memo = new TextMemo(20);
    const computed: string[] = [];
    const upper = (s: string) => memo.get(s, () => (computed.push(s), s.toUpperCase()));
    expect([upper('abc'), upper('abc'), upper('def')]).toEqual(['ABC', 'ABC', 'DEF']);
    expect(computed).toEqual(['abc', 'def']);
    // 12 characters kept; 'ghijk' (10 more) passes the budget: everything is dropped, and it is kept alone.
    expect(upper('ghijk')).toBe('GHIJK');
    expect([upper('abc'), upper('ghijk')]).toEqual(['ABC', 'GHIJK']);
    expect(computed).toEqual(['abc', 'def', 'ghijk', 'abc']);
  });

  test('a value larger than the budget is computed every time and keeps nothing out', () => {
    const memo = new TextMemo(8);
    let calls = 0;
    const twice = (s: string) => memo.get(s, () => (calls++, s + s));
    expect(twice('ab')).toBe('abab');
    expect(twice('abcdef')).toBe('abcdefabcdef');
    expect(twice('abcdef')).toBe('abcdefabcdef');
    expect(twice('ab')).toBe('abab');
    expect(calls).toBe(3);
  });
});
