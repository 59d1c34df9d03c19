import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { splitStatements } from '@dbee/teradata';
import { EXAMPLE, teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * examples/teradata over its join index (issue #17, points 2 and 3), on the strict test double: Teradata refuses to
 * drop or rename a table while a join index is defined on it, so every table that is renamed aside or dropped has
 * the join index dropped first and created again after (its SHOW text captured), in the deployment, in its reverse
 * (`dbee rollback`) and in the automatic rollback. Views, macros and procedures that exist although the ledger does
 * not know them are conflicts too, although the sources say REPLACE: they are renamed aside or dropped, and the
 * reverse brings back what they were.
 */

const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));
const STAMP = '20261121T103000';
const DDL = /^(CREATE|REPLACE|DROP|RENAME)\b/i;

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

/** The example's objects made by hand (outside dbee, the ledger knows none of them), with rows when asked. */
async function handMade(rows: boolean): Promise<void> {
  const dir = join(EXAMPLE, 'schema/edw');
  // In dependency order: tables, then what reads them.
  for (const folder of ['tables', 'join_indexes', 'views', 'macros', 'procedures']) {
    for (const file of readdirSync(join(dir, folder)).sort()) {
      const text = readFileSync(join(dir, folder, file), 'utf8').replace(/\{\{env\}\}/g, 'DEV');
      for (const s of splitStatements(text, file)) await w.session.run(s.sql);
    }
  }
  if (!rows) return;
  await w.session.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
  await w.session.run('INSERT INTO DEV_EDW.orders VALUES (?, ?, ?, ?, ?, ?)', [1, 7, '2026-01-02', 'O', 10.5, 'first']);
}

/**
 * Every object of DEV_EDW with its SHOW text and rows: the state a rollback must bring back. The object's own name
 * in its SHOW text is upper-cased: a RENAME back writes it as dbee spells it (names compare case-insensitively).
 */
function state(): Record<string, { kind: string; show: string; rows: unknown }> {
  const out: Record<string, { kind: string; show: string; rows: unknown }> = {};
  for (const [k, o] of w.session.catalog) {
    if (k.startsWith('DEV_EDW.'))
      out[k] = {
        kind: o.tableKind,
        show: o.show.replace(new RegExp(k.replace('.', '\\.'), 'i'), k),
        rows: o.rows ?? null,
      };
  }
  return out;
}

function ddlSince(mark: number): string[] {
  return w
    .requestsSince(mark)
    .filter((s) => DDL.test(s) && !s.includes('DBEE_LEDGER'))
    .map((s) => s.split('\n')[0]!);
}

describe('examples/teradata: deploy and rollback with the join index (strict double)', () => {
  it('deploys on an empty database and rolls back: the join index is dropped before the tables it reads', async () => {
    w = teradataWorkspace();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const mark = w.session.log.length;
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ddlSince(mark)).toEqual([
      'DROP VIEW DEV_EDW.V_CUSTOMER_ORDERS',
      'DROP PROCEDURE DEV_EDW.LOAD_ORDERS',
      'DROP TABLE DEV_EDW.STAGE_ORDERS',
      'DROP MACRO DEV_EDW.PURGE_CANCELLED',
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'DROP TABLE DEV_EDW.ORDERS',
      'DROP TABLE DEV_EDW.CUSTOMERS',
    ]);
    expect(state()).toEqual({});
  });
});

describe('examples/teradata over hand-made objects: --if-exists raise', () => {
  it('refuses every object the ledger does not know, the REPLACEd view, macro and procedure included; nothing is applied', async () => {
    w = teradataWorkspace();
    await handMade(false);
    const before = state();
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'raise' });
    expect(r.code).toBe(1);
    for (const o of [
      'view:DEV_EDW.V_CUSTOMER_ORDERS',
      'macro:DEV_EDW.PURGE_CANCELLED',
      'procedure:DEV_EDW.LOAD_ORDERS',
      'table:DEV_EDW.ORDERS',
      'join-index:DEV_EDW.JI_ORDERS_BY_CUSTOMER',
    ]) {
      expect(r.stderr).toContain(`${o} already exists in the database, but the ledger does not know it`);
    }
    expect(state()).toEqual(before);
  });
});

