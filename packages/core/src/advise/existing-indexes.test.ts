import { describe, expect, it } from 'vitest';
import type { AdviseIndex } from '../engine/advise-role';
import { redundantIndexes, unusedIndexes } from './existing-indexes';
import { asIndex, candidates, coveredBy } from './missing-indexes';

const index = (name: string, columns: string[] | null, extra: Partial<AdviseIndex> = {}): AdviseIndex => ({
  ...asIndex({ schema: 's', table: 't', name, columns: columns ?? [] }),
  columns,
  bytes: 8192,
  ...extra,
});

describe('redundant and unused indexes', () => {
  it('calls a leading prefix and a duplicate redundant, never a constraint, a partial one of another predicate, or another method', () => {
    const found = redundantIndexes([
      index('t_a', ['a']),
      index('t_a_b', ['a', 'b']),
      index('t_c', ['c']),
      index('t_c2', ['c']),
      index('t_pkey', ['id'], { unique: true, primary: true, constraint: true }),
      index('t_id', ['id']),
      index('t_d_open', ['d'], { predicate: "(status = 'open')" }),
      index('t_d_e', ['d', 'e']),
      index('t_f_hash', ['f'], { method: 'hash' }),
      index('t_f_g', ['f', 'g']),
      index('t_expr', null),
    ]);
    expect(found.map((r) => [r.index.name, r.reason, r.coveredBy])).toEqual([
      ['t_a', 'prefix', 't_a_b'],
      ['t_c2', 'duplicate', 't_c'],
      ['t_id', 'duplicate', 't_pkey'],
    ]);
  });

  it('lists as unused neither a constraint nor the index a foreign key leads, and says which plans use one', () => {
    const indexes = [
      index('t_pkey', ['id'], { unique: true, constraint: true }),
      index('t_fk', ['customer_id', 'at']),
      index('t_x', ['x']),
      index('t_y', ['y'], { scans: 3 }),
    ];
    const fks = [{ schema: 's', table: 't', name: 't_customer_fkey', columns: ['customer_id'] }];
    const plans = [{ query: { text: 'q', origin: 'q.sql:1', references: [] }, cost: 1, indexes: ['t_x'], columns: [] }];
    expect(unusedIndexes(indexes, fks, [], plans).map((u) => [u.index.name, u.usedByPlans])).toEqual([
      ['t_x', ['q.sql:1']],
    ]);
  });
});

describe('index candidates', () => {
  it('are the columns a query uses, alone and in ordered pairs per table, less those an existing btree leads', () => {
    const col = (name: string, column: string) => ({
      schema: 's',
      name,
      column,
      use: 'filter' as const,
      equality: true,
    });
    const q = {
      query: { text: 'q', origin: 'q', references: [] },
      cost: 1000,
      indexes: [],
      columns: [col('t', 'a'), col('t', 'b'), col('u', 'c')],
    };
    const { singles, pairs } = candidates([q], [index('t_a_z', ['a', 'z'])]);
    expect(singles.map((s) => `${s.table}(${s.columns})`)).toEqual(['t(b)', 'u(c)']);
    expect(pairs.map((s) => `${s.table}(${s.columns})`)).toEqual(['t(a,b)', 't(b,a)']);
    expect(coveredBy({ schema: 's', table: 't', columns: ['a', 'z'] }, [index('i', ['a', 'z', 'y'])])).toBe(true);
    expect(coveredBy({ schema: 's', table: 't', columns: ['z'] }, [index('i', ['a', 'z'])])).toBe(false);
  });
});
