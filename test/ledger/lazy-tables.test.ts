import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger, runBackfill, type Connection, type ExpandPlan } from '@dbee/core';
import { PgConnection, postgresBackfill, postgresLedger } from '@dbee/postgres';
import { envWorkspace, type Engine } from '../env-management/helpers';
import { scratchDatabase } from '../support/pg';
import { openMemoryPglite } from '../support/pglite';

/**
 * A new ledger holds only the tables every deployment writes: the feature tables (`backups`, `backfills`,
 * `expand_releases`) are created the first time a deployment needs one, in the transaction of its first row, and every
 * reader treats a missing one as empty. A fleet of hundreds of new databases pays for the features it uses.
 */
const FEATURE_TABLES = ['backfills', 'backups', 'expand_releases'];

/** The ledger's tables, by name. */
const tablesOf = async (c: Connection) =>
  (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'dbee' ORDER BY 1")).rows.map(
    (r) => r.t,
  );

/** A deployment row to attach rows to. */
const deployment = (ledger: Ledger) =>
  ledger.deployments.startDeployment({
    project: 'app',
    environment: 'dev',
    kind: 'deploy',
    planChecksum: 'sha256:x',
    package: null,
    gitCommit: null,
    toolVersion: '0.0.0',
    osUser: 'me',
    ciJob: null,
    host: 'h',
    stepsTotal: 1,
  });

const files = {
  'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
  'shop/schema/shop/tables/orders.sql':
    'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL DEFAULT 0);\n',
};

