import { describe, expect, it } from 'vitest';
import { sameColumns, viewQuery } from './view-columns';

describe('viewQuery', () => {
  it('reads the query and the column names of a CREATE OR REPLACE VIEW', () => {
    expect(viewQuery('CREATE OR REPLACE VIEW s.v AS\nSELECT t.id,\n    t.amount\n   FROM s.t;')).toEqual({
      query: 'SELECT t.id,\n    t.amount\n   FROM s.t',
      names: [],
    });
    expect(
      viewQuery(
        '-- kept\ncreate or replace view "My ""S"".v" (Id, "Amount") with (security_barrier=\'on\') as select 1, 2 with local check option;',
      ),
    ).toEqual({ query: 'select 1, 2', names: ['id', 'Amount'] });
  });

  it('gives null for what it cannot read: another statement, a temporary or recursive view, no query', () => {
    expect(viewQuery('CREATE VIEW s.v AS SELECT 1')).toBeNull();
    expect(viewQuery('CREATE OR REPLACE TEMP VIEW v AS SELECT 1')).toBeNull();
    expect(viewQuery('CREATE OR REPLACE RECURSIVE VIEW s.v (n) AS VALUES (1)')).toBeNull();
    expect(viewQuery('CREATE OR REPLACE VIEW s.v AS ;')).toBeNull();
    expect(viewQuery('CREATE OR REPLACE VIEW s.v (a, AS SELECT 1')).toBeNull();
  });
});

describe('sameColumns', () => {
  const col = (name: string, typeId: number, typeModifier?: number) => ({ name, typeId, typeModifier });
  it('compares names, types and, where both sides have them, type modifiers, in order', () => {
    expect(sameColumns([col('a', 23), col('b', 1700, 786438)], [col('a', 23), col('b', 1700, 786438)])).toBe(true);
    expect(sameColumns([col('a', 23), col('b', 1700, 786438)], [col('a', 23), col('b', 1700, -1)])).toBe(false);
    expect(sameColumns([col('a', 23), col('b', 1700)], [col('a', 23), col('b', 1700, -1)])).toBe(true);
    expect(sameColumns([col('a', 23)], [col('a', 23), col('x', 23)])).toBe(false);
    expect(sameColumns([col('a', 23)], [col('b', 23)])).toBe(false);
    expect(sameColumns([col('a', 23)], [col('a', 20)])).toBe(false);
  });
});
