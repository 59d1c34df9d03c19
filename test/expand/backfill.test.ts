import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, runBackfill, backfillState, type BackfillProgress } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

let db: Awaited<ReturnType<typeof scratchDatabase>>;
let conn: PgConnection;

beforeAll(async () => {
  db = await scratchDatabase('dbee_bf');
  conn = await PgConnection.open({ connectionString: db.url }, 'scratch');
  await new Ledger(conn, postgresLedger).ensure();
});
afterAll(async () => {
  await conn?.close();
  await db?.drop();
});

describe('backfill on a server', () => {
  it('updates every row once, in batches, and records done/total', async () => {
    await conn.execute(`CREATE TABLE public.t1 (id int PRIMARY KEY, v int, n int NOT NULL DEFAULT 0);
      INSERT INTO public.t1 (id, v) SELECT g, g FROM generate_series(1, 5000) g;`);
    const seen: BackfillProgress[] = [];
    const r = await runBackfill(
      conn,
      { id: 't1', table: { schema: 'public', name: 't1' }, set: 'v = v * 2, n = n + 1' },
      { batchSize: 700, targetBatchMs: 0, onProgress: (p) => seen.push(p) },
    );
    expect(r).toMatchObject({ done: 5000, total: 5000, key: ['id'], resumed: false });
    expect(seen.length).toBe(8);
    const rows = await conn.query<{ bad: number }>(`SELECT count(*)::int AS bad FROM t1 WHERE n <> 1 OR v <> id * 2`);
    expect(rows.rows[0]!.bad).toBe(0);
    expect(await backfillState(conn, 't1')).toMatchObject({
      status: 'done',
      done: 5000,
      total: 5000,
      cursor: ['5000'],
    });
    const again = await runBackfill(conn, {
      id: 't1',
      table: { schema: 'public', name: 't1' },
      set: 'v = v * 2, n = n + 1',
    });
    expect(again).toMatchObject({ alreadyDone: true, updatedThisRun: 0 });
  });
});
