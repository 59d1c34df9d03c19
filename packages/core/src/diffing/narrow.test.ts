import { describe, expect, it } from 'vitest';
import { namesToRead } from './narrow';

/** A graph of `key → keys it needs`: a table, a view over it, a view over that view, a trigger on it and its function. */
const NEEDS = new Map<string, string[]>([
  ['table:s.t', ['sequence:s.t_id_seq']],
  ['sequence:s.t_id_seq', []],
  ['view:s.v1', ['table:s.t']],
  ['view:s.v2', ['view:s.v1']],
  ['function:s.touch()', []],
  ['trigger:s.touch@s.u', ['function:s.touch()']],
  ['table:s.u', []],
  ['view:s.over_u', ['table:s.u']],
  ['table:s.alone', []],
]);

describe('namesToRead', () => {
  it('reads what changed, what depends on it however far, and one step of what it needs', () => {
    expect([...namesToRead({ changed: ['table:s.t'], removed: [] }, NEEDS)!].sort()).toEqual([
      's.t',
      's.t_id_seq',
      's.v1',
      's.v2',
    ]);
    // Without what it needs: the changed object and its dependents alone.
    expect([...namesToRead({ changed: ['table:s.t'], removed: [] }, NEEDS, { needed: false })!].sort()).toEqual([
      's.t',
      's.v1',
      's.v2',
    ]);
  });

  it('reads a trigger with its table, and what depends on that table', () => {
    expect([...namesToRead({ changed: ['function:s.touch()'], removed: [] }, NEEDS)!].sort()).toEqual([
      's.over_u',
      's.touch',
      's.u',
    ]);
    expect([...namesToRead({ changed: ['index:s.i@s.alone'], removed: [] }, NEEDS)!]).toEqual(['s.alone']);
  });

  it('reads what the sources no longer hold, and nothing of a changed schema but the schemas read whole', () => {
    expect([...namesToRead({ changed: ['schema:.s'], removed: ['view:s.gone'] }, NEEDS)!]).toEqual(['s.gone']);
  });

  it('reads the whole schemas for a kind no read finds by name, a placeholder, or a name the model does not hold', () => {
    for (const changed of ['aggregate:s.total(integer)', 'extension:s.pg_trgm', 'collation:s.c', 'other:s.x'])
      expect(namesToRead({ changed: [changed], removed: [] }, NEEDS)).toBeNull();
    expect(namesToRead({ changed: ['table:{{env}}_s.t'], removed: [] }, NEEDS)).toBeNull();
    expect(namesToRead({ changed: ['table:s.t'], removed: [] }, NEEDS, { known: new Set(['s.u']) })).toBeNull();
    // A removed object is in no model of the sources: not asked for there.
    expect(namesToRead({ changed: [], removed: ['table:s.gone'] }, NEEDS, { known: new Set() })).toEqual(
      new Set(['s.gone']),
    );
  });
});
