import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * Failures, the automatic rollback and `dbee rollback` against a Teradata environment, through the core runner, on the
 * fake Teradata system (no live system exists here). Teradata DDL cannot be rolled back as a group, so every undo
 * here is compensating: the reverses recorded in the ledger, run one request at a time.
 */

const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));
const DDL = /^(CREATE|REPLACE|DROP|RENAME)\b/i;

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

function userObjects(): string[] {
  return [...w.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.')).sort();
}

function enableAutoRollback(): void {
  const file = join(w.root, 'db.yaml');
  w.write('db.yaml', readFileSync(file, 'utf8').replace('deploy:\n', 'deploy:\n  autoRollback: true\n'));
}

/** An orders table made outside dbee, with two rows. */
async function legacyOrders(): Promise<void> {
  await w.session.run(
    'CREATE MULTISET TABLE DEV_EDW.orders (order_id BIGINT NOT NULL, customer_id INTEGER NOT NULL) PRIMARY INDEX (customer_id)',
  );
  await w.session.run('INSERT INTO DEV_EDW.orders VALUES (?, ?)', [1, 7]);
  await w.session.run('INSERT INTO DEV_EDW.orders VALUES (?, ?)', [2, 8]);
}

describe('a failing statement on Teradata (fake session)', () => {
  it('exits 2; with autoRollback the applied steps are undone in reverse order, each reverse its own request', async () => {
    w = teradataWorkspace();
    enableAutoRollback();
    // A view over a table that does not exist: the fake system refuses it with 3807, as Teradata does.
    w.write(
      'schema/edw/views/v_broken.sql',
      'REPLACE VIEW {{env}}_EDW.v_broken AS SELECT * FROM {{env}}_EDW.no_such_table;\n',
    );
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Teradata error 3807: Object 'DEV_EDW\.NO_SUCH_TABLE' does not exist/);
    expect(r.stderr).toMatch(
      /the steps this deployment applied were undone \(deployment 1 is rolled-back in the ledger\)/,
    );

    const created = w.session.log
      .filter((l) => /^(CREATE|REPLACE)\b/.test(l.sql) && l.sql.includes('DEV_EDW.') && !l.sql.includes('v_broken'))
      .map((l) => l.sql.split('\n')[0]!);
    const failedAt = w.session.log.findIndex((l) => l.sql.includes('v_broken'));
    const undo = w.session.log
      .slice(failedAt + 1)
      .filter((l) => DDL.test(l.sql))
      .map((l) => l.sql);
    expect(created).toHaveLength(6);
    // Newest first: the reverse of the creates.
    expect(undo).toEqual([
      'DROP PROCEDURE DEV_EDW.LOAD_ORDERS',
      'DROP TABLE DEV_EDW.STAGE_ORDERS',
      'DROP MACRO DEV_EDW.PURGE_CANCELLED',
      'DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'DROP TABLE DEV_EDW.ORDERS',
      'DROP TABLE DEV_EDW.CUSTOMERS',
    ]);
    expect(userObjects()).toEqual([]);
    // No DDL ran in a transaction (each step's ledger rows did: its `started` row replaced by them).
    let open = false;
    expect(
      w.session.log.filter((l) => {
        if (/^\{fn teradata_autocommit_(on|off)\}$/.test(l.sql)) open = l.sql.endsWith('off}');
        return open && DDL.test(l.sql);
      }),
    ).toEqual([]);

    const [d] = w.ledger('deployments');
    expect(d).toMatchObject({
      STATUS: 'rolled-back',
      STEPS_APPLIED: 0,
      FAILED_STATEMENT: 'REPLACE VIEW DEV_EDW.v_broken AS SELECT * FROM DEV_EDW.no_such_table',
    });
    expect(JSON.parse(String(d!.SUMMARY))).toMatchObject({
      failedAt: expect.any(String),
      rolledBackAt: expect.any(String),
    });
    expect(w.ledger('steps').map((s) => [s.STEP_ORDER, s.OBJECT_KEY, s.STATUS])).toEqual([
      [1, 'table:DEV_EDW.CUSTOMERS', 'undone'],
      [2, 'table:DEV_EDW.ORDERS', 'undone'],
      [3, 'join-index:DEV_EDW.JI_ORDERS_BY_CUSTOMER', 'undone'],
      [4, 'macro:DEV_EDW.PURGE_CANCELLED', 'undone'],
      [5, 'table:DEV_EDW.STAGE_ORDERS', 'undone'],
      [6, 'procedure:DEV_EDW.LOAD_ORDERS', 'undone'],
      [7, 'view:DEV_EDW.V_BROKEN', 'failed'],
    ]);
    expect(w.ledger('objects')).toEqual([]);
  });

  it('a procedure that does not compile (a successful response with warning 5526) fails its step: exit 2, nothing created for it', async () => {
    w = teradataWorkspace();
    w.write(
      'schema/edw/procedures/broken.sql',
      'REPLACE PROCEDURE {{env}}_EDW.broken () BEGIN DELETE FROM {{env}}_EDW.no_such_table; END;\n',
    );
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/5526.*SPL1027:E.*Object 'DEV_EDW\.NO_SUCH_TABLE' does not exist/);
    expect(w.session.catalog.has('DEV_EDW.BROKEN')).toBe(false);
    const failed = w.ledger('steps').find((s) => s.STATUS === 'failed')!;
    expect(failed.OBJECT_KEY).toBe('procedure:DEV_EDW.BROKEN');
  });

  it('without autoRollback the applied steps stay, and the next deploy resumes with the rest', async () => {
    w = teradataWorkspace();
    w.session.on(
      /^REPLACE PROCEDURE DEV_EDW\.load_orders/,
      {
        error: {
          code: 5526,
          text: 'SPL compilation failed: Stored Procedure is not created/replaced due to error(s).',
        },
      },
      { times: 1 },
    );
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the ledger records what ran \(deployment 1\)/);
    expect(userObjects()).toEqual([
      'DEV_EDW.CUSTOMERS',
      'DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'DEV_EDW.ORDERS',
      'DEV_EDW.PURGE_CANCELLED',
      'DEV_EDW.STAGE_ORDERS',
    ]);
    expect(w.ledger('deployments')[0]).toMatchObject({ STATUS: 'failed', STEPS_APPLIED: 5 });
    const again = await w.dbee('deploy', { assumeYes: true });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/edw: deploying 2 steps \(deployment 2\)/);
    expect(userObjects()).toHaveLength(7);
  });

  // A table met under ifExists: rename is built aside, then swapped in (#73 item 3). The legacy ORDERS lacks the new
  // table's NOT NULL ORDER_DATE: the copy into the table built aside fails (3604), which is dropped at once, whatever
  // autoRollback says; the old table was never touched. (A failure at the swap: test/teradata/join-index.test.ts.)
  it('a step whose copy fails while building aside: the new table is dropped at once; autoRollback then undoes the earlier steps', async () => {
    w = teradataWorkspace();
    enableAutoRollback();
    await legacyOrders();
    const r = await w.dbee('deploy', { assumeYes: true, now: NOW });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/3604/);
    const failedAt = w.session.log.findIndex((l) => l.sql.includes('INSERT INTO DEV_EDW.ORDERS_NEW_'));
    expect(
      w.session.log
        .slice(failedAt + 1)
        .filter((l) => DDL.test(l.sql))
        .map((l) => l.sql),
    ).toEqual(['DROP TABLE DEV_EDW.ORDERS_NEW_20261121T103000', 'DROP TABLE DEV_EDW.CUSTOMERS']);
    // As it was: the old table under its own name, with its rows.
    expect(userObjects()).toEqual(['DEV_EDW.ORDERS']);
    expect(w.session.rows('DEV_EDW.ORDERS')).toEqual([
      { ORDER_ID: 1, CUSTOMER_ID: 7 },
      { ORDER_ID: 2, CUSTOMER_ID: 8 },
    ]);
    expect(w.ledger('deployments')[0]).toMatchObject({ STATUS: 'rolled-back' });
    expect(w.ledger('steps').find((s) => s.STATUS === 'failed')!.ERROR).toMatch(/3604/);
    expect(w.ledger('backups')).toEqual([]);
  });

  it('without autoRollback, the new table is dropped at once too: the old one stays live, the ledger keeps no backup', async () => {
    w = teradataWorkspace();
    await legacyOrders();
    const r = await w.dbee('deploy', { assumeYes: true, now: NOW });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/what it built is undone: DROP TABLE DEV_EDW\.ORDERS_NEW_20261121T103000/);
    expect(userObjects()).toEqual(['DEV_EDW.CUSTOMERS', 'DEV_EDW.ORDERS']);
    expect(w.session.rows('DEV_EDW.ORDERS')).toHaveLength(2);
    expect(w.ledger('backups')).toEqual([]);
  });
});

