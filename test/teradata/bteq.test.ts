import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { splitStatements } from '@dbee/teradata';
import { runBteq } from '../../packages/teradata/testing';
import { EXAMPLE, teradataWorkspace, type TeradataWorkspace } from './helpers';

// `dbee plan --format bteq` of examples/teradata, run by the BTEQ interpreter of the test double, against the same
// example deployed by `dbee deploy`: the ledgers must say the same thing.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

function workspace(options: Parameters<typeof teradataWorkspace>[0] = {}): TeradataWorkspace {
  const w = teradataWorkspace(options);
  opened.push(w);
  return w;
}

async function exportScripts(w: TeradataWorkspace): Promise<{ deploy: string; rollback: string }> {
  const r = await w.dbee('plan', { format: 'bteq', out: 'out' });
  expect(r.code, r.stderr).toBe(0);
  return {
    deploy: readFileSync(join(w.root, 'out/deploy.btq'), 'utf8'),
    rollback: readFileSync(join(w.root, 'out/rollback.btq'), 'utf8'),
  };
}

/** Ledger rows without ids, times, durations and who/where fields. */
function ledgerView(w: TeradataWorkspace) {
  const pick = (rows: Record<string, unknown>[], cols: string[]) =>
    rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c.toUpperCase()] ?? r[c] ?? null])));
  return {
    deployments: pick(w.ledger('deployments'), [
      'project',
      'environment',
      'kind',
      'status',
      'steps_total',
      'steps_applied',
      'error',
      'reverts',
    ]),
    steps: pick(w.ledger('steps'), [
      'step_order',
      'object_key',
      'action',
      'checksum',
      'statements',
      'reverse_statements',
      'previous_definition',
      'transactional',
      'status',
      'error',
      'reverts_step',
      'hazards',
      'previous_checksum',
    ]),
    objects: pick(w.ledger('objects'), ['project', 'object_key', 'checksum']).sort((a, b) =>
      String(a.object_key).localeCompare(String(b.object_key)),
    ),
    migrations: pick(w.ledger('migrations'), ['project', 'version', 'checksum']),
    backups: pick(w.ledger('backups'), ['object_key', 'backup_name']),
  };
}

