import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
import { fingerprint } from '../../packages/postgres/src/introspect/fingerprint';
import { scratchDatabase } from '../support/pg';
import { deploymentInfo } from '../support/deployment-info';

/**
 * The catalog queries a batch runs once per project (fingerprint, existence checks) are prepared on the session and
 * planned generically (`PgConnection.queryPrepared`): the session's own settings must come out as they went in, and
 * the answer must be the one the plain query gives.
 */
describe('prepared catalog queries on a server session', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let conn: PgConnection;
  beforeAll(async () => {
    db = await scratchDatabase('dbee_prep');
    conn = await PgConnection.open({ connectionString: db.url }, 'postgres:prep');
    await conn.execute(
      'CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, v text); CREATE VIEW app.v AS SELECT id FROM app.t',
    );
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await db?.drop();
  });

  const settings = async () =>
    (
      await conn.query<{ p: string; s: string }>(
        `SELECT current_setting('plan_cache_mode') AS p, current_setting('search_path') AS s`,
      )
    ).rows[0];

  it('sets plan_cache_mode and the given settings for the call only, and answers as the plain query does', async () => {
    await conn.execute(`SET search_path TO app, public`);
    const before = await settings();
    expect(before).toEqual({ p: 'auto', s: 'app, public' });
    const sql = `SELECT current_setting('plan_cache_mode') AS p, current_setting('search_path') AS s, count(*)::int AS n FROM pg_class WHERE relnamespace = $1::regnamespace`;
    const inside = await conn.queryPrepared<{ p: string; s: string; n: number }>(sql, ['app'], {
      search_path: 'pg_catalog',
    });
    expect(inside.rows[0]).toMatchObject({ p: 'force_generic_plan', s: 'pg_catalog' });
    expect(inside.rows[0]!.n).toBe(
      (
        await conn.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'app'::regnamespace`,
        )
      ).rows[0]!.n,
    );
    expect(await settings()).toEqual(before);
    // Prepared once: the session holds it under one name.
    await conn.queryPrepared(sql, ['app']);
    const statements = await conn.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'dbee\\_%'`,
    );
    expect(statements.rows[0]!.n).toBe(1);
  });

  it('prepares again after the session dropped its statements (DEALLOCATE ALL)', async () => {
    const scope = { schemas: ['app'] };
    const first = await fingerprint(conn, scope);
    await conn.execute('DEALLOCATE ALL');
    expect(await fingerprint(conn, scope)).toBe(first);
    // The same value the unprepared path computes (a connection without queryPrepared, as PGlite's).
    const plain = { query: conn.query.bind(conn), execute: conn.execute.bind(conn) } as unknown as PgConnection;
    expect(await fingerprint(plain, scope)).toBe(first);
  });

  it('a failing prepared query is a mapped error and leaves the settings as they were', async () => {
    const before = await settings();
    await expect(conn.queryPrepared(`SELECT 1 / $1::int AS x`, [0])).rejects.toThrow(/division by zero/);
    expect(await settings()).toEqual(before);
  });
});

/**
 * A deployment's commits on a server session do not wait for the disk until its closing row, which commits as the
 * server is configured (`LedgerInlining.asyncSession`); an embedded database (no executeBatch) is never asked to.
 */
describe('a deployment on a server session commits without waiting for the disk until its closing row', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let conn: PgConnection;
  beforeAll(async () => {
    db = await scratchDatabase('dbee_async');
    conn = await PgConnection.open({ connectionString: db.url }, 'postgres:async');
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await db?.drop();
  });

  const mode = async (c: { query: PgConnection['query'] }) =>
    (await c.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0]!.s;
  const info = deploymentInfo();

  it('on a server connection: off from the start row to the closing row, then as configured', async () => {
    const ledger = openLedger(conn, postgresLedger);
    await ledger.tables.ensure();
    expect(await mode(conn)).toBe('on');
    const id = await ledger.deployments.startDeployment(info);
    expect(await mode(conn)).toBe('off');
    await ledger.deployments.finishDeployment(id, 'succeeded', null, null, {});
    expect(await mode(conn)).toBe('on');
    expect((await conn.query(`SELECT status FROM dbee.deployments WHERE id = $1`, [id])).rows).toEqual([
      { status: 'succeeded' },
    ]);
  });

  it('the setting travels with the opening and the closing row: one round trip each', async () => {
    // Every request, as the statements it sends: a batch as its statements, a query as one.
    const requests: string[][] = [];
    const batch = conn.executeBatch.bind(conn);
    const query = conn.query.bind(conn);
    const queryMany = conn.queryMany?.bind(conn);
    conn.executeBatch = (statements) => (requests.push([...statements]), batch(statements));
    conn.query = ((sql: string, params?: unknown[]) => (requests.push([sql]), query(sql, params))) as typeof conn.query;
    if (queryMany)
      conn.queryMany = (queries, settings) => (requests.push(queries.map((q) => q.sql)), queryMany(queries, settings));
    try {
      const ledger = openLedger(conn, postgresLedger);
      await ledger.tables.ensure();
      requests.length = 0;
      const id = await ledger.deployments.startDeployment({ ...info, ticket: "CHG-1 'quoted'" });
      await ledger.deployments.finishDeployment(id, 'failed', "it's broken", 'SELECT 1', { failedAt: 'now' });
      // The opening row sets the session's commit mode in its own statement (and takes its id there); the closing row
      // puts it back first, in its request.
      expect(
        requests.map((b) =>
          b.map(
            (s) =>
              /set_config\('synchronous_commit', 'off', false\)[\s\S]*INSERT INTO dbee\.deployments\b|^(SET|RESET) synchronous_commit\b|^(INSERT INTO|UPDATE) dbee\.deployments\b/.exec(
                s.trim(),
              )?.[0] && s.trim().slice(0, 24),
          ),
        ),
      ).toEqual([
        // The ledger state read first (the deployment's `ledger_before`), its two queries in one request.
        [undefined, undefined],
        ['WITH n AS MATERIALIZED ('],
        ['RESET synchronous_commit', 'UPDATE dbee.deployments '],
      ]);
      expect(await mode(conn)).toBe('on');
      // The row as the parameters wrote it (values written as literals, quotes included).
      const row = await conn.query(
        'SELECT status, error, failed_statement, summary, ticket, ledger_before, steps_total FROM dbee.deployments WHERE id = $1',
        [id],
      );
      expect(row.rows).toEqual([
        {
          status: 'failed',
          error: "it's broken",
          failed_statement: 'SELECT 1',
          summary: { failedAt: 'now' },
          ticket: "CHG-1 'quoted'",
          ledger_before: { objects: {}, migrations: {} },
          steps_total: 0,
        },
      ]);
    } finally {
      conn.executeBatch = batch;
      conn.query = query;
      conn.queryMany = queryMany;
    }
  });

  it('on a connection that does not batch (as an embedded one): never changed', async () => {
    const plain = {
      description: 'plain',
      query: conn.query.bind(conn),
      execute: conn.execute.bind(conn),
      transaction: conn.transaction.bind(conn),
      close: async () => {},
    } as unknown as PgConnection;
    const ledger = openLedger(plain, postgresLedger);
    const id = await ledger.deployments.startDeployment(info);
    expect(await mode(conn)).toBe('on');
    await ledger.deployments.finishDeployment(id, 'succeeded', null, null, {});
    expect(await mode(conn)).toBe('on');
  });
});
