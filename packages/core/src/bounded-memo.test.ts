import { describe, expect, test } from 'vitest';
import { BoundedMemo } from './bounded-memo';

describe('BoundedMemo', () => {
  const texts = (budget: number) => new BoundedMemo<string>(budget, (text) => text.length);

  test('a text computed once is answered from the memo, until the budget is spent', () => {
    const memo = texts(20);
    const computed: string[] = [];
    const upper = (s: string) => memo.getOrCompute(s, () => (computed.push(s), s.toUpperCase()));
    expect([upper('abc'), upper('abc'), upper('def')]).toEqual(['ABC', 'ABC', 'DEF']);
    expect(computed).toEqual(['abc', 'def']);
    // 12 characters kept; 'ghijk' (10 more) passes the budget: everything is dropped, and it is kept alone.
    expect(upper('ghijk')).toBe('GHIJK');
    expect([upper('abc'), upper('ghijk')]).toEqual(['ABC', 'GHIJK']);
    expect(computed).toEqual(['abc', 'def', 'ghijk', 'abc']);
  });

  test('a value larger than the budget is computed every time and keeps nothing out', () => {
    const memo = texts(8);
    let calls = 0;
    const twice = (s: string) => memo.getOrCompute(s, () => (calls++, s + s));
    expect(twice('ab')).toBe('abab');
    expect(twice('abcdef')).toBe('abcdefabcdef');
    expect(twice('abcdef')).toBe('abcdefabcdef');
    expect(twice('ab')).toBe('abab');
    expect(calls).toBe(3);
  });

  test('a value of another type is counted by the cost it is given, its key with it', () => {
    // As `referencesOf` keeps a definition's references: 8 a reference and its names' characters.
    const memo = new BoundedMemo<string[][]>(30, (refs) => refs.reduce((n, r) => n + 8 + r.join('').length, 0));
    memo.set('f', [['a.b']]);
    memo.set('g', [['c.d', 'e.d']]);
    expect([memo.get('f'), memo.get('g')]).toEqual([[['a.b']], [['c.d', 'e.d']]]);
    // 12 and 15 characters kept (27); 'h' costs 12 more: everything is dropped, and it is kept alone.
    memo.set('h', [['x.y']]);
    expect([memo.get('f'), memo.get('g'), memo.get('h')]).toEqual([undefined, undefined, [['x.y']]]);
    // Larger than the whole budget: not kept, and nothing dropped for it.
    memo.set('i', [['a'.repeat(30)]]);
    expect([memo.get('h'), memo.get('i')]).toEqual([[['x.y']], undefined]);
  });
});
