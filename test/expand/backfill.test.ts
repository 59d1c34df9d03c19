import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillState, openLedger, runBackfill, type BackfillProgress, type BackfillSpec } from '@dbee/core';
import { PgConnection, postgresBackfill, postgresLedger } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';
import { openMemoryPglite } from '../support/pglite';

const ROOT = resolve(__dirname, '../..');

let db: Awaited<ReturnType<typeof scratchDatabase>>;
let conn: PgConnection;

beforeAll(async () => {
  db = await scratchDatabase('dbee_bf');
  conn = await PgConnection.open({ connectionString: db.url }, 'scratch');
  await openLedger(conn, postgresLedger).tables.ensure();
  // A new ledger has no `backfills` table until a backfill given the ledger's dialect starts (lazy-tables.test.ts).
  await openLedger(conn, postgresLedger).tables.ensureTable('backfills');
});
afterAll(async () => {
  await conn?.close();
  await db?.drop();
});

/** A table of `rows` rows keyed 1..rows, `n` counting the backfill's updates of each row. */
async function table(name: string, rows: number): Promise<BackfillSpec> {
  await conn.execute(`CREATE TABLE public.${name} (id int PRIMARY KEY, v int, n int NOT NULL DEFAULT 0);
    INSERT INTO public.${name} (id, v) SELECT g, g FROM generate_series(1, ${rows}) g;`);
  return { id: name, table: { schema: 'public', name }, set: 'v = v * 2, n = n + 1' };
}

const count = async (sql: string) => Number((await conn.query<{ n: string }>(sql)).rows[0]!.n);

