import { describe, expect, it } from 'vitest';
import { isSignificant, tokenize } from './splitter';
import { columnList, tableColumns } from './table-columns';

describe('the column list of a CREATE TABLE (one reader for the engine and the test double)', () => {
  it('names the columns, leaves table-level items out, and finds none in CREATE TABLE ... AS', () => {
    const sql =
      'CREATE SET TABLE db.t, NO FALLBACK (a INTEGER NOT NULL, "b c" DECIMAL(18, 2), CONSTRAINT pk PRIMARY KEY (a), PERIOD FOR p (x, y)) UNIQUE PRIMARY INDEX (a);';
    expect(tableColumns(sql)).toEqual(['A', 'B C']);
    const list = columnList(tokenize(sql, '<t>').filter(isSignificant))!;
    expect(list.items.map((i) => i[0]!.value)).toEqual(['A', 'B C', 'CONSTRAINT', 'PERIOD']);
    expect(tableColumns('CREATE TABLE db.t2 AS db.t WITH DATA')).toBeNull();
    expect(tableColumns('CREATE TABLE db.t3 AS (SELECT a FROM db.t) WITH NO DATA')).toBeNull();
  });
});
