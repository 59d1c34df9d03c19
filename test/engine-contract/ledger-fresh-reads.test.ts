import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';
import { deploymentInfo } from '../support/deployment-info';

/**
 * A ledger this connection's `ensure` just created is empty: opening the first deployment reads neither the project's
 * state nor the next id (three requests a new target of a fleet used to spend), and the second one reads the state
 * again. The next id is never read on its own: the opening row's INSERT takes it (`LedgerDialect.returning`).
 */
describe('the first deployment row of a ledger created on this connection [postgres]', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let conn: PgConnection;
  const sent: string[] = [];
  /** The requests of several queries (`queryMany`), each as its queries' text. */
  const together: string[][] = [];
  beforeAll(async () => {
    db = await scratchDatabase('dbee_trips_fresh');
    conn = await PgConnection.open({ connectionString: db.url }, 'postgres:fresh');
    const query = conn.query.bind(conn);
    conn.query = ((sql: string, params?: unknown[]) => {
      sent.push(sql);
      return query(sql, params);
    }) as typeof conn.query;
    const queryMany = conn.queryMany.bind(conn);
    conn.queryMany = ((queries: { sql: string; params?: unknown[] }[], settings?: Record<string, string>) => {
      together.push(queries.map((q) => q.sql));
      return queryMany(queries, settings);
    }) as typeof conn.queryMany;
  }, 120_000);
  afterAll(async () => {
    await conn?.close();
    await db?.drop();
  });

  const info = deploymentInfo;
  const reads = () => sent.filter((s) => /^\s*SELECT/i.test(s));

  it('is told missing without a request once read, created, then opened with id 1 and an empty state unread', async () => {
    const ledger = openLedger(conn, postgresLedger);
    expect(ledger.tables.knownMissing()).toBe(false);
    expect(await ledger.tables.version()).toBe(0);
    expect(ledger.tables.knownMissing()).toBe(true);
    await ledger.tables.ensure();
    expect(ledger.tables.knownMissing()).toBe(false);
    sent.length = 0;
    expect(await ledger.deployments.startDeployment(info('a'))).toBe(1);
    expect(reads()).toEqual([]);
    expect(together).toEqual([]);
    const row = await conn.query<{ ledger_before: unknown }>(`SELECT ledger_before FROM dbee.deployments WHERE id = 1`);
    expect(row.rows[0]!.ledger_before).toEqual({ objects: {}, migrations: {} });
  });

  it('reads the state for every later deployment row, and takes the next id in its INSERT', async () => {
    const ledger = openLedger(conn, postgresLedger);
    await conn.query(
      `INSERT INTO dbee.objects (project, object_key, checksum, deployment_id) VALUES ('b', 'table:s.t', 'c1', 1)`,
    );
    sent.length = 0;
    expect(await ledger.deployments.startDeployment(info('b'))).toBe(2);
    // The objects and the migrations, read in one request before the row (two requests until they went together, 3
    // when the next id was read on its own).
    expect(reads()).toEqual([]);
    expect(together).toEqual([
      [expect.stringMatching(/FROM dbee\.objects/), expect.stringMatching(/FROM dbee\.migrations/)],
    ]);
    expect(sent.filter((s) => /MAX\(id\)/.test(s))).toEqual([expect.stringMatching(/INSERT INTO dbee\.deployments/)]);
    const row = await conn.query<{ ledger_before: unknown }>(`SELECT ledger_before FROM dbee.deployments WHERE id = 2`);
    expect(row.rows[0]!.ledger_before).toEqual({ objects: { 'table:s.t': 'c1' }, migrations: {} });
  });

  it("keeps a running deployment's summary until its closing row writes it; a closed one is merged unread", async () => {
    const ledger = openLedger(conn, postgresLedger);
    const id = await ledger.deployments.startDeployment(info('c'));
    sent.length = 0;
    await ledger.deployments.updateSummary(id, { smokeChecks: [] });
    await ledger.deployments.updateSummary(id, { fingerprint: 'f1' });
    // Nothing sent until the closing row, which writes it all: 3 requests before (each update written, the close).
    expect(sent).toEqual([]);
    await ledger.deployments.finishDeployment(id, 'succeeded', null, null, { transaction: 't' });
    expect(reads()).toEqual([]);
    const summary = async () =>
      (await conn.query<{ summary: unknown }>(`SELECT summary FROM dbee.deployments WHERE id = $1`, [id])).rows[0]!
        .summary;
    expect(await summary()).toEqual({ smokeChecks: [], fingerprint: 'f1', transaction: 't' });
    // Closed: what another session may have written since stays, merged by the UPDATE itself (read first before).
    await conn.query(`UPDATE dbee.deployments SET summary = summary || '{"other": 1}' WHERE id = $1`, [id]);
    sent.length = 0;
    await ledger.deployments.updateSummary(id, { smoke: 's' });
    expect(reads()).toHaveLength(0);
    expect(sent).toHaveLength(1);
    expect(await summary()).toEqual({ smokeChecks: [], fingerprint: 'f1', transaction: 't', other: 1, smoke: 's' });
  });
});
