import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
import { scratchDatabase } from '../support/pg';

/**
 * Ledger version 6: the rows every step writes (`steps`, `objects`) carry no foreign key to their deployment's row
 * (a key lookup and a row lock per step), and a deployment's row can never be deleted instead. An older ledger
 * upgrades to it and is read as it is before (a dry run upgrades nothing); a new ledger is created as that version
 * directly, with the same tables, keys, indexes and triggers as an upgraded one.
 */
describe('the ledger without per-step foreign keys (version 6) [postgres]', () => {
  const dbs: Awaited<ReturnType<typeof scratchDatabase>>[] = [];
  const conns: PgConnection[] = [];
  const open = async (name: string) => {
    const db = await scratchDatabase(name);
    dbs.push(db);
    const c = await PgConnection.open({ connectionString: db.url }, 'postgres:ledger');
    conns.push(c);
    return c;
  };
  let old: PgConnection;
  let fresh: PgConnection;
  beforeAll(async () => {
    old = await open('dbee_ledger_keys_old');
    fresh = await open('dbee_ledger_keys_new');
    // The ledger an earlier dbee left: version 5, one deployment with its step and object rows.
    await old.execute(
      [
        ...postgresLedger.migrations.slice(0, 5).flat(),
        'INSERT INTO dbee.ledger_version (version) VALUES (1), (2), (3), (4), (5)',
        `INSERT INTO dbee.deployments (id, project, environment, plan_checksum, tool_version, status, steps_total)
           VALUES (1, 'app', 'dev', 'sha256:x', '0.1.0', 'succeeded', 1)`,
        `INSERT INTO dbee.steps (deployment_id, step_order, object_key, action, checksum, statements, transactional, status)
           VALUES (1, 1, 'schema:app', 'create', 'v1:a', '["CREATE SCHEMA app"]', true, 'applied')`,
        `INSERT INTO dbee.objects (project, object_key, checksum, deployment_id) VALUES ('app', 'schema:app', 'v1:a', 1)`,
      ].join(';\n'),
    );
  }, 120_000);
  afterAll(async () => {
    for (const c of conns) await c.close();
    for (const db of dbs) await db.drop();
  });

  /** The foreign keys of the ledger's tables, as `table.column`. */
  const foreignKeys = async (c: PgConnection) =>
    (
      await c.query<{ k: string }>(
        `SELECT conrelid::regclass::text || '.' || a.attname AS k FROM pg_constraint k
           JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
          WHERE k.contype = 'f' AND k.connamespace = 'dbee'::regnamespace ORDER BY 1`,
      )
    ).rows.map((r) => r.k);
  const triggers = async (c: PgConnection) =>
    (
      await c.query<{ t: string }>(
        `SELECT tgrelid::regclass::text || ' ' || tgname AS t FROM pg_trigger
          WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'dbee'::regnamespace)
          ORDER BY 1`,
      )
    ).rows.map((r) => r.t);

  it('an older ledger is read as it is (no upgrade), then upgrades: the per-step keys are gone, the others stay', async () => {
    const ledger = openLedger(old, postgresLedger);
    expect(await ledger.tables.version()).toBe(5);
    expect((await ledger.objects.deployedState('app')).objects).toEqual(new Map([['schema:app', 'v1:a']]));
    expect((await ledger.steps.of(1)).map((s) => s.objectKey)).toEqual(['schema:app']);
    expect(await foreignKeys(old)).toContain('dbee.steps.deployment_id');

    expect(await ledger.tables.ensure()).toBe(postgresLedger.migrations.length);
    expect(await foreignKeys(old)).toEqual([
      'dbee.backups.deployment_id',
      'dbee.deployments.reverts',
      'dbee.migrations.deployment_id',
      'dbee.smoke_results.deployment_id',
    ]);
    expect((await ledger.objects.deployedState('app')).objects).toEqual(new Map([['schema:app', 'v1:a']]));
    expect((await ledger.steps.of(1)).map((s) => s.objectKey)).toEqual(['schema:app']);
  });

  it('a deployment row can be neither deleted nor truncated away', async () => {
    await expect(old.execute('DELETE FROM dbee.deployments WHERE id = 1')).rejects.toThrow(
      /dbee\.deployments keeps every deployment/,
    );
    await expect(old.execute('TRUNCATE dbee.deployments CASCADE')).rejects.toThrow(
      /dbee\.deployments keeps every deployment/,
    );
    const left = await old.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM dbee.deployments) + (SELECT count(*) FROM dbee.steps) AS n',
    );
    expect(Number(left.rows[0]!.n)).toBe(2);
  });

  /** Everything of schema `dbee` that the ledger's DDL makes, one line each (names, types, defaults, definitions). */
  const catalog = async (c: PgConnection) =>
    (
      await c.query<{ l: string }>(
        `SELECT l FROM (
           SELECT format('column %s.%s %s %s %s %s', c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                         a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS l
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = 'dbee'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
           UNION ALL SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
             FROM pg_constraint WHERE connamespace = 'dbee'::regnamespace
           UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'dbee'
           UNION ALL SELECT format('relation %s %s', relname, relkind) FROM pg_class
            WHERE relnamespace = 'dbee'::regnamespace AND relkind IN ('r', 'S', 'i')
           UNION ALL SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger
            WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'dbee'::regnamespace)
           UNION ALL SELECT format('function %s', pg_get_functiondef(oid)) FROM pg_proc
            WHERE pronamespace = 'dbee'::regnamespace) x ORDER BY l`,
      )
    ).rows.map((r) => r.l);

  it('a new ledger is created as the latest version directly, the same as an upgraded one', async () => {
    const sent: string[][] = [];
    const batch = fresh.executeBatch!.bind(fresh);
    fresh.executeBatch = (statements) => (sent.push([...statements]), batch(statements));
    const ledger = openLedger(fresh, postgresLedger);
    await ledger.tables.ensure();
    // No column added afterwards, no key created to be dropped again.
    expect(sent.flat().filter((s) => /^\s*ALTER TABLE/.test(s))).toEqual([]);
    // The feature tables come when first written (test/ledger/lazy-tables.test.ts); created, they are the same too.
    const lazy = Object.keys(postgresLedger.lazyTables!);
    const without = (lines: string[]) => lines.filter((l) => !lazy.some((t) => l.includes(t)));
    expect(await catalog(fresh)).toEqual(without(await catalog(old)));
    for (const table of lazy) await ledger.tables.ensureTable(table);
    expect(await catalog(fresh)).toEqual(await catalog(old));
    expect(await triggers(fresh)).toEqual(['dbee.deployments deployments_kept']);
    const versions = await fresh.query<{ v: number }>('SELECT version AS v FROM dbee.ledger_version ORDER BY 1');
    expect(versions.rows.map((r) => r.v)).toEqual(postgresLedger.migrations.map((_, i) => i + 1));
  });
});