describe('backfill on a server', () => {
  it('updates every row once, in batches, and records done/total; a rerun of a done backfill does nothing', async () => {
    const spec = await table('t1', 5000);
    const seen: BackfillProgress[] = [];
    const r = await runBackfill(postgresBackfill, conn, spec, {
      batchSize: 700,
      targetBatchMs: 0,
      onProgress: (p) => seen.push(p),
    });
    expect(r).toMatchObject({ done: 5000, total: 5000, key: ['id'], resumed: false, batchesThisRun: 8 });
    expect(seen.map((p) => p.done)).toEqual([700, 1400, 2100, 2800, 3500, 4200, 4900, 5000]);
    expect(seen.every((p) => p.total === 5000 && p.rowsPerSecond > 0)).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM t1 WHERE n <> 1 OR v <> id * 2`)).toBe(0);
    expect(await backfillState(postgresBackfill, conn, 't1')).toMatchObject({
      status: 'done',
      done: 5000,
      total: 5000,
      cursor: ['5000'],
    });
    const again = await runBackfill(postgresBackfill, conn, spec);
    expect(again).toMatchObject({ alreadyDone: true, updatedThisRun: 0 });
    expect(await count(`SELECT count(*) AS n FROM t1 WHERE n <> 1`)).toBe(0);
  });

  it('walks a composite unique NOT NULL key with a condition; refuses a table without such a key (exit 1)', async () => {
    await conn.execute(`CREATE TABLE public.t2 (a text NOT NULL, b int NOT NULL, v int, UNIQUE (a, b));
      INSERT INTO public.t2 SELECT chr(97 + g % 5), g, CASE WHEN g % 3 = 0 THEN NULL ELSE g END FROM generate_series(1, 900) g;`);
    const r = await runBackfill(
      postgresBackfill,
      conn,
      { id: 't2', table: { schema: 'public', name: 't2' }, set: 'v = -b', where: 'v IS NULL' },
      { batchSize: 50, targetBatchMs: 0 },
    );
    expect(r).toMatchObject({ done: 300, total: 300, key: ['a', 'b'] });
    expect(await count(`SELECT count(*) AS n FROM t2 WHERE v = -b`)).toBe(300);

    await conn.execute(`CREATE TABLE public.t3 (id int, v int); CREATE UNIQUE INDEX ON public.t3 (id)`);
    const e = await runBackfill(postgresBackfill, conn, {
      id: 't3',
      table: { schema: 'public', name: 't3' },
      set: 'v = 1',
    }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'BACKFILL_NO_KEY', exitCode: 1 });
    expect((e as Error).message).toContain('public.t3 has no primary key and no unique key of NOT NULL columns');
    const named = await runBackfill(postgresBackfill, conn, {
      id: 't2-v',
      table: { schema: 'public', name: 't2' },
      key: ['v'],
      set: 'v = 1',
    }).catch((x: unknown) => x);
    expect(named).toMatchObject({ code: 'BACKFILL_NO_KEY', exitCode: 1 });
  });

  it('resumes after the process running it is killed mid-backfill, without updating any row twice', async () => {
    const spec = await table('t4', 20_000);
    // Every batch sleeps 30 ms inside its transaction, so that the kill is likely to land inside one.
    await conn.execute(`CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(0.03); RETURN NULL; END $$;
      CREATE TRIGGER slow AFTER UPDATE ON public.t4 FOR EACH STATEMENT EXECUTE FUNCTION public.slow();`);
    const child = spawn(
      process.execPath,
      [
        'tools/run.js',
        'test/expand/backfill-child.ts',
        db.url,
        JSON.stringify(spec),
        JSON.stringify({ batchSize: 500, targetBatchMs: 0 }),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    await new Promise<void>((done, fail) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        if (out.split('\n').filter((l) => l.startsWith('{')).length >= 5) {
          child.kill('SIGKILL');
          done();
        }
      });
      void exited.then(() => fail(new Error(`the child ended before it was killed: ${out}${stderr}`)));
    });
    await exited;
    // The server ends the killed session's transaction; wait until it is gone.
    for (
      let i = 0;
      i < 200 &&
      (await count(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      )) > 0;
      i++
    )
      await new Promise((r) => setTimeout(r, 25));

    const killed = (await backfillState(postgresBackfill, conn, 't4'))!;
    expect(killed.status).toBe('running');
    expect(killed.done).toBeGreaterThanOrEqual(2500);
    expect(killed.done).toBeLessThan(20_000);
    // The ledger says exactly what was done: the rows up to its cursor, each once, and none after it.
    expect(await count(`SELECT count(*) AS n FROM t4 WHERE n = 1 AND id <= ${killed.cursor![0]}`)).toBe(killed.done);
    expect(await count(`SELECT count(*) AS n FROM t4 WHERE n <> 0 AND id > ${killed.cursor![0]}`)).toBe(0);

    const r = await runBackfill(postgresBackfill, conn, spec, { targetBatchMs: 0 });
    expect(r).toMatchObject({ resumed: true, done: 20_000, total: 20_000, updatedThisRun: 20_000 - killed.done });
    expect(await count(`SELECT count(*) AS n FROM t4 WHERE n <> 1 OR v <> id * 2`)).toBe(0);
  });

  it('adapts the size to the time a batch holds its rows, not to a wait before its UPDATE', async () => {
    const spec = await table('t9', 400);
    // Between batches 1 and 2 (a 1 s pause) another session takes the backfill's ledger row for 1.5 s: batch 2 waits
    // for it before its UPDATE, then updates its rows in a few milliseconds. Batches target 300 ms.
    const locker = await PgConnection.open({ connectionString: db.url }, 'locker');
    const seen: BackfillProgress[] = [];
    let held: Promise<void> | undefined;
    try {
      const r = await runBackfill(postgresBackfill, conn, spec, {
        batchSize: 50,
        targetBatchMs: 300,
        pauseMs: 1000,
        lock: { lockTimeoutMs: 10_000 },
        onProgress: (p) => {
          seen.push(p);
          if (p.batches === 1)
            held = locker.transaction(async (tx) => {
              await tx.query(`SELECT 1 FROM dbee.backfills WHERE id = 't9' FOR UPDATE`);
              await tx.query('SELECT pg_sleep(1.5)');
            });
        },
      });
      await held;
      expect(r).toMatchObject({ done: 400, total: 400 });
      // Batch 2 took over 300 ms but held its rows for a few: the size doubled again (before: cut to 56 rows).
      expect(seen[1]!.lastBatchMs).toBeGreaterThan(300);
      expect(seen.slice(0, 2).map((p) => p.batchSize)).toEqual([100, 200]);
      expect(await count(`SELECT count(*) AS n FROM t9 WHERE n <> 1 OR v <> id * 2`)).toBe(0);
    } finally {
      await held?.catch(() => undefined);
      await locker.close();
    }
  });

  it('ends under a steady concurrent inserter, and leaves the rows inserted after its start to the trigger', async () => {
    const spec = await table('t5', 3000);
    const inserter = await PgConnection.open({ connectionString: db.url }, 'inserter');
    let stop = false;
    let inserted = 0;
    const loop = (async () => {
      // Capped, so that a backfill that chased the inserts would still end, and fail the checks below rather than hang.
      while (!stop && inserted < 60_000) {
        await inserter.query(
          `INSERT INTO public.t5 (id, v) SELECT m + g, m + g FROM (SELECT max(id) AS m FROM public.t5) x, generate_series(1, 200) g`,
        );
        inserted += 200;
      }
    })();
    let done = 0;
    try {
      // Fixed batches of 100 rows with a pause: the inserter adds 200 rows a statement, so a backfill chasing the
      // newest row would hardly end (and would update rows the trigger already filled).
      done = (await runBackfill(postgresBackfill, conn, spec, { batchSize: 100, targetBatchMs: 0, pauseMs: 5 })).done;
    } finally {
      stop = true;
      await loop;
      await inserter.close();
    }
    // Its rows are those that existed when it started: up to the bound it took then, each updated once.
    const bound = Number((await backfillState(postgresBackfill, conn, 't5'))!.bound![0]);
    expect(bound).toBeGreaterThanOrEqual(3000);
    expect(done).toBe(bound);
    expect(await count(`SELECT count(*) AS n FROM t5 WHERE id <= ${bound} AND n <> 1`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM t5 WHERE id > ${bound} AND n <> 0`)).toBe(0);
    // The inserter went on while the backfill ran.
    expect(inserted).toBeGreaterThan(bound - 3000);
    expect(await count(`SELECT count(*) AS n FROM t5 WHERE id > ${bound}`)).toBe(inserted - (bound - 3000));
  });

  it('adapts the batch size toward the target batch duration, down and up', async () => {
    const spec = await table('t6', 1500);
    // At least 2 ms a row: a batch of 200 rows takes at least 400 ms, ten times the 40 ms target.
    await conn.execute(`CREATE FUNCTION public.slow_value(x int) RETURNS int LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(0.002); RETURN x; END $$`);
    const down: BackfillProgress[] = [];
    await runBackfill(
      postgresBackfill,
      conn,
      { ...spec, id: 't6-down', set: 'v = public.slow_value(v)', where: 'id <= 600' },
      { batchSize: 200, targetBatchMs: 40, onProgress: (p) => down.push(p) },
    );
    expect(down[0]!.batchSize).toBe(100); // halved at most per batch
    expect(down[1]!.batchSize).toBe(50);
    expect(Math.min(...down.map((p) => p.batchSize))).toBeLessThanOrEqual(25);

    const up: BackfillProgress[] = [];
    await runBackfill(
      postgresBackfill,
      conn,
      { ...spec, id: 't6-up' },
      { batchSize: 20, targetBatchMs: 10_000, onProgress: (p) => up.push(p) },
    );
    expect(up.slice(0, 4).map((p) => p.batchSize)).toEqual([40, 80, 160, 320]); // doubled at most per batch
    expect(await count(`SELECT count(*) AS n FROM t6 WHERE n <> 1`)).toBe(0);
  });

  it('waits at most the lock timeout per attempt behind a session holding its rows, gives up after the limit, and resumes', async () => {
    const spec = await table('t7', 1000);
    const holder = await PgConnection.open({ connectionString: db.url }, 'holder');
    try {
      await holder.execute(`BEGIN; UPDATE public.t7 SET v = v WHERE id = 450`);
      const attempts: { attempt: number; error?: string }[] = [];
      const e = await runBackfill(postgresBackfill, conn, spec, {
        batchSize: 100,
        targetBatchMs: 0,
        lock: { lockTimeoutMs: 50, maxAttempts: 3, baseDelayMs: 10, onAttempt: (a) => attempts.push(a) },
      }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'LOCK_RETRY_EXHAUSTED', exitCode: 2 });
      // Batches 1-4 went through at their first attempt; batch 5 (ids 401-500) timed out three times.
      expect(attempts.filter((a) => a.error).map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(await backfillState(postgresBackfill, conn, 't7')).toMatchObject({
        status: 'running',
        done: 400,
        cursor: ['400'],
      });
    } finally {
      await holder.execute('ROLLBACK');
      await holder.close();
    }
    const r = await runBackfill(postgresBackfill, conn, spec, { batchSize: 100, targetBatchMs: 0 });
    expect(r).toMatchObject({ resumed: true, done: 1000, updatedThisRun: 600 });
    expect(await count(`SELECT count(*) AS n FROM t7 WHERE n <> 1`)).toBe(0);
  });

  it('refuses to resume a backfill whose definition changed (exit 1)', async () => {
    const spec = await table('t8', 10);
    await runBackfill(postgresBackfill, conn, spec);
    const e = await runBackfill(postgresBackfill, conn, { ...spec, set: 'v = 0' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'BACKFILL_CHANGED', exitCode: 1 });
  });
});

