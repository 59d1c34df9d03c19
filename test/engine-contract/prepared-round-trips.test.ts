import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgConnection } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

/**
 * A prepared catalog query (`PgConnection.queryPrepared`) costs a new target one request, not three: its settings
 * (`plan_cache_mode`, and what the caller gives) are local to the extended protocol's implicit transaction, which ends
 * at the one Sync. Requests are counted as the server's ReadyForQuery messages (one per round trip).
 */
const SQL = `SELECT current_setting('plan_cache_mode') AS p, current_setting('search_path') AS s, current_setting('jit') AS j, $1::int + 1 AS n`;
const FOR_CALL = { search_path: 'pg_catalog', jit: 'off' };

/** A session on a scratch database whose round trips are counted, with `search_path` and `jit` of its own. */
function countedSession() {
  const t = { conn: null as unknown as PgConnection, trips: 0 };
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  beforeAll(async () => {
    db = await scratchDatabase('dbee_trips');
    t.conn = await PgConnection.open({ connectionString: db.url }, 'postgres:trips');
    const wire = (t.conn as unknown as { client: { connection: NodeJS.EventEmitter } }).client.connection;
    wire.on('readyForQuery', () => void t.trips++);
    await t.conn.execute(`SET search_path TO public, pg_temp; SET jit TO on`);
  }, 120_000);
  afterAll(async () => {
    await t.conn?.close();
    await db?.drop();
  });
  return {
    /** The session's own settings. */
    session: async () =>
      (
        await t.conn.query<{ p: string; s: string; j: string }>(
          `SELECT current_setting('plan_cache_mode') AS p, current_setting('search_path') AS s, current_setting('jit') AS j`,
        )
      ).rows[0],
    /** The round trips `fn` takes. */
    counted: async (fn: () => Promise<unknown>) => {
      const from = t.trips;
      await fn();
      // A failed request settles on the server's error; its ReadyForQuery may come in a later packet: wait for it.
      const client = (t.conn as unknown as { client: { readyForQuery: boolean } }).client;
      await new Promise<void>((ready) => {
        const check = () => (client.readyForQuery ? ready() : setImmediate(check));
        check();
      });
      return t.trips - from;
    },
    call: (n: number) => t.conn.queryPrepared<{ p: string; s: string; j: string; n: number }>(SQL, [n], FOR_CALL),
    get conn() {
      return t.conn;
    },
  };
}

describe('a prepared query on a server session outside a transaction block, round trip by round trip', () => {
  const s = countedSession();
  const { session, counted, call } = s;

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
    const failing = () => s.conn.queryPrepared(`SELECT 1 / $1::int AS x`, [0], FOR_CALL).catch((e) => (error = e));
    // The error arrives before its exchange's ReadyForQuery: counted with the read of the settings that follows it.
    expect(await counted(async () => (await failing(), (after = await session())))).toBe(2);
    expect((error as Error).message).toMatch(/division by zero/);
    expect(after).toEqual(before);
    expect((await call(2)).rows[0]!.n).toBe(3);
  });

  it('after DEALLOCATE ALL: prepared again (one more round trip), the same answer', async () => {
    await s.conn.execute('DEALLOCATE ALL');
    let rows: unknown[] = [];
    expect(await counted(async () => (rows = (await call(5)).rows))).toBe(2);
    expect(rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 6 }]);
    expect(await counted(() => call(5))).toBe(1);
  });
});

describe('a prepared query on a server session inside a transaction block', () => {
  const s = countedSession();
  const { session, counted, call } = s;

  it('inside a transaction block: one round trip, the settings are put back as they were in the block', async () => {
    await s.conn.execute('BEGIN');
    try {
      await s.conn.execute(`SET LOCAL search_path TO public`);
      const before = await session();
      let rows: unknown[] = [];
      expect(await counted(async () => (rows = (await call(7)).rows))).toBe(1);
      expect(rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 8 }]);
      expect(await session()).toEqual(before);
    } finally {
      await s.conn.execute('COMMIT');
    }
    expect(await session()).toEqual({ p: 'auto', s: 'public, pg_temp', j: 'on' });
  });

  it('inside a transaction block, a failing call aborts the block; its rollback takes the settings back', async () => {
    await s.conn.execute('BEGIN');
    await s.conn.execute(`SET LOCAL jit TO off`);
    await expect(s.conn.queryPrepared(`SELECT 2 / $1::int AS x`, [0], FOR_CALL)).rejects.toThrow(/division by zero/);
    await s.conn.execute('ROLLBACK');
    expect(await session()).toEqual({ p: 'auto', s: 'public, pg_temp', j: 'on' });
  });
});

