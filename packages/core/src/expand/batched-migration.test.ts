import { describe, expect, it } from 'vitest';
import { batchedHeader, parseBatchedUpdate } from './batched-migration';

const at = { file: 'shop/migrations/V2__fill.sql', line: 3 };

describe('batched migration header', () => {
  it('reads the options of the -- dbee:batched line among the opening comments, or null without one', () => {
    expect(
      batchedHeader(
        '-- fill totals\n-- dbee:batched batchSize=2000 pause=20ms targetBatch=1s\nUPDATE t SET a = 1;',
        'f.sql',
      ),
    ).toEqual({
      batchSize: 2000,
      pauseMs: 20,
      targetBatchMs: 1000,
    });
    expect(batchedHeader('-- dbee:batched\nUPDATE t SET a = 1;', 'f.sql')).toEqual({});
    expect(batchedHeader('UPDATE t SET a = 1;\n-- dbee:batched', 'f.sql')).toBeNull();
    expect(batchedHeader('-- a plain migration\nUPDATE t SET a = 1;', 'f.sql')).toBeNull();
  });

  it('refuses an unknown option or a bad value at its line (exit 1)', () => {
    const e = (() => {
      try {
        batchedHeader('\n-- dbee:batched size=10\n', 'shop/migrations/V2__fill.sql');
      } catch (x) {
        return x;
      }
    })();
    expect(e).toMatchObject({
      code: 'MIGRATION_BATCHED_OPTION',
      exitCode: 1,
      location: { file: 'shop/migrations/V2__fill.sql', line: 2 },
    });
    expect(() => batchedHeader('-- dbee:batched batchSize=0', 'f.sql')).toThrow(/whole number of rows/);
    expect(() => batchedHeader('-- dbee:batched pause=fast', 'f.sql')).toThrow(/duration/);
  });
});

describe('batched UPDATE statements', () => {
  it('takes an UPDATE apart into table, SET list and condition, whatever the quoting', () => {
    expect(
      parseBatchedUpdate(`UPDATE sales.orders SET total_cents = round(total * 100) WHERE total_cents IS NULL`, at),
    ).toEqual({
      table: 'sales.orders',
      set: 'total_cents = round(total * 100)',
      where: 'total_cents IS NULL',
    });
    expect(
      parseBatchedUpdate(
        `update ONLY "Sales"."Order Lines" set note = 'where from' || $x$ WHERE $x$, d = (SELECT max(v) FROM w WHERE w.id = 1) -- WHERE\n`,
        at,
      ),
    ).toEqual({
      table: '"Sales"."Order Lines"',
      set: `note = 'where from' || $x$ WHERE $x$, d = (SELECT max(v) FROM w WHERE w.id = 1) -- WHERE`,
    });
  });

  it('refuses what cannot run batch by batch: other statements, FROM, RETURNING, an alias (exit 1 at the line)', () => {
    for (const [sql, what] of [
      ['INSERT INTO t VALUES (1)', 'starts with INSERT'],
      ['UPDATE t SET a = o.a FROM o WHERE o.id = t.id', 'FROM'],
      ['UPDATE t SET a = 1 RETURNING id', 'RETURNING'],
      ['UPDATE t AS x SET a = 1', 'alias'],
      ['WITH w AS (SELECT 1) UPDATE t SET a = 1', 'starts with WITH'],
    ] as const) {
      expect(() => parseBatchedUpdate(sql, at), sql).toThrow(what);
      try {
        parseBatchedUpdate(sql, at);
      } catch (e) {
        expect(e).toMatchObject({ code: 'MIGRATION_BATCHED_STATEMENT', exitCode: 1, location: at });
      }
    }
  });
});
