import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgConnection } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

/**
 * A prepared catalog query (`PgConnection.queryPrepared`) costs a new target one request, not three: its settings
 * (`plan_cache_mode`, and what the caller gives) are local to the extended protocol's implicit transaction, which ends
 * at the one Sync. Requests are counted as the server's ReadyForQuery messages (one per round trip).
 */
describe('a prepared query on a server session, round trip by round trip', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let conn: PgConnection;
  let trips = 0;
  beforeAll(async () => {
    db = await scratchDatabase('dbee_trips');
    conn = await PgConnection.open({ connectionString: db.url }, 'postgres:trips');
    const wire = (conn as unknown as { client: { connection: NodeJS.EventEmitter } }).client.connection;
    wire.on('readyForQuery', () => void trips++);
    await conn.execute(`SET search_path TO public, pg_temp; SET jit TO on`);
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await db?.drop();
  });

  const SQL = `SELECT current_setting('plan_cache_mode') AS p, current_setting('search_path') AS s, current_setting('jit') AS j, $1::int + 1 AS n`;
  const session = async () =>
    (
      await conn.query<{ p: string; s: string; j: string }>(
        `SELECT current_setting('plan_cache_mode') AS p, current_setting('search_path') AS s, current_setting('jit') AS j`,
      )
    ).rows[0];
  /** The round trips `fn` takes. */
  const counted = async (fn: () => Promise<unknown>) => {
    const from = trips;
    await fn();
    return trips - from;
  };
  const call = (n: number) => conn.queryPrepared<{ p: string; s: string; j: string; n: number }>(SQL, [n], FOR_CALL);
  const FOR_CALL = { search_path: 'pg_catalog', jit: 'off' };

  it('outside a transaction block: one round trip, the settings hold in the call and are gone after it', async () => {
    const before = await session();
    expect(before).toEqual({ p: 'auto', s: 'public, pg_temp', j: 'on' });
    let rows: unknown[] = [];
    expect(await counted(async () => (rows = (await call(1)).rows))).toBe(1);
    expect(rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 2 }]);
    expect(await session()).toEqual(before);
    // Prepared once: the second call binds the named statement again, still one round trip.
    expect(await counted(async () => (rows = (await call(41)).rows))).toBe(1);
    expect(rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 42 }]);
    expect(await session()).toEqual(before);
  });

  it('an error is mapped, in one round trip, and the settings are as they were', async () => {
    const before = await session();
    let error: unknown;
    let after: unknown;
    const failing = () => conn.queryPrepared(`SELECT 1 / $1::int AS x`, [0], FOR_CALL).catch((e) => (error = e));
    // The error arrives before its exchange's ReadyForQuery: counted with the read of the settings that follows it.
    expect(await counted(async () => (await failing(), (after = await session())))).toBe(2);
    expect((error as Error).message).toMatch(/division by zero/);
    expect(after).toEqual(before);
    expect((await call(2)).rows[0]!.n).toBe(3);
  });

  it('after DEALLOCATE ALL: prepared again (one more round trip), the same answer', async () => {
    await conn.execute('DEALLOCATE ALL');
    let rows: unknown[] = [];
    expect(await counted(async () => (rows = (await call(5)).rows))).toBe(2);
    expect(rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 6 }]);
    expect(await counted(() => call(5))).toBe(1);
  });

  it('inside a transaction block: the settings are set and put back around the call, the block goes on', async () => {
    await conn.execute('BEGIN');
    try {
      await conn.execute(`SET LOCAL search_path TO public`);
      const before = await session();
      let rows: unknown[] = [];
      expect(await counted(async () => (rows = (await call(7)).rows))).toBe(3);
      expect(rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 8 }]);
      expect(await session()).toEqual(before);
    } finally {
      await conn.execute('COMMIT');
    }
    expect(await session()).toEqual({ p: 'auto', s: 'public, pg_temp', j: 'on' });
  });
});