describe('BTEQ export of examples/teradata, run by the BTEQ interpreter', () => {
  it('leaves the ledger as dbee deploy does; status shows it; the next deploy and a second run apply nothing', async () => {
    const viaDeploy = workspace();
    expect((await viaDeploy.dbee('deploy')).code).toBe(0);

    const viaBteq = workspace();
    const { deploy } = await exportScripts(viaBteq);
    const run = await runBteq(deploy, viaBteq.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(ledgerView(viaBteq)).toEqual(ledgerView(viaDeploy));
    expect(ledgerView(viaBteq).objects.length).toBeGreaterThan(5);
    // The lock table: made by the first lock taken (a BTEQ run takes the lock too).
    const objects = (w: TeradataWorkspace) =>
      [...w.session.catalog.keys()].filter((k) => k !== 'DBEE_LEDGER.LOCK').sort();
    expect(objects(viaBteq)).toEqual(objects(viaDeploy));

    const status = await viaBteq.dbee('status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout + status.stderr).toMatch(/succeeded/);

    // A second run of the same script: ends at once, the ledger is unchanged.
    const before = JSON.stringify(viaBteq.session.rows('DBEE_LEDGER.deployments'));
    const again = await runBteq(deploy, viaBteq.session.newSession());
    expect(again.exitCode).toBe(0);
    // (It takes and releases the deployment lock, as any run does.)
    expect(again.requests.filter((r) => !/^\s*SELECT\b/i.test(r) && !/"lock"/.test(r))).toEqual([]);
    expect(viaBteq.ledger('lock')).toEqual([]);
    expect(JSON.stringify(viaBteq.session.rows('DBEE_LEDGER.deployments'))).toBe(before);

    // A new script of the same sources (another deployment id) skips every step inside the script.
    const { deploy: fresh } = await exportScripts(viaBteq);
    const third = await runBteq(
      fresh.replace(/\b(\d{16})\b/g, (m) => String(Number(m) + 7)),
      viaBteq.session.newSession(),
    );
    expect(third.exitCode, third.output.join('\n')).toBe(0);
    expect(third.requests.filter((r) => /^\s*(CREATE|REPLACE|DROP|RENAME|COMMENT|COLLECT)\b/i.test(r))).toEqual([]);

    // dbee deploy after the BTEQ run: nothing to do.
    const mark = viaBteq.session.log.length;
    const next = await viaBteq.dbee('deploy');
    expect(next.code, next.stderr).toBe(0);
    expect(viaBteq.requestsSince(mark).filter((r) => /^\s*(CREATE|REPLACE|DROP|RENAME)\b/i.test(r))).toEqual([]);
  });

  it('ANSI mode (tmode ANSI): COMMIT after every DDL, same ledger as dbee deploy in ANSI mode', async () => {
    const viaDeploy = workspace({ tmode: 'ANSI' });
    expect((await viaDeploy.dbee('deploy')).code).toBe(0);
    const viaBteq = workspace({ tmode: 'ANSI' });
    viaBteq.write(
      'dbee.yaml',
      readFileSync(join(viaBteq.root, 'dbee.yaml'), 'utf8').replace(
        'database: DEV_EDW',
        'database: DEV_EDW\n      tmode: ANSI',
      ),
    );
    const { deploy } = await exportScripts(viaBteq);
    expect(deploy).toContain('.SET SESSION TRANSACTION ANSI');
    const run = await runBteq(deploy, viaBteq.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(ledgerView(viaBteq)).toEqual(ledgerView(viaDeploy));
  });

  it('a procedure that does not compile (warning 5526 in a successful response) makes the script exit non-zero', async () => {
    const w = workspace();
    const file = join(w.root, 'schema/edw/procedures/load_orders.sql');
    w.write(
      'schema/edw/procedures/load_orders.sql',
      readFileSync(file, 'utf8').replace(/FROM\s+\{\{env\}\}_EDW\.stage_orders/i, 'FROM {{env}}_EDW.no_such_table'),
    );
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode).toBeGreaterThan(16);
    const deployments = w.ledger('deployments');
    expect(deployments.map((d) => d.STATUS)).toEqual(['failed']);
    expect(
      w
        .ledger('steps')
        .filter((s) => s.STATUS === 'failed')
        .map((s) => s.OBJECT_KEY),
    ).toEqual([expect.stringMatching(/load_orders/i)]);
  });

  it('the rollback script undoes what the ledger says was applied, in reverse order', async () => {
    const w = workspace();
    const { deploy, rollback } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const r = await runBteq(rollback, w.session.newSession());
    expect(r.exitCode, r.output.join('\n')).toBe(0);
    expect([...w.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.'))).toEqual([]);
    expect(w.ledger('objects')).toEqual([]);
    expect(
      w
        .ledger('steps')
        .filter((s) => Number(s.DEPLOYMENT_ID) === Number(w.ledger('deployments')[0]!.ID))
        .map((s) => s.STATUS),
    ).toEqual(expect.arrayContaining(['undone']));
  });

  it("applies the environment's conflict strategies (rename with a backup row, drop) and its rollback puts the renamed table back", async () => {
    const w = workspace();
    // The hand-made table has one column of the new one: no copy of its rows (copyData: see bteq-production.test.ts).
    w.write('db.yaml', readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('copyData: true', 'copyData: false'));
    const dba = w.session.newSession();
    await dba.run('CREATE MULTISET TABLE DEV_EDW.customers (customer_id INTEGER) PRIMARY INDEX (customer_id)');
    await dba.run('INSERT INTO DEV_EDW.customers (customer_id) VALUES (7)');
    await dba.run('CREATE MULTISET TABLE DEV_EDW.stage_orders (x INTEGER) NO PRIMARY INDEX');
    const { deploy, rollback } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    // db.yaml: ifExists rename, stage_orders drop.
    const backups = w.ledger('backups').map((b) => String(b.BACKUP_NAME));
    expect(backups).toEqual([expect.stringMatching(/^DEV_EDW\.CUSTOMERS_bak_\d{8}t\d{6}$/)]);
    const backup = backups[0]!.toUpperCase();
    expect(w.session.rows(backup)).toEqual([{ CUSTOMER_ID: 7 }]);
    expect(run.requests.some((r) => /^DROP TABLE DEV_EDW\.STAGE_ORDERS/i.test(r))).toBe(true);

    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([{ CUSTOMER_ID: 7 }]);
    expect(w.session.catalog.has(backup)).toBe(false);
    expect(w.ledger('backups').map((b) => b.DROPPED_AT)).not.toContain(null);
  });

  it('over the example made by hand (join index included): the join index goes before each table is renamed, comes back from its own step; the rollback script renames the tables back', async () => {
    const w = workspace();
    const dba = w.session.newSession();
    for (const folder of ['tables', 'join_indexes', 'views', 'macros', 'procedures']) {
      for (const file of readdirSync(join(EXAMPLE, 'schema/edw', folder)).sort()) {
        const text = readFileSync(join(EXAMPLE, 'schema/edw', folder, file), 'utf8').replace(/\{\{env\}\}/g, 'DEV');
        for (const st of splitStatements(text, file)) await dba.run(st.sql);
      }
    }
    await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
    const { deploy, rollback } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    const ddl = run.requests
      .filter((r) => /^(DROP|RENAME|CREATE JOIN)/i.test(r))
      .map((r) =>
        r.split('\n')[0]!.replace(/_(bak|new)_\d{8}t\d{6}/gi, (_, w: string) => `_${w.toLowerCase()}_<stamp>`),
      );
    // Each table is built aside, then swapped in by two renames (#73 item 3).
    expect(ddl).toEqual([
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'RENAME TABLE DEV_EDW.CUSTOMERS TO DEV_EDW.CUSTOMERS_bak_<stamp>',
      'RENAME TABLE DEV_EDW.CUSTOMERS_new_<stamp> TO DEV_EDW.CUSTOMERS',
      'RENAME TABLE DEV_EDW.ORDERS TO DEV_EDW.ORDERS_bak_<stamp>',
      'RENAME TABLE DEV_EDW.ORDERS_new_<stamp> TO DEV_EDW.ORDERS',
      'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS',
      'RENAME MACRO DEV_EDW.PURGE_CANCELLED TO DEV_EDW.PURGE_CANCELLED_bak_<stamp>',
      'DROP TABLE DEV_EDW.STAGE_ORDERS',
      'RENAME PROCEDURE DEV_EDW.LOAD_ORDERS TO DEV_EDW.LOAD_ORDERS_bak_<stamp>',
      'RENAME VIEW DEV_EDW.V_CUSTOMER_ORDERS TO DEV_EDW.V_CUSTOMER_ORDERS_bak_<stamp>',
    ]);
    expect(w.ledger('backups')).toHaveLength(5);
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')?.tableKind).toBe('I');
    expect(w.ledger('deployments').map((d) => d.STATUS)).toEqual(['succeeded']);

    // The rollback script drops the join index its deployment created, then renames the tables back (rows kept).
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
    // Every renamed object is back under its name, and the hand-made join index (dropped before the rename) is made
    // again from its text captured at export, over the tables put back (#64 S4); the staging table (dropped) is not.
    expect([...w.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.')).sort()).toEqual(
      ['CUSTOMERS', 'JI_ORDERS_BY_CUSTOMER', 'LOAD_ORDERS', 'ORDERS', 'PURGE_CANCELLED', 'V_CUSTOMER_ORDERS'].map(
        (n) => `DEV_EDW.${n}`,
      ),
    );
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')?.dependsOn).toEqual([
      'DEV_EDW.ORDERS',
      'DEV_EDW.CUSTOMERS',
    ]);
  });

  it('the rollback script never drops a table that holds rows without a backup', async () => {
    const w = workspace();
    const { deploy, rollback } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    await w.session
      .newSession()
      .run(
        "INSERT INTO DEV_EDW.customers (customer_id, customer_name, segment, created_at) VALUES (1, 'a', 'B', CURRENT_TIMESTAMP(0))",
      );
    const r = await runBteq(rollback, w.session.newSession());
    expect(r.exitCode).toBeGreaterThan(16);
    expect(r.output.join('\n')).toMatch(/CUSTOMERS holds rows and no backup exists/i);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(1);
  });

  it("dbee rollback undoes a deployment made by the BTEQ script (the ledger rows are the runner's)", async () => {
    const w = workspace();
    const { deploy } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect([...w.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.'))).toEqual([]);
    expect(w.ledger('objects')).toEqual([]);
  });
});
