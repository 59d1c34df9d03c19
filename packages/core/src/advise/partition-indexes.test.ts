import { describe, expect, it } from 'vitest';
import { asIndex } from './missing-indexes';
import { freeName, partitionIndexes } from './partition-indexes';

describe('advised index names and partition indexes', () => {
  it('numbers a name a relation has, as PostgreSQL does, cutting a long one to 63 bytes', () => {
    const taken = new Map([['app', new Set(['orders_customer_id_idx', 'orders_customer_id_idx1'])]]);
    expect(freeName(taken, 'app', 'orders_customer_id_idx')).toBe('orders_customer_id_idx2');
    expect(freeName(taken, 'app', 'orders_customer_id_idx')).toBe('orders_customer_id_idx3');
    expect(freeName(taken, 'other', 'orders_customer_id_idx')).toBe('orders_customer_id_idx');
    const long = `${'x'.repeat(59)}_idx`;
    taken.set('app', new Set([long]));
    expect(freeName(taken, 'app', long)).toBe(`${'x'.repeat(58)}_idx1`);
  });

  it("attaches a leaf's own plain index on the columns, and never builds under a name that is taken", () => {
    const index = { schema: 'app', table: 'pay', columns: ['customer_id'], name: 'pay_customer_id_idx' };
    const part = (name: string) => ({ schema: 'app', name, parent: { schema: 'app', name: 'pay' }, leaf: true });
    const existing = [
      { ...asIndex({ ...index, table: 'pay_1', name: 'pay_1_cust' }) },
      // Unique, or partial: not one a plain index can take as a partition's.
      { ...asIndex({ ...index, table: 'pay_2', name: 'pay_2_cust' }), unique: true },
      { ...asIndex({ ...index, table: 'pay_3', name: 'pay_3_cust' }), predicate: 'customer_id > 0' },
    ];
    const taken = new Map([['app', new Set(['pay_2_customer_id_idx'])]]);
    const out = partitionIndexes(index, [part('pay_1'), part('pay_2'), part('pay_3')], existing, taken);
    expect(out.map((p) => [p.index.name, p.existing ?? false])).toEqual([
      ['pay_1_cust', true],
      ['pay_2_customer_id_idx1', false],
      ['pay_3_customer_id_idx', false],
    ]);
    expect(out.every((p) => p.attachTo.name === 'pay_customer_id_idx')).toBe(true);
  });
});