describe('dbee rollback on Teradata (fake session)', () => {
  it('undoes the last deployment: the view REPLACEd with its old text, created objects dropped, the backup renamed back', async () => {
    w = teradataWorkspace();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const viewV1 = w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show;
    const ledgerAfterV1 = w
      .ledger('objects')
      .map((o) => [o.OBJECT_KEY, o.CHECKSUM])
      .sort();

    // Release 2: the view changes, a macro is added, and a table the sources now define already exists (made by hand).
    const view = 'schema/edw/views/v_customer_orders.sql';
    w.write(
      view,
      readFileSync(join(w.root, view), 'utf8').replace('       c.segment\n', '       c.segment,\n       o.note\n'),
    );
    w.write(
      'schema/edw/macros/count_orders.sql',
      'REPLACE MACRO {{env}}_EDW.count_orders AS (SELECT COUNT(*) AS n FROM {{env}}_EDW.orders;);\n',
    );
    w.write(
      'schema/edw/tables/order_notes.sql',
      'CREATE MULTISET TABLE {{env}}_EDW.order_notes (order_id BIGINT NOT NULL, note VARCHAR(500)) PRIMARY INDEX (order_id);\n',
    );
    await w.session.run(
      'CREATE MULTISET TABLE DEV_EDW.order_notes (order_id BIGINT NOT NULL, note VARCHAR(100)) PRIMARY INDEX (order_id)',
    );
    await w.session.run('INSERT INTO DEV_EDW.order_notes VALUES (?, ?)', [1, 'handwritten']);
    const deployed = await w.dbee('deploy', { assumeYes: true, now: NOW });
    expect(deployed.code).toBe(0);
    expect(w.session.rows('DEV_EDW.ORDER_NOTES')).toEqual([{ ORDER_ID: 1, NOTE: 'handwritten' }]);
    expect(w.session.catalog.has('DEV_EDW.ORDER_NOTES_BKP_20261121T103000')).toBe(true);

    const mark = w.session.log.length;
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/edw: deployment #2 rolled back: 3 steps undone/);
    // Newest step first, each statement its own request.
    expect(w.requestsSince(mark).filter((s) => DDL.test(s))).toEqual([
      viewV1,
      'DROP TABLE DEV_EDW.ORDER_NOTES',
      'RENAME TABLE DEV_EDW.ORDER_NOTES_BKP_20261121T103000 TO DEV_EDW.ORDER_NOTES',
      'DROP MACRO DEV_EDW.COUNT_ORDERS',
    ]);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show).toBe(viewV1);
    expect(w.session.catalog.has('DEV_EDW.COUNT_ORDERS')).toBe(false);
    expect(w.session.catalog.has('DEV_EDW.ORDER_NOTES_BKP_20261121T103000')).toBe(false);
    expect(w.session.catalog.get('DEV_EDW.ORDER_NOTES')!.show).toMatch(/VARCHAR\(100\)/);
    expect(w.session.rows('DEV_EDW.ORDER_NOTES')).toEqual([{ ORDER_ID: 1, NOTE: 'handwritten' }]);

    // The ledger: a rollback deployment that reverts #2, its steps undone, the object state of release 1 again.
    const deployments = w.ledger('deployments');
    expect(deployments.map((d) => [d.ID, d.KIND, d.STATUS, d.REVERTS])).toEqual([
      [1, 'deploy', 'succeeded', null],
      [2, 'deploy', 'succeeded', null],
      [3, 'rollback', 'succeeded', 2],
    ]);
    const steps = w.ledger('steps');
    expect(steps.filter((s) => s.DEPLOYMENT_ID === 2).map((s) => s.STATUS)).toEqual(['undone', 'undone', 'undone']);
    expect(steps.filter((s) => s.DEPLOYMENT_ID === 3).map((s) => [s.ACTION, s.OBJECT_KEY, s.REVERTS_STEP])).toEqual([
      ['undo-replace', 'view:DEV_EDW.V_CUSTOMER_ORDERS', 3],
      ['undo-create', 'table:DEV_EDW.ORDER_NOTES', 2],
      ['undo-create', 'macro:DEV_EDW.COUNT_ORDERS', 1],
    ]);
    expect(
      w
        .ledger('objects')
        .map((o) => [o.OBJECT_KEY, o.CHECKSUM])
        .sort(),
    ).toEqual(ledgerAfterV1);
    expect(w.ledger('backups')).toEqual([
      expect.objectContaining({
        DEPLOYMENT_ID: 2,
        BACKUP_NAME: 'DEV_EDW.ORDER_NOTES_BKP_20261121T103000',
        DROPPED_AT: expect.any(Date),
      }),
    ]);

    // status shows the rollback, and the newer sources as pending again.
    const status = await w.dbee('status');
    expect(status.stdout).toMatch(/last deployment: #3 rollback succeeded, 3\/3 steps/);
    expect(status.stdout).toMatch(/pending: 3 step\(s\)/);
    expect(status.stdout).toMatch(/rollbacks: 1/);
  });

  it('a dry run prints the reverses and changes nothing; a deployment without a reverse is refused', async () => {
    w = teradataWorkspace();
    await w.session.run('CREATE MULTISET TABLE DEV_EDW.stage_orders (order_id BIGINT) NO PRIMARY INDEX');
    // A row: dropping the table (conflicts rule: drop) loses it, so the step has no reverse.
    await w.session.run('INSERT INTO DEV_EDW.stage_orders VALUES (?)', [1]);
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const mark = w.session.log.length;
    const dry = await w.dbee('rollback', { dryRun: true });
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(/-- undo deployment #1/);
    expect(dry.stdout).toMatch(/DROP TABLE DEV_EDW\.CUSTOMERS;/);
    expect(dry.stdout).toMatch(/NO REVERSE: step 5 \(create table:DEV_EDW\.STAGE_ORDERS\)/);
    expect(dry.stderr).toMatch(/cannot be undone: the ledger records no reverse for it/);
    expect(
      w
        .requestsSince(mark)
        .filter((s) => DDL.test(s) || (/^(INSERT|UPDATE|DELETE)\b/.test(s) && !s.includes('"lock"'))),
    ).toEqual([]);
    const refused = await w.dbee('rollback', { assumeYes: true });
    expect(refused.code).toBe(1);
    expect(userObjects()).toHaveLength(7);
  });
});
