import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWorkspace, type Engine } from './helpers';

/**
 * Backups that are not drift, and their retention: a `rename` backup lives in `<schema>_dbee_bak`, recorded in the
 * ledger, invisible to diff, drift and fingerprint; `status` lists it with its expiry; `cleanup` drops it after its
 * retention (time injected) and not before, never an object the ledger did not make, as a `cleanup` deployment.
 */
const DAY = 86_400_000;
const files = {
  'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
  'shop/schema/shop/tables/orders.sql':
    'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL DEFAULT 0);\n',
};

describe.each<[Engine]>([['pglite'], ['postgres']])('rename backups and cleanup [%s]', (engine) => {
  const w = envWorkspace(engine, files, { env1: '    gates: { backupRetention: 30d, requireBackup: true }' });
  beforeAll(() => w.setup(), 120_000);
  afterAll(() => w.teardown(), 120_000);
  const env = w.env(1);
  let backup = '';
  const status = async () => {
    const r = await w.dbee('status', { project: 'shop', env, format: 'json' });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as {
      drift: { state: string };
      backups: { backup: string; object: string; createdAt: string; expiresAt: string; expired: boolean }[];
    };
  };

  it('keeps the table that was in the way as a backup in shop_dbee_bak, which is neither a difference nor drift', async () => {
    for (const sql of [
      'CREATE SCHEMA shop',
      'CREATE TABLE shop.orders (id int PRIMARY KEY, legacy text)',
      "INSERT INTO shop.orders VALUES (1, 'old')",
    ])
      await w.query(1, sql);
    const r = await w.dbee('deploy', {
      project: 'shop',
      env,
      ifExists: 'rename',
      now: new Date('2026-11-01T10:00:00Z'),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    backup = 'shop_dbee_bak.orders_bak_20261101t100000';
    expect(await w.query(1, `SELECT id, legacy FROM ${backup}`)).toEqual([{ id: 1, legacy: 'old' }]);
    const d = await w.dbee('diff', { project: 'shop', env, format: 'json', cache: false });
    expect(JSON.parse(d.stdout).changes).toBe(0);
    expect(d.code).toBe(0);
    const failOnDiff = await w.dbee('diff', { project: 'shop', env, failOnDiff: true, cache: false });
    expect(failOnDiff.code).toBe(0);
    const s = await status();
    expect(s.drift.state).toBe('no');
    expect(s.backups).toHaveLength(1);
    expect(s.backups[0]).toMatchObject({ backup, object: 'table:shop.orders', expired: false });
    expect(Date.parse(s.backups[0]!.expiresAt) - Date.parse(s.backups[0]!.createdAt)).toBe(30 * DAY);
    const text = await w.dbee('status', { project: 'shop', env });
    expect(text.stdout).toContain(`    ${backup} (backup of table:shop.orders, deployment #1, `);
    // A table change afterwards plans no drop of the backup.
    w.write(
      'shop/schema/shop/tables/orders.sql',
      'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL DEFAULT 0, note text);\n',
    );
    const next = await w.dbee('deploy', { project: 'shop', env });
    expect(next.stderr).toBe('');
    expect(next.code).toBe(0);
  });

  it('cleanup drops the backup only after its retention, and never an object the ledger did not make', async () => {
    await w.query(1, 'CREATE TABLE shop_dbee_bak.handmade_bak_1 (id int)');
    const created = Date.parse((await status()).backups[0]!.createdAt);
    const early = await w.dbee('cleanup', { project: 'shop', env, now: new Date(created + 29 * DAY) });
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toContain(`keep ${backup}`);
    expect(await w.query(1, `SELECT to_regclass('${backup}') IS NOT NULL AS kept`)).toEqual([{ kept: true }]);
    const dry = await w.dbee('cleanup', { project: 'shop', env, dryRun: true, now: new Date(created + 31 * DAY) });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`drop table:${backup}`);
    expect(dry.stdout).toContain('dry run: nothing was dropped');
    expect(await w.query(1, `SELECT to_regclass('${backup}') IS NOT NULL AS kept`)).toEqual([{ kept: true }]);
    // A view someone made on the backup: its drop fails, nothing is dropped, the ledger records the failed cleanup.
    await w.query(1, `CREATE VIEW shop_dbee_bak.uses_backup AS SELECT * FROM ${backup}`);
    const blocked = await w.dbee('cleanup', { project: 'shop', env, now: new Date(created + 31 * DAY) });
    expect(blocked.code, blocked.stderr).toBe(2);
    expect(blocked.stderr).toContain(`dropping ${backup} failed`);
    expect(await w.query(1, `SELECT to_regclass('${backup}') IS NOT NULL AS kept`)).toEqual([{ kept: true }]);
    expect(
      await w.query(
        1,
        "SELECT s.status FROM dbee.steps s JOIN dbee.deployments d ON d.id = s.deployment_id WHERE d.kind = 'cleanup'",
      ),
    ).toEqual([{ status: 'failed' }]);
    expect(
      (await w.query<{ n: number }>(1, 'SELECT count(*)::int AS n FROM dbee.backups WHERE dropped_at IS NULL'))[0]!.n,
    ).toBe(1);
    await w.query(1, 'DROP VIEW shop_dbee_bak.uses_backup');
    const r = await w.dbee('cleanup', { project: 'shop', env, now: new Date(created + 31 * DAY) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      await w.query(
        1,
        `SELECT to_regclass('${backup}') IS NULL AS gone, to_regclass('shop_dbee_bak.handmade_bak_1') IS NOT NULL AS handmade`,
      ),
    ).toEqual([{ gone: true, handmade: true }]);
    const deployments = await w.query<{ kind: string; status: string; steps_applied: number }>(
      1,
      "SELECT kind, status, steps_applied FROM dbee.deployments WHERE kind = 'cleanup' ORDER BY id",
    );
    expect(deployments).toEqual([
      { kind: 'cleanup', status: 'failed', steps_applied: 0 },
      { kind: 'cleanup', status: 'succeeded', steps_applied: 1 },
    ]);
    expect(
      (await w.query<{ n: number }>(1, 'SELECT count(*)::int AS n FROM dbee.backups WHERE dropped_at IS NULL'))[0]!.n,
    ).toBe(0);
    const s = await status();
    expect(s.backups).toEqual([]);
    expect(s.drift.state).toBe('no');
    const again = await w.dbee('cleanup', { project: 'shop', env, now: new Date(created + 31 * DAY) });
    expect(again.stdout).toContain('no backup is past its retention');
  });

  it('under requireBackup, a table that leaves the sources is kept as a recorded backup instead of dropped', async () => {
    w.write('shop/schema/shop/tables/audit_log.sql', 'CREATE TABLE shop.audit_log (id int PRIMARY KEY, what text);\n');
    expect((await w.dbee('deploy', { project: 'shop', env })).code).toBe(0);
    await w.query(1, "INSERT INTO shop.audit_log VALUES (1, 'kept')");
    const { rmSync } = await import('node:fs');
    rmSync(`${w.root}/shop/schema/shop/tables/audit_log.sql`);
    // A column change makes the deployment diff-based: the table missing from the sources is a drop there.
    w.write(
      'shop/schema/shop/tables/orders.sql',
      'CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL DEFAULT 0, note text, paid boolean);\n',
    );
    const r = await w.dbee('deploy', { project: 'shop', env, now: new Date('2026-11-02T10:00:00Z') });
    expect(r.stderr, r.stdout).toBe('');
    expect(r.code).toBe(0);
    expect(await w.query(1, 'SELECT id, what FROM shop_dbee_bak.audit_log_bak_20261102t100000')).toEqual([
      { id: 1, what: 'kept' },
    ]);
    const s = await status();
    expect(s.backups.map((b) => b.backup)).toEqual(['shop_dbee_bak.audit_log_bak_20261102t100000']);
    expect(s.drift.state).toBe('no');
  });

  it('without a retention, cleanup says what to set and exits 1 having changed nothing', async () => {
    const r = await w.dbee('cleanup', { project: 'shop', env: w.env(2) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no backup retention');
    expect(r.stderr).toContain('gates.backupRetention');
    expect((await w.dbee('cleanup', { project: 'shop', env: w.env(2), olderThan: 'soon' })).stderr).toContain(
      '--older-than soon: expected a duration',
    );
  });
});