describe('examples/teradata over hand-made objects: --if-exists rename', () => {
  it('renames every object aside (the join index dropped before each table and created again after), then rollback restores them exactly', async () => {
    w = teradataWorkspace();
    await handMade(true);
    const before = state();
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'rename', now: NOW });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Each table is built aside, then swapped in (#73 item 3); the join index goes right before the renames.
    expect(ddlSince(mark)).toEqual([
      `CREATE SET TABLE DEV_EDW.CUSTOMERS_NEW_${STAMP}, FALLBACK (`,
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      `RENAME TABLE DEV_EDW.CUSTOMERS TO DEV_EDW.CUSTOMERS_BKP_${STAMP}`,
      `RENAME TABLE DEV_EDW.CUSTOMERS_NEW_${STAMP} TO DEV_EDW.CUSTOMERS`,
      'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS',
      `CREATE MULTISET TABLE DEV_EDW.ORDERS_NEW_${STAMP}, NO FALLBACK (`,
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      `RENAME TABLE DEV_EDW.ORDERS TO DEV_EDW.ORDERS_BKP_${STAMP}`,
      `RENAME TABLE DEV_EDW.ORDERS_NEW_${STAMP} TO DEV_EDW.ORDERS`,
      'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS',
      // The join index itself: it cannot be renamed (SQL Fundamentals, "Renaming Objects"), so it is dropped.
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS',
      // REPLACE objects the ledger did not know: conflicts too, renamed aside before the REPLACE creates them anew.
      `RENAME MACRO DEV_EDW.PURGE_CANCELLED TO DEV_EDW.PURGE_CANCELLED_BKP_${STAMP}`,
      'REPLACE MACRO DEV_EDW.purge_cancelled (before_date DATE) AS (',
      `CREATE MULTISET TABLE DEV_EDW.STAGE_ORDERS_NEW_${STAMP}, NO FALLBACK (`,
      `RENAME TABLE DEV_EDW.STAGE_ORDERS TO DEV_EDW.STAGE_ORDERS_BKP_${STAMP}`,
      `RENAME TABLE DEV_EDW.STAGE_ORDERS_NEW_${STAMP} TO DEV_EDW.STAGE_ORDERS`,
      `RENAME PROCEDURE DEV_EDW.LOAD_ORDERS TO DEV_EDW.LOAD_ORDERS_BKP_${STAMP}`,
      'REPLACE PROCEDURE DEV_EDW.load_orders (IN load_date DATE, OUT loaded INTEGER)',
      `RENAME VIEW DEV_EDW.V_CUSTOMER_ORDERS TO DEV_EDW.V_CUSTOMER_ORDERS_BKP_${STAMP}`,
      'REPLACE VIEW DEV_EDW.v_customer_orders AS',
    ]);
    // Rows copied into the new tables (db.yaml copyData), the join index over them.
    expect(w.session.rows('DEV_EDW.ORDERS')).toEqual(before['DEV_EDW.ORDERS']!.rows);
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')!.tableKind).toBe('I');
    const steps = w.ledger('steps');
    const orders = steps.find((s) => s.OBJECT_KEY === 'table:DEV_EDW.ORDERS')!;
    expect(JSON.parse(String(orders.REVERSE_STATEMENTS)).map((s: string) => s.split('\n')[0])).toEqual([
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'DROP TABLE DEV_EDW.ORDERS',
      `RENAME TABLE DEV_EDW.ORDERS_BKP_${STAMP} TO DEV_EDW.ORDERS`,
      'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS',
    ]);
    // The view it replaced: its SHOW text is the step's previous definition; the reverse renames it back.
    const view = steps.find((s) => s.OBJECT_KEY === 'view:DEV_EDW.V_CUSTOMER_ORDERS')!;
    expect(view.PREVIOUS_DEFINITION).toMatch(/^REPLACE VIEW DEV_EDW\.v_customer_orders AS/);
    expect(JSON.parse(String(view.REVERSE_STATEMENTS))).toEqual([
      'DROP VIEW DEV_EDW.V_CUSTOMER_ORDERS',
      `RENAME VIEW DEV_EDW.V_CUSTOMER_ORDERS_BKP_${STAMP} TO DEV_EDW.V_CUSTOMER_ORDERS`,
    ]);
    expect(w.ledger('backups').map((b) => b.BACKUP_NAME)).toHaveLength(6);

    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(state()).toEqual(before);
  });

  it('a hash index and a trigger made by hand go the same way: dropped before the rename, created again after, and back after rollback', async () => {
    w = teradataWorkspace();
    await handMade(true);
    await w.session.run('CREATE HASH INDEX DEV_EDW.hi_orders_status (status) ON DEV_EDW.orders');
    await w.session.run(
      'CREATE TRIGGER DEV_EDW.tr_customers AFTER DELETE ON DEV_EDW.customers FOR EACH STATEMENT (DELETE FROM DEV_EDW.orders WHERE customer_id IS NULL;)',
    );
    const before = state();
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'rename', now: NOW });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const orders = w.ledger('steps').find((s) => s.OBJECT_KEY === 'table:DEV_EDW.ORDERS')!;
    const statements = JSON.parse(String(orders.STATEMENTS)).map((s: string) => s.split('\n')[0]);
    // Built aside (#73 item 3): the CREATE, the copy, the statistics copied from the live table (#73 item 7: the same
    // columns), then what stands on the table dropped right before the two renames and created again right after.
    expect(statements.slice(0, 3)).toEqual([
      `CREATE MULTISET TABLE DEV_EDW.ORDERS_NEW_${STAMP}, NO FALLBACK (`,
      expect.stringMatching(/^\/\* copyData: .*\*\/ INSERT INTO DEV_EDW\.ORDERS_NEW_\w+ \(/),
      `COLLECT STATISTICS COLUMN (customer_id), COLUMN (order_date) ON DEV_EDW.ORDERS_NEW_${STAMP} FROM DEV_EDW.ORDERS`,
    ]);
    expect(statements.slice(-6)).toEqual([
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'DROP HASH INDEX DEV_EDW.HI_ORDERS_STATUS',
      `RENAME TABLE DEV_EDW.ORDERS TO DEV_EDW.ORDERS_BKP_${STAMP}`,
      `RENAME TABLE DEV_EDW.ORDERS_NEW_${STAMP} TO DEV_EDW.ORDERS`,
      'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS',
      'CREATE HASH INDEX DEV_EDW.hi_orders_status (status) ON DEV_EDW.orders',
    ]);
    const customers = w.ledger('steps').find((s) => s.OBJECT_KEY === 'table:DEV_EDW.CUSTOMERS')!;
    expect(JSON.parse(String(customers.STATEMENTS)).at(-1)).toMatch(
      /^CREATE TRIGGER DEV_EDW\.tr_customers AFTER DELETE ON DEV_EDW\.customers/,
    );
    expect(JSON.parse(String(customers.STATEMENTS))).toContainEqual(
      expect.stringMatching(/^COMMENT ON TABLE DEV_EDW\.CUSTOMERS_NEW_/),
    );
    expect(w.session.catalog.get('DEV_EDW.TR_CUSTOMERS')!.tableKind).toBe('G');
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(state()).toEqual(before);
  });

  it('autoRollback: a failing step undoes the steps before it, join index included, back to the hand-made state', async () => {
    w = teradataWorkspace();
    w.write(
      'db.yaml',
      readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('deploy:\n', 'deploy:\n  autoRollback: true\n'),
    );
    await handMade(true);
    const before = state();
    w.session.on(/^REPLACE VIEW DEV_EDW\.v_customer_orders/, {
      error: { code: 2644, text: 'No more room in database DEV_EDW.' },
    });
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'rename', now: NOW });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the steps this deployment applied were undone/);
    expect(state()).toEqual(before);
    expect(w.ledger('deployments')[0]).toMatchObject({ STATUS: 'rolled-back' });
  });

  it('a failure at the swap (the old table renamed aside): it goes back at once and the join index is made again', async () => {
    w = teradataWorkspace();
    w.write(
      'db.yaml',
      readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('deploy:\n', 'deploy:\n  autoRollback: true\n'),
    );
    await handMade(true);
    const before = state();
    w.session.on(/^RENAME TABLE DEV_EDW\.ORDERS_NEW_\w+ TO DEV_EDW\.ORDERS$/, {
      error: { code: 2631, text: 'Transaction aborted due to deadlock.' },
    });
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'rename', now: NOW });
    expect(r.code).toBe(2);
    expect(state()).toEqual(before);
  });
});

