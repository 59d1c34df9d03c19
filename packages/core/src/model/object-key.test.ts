import { describe, expect, it } from 'vitest';
import { formatKey, migrationKey, parseKey, type ObjectKey } from './object-key';

describe('object keys', () => {
  const keys: ObjectKey[] = [
    { kind: 'table', schema: 'sales', name: 'orders' },
    { kind: 'function', schema: 'sales', name: 'total', args: ['integer', 'numeric(10,2)'] },
    { kind: 'function', schema: 'sales', name: 'now', args: [] },
    { kind: 'index', schema: 'sales', name: 'orders_idx', parent: 'sales.orders' },
    // Names that need quoting in SQL: parentheses, spaces, an @.
    { kind: 'schema', schema: '', name: 'we(ird)' },
    { kind: 'function', schema: 'we(ird)', name: 'f(x)', args: ['integer'] },
    { kind: 'table', schema: 'we(ird)', name: 'T a' },
    { kind: 'index', schema: 'we(ird)', name: 'T a_idx', parent: 'we(ird).T a' },
    { kind: 'view', schema: 'we(ird)', name: 'V@w' },
    migrationKey('sales', '1.2'),
  ];
  it.each(keys.map((k) => [formatKey(k), k] as const))('%s parses back to the same key', (text, key) => {
    expect(parseKey(text)).toEqual(key);
  });
});
