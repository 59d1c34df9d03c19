import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

/**
 * Creating or upgrading the ledger on a server (`Ledger.ensure`): every upgrade still to run and the rows recording
 * them go in one transaction, sent as one request (a fleet creates the ledger of hundreds of fresh databases).
 */
describe('the ledger created and upgraded in one request [postgres]', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let conn: PgConnection;
  const opened: PgConnection[] = [];
  /** What the connections `open` gave sent: one entry per round trip. */
  let sent: string[][] = [];
  /** A new session (the ledger's version is known per session once it is up to date), its round trips in `sent`. */
  const open = async () => {
    const c = await PgConnection.open({ connectionString: db.url }, 'postgres:ledger');
    opened.push(c);
    for (const m of ['query', 'execute', 'executeBatch'] as const) {
      const f = c[m].bind(c) as (...a: unknown[]) => Promise<unknown>;
      (c as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
        sent.push(Array.isArray(a[0]) ? (a[0] as string[]) : [String(a[0])]);
        return f(...a);
      };
    }
    return c;
  };
  beforeAll(async () => {
    db = await scratchDatabase('dbee_ledger_ensure');
    conn = await open();
  }, 120_000);
  afterAll(async () => {
    for (const c of opened) await c.close();
    await db?.drop();
  });

  const latest = postgresLedger.migrations.length;
  const versions = async () =>
    (await conn.query<{ v: number }>('SELECT version AS v FROM dbee.ledger_version ORDER BY 1')).rows.map((r) => r.v);

  it('a fresh database: every version in one round trip, all recorded', async () => {
    sent = [];
    const ledger = openLedger(conn, postgresLedger);
    expect(await ledger.tables.ensure()).toBe(latest);
    const creating = sent.filter((r) => r.some((s) => /^\s*(CREATE|ALTER|INSERT)/.test(s)));
    expect(creating).toHaveLength(1);
    expect(creating[0]![0]).toBe('BEGIN');
    expect(creating[0]!.at(-1)).toBe('COMMIT');
    expect(await versions()).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
    // Every table of every version is there (a column of the last upgrades), but the feature tables a deployment
    // creates when it first needs one (test/ledger/lazy-tables.test.ts).
    await conn.query('SELECT ticket, ledger_before FROM dbee.deployments LIMIT 0');
    await openLedger(conn, postgresLedger).tables.ensureTable('expand_releases');
    await conn.query('SELECT lock_attempts FROM dbee.expand_releases LIMIT 0');
  });

  it('an upgrade that fails leaves the ledger at the version it had, with nothing of the later ones', async () => {
    // A ledger at version 3 whose next upgrade cannot run: a table of that name is already there.
    await conn.execute(
      'DROP TABLE dbee.expand_releases; DROP TABLE IF EXISTS dbee.backfills; DELETE FROM dbee.ledger_version WHERE version > 3; CREATE TABLE dbee.backfills (x int)',
    );
    const ledger = openLedger(await open(), postgresLedger);
    await expect(ledger.tables.ensure()).rejects.toThrow(/backfills.*already exists/);
    expect(await versions()).toEqual([1, 2, 3]);
    const left = await conn.query<{ t: string }>(
      "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'dbee' AND tablename = 'expand_releases'",
    );
    expect(left.rows).toEqual([]);
    // Fixed by hand, the next run upgrades from 3 to the latest in one round trip.
    await conn.execute('DROP TABLE dbee.backfills');
    sent = [];
    expect(await ledger.tables.ensure()).toBe(latest);
    expect(sent.filter((r) => r.some((s) => /^\s*(CREATE|ALTER|INSERT)/.test(s)))).toHaveLength(1);
    expect(await versions()).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
  });
});