describe('examples/teradata over hand-made objects: --if-exists drop', () => {
  it('empty tables: dropped and created again around the join index; rollback brings every object back as it was', async () => {
    w = teradataWorkspace();
    await handMade(false);
    const before = state();
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'drop', now: NOW });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ddlSince(mark).slice(0, 4)).toEqual([
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'DROP TABLE DEV_EDW.CUSTOMERS',
      'CREATE SET TABLE DEV_EDW.customers, FALLBACK (',
      'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS',
    ]);
    // The replaced macro: dropped, then created by its REPLACE; the reverse is the SHOW text it replaced.
    const macro = w.ledger('steps').find((s) => s.OBJECT_KEY === 'macro:DEV_EDW.PURGE_CANCELLED')!;
    expect(JSON.parse(String(macro.REVERSE_STATEMENTS))).toEqual([
      'DROP MACRO DEV_EDW.PURGE_CANCELLED',
      macro.PREVIOUS_DEFINITION,
    ]);
    // Dropping a table is a data-loss step to the rollback, which asks for --force: these held no rows, so the
    // structure from SHOW (which the reverse recreates) is all there was.
    const back = await w.dbee('rollback', { assumeYes: true, force: true });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(state()).toEqual(before);
  });

  it('tables with rows: the deployment drops them (rows lost, said so), and its rollback is refused rather than half-done', async () => {
    w = teradataWorkspace();
    await handMade(true);
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'drop', now: NOW });
    expect(r.code).toBe(0);
    expect(w.session.rows('DEV_EDW.ORDERS')).toEqual([]);
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')!.tableKind).toBe('I');
    const mark = w.session.log.length;
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.code).toBe(1);
    expect(back.stderr).toMatch(/cannot be undone: the ledger records no reverse for it/);
    expect(ddlSince(mark)).toEqual([]);
  });
});
