import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '@dbee/core';
import { PgConnection, PgliteConnection } from '@dbee/postgres';
import { prepareWithFirstSteps } from '../../packages/core/src/operations/strategies/direct/apply';
import { scratchDatabase } from '../support/pg';

/**
 * The convergence check's model is prepared (a cached model read and parsed in this thread) once the deployment's first
 * request of steps is on its way, not before it: before, it held back the first step by the time of the parse
 * (docs/performance.md, "The convergence check's model read while the first steps run").
 */
const ENGINES: [string, () => Promise<{ conn: Connection; done(): Promise<void> }>][] = [
  [
    'postgres',
    async () => {
      const db = await scratchDatabase('dbee_converge_prepare');
      const conn = await PgConnection.open({ connectionString: db.url }, 'working');
      return { conn, done: async () => (await conn.close(), await db.drop()) };
    },
  ],
  [
    'pglite',
    async () => {
      const conn = await PgliteConnection.open(null, 'working');
      return { conn, done: () => conn.close() };
    },
  ],
];

describe.each(ENGINES)('the convergence model prepared with the first steps [%s]', (_engine, open) => {
  let session: Awaited<ReturnType<typeof open>>;
  beforeAll(async () => {
    session = await open();
  }, 120_000);
  afterAll(async () => {
    await session?.done();
  });

  it('is prepared once, after the first request of steps is sent, on the same connection', async () => {
    const events: string[] = [];
    const conn = session.conn;
    const restore = prepareWithFirstSteps(conn, () => void events.push('prepared'));
    if (!Object.getPrototypeOf(conn).executeBatch) {
      // An embedded database (PGlite) takes no request of several steps, and runs each in this thread: nothing to
      // overlap, so prepared at once, as before.
      expect(events).toEqual(['prepared']);
      await conn.execute('CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
      expect((await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
      expect(events).toEqual(['prepared']);
      restore();
      return;
    }
    expect((await conn.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    await conn.execute('CREATE TABLE t (id int)');
    expect(events).toEqual([]);
    // A request of steps that takes a while on the server: prepared while it runs, before its answer is read.
    const first = conn.executeBatch!(['SELECT pg_sleep(0.3)', 'INSERT INTO t VALUES (1)']).then((r) => {
      events.push('first answered');
      return r;
    });
    expect(events).toEqual([]);
    // The connection's own method is back after the first request (the ledger and the smoke checks hold this object).
    expect(Object.hasOwn(conn, 'executeBatch')).toBe(false);
    expect((await first).error).toBeNull();
    expect(events).toEqual(['prepared', 'first answered']);
    expect((await conn.executeBatch!(['INSERT INTO t VALUES (2)'])).error).toBeNull();
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['prepared', 'first answered']);
    expect((await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 2 }]);
    restore();
    expect(Object.hasOwn(conn, 'executeBatch')).toBe(false);
  });

  it('is not prepared when the steps end before a request of several (the wrapper put back)', async () => {
    const events: string[] = [];
    const conn = session.conn;
    const restore = prepareWithFirstSteps(conn, () => void events.push('prepared'));
    const embedded = !Object.getPrototypeOf(conn).executeBatch;
    restore();
    expect(Object.hasOwn(conn, 'executeBatch')).toBe(false);
    if (conn.executeBatch) expect((await conn.executeBatch(['SELECT 1'])).error).toBeNull();
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(embedded ? ['prepared'] : []);
  });
});