describe('backfill WAL bounds and compression (server)', () => {
  it('adapts the size toward the WAL a batch may write, and pauses to keep the WAL per second', async () => {
    const spec = await table('w1', 6000);
    const seen: BackfillProgress[] = [];
    // Time would let the size grow (a minute per batch); 16 kB of WAL per batch hold it to some tens of rows.
    const r = await runBackfill(postgresBackfill, conn, spec, {
      batchSize: 1000,
      targetBatchMs: 60_000,
      walBytesPerBatch: 16 * 1024,
      walBytesPerSecond: 256 * 1024,
      onProgress: (p) => seen.push(p),
    });
    expect(r).toMatchObject({ done: 6000, total: 6000 });
    expect(seen.every((p) => (p.lastBatchWalBytes ?? 0) > 0)).toBe(true);
    // The first batch (1,000 rows) wrote far more than 16 kB: the size halves per batch down to what fits.
    expect(seen[0]!.lastBatchWalBytes).toBeGreaterThan(16 * 1024);
    expect(seen.slice(0, 3).map((p) => p.batchSize)).toEqual([500, 250, 125]);
    expect(Math.max(...seen.slice(5).map((p) => p.batchSize))).toBeLessThan(250);
    // A batch is followed by the pause its WAL asks for at 256 kB/s, less at most the 20 ms a late timer is made up.
    const asks = (p: BackfillProgress) => (p.lastBatchWalBytes! * 1000) / (256 * 1024) - 20;
    const paced = seen.slice(0, -1).filter((p) => asks(p) > 0);
    expect(paced.length).toBeGreaterThan(5);
    expect(paced.every((p) => p.pauseMs >= Math.floor(asks(p)))).toBe(true);
    expect(seen.at(-1)!.pauseMs).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM w1 WHERE n <> 1 OR v <> id * 2`)).toBe(0);

    // Without the bounds: no WAL read, the size doubles toward the time target, no pause.
    const free: BackfillProgress[] = [];
    await runBackfill(
      postgresBackfill,
      conn,
      { ...(await table('w2', 6000)), id: 'w2' },
      {
        batchSize: 1000,
        targetBatchMs: 60_000,
        onProgress: (p) => free.push(p),
      },
    );
    expect(free.map((p) => [p.batchSize, p.lastBatchWalBytes, p.pauseMs])).toEqual([
      [2000, undefined, 0],
      [4000, undefined, 0],
      [4000, undefined, 0],
    ]);
  });

  it('compresses its full-page images with the best method the server has when the role may set it, else runs without', async () => {
    const methods = await conn.query<{ m: string[] | string }>(
      `SELECT enumvals AS m FROM pg_settings WHERE name = 'wal_compression'`,
    );
    const best = ['zstd', 'lz4', 'pglz'].find((m) => String(methods.rows[0]!.m).includes(m));
    const seenBy = async (c: PgConnection, name: string, options: { walCompression?: boolean } = {}) => {
      await conn.execute(`CREATE TABLE public.${name} (id int PRIMARY KEY, w text);
        INSERT INTO public.${name} (id) SELECT g FROM generate_series(1, 300) g;
        GRANT SELECT, UPDATE ON public.${name} TO PUBLIC`);
      const set = `w = current_setting('wal_compression')`;
      await runBackfill(
        postgresBackfill,
        c,
        { id: name, table: { schema: 'public', name }, set },
        { batchSize: 100, ...options },
      );
      return (await conn.query<{ w: string }>(`SELECT DISTINCT w FROM public.${name}`)).rows.map((r) => r.w);
    };
    // A superuser: the batches set it (the server compresses nothing by default).
    expect(await seenBy(conn, 'c1')).toEqual([best]);
    expect(await seenBy(conn, 'c2', { walCompression: false })).toEqual(['off']);

    // A role that may not set it: the backfill runs, without it.
    const role = `dbee_bf_${Math.random().toString(16).slice(2, 10)}`;
    await conn.execute(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA dbee TO ${role};
      GRANT SELECT, INSERT, UPDATE ON dbee.backfills TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    const plain = await PgConnection.open({ connectionString: url.toString() }, 'plain');
    try {
      expect(await seenBy(plain, 'c3')).toEqual(['off']);
      // Granted the right to set it (PostgreSQL 15+), it sets it.
      await conn.execute(`GRANT SET ON PARAMETER wal_compression TO ${role}`);
      expect(await seenBy(plain, 'c4')).toEqual([best]);
      // Without the WAL position (revoked here, as some services do not give it), the WAL bounds are off: it runs.
      await conn.execute('REVOKE EXECUTE ON FUNCTION pg_current_wal_insert_lsn() FROM PUBLIC');
      const seen: BackfillProgress[] = [];
      await conn.execute(`CREATE TABLE public.c5 (id int PRIMARY KEY, v int); GRANT SELECT, UPDATE ON public.c5 TO PUBLIC;
        INSERT INTO public.c5 SELECT g, 0 FROM generate_series(1, 300) g`);
      const r = await runBackfill(
        postgresBackfill,
        plain,
        { id: 'c5', table: { schema: 'public', name: 'c5' }, set: 'v = 1' },
        { batchSize: 100, walBytesPerBatch: 1024, walBytesPerSecond: 1024, onProgress: (p) => seen.push(p) },
      );
      expect(r).toMatchObject({ done: 300 });
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.every((p) => p.lastBatchWalBytes === undefined && p.pauseMs === 0)).toBe(true);
    } finally {
      await plain.close();
      await conn.execute('GRANT EXECUTE ON FUNCTION pg_current_wal_insert_lsn() TO PUBLIC');
      await conn.execute(
        `REVOKE SET ON PARAMETER wal_compression FROM ${role}; DROP OWNED BY ${role}; DROP ROLE ${role}`,
      );
    }
  });
});

describe('backfill on PGlite', () => {
  it('runs to its end, stops between batches when aborted, and resumes', async () => {
    const lite = await openMemoryPglite('pglite backfill');
    try {
      await openLedger(lite, postgresLedger).tables.ensure();
      await openLedger(lite, postgresLedger).tables.ensureTable('backfills');
      await lite.execute(`CREATE TABLE public.p (id bigint PRIMARY KEY, v text, n int NOT NULL DEFAULT 0);
        INSERT INTO public.p (id, v) SELECT g, 'x' || g FROM generate_series(1, 2500) g;`);
      const spec: BackfillSpec = { id: 'p', table: { schema: 'public', name: 'p' }, set: 'v = upper(v), n = n + 1' };
      const stop = new AbortController();
      const e = await runBackfill(postgresBackfill, lite, spec, {
        batchSize: 400,
        targetBatchMs: 0,
        signal: stop.signal,
        onProgress: (p) => p.batches === 2 && stop.abort(new Error('stopped')),
      }).catch((x: unknown) => x);
      expect((e as Error).message).toBe('stopped');
      expect(await backfillState(postgresBackfill, lite, 'p')).toMatchObject({
        status: 'running',
        done: 800,
        cursor: ['800'],
      });
      const r = await runBackfill(postgresBackfill, lite, spec, { targetBatchMs: 0 });
      expect(r).toMatchObject({ resumed: true, done: 2500, total: 2500, updatedThisRun: 1700 });
      const bad = await lite.query<{ n: number }>(`SELECT count(*)::int AS n FROM p WHERE n <> 1 OR v <> 'X' || id`);
      expect(bad.rows[0]!.n).toBe(0);
      // Its WAL compression: the one method PGlite has; its WAL bounds read the WAL position as a server does.
      const seen: BackfillProgress[] = [];
      await runBackfill(
        postgresBackfill,
        lite,
        { id: 'p2', table: { schema: 'public', name: 'p' }, set: `v = current_setting('wal_compression')` },
        {
          batchSize: 1000,
          walBytesPerBatch: 64 * 1024,
          walBytesPerSecond: 64 * 1024 ** 2,
          onProgress: (p) => seen.push(p),
        },
      );
      const methods = await lite.query<{ v: string }>('SELECT DISTINCT v FROM p');
      expect(methods.rows).toEqual([{ v: 'pglz' }]);
      expect(seen.every((p) => (p.lastBatchWalBytes ?? 0) > 0)).toBe(true);
    } finally {
      await lite.close();
    }
  });
});