describe.each<[Engine]>([['pglite'], ['postgres']])('a ledger without its feature tables [%s]', (engine) => {
  const w = envWorkspace(engine, files, { env1: '    gates: { backupRetention: 30d }' });
  beforeAll(() => w.setup(), 120_000);
  afterAll(() => w.teardown(), 120_000);
  const env = w.env(1);
  const tables = async () =>
    (await w.query<{ t: string }>(1, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'dbee'")).map((r) => r.t);

  it('a first deployment creates none of them; status, rollback and cleanup read them as empty', async () => {
    const r = await w.dbee('deploy', { project: 'shop', env });
    expect(r.code, r.stderr).toBe(0);
    const created = await tables();
    expect(created).toEqual(expect.arrayContaining(['deployments', 'steps', 'objects', 'migrations', 'smoke_results']));
    expect(created.filter((t) => FEATURE_TABLES.includes(t))).toEqual([]);

    const s = await w.dbee('status', { project: 'shop', env, format: 'json' });
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ backups: [], drift: { state: 'no' } });
    const text = await w.dbee('status', { project: 'shop', env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('  backups: none');

    const cleanup = await w.dbee('cleanup', { project: 'shop', env });
    expect(cleanup.code, cleanup.stderr).toBe(0);

    const rb = await w.dbee('rollback', { project: 'shop', env });
    expect(rb.code, rb.stderr).toBe(0);
    expect(await w.query(1, "SELECT to_regclass('shop.orders') IS NULL AS gone")).toEqual([{ gone: true }]);
    expect((await tables()).filter((t) => FEATURE_TABLES.includes(t))).toEqual([]);
  });

  it('the first backup creates `backups`; status lists it, cleanup drops it after its retention', async () => {
    await w.query(1, 'CREATE SCHEMA IF NOT EXISTS shop');
    await w.query(1, 'CREATE TABLE shop.orders (id int PRIMARY KEY, legacy text)');
    const r = await w.dbee('deploy', {
      project: 'shop',
      env,
      ifExists: 'rename',
      now: new Date('2026-11-01T10:00:00Z'),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await tables()).toContain('backups');
    const backup = 'shop_dbee_bak.orders_bak_20261101t100000';
    const s = await w.dbee('status', { project: 'shop', env, format: 'json' });
    const listed = (JSON.parse(s.stdout) as { backups: { backup: string; createdAt: string }[] }).backups;
    expect(listed.map((b) => b.backup)).toEqual([backup]);

    const later = new Date(Date.parse(listed[0]!.createdAt) + 31 * 86_400_000);
    const cleanup = await w.dbee('cleanup', { project: 'shop', env, now: later });
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(await w.query(1, `SELECT to_regclass('${backup}') IS NULL AS gone`)).toEqual([{ gone: true }]);
    const after = await w.dbee('status', { project: 'shop', env, format: 'json' });
    expect((JSON.parse(after.stdout) as { backups: unknown[] }).backups).toEqual([]);
  });
});

describe('feature tables created on first use [postgres]', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  const opened: Connection[] = [];
  const open = async () => {
    const c = await PgConnection.open({ connectionString: db.url }, 'postgres:ledger');
    opened.push(c);
    return c;
  };
  beforeAll(async () => {
    db = await scratchDatabase('dbee_lazy_tables');
  }, 120_000);
  afterAll(async () => {
    for (const c of opened) await c.close();
    await db?.drop();
  });

  it('a new ledger has none; a backup recorded in a transaction that rolls back takes its table with it', async () => {
    const conn = await open();
    const ledger = openLedger(conn, postgresLedger);
    await ledger.tables.ensure();
    expect((await tablesOf(conn)).filter((t) => FEATURE_TABLES.includes(t))).toEqual([]);
    const id = await deployment(ledger);
    await conn
      .transaction(async (tx) => {
        await ledger.backups.recordBackup(id, 'table:app.t', 'app_dbee_bak.t_bak_1', tx);
        expect(await ledger.tables.hasTable('backups', tx)).toBe(true);
        throw new Error('the step failed');
      })
      .catch(() => {});
    expect(await tablesOf(conn)).not.toContain('backups');
    // The same session reads it as missing again, and creates it again with the next backup.
    expect(await ledger.backups.of(id)).toEqual([]);
    await ledger.backups.backupGone(id, 'app_dbee_bak.t_bak_1');
    await conn.transaction((tx) => ledger.backups.recordBackup(id, 'table:app.t', 'app_dbee_bak.t_bak_2', tx));
    expect((await ledger.backups.of(id)).map((b) => b.backup_name)).toEqual(['app_dbee_bak.t_bak_2']);
    // Another session learns that it exists with the ledger's version.
    expect(
      (await openLedger(await open(), postgresLedger).backups.liveBackups('app')).map((b) => b.backup_name),
    ).toEqual(['app_dbee_bak.t_bak_2']);
  });

  it('the first backfill creates `backfills`; the first expand/contract release creates `expand_releases`', async () => {
    const conn = await open();
    await conn.execute(
      'CREATE TABLE public.t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, 0 FROM generate_series(1, 50) g',
    );
    const spec = { id: 'b1', table: { schema: 'public', name: 't' }, set: 'v = 1' };
    const r = await runBackfill(postgresBackfill, conn, spec, {
      ledger: postgresLedger,
      targetBatchMs: 0,
      batchSize: 20,
    });
    expect(r).toMatchObject({ done: 50, total: 50 });
    expect(await tablesOf(conn)).toContain('backfills');

    const phases = openLedger(conn, postgresLedger).releases;
    expect(await phases.inFlight('app')).toBeNull();
    const plan = { project: 'app', release: 'r2', previous: 'r1' } as unknown as ExpandPlan;
    const started = await phases.start(plan, 'dev');
    expect(started).toMatchObject({ project: 'app', release: 'r2', phase: 'expanding' });
    expect((await phases.inFlight('app'))?.id).toBe(started.id);
    // Its partial unique index came with it: a second release in flight is refused.
    await expect(phases.start({ ...plan, release: 'r3' } as ExpandPlan, 'dev')).rejects.toThrow(/one_in_flight/);
  });
});

describe('feature tables created on first use [pglite]', () => {
  it('a new embedded ledger has none, and a backup creates its table', async () => {
    // A new database as dbee makes one (the run's template), not PGlite's own initdb (2-3 s of CPU).
    const conn = await openMemoryPglite('pglite:test');
    try {
      const ledger = openLedger(conn, postgresLedger);
      await ledger.tables.ensure();
      expect((await tablesOf(conn)).filter((t) => FEATURE_TABLES.includes(t))).toEqual([]);
      const id = await deployment(ledger);
      await conn.transaction((tx) => ledger.backups.recordBackup(id, 'table:app.t', 'app_dbee_bak.t_bak_1', tx));
      expect((await ledger.backups.liveBackups('app')).map((b) => b.backup_name)).toEqual(['app_dbee_bak.t_bak_1']);
    } finally {
      await conn.close();
    }
  });
});