describe('a node-postgres whose Query cannot be extended: three round trips, the same answers and settings', () => {
  const s = countedSession();
  const { session, counted, call } = s;
  beforeAll(() => void (PgConnection.oneRoundTrip = false));
  afterAll(() => void (PgConnection.oneRoundTrip = true));

  it('outside a block: the settings hold in the call and are put back after it, also after an error', async () => {
    const before = await session();
    let rows: unknown[] = [];
    expect(await counted(async () => (rows = (await call(1)).rows))).toBe(3);
    expect(rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 2 }]);
    expect(await session()).toEqual(before);
    await expect(s.conn.queryPrepared(`SELECT 3 / $1::int AS x`, [0], FOR_CALL)).rejects.toThrow(/division by zero/);
    expect(await session()).toEqual(before);
  });

  it("inside a block: local settings, so the caller's SET LOCAL ends with its block", async () => {
    await s.conn.execute('BEGIN');
    try {
      await s.conn.execute(`SET LOCAL search_path TO public`);
      const before = await session();
      expect((await call(7)).rows).toEqual([{ p: 'force_generic_plan', s: 'pg_catalog', j: 'off', n: 8 }]);
      expect(await session()).toEqual(before);
    } finally {
      await s.conn.execute('COMMIT');
    }
    expect(await session()).toEqual({ p: 'auto', s: 'public, pg_temp', j: 'on' });
  });
});

/**
 * Several queries in one request (`PgConnection.queryMany`, the live schema's catalog queries): each query's answer
 * as `query` gives it (parameters and result types alike), the settings for them alone, an error naming the query
 * that failed.
 */
describe('several queries in one round trip (queryMany)', () => {
  const s = countedSession();
  const { session, counted } = s;
  const QUERIES = [
    { sql: `SELECT current_setting('search_path') AS s, current_setting('jit') AS j` },
    {
      sql: `SELECT $1::text[] AS names, $2::int + 1 AS n, now()::date = current_date AS today`,
      params: [['a', 'b"c'], 1],
    },
    { sql: `SELECT n FROM generate_series(1, 3) n WHERE n > $1`, params: [1] },
  ];

  it('outside a block: one round trip, the answers of each query in order, the settings gone after it', async () => {
    const before = await session();
    let answers: { rows: unknown[] }[] = [];
    expect(await counted(async () => (answers = await s.conn.queryMany(QUERIES, FOR_CALL)))).toBe(1);
    expect(answers.map((a) => a.rows)).toEqual([
      [{ s: 'pg_catalog', j: 'off' }],
      [{ names: ['a', 'b"c'], n: 2, today: true }],
      [{ n: 2 }, { n: 3 }],
    ]);
    // The same answers as one query after the other.
    for (const [i, q] of QUERIES.entries())
      if (i > 0) expect((await s.conn.query(q.sql, q.params)).rows).toEqual(answers[i]!.rows);
    expect(await session()).toEqual(before);
  });

  it('a failing query: its error, naming it, in one round trip; the session as it was and usable', async () => {
    const before = await session();
    let error: unknown;
    const failing = [QUERIES[0]!, { sql: `SELECT 1 / $1::int AS x`, params: [0] }, QUERIES[2]!];
    expect(await counted(() => s.conn.queryMany(failing, FOR_CALL).catch((e) => (error = e)))).toBe(1);
    expect((error as Error).message).toMatch(/division by zero[\s\S]*SELECT 1 \/ \$1::int/);
    expect(await session()).toEqual(before);
    expect((await s.conn.queryMany(QUERIES.slice(2))).map((a) => a.rows)).toEqual([[{ n: 2 }, { n: 3 }]]);
  });

  it('inside a transaction block: one round trip, the settings put back as they were in the block', async () => {
    await s.conn.execute('BEGIN');
    try {
      await s.conn.execute(`SET LOCAL search_path TO public`);
      const before = await session();
      let answers: { rows: unknown[] }[] = [];
      expect(await counted(async () => (answers = await s.conn.queryMany(QUERIES.slice(0, 1), FOR_CALL)))).toBe(1);
      expect(answers[0]!.rows).toEqual([{ s: 'pg_catalog', j: 'off' }]);
      expect(await session()).toEqual(before);
    } finally {
      await s.conn.execute('COMMIT');
    }
    expect(await session()).toEqual({ p: 'auto', s: 'public, pg_temp', j: 'on' });
  });

  it('where Query cannot be extended: one query after the other, the same answers and settings', async () => {
    PgConnection.oneRoundTrip = false;
    try {
      const before = await session();
      const answers = await s.conn.queryMany(QUERIES, FOR_CALL);
      expect(answers.map((a) => a.rows)).toEqual([
        [{ s: 'pg_catalog', j: 'off' }],
        [{ names: ['a', 'b"c'], n: 2, today: true }],
        [{ n: 2 }, { n: 3 }],
      ]);
      expect(await session()).toEqual(before);
      await expect(s.conn.queryMany([{ sql: `SELECT 1 / $1::int AS x`, params: [0] }], FOR_CALL)).rejects.toThrow(
        /division by zero/,
      );
      expect(await session()).toEqual(before);
    } finally {
      PgConnection.oneRoundTrip = true;
    }
  });
});
