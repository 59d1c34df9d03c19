import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, runBackfill, type BackfillProgress } from '@dbee/core';
import { PgConnection, postgresBackfill, postgresLedger } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

// Server only: an application session waiting on the backfill's row locks needs a second session (PGlite has one).
let db: Awaited<ReturnType<typeof scratchDatabase>>;
let conn: PgConnection;
let app: PgConnection;
let holder: PgConnection;

beforeAll(async () => {
  db = await scratchDatabase('dbee_bf_yield');
  conn = await PgConnection.open({ connectionString: db.url }, 'scratch');
  app = await PgConnection.open({ connectionString: db.url }, 'scratch');
  holder = await PgConnection.open({ connectionString: db.url }, 'scratch');
  await openLedger(conn, postgresLedger).tables.ensure();
  await openLedger(conn, postgresLedger).tables.ensureTable('backfills');
});
afterAll(async () => {
  for (const c of [app, holder, conn]) await c?.close();
  await db?.drop();
});

/** Poll until `sql` returns a row (the state another session reached). */
async function until(sql: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await holder.query(sql)).rows.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never: ${sql}`);
}

describe('the backfill gives way to the application', () => {
  it('pauses after a batch the application waited on, then lets the pause go; every row updated once', async () => {
    // Rows 1..450 in batches of 100 (the fifth, of 50, is the last). The backfill's update of row 200 (its second batch's last row) waits on an
    // advisory lock the test holds: the batch then holds rows 101..199, and an application's update of row 150 queues
    // behind them, until the test lets the batch go.
    await conn.execute(`CREATE TABLE public.orders (id int PRIMARY KEY, v int, n int NOT NULL DEFAULT 0);
      INSERT INTO public.orders (id, v) SELECT g, g FROM generate_series(1, 450) g;
      CREATE FUNCTION public.hold_200() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = 200 AND NEW.n > OLD.n THEN PERFORM pg_advisory_xact_lock(7501); END IF; RETURN NEW; END $$;
      CREATE TRIGGER hold_200 BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.hold_200();`);
    await holder.query('SELECT pg_advisory_lock(7501)');
    const appPid = (await app.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const seen: BackfillProgress[] = [];
    const backfill = runBackfill(
      postgresBackfill,
      conn,
      { id: 'orders-yield', table: { schema: 'public', name: 'orders' }, set: 'v = v * 2, n = n + 1' },
      { batchSize: 100, targetBatchMs: 0, onProgress: (p) => seen.push(p), lock: { lockTimeoutMs: 60_000 } },
    );
    await until(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 7501 AND NOT granted`);
    const application = app.query('UPDATE public.orders SET v = v + 1 WHERE id = 150');
    await until(`SELECT 1 FROM pg_stat_activity WHERE pid = ${appPid} AND wait_event_type = 'Lock'`);
    await new Promise((r) => setTimeout(r, 100));
    await holder.query('SELECT pg_advisory_unlock(7501)');
    const result = await backfill;
    await application;

    expect(result).toMatchObject({ done: 450, batchesThisRun: 5 });
    expect(seen.map((p) => p.waiting)).toEqual([0, 1, 0, 0, 0]);
    const waited = seen[1]!;
    // The application's update had waited at least the 100 ms above: the pause is at least as long.
    expect(waited.waitedMs).toBeGreaterThanOrEqual(100);
    expect(waited.pauseMs).toBeGreaterThanOrEqual(waited.waitedMs!);
    // Nobody waited on the next batch: the pause halves; the first batch had none. A fixed size stays fixed.
    expect(seen[2]!.pauseMs).toBe(Math.round(waited.pauseMs / 2));
    expect(seen[0]!.pauseMs).toBe(0);
    expect(seen.map((p) => p.batchSize)).toEqual([100, 100, 100, 100, 100]);
    const rows = await conn.query<{ n: string }>(
      'SELECT count(*) AS n FROM public.orders WHERE n <> 1 OR v <> id * 2 + (id = 150)::int',
    );
    expect(Number(rows.rows[0]!.n)).toBe(0);
  });
});
