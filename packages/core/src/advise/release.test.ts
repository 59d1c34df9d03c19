import { describe, expect, it } from 'vitest';
import type { AdviseIndex, ReleaseFacts } from '../engine/advise-role';
import { asIndex } from './missing-indexes';
import { droppedIndexes } from './release';

const index = (table: string, name: string, extra: Partial<AdviseIndex> = {}): AdviseIndex => ({
  ...asIndex({ schema: 's', table, name, columns: ['id'] }),
  ...extra,
});
const facts = (f: Partial<ReleaseFacts>): ReleaseFacts => ({
  createdIndexes: [],
  droppedIndexes: [],
  droppedConstraints: [],
  foreignKeys: [],
  dataChanged: [],
  ...f,
});

describe('the indexes a release drops', () => {
  it("takes a dropped key's index, never a dropped constraint's namesake that backs none", () => {
    const indexes = [
      index('t', 't_pkey', { primary: true, unique: true, constraint: true }),
      index('u', 'u_check_like', {}),
    ];
    const dropped = droppedIndexes(
      facts({
        droppedConstraints: [
          { key: 'table:s.t', schema: 's', table: 't', name: 't_pkey' },
          { key: 'table:s.u', schema: 's', table: 'u', name: 'u_check_like' },
        ],
      }),
      indexes,
    );
    expect(dropped.map((d) => d.name)).toEqual(['t_pkey']);
  });

  it("counts a partitioned table's index with its partitions' (the ones plans scan), every level", () => {
    const indexes = [
      index('e', 'e_pkey', { constraint: true }),
      index('e_2025', 'e_2025_pkey', { constraint: true, attachedTo: 's.e_pkey' }),
      index('e_2026', 'e_2026_pkey', { constraint: true, attachedTo: 's.e_pkey' }),
      index('e_2026_q1', 'e_2026_q1_pkey', { constraint: true, attachedTo: 's.e_2026_pkey' }),
      index('other', 'other_pkey', { constraint: true }),
    ];
    const [d] = droppedIndexes(
      facts({ droppedConstraints: [{ key: 'table:s.e', schema: 's', table: 'e', name: 'e_pkey' }] }),
      indexes,
    );
    expect(d!.scanned.map((s) => s.name)).toEqual(['e_pkey', 'e_2025_pkey', 'e_2026_pkey', 'e_2026_q1_pkey']);
    // Only built indexes can be hidden from the planner: the partitioned ones have none of their own.
    expect(d!.built.map((s) => s.name)).toEqual(['e_2025_pkey', 'e_2026_q1_pkey']);
  });
});
