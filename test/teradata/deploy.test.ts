import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * `dbee deploy` and `dbee status` against a Teradata environment, through the same core runner as PostgreSQL, on the
 * fake Teradata system of @dbee/teradata (no live Teradata system exists here: nothing below has run on one).
 */

const OBJECTS = [
  'CUSTOMERS',
  'JI_ORDERS_BY_CUSTOMER',
  'LOAD_ORDERS',
  'ORDERS',
  'PURGE_CANCELLED',
  'STAGE_ORDERS',
  'V_CUSTOMER_ORDERS',
].map((n) => `DEV_EDW.${n}`);
const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));
const DDL = /^(CREATE|REPLACE|DROP|RENAME|ALTER|COMMENT|COLLECT)\b/i;

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

function userObjects(): string[] {
  return [...w.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.')).sort();
}

describe('dbee deploy to Teradata (fake session)', () => {
  it('deploys examples/teradata: the objects exist, every step and the deployment are in the ledger, no DDL shares a transaction', async () => {
    w = teradataWorkspace();
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/edw: deployed 7 steps/);
    expect(userObjects()).toEqual(OBJECTS);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.tableKind).toBe('V');
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')!.tableKind).toBe('I');

    // The ledger: created at version 3 (the rollback columns, then the ticket), one deployment, seven applied steps, seven objects.
    expect(w.ledger('schema_version').map((r) => r.VERSION)).toEqual([1, 2, 3]);
    const [d] = w.ledger('deployments');
    expect(d).toMatchObject({
      ID: 1,
      PROJECT: 'edw',
      ENVIRONMENT: 'td-dev',
      KIND: 'deploy',
      STATUS: 'succeeded',
      STEPS_TOTAL: 7,
      STEPS_APPLIED: 7,
      DB_USER: 'DBEE',
    });
    expect(JSON.parse(String(d!.SUMMARY))).toMatchObject({ transaction: 'object', smoke: '2/2 passed' });
    expect(JSON.parse(String(d!.LEDGER_BEFORE))).toEqual({ objects: {}, migrations: {} });
    const steps = w.ledger('steps');
    expect(steps.map((s) => [s.STEP_ORDER, s.OBJECT_KEY, s.ACTION, s.STATUS, s.TRANSACTIONAL])).toEqual([
      [1, 'table:DEV_EDW.CUSTOMERS', 'create', 'applied', 1],
      [2, 'table:DEV_EDW.ORDERS', 'create', 'applied', 1],
      [3, 'join-index:DEV_EDW.JI_ORDERS_BY_CUSTOMER', 'create', 'applied', 1],
      [4, 'macro:DEV_EDW.PURGE_CANCELLED', 'create', 'applied', 1],
      [5, 'table:DEV_EDW.STAGE_ORDERS', 'create', 'applied', 1],
      [6, 'procedure:DEV_EDW.LOAD_ORDERS', 'create', 'applied', 1],
      [7, 'view:DEV_EDW.V_CUSTOMER_ORDERS', 'create', 'applied', 1],
    ]);
    expect(JSON.parse(String(steps[1]!.STATEMENTS))).toEqual([
      expect.stringMatching(/^CREATE MULTISET TABLE DEV_EDW\.orders, NO FALLBACK \(/),
      'COLLECT STATISTICS COLUMN (customer_id), COLUMN (order_date) ON DEV_EDW.orders',
    ]);
    expect(JSON.parse(String(steps[1]!.REVERSE_STATEMENTS))).toEqual(['DROP TABLE DEV_EDW.ORDERS']);
    expect(JSON.parse(String(steps[2]!.REVERSE_STATEMENTS))).toEqual(['DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER']);
    expect(
      w
        .ledger('objects')
        .map((o) => o.OBJECT_KEY)
        .sort(),
    ).toEqual(steps.map((s) => s.OBJECT_KEY).sort());

    // Each statement of a step is a request of its own in auto-commit: no DDL ran in a transaction (3932 otherwise);
    // only a step's ledger rows (its `started` row replaced by its rows, in one transaction) and the smoke checks
    // (rolled back: test/teradata/smoke.test.ts) did. The default database was set with DATABASE, and the lock row
    // lived on a session of its own and is gone.
    let open = false;
    const inTransactions = w.session.log.filter((l) => {
      if (/^\{fn teradata_autocommit_(on|off)\}$/.test(l.sql)) open = l.sql.endsWith('off}');
      return open;
    });
    expect(inTransactions.length).toBeGreaterThan(0);
    expect(inTransactions.filter((l) => DDL.test(l.sql)).map((l) => l.sql)).toEqual([]);
    const ddl = w.session.log.filter((l) => DDL.test(l.sql) && !l.sql.includes('DBEE_LEDGER'));
    expect(ddl.map((l) => l.sql.split(/[\s(]/).slice(0, 3).join(' '))).toEqual([
      'CREATE SET TABLE',
      'COMMENT ON TABLE',
      'CREATE MULTISET TABLE',
      'COLLECT STATISTICS COLUMN',
      'CREATE JOIN INDEX',
      'REPLACE MACRO DEV_EDW.purge_cancelled',
      'CREATE MULTISET TABLE',
      'REPLACE PROCEDURE DEV_EDW.load_orders',
      'REPLACE VIEW DEV_EDW.v_customer_orders',
    ]);
    expect(w.session.log.some((l) => l.sql === 'DATABASE DEV_EDW')).toBe(true);
    const lockSession = w.session.log.find((l) => l.sql.startsWith('INSERT INTO DBEE_LEDGER."lock"'))!.session;
    expect(new Set(ddl.map((l) => l.session)).size).toBe(1);
    expect(ddl[0]!.session).not.toBe(lockSession);
    expect(w.ledger('lock')).toEqual([]);
    expect(w.driver.sessions.every((s) => s.closed)).toBe(true);
  });

  it('a second deploy applies nothing', async () => {
    w = teradataWorkspace();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/edw: nothing to deploy, the database is up to date/);
    expect(w.requestsSince(mark).filter((s) => DDL.test(s) && !s.includes('DBEE_LEDGER'))).toEqual([]);
    expect(w.requestsSince(mark).filter((s) => /^(INSERT|UPDATE|DELETE)\b/.test(s) && !s.includes('"lock"'))).toEqual(
      [],
    );
    expect(w.ledger('deployments')).toHaveLength(1);
  });

  it('a changed view is REPLACEd; the SHOW text it replaced is recorded as its previous definition and its reverse', async () => {
    w = teradataWorkspace();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const before = w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show;
    const file = 'schema/edw/views/v_customer_orders.sql';
    w.write(
      file,
      readFileSync(join(w.root, file), 'utf8').replace('       c.segment\n', '       c.segment,\n       o.note\n'),
    );
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code).toBe(0);
    const sent = w.requestsSince(mark);
    // SHOW before the change, then the REPLACE; nothing else is touched.
    expect(sent.filter((s) => DDL.test(s) || /^SHOW\b/.test(s)).map((s) => s.split('\n')[0])).toEqual([
      'SHOW VIEW DEV_EDW.V_CUSTOMER_ORDERS',
      'REPLACE VIEW DEV_EDW.v_customer_orders AS',
    ]);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show).toContain('o.note');
    const step = w.ledger('steps').find((s) => s.DEPLOYMENT_ID === 2)!;
    expect(step).toMatchObject({
      STEP_ORDER: 1,
      OBJECT_KEY: 'view:DEV_EDW.V_CUSTOMER_ORDERS',
      ACTION: 'replace',
      STATUS: 'applied',
    });
    // SHOW arrives with \r line ends over several rows; the definition is the text as it was, a REPLACE.
    expect(step.PREVIOUS_DEFINITION).toBe(before);
    expect(JSON.parse(String(step.REVERSE_STATEMENTS))).toEqual([before]);
    expect(step.PREVIOUS_CHECKSUM).toBe(
      w.ledger('steps').find((s) => s.DEPLOYMENT_ID === 1 && s.STEP_ORDER === 7)!.CHECKSUM,
    );
  });

  it('existing tables the ledger does not know: ifExists rename keeps a timestamped backup and copies its rows; drop (conflicts rule) recreates', async () => {
    w = teradataWorkspace();
    // Made outside dbee: an older orders table (no note column) with rows, and a staging table.
    await w.session.run(`CREATE MULTISET TABLE DEV_EDW.orders, NO FALLBACK (
  order_id BIGINT NOT NULL,
  customer_id INTEGER NOT NULL,
  order_date DATE NOT NULL,
  status CHAR(1) NOT NULL,
  amount DECIMAL(18,2) NOT NULL
) PRIMARY INDEX (customer_id)`);
    await w.session.run('INSERT INTO DEV_EDW.orders VALUES (?, ?, ?, ?, ?)', [1, 7, '2026-01-02', 'O', 10.5]);
    await w.session.run('INSERT INTO DEV_EDW.orders VALUES (?, ?, ?, ?, ?)', [2, 8, '2026-01-03', 'X', 99]);
    await w.session.run('CREATE MULTISET TABLE DEV_EDW.stage_orders (order_id BIGINT) NO PRIMARY INDEX');
    await w.session.run('INSERT INTO DEV_EDW.stage_orders VALUES (?)', [42]);

    const r = await w.dbee('deploy', { assumeYes: true, now: NOW });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backups: +DEV_EDW\.ORDERS_BKP_20261121T103000/);

    // Renamed aside with its rows, a new table with the rows of its columns copied over (note is NULL).
    expect(w.session.rows('DEV_EDW.ORDERS_BKP_20261121T103000')).toHaveLength(2);
    expect(w.session.catalog.get('DEV_EDW.ORDERS')!.show).toMatch(/note +VARCHAR\(500\)/);
    expect(w.session.rows('DEV_EDW.ORDERS')).toEqual([
      { ORDER_ID: 1, CUSTOMER_ID: 7, ORDER_DATE: '2026-01-02', STATUS: 'O', AMOUNT: 10.5, NOTE: null },
      { ORDER_ID: 2, CUSTOMER_ID: 8, ORDER_DATE: '2026-01-03', STATUS: 'X', AMOUNT: 99, NOTE: null },
    ]);
    // The staging table (conflicts: drop) was dropped and created again, empty.
    expect(w.session.rows('DEV_EDW.STAGE_ORDERS')).toEqual([]);
    expect(userObjects()).toEqual([...OBJECTS, 'DEV_EDW.ORDERS_BKP_20261121T103000'].sort());

    const steps = w.ledger('steps');
    const orders = steps.find((s) => s.OBJECT_KEY === 'table:DEV_EDW.ORDERS')!;
    expect(JSON.parse(String(orders.STATEMENTS))).toEqual([
      // Built aside, then swapped in (#73 item 3); the rows are copied before the statistics are collected (#39), and
      // collected in full: the new table has a column the old one lacks.
      expect.stringMatching(/^CREATE MULTISET TABLE DEV_EDW\.ORDERS_NEW_20261121T103000/),
      '/* copyData: the rows of DEV_EDW.ORDERS, renamed to DEV_EDW.ORDERS_BKP_20261121T103000 at the swap */ INSERT INTO DEV_EDW.ORDERS_NEW_20261121T103000 (ORDER_ID, CUSTOMER_ID, ORDER_DATE, STATUS, AMOUNT) SELECT ORDER_ID, CUSTOMER_ID, ORDER_DATE, STATUS, AMOUNT FROM DEV_EDW.ORDERS',
      'COLLECT STATISTICS COLUMN (customer_id), COLUMN (order_date) ON DEV_EDW.ORDERS_NEW_20261121T103000',
      'RENAME TABLE DEV_EDW.ORDERS TO DEV_EDW.ORDERS_BKP_20261121T103000',
      'RENAME TABLE DEV_EDW.ORDERS_NEW_20261121T103000 TO DEV_EDW.ORDERS',
    ]);
    expect(JSON.parse(String(orders.REVERSE_STATEMENTS))).toEqual([
      'DROP TABLE DEV_EDW.ORDERS',
      'RENAME TABLE DEV_EDW.ORDERS_BKP_20261121T103000 TO DEV_EDW.ORDERS',
    ]);
    // SHOW TABLE's canonical text (every default written out), not the text the table was created with.
    expect(orders.PREVIOUS_DEFINITION).toMatch(
      /^CREATE MULTISET TABLE DEV_EDW\.orders ,NO FALLBACK ,\n {5}NO BEFORE JOURNAL,\n[\s\S]*\n {6}order_id BIGINT NOT NULL,\n/,
    );
    const stage = steps.find((s) => s.OBJECT_KEY === 'table:DEV_EDW.STAGE_ORDERS')!;
    expect(JSON.parse(String(stage.STATEMENTS))[0]).toBe('DROP TABLE DEV_EDW.STAGE_ORDERS');
    // A dropped table's rows cannot come back: no reverse.
    expect(stage.REVERSE_STATEMENTS).toBeNull();

    expect(w.ledger('backups')).toEqual([
      expect.objectContaining({
        ID: 1,
        DEPLOYMENT_ID: 1,
        OBJECT_KEY: 'table:DEV_EDW.ORDERS',
        BACKUP_NAME: 'DEV_EDW.ORDERS_BKP_20261121T103000',
        DROPPED_AT: null,
      }),
    ]);
    const summary = JSON.parse(String(w.ledger('deployments')[0]!.SUMMARY));
    expect(summary.conflicts).toEqual([
      {
        object: 'table:DEV_EDW.ORDERS',
        strategy: 'rename',
        rule: 'db.yaml deploy.ifExists',
        backup: 'DEV_EDW.ORDERS_BKP_20261121T103000',
      },
      {
        object: 'table:DEV_EDW.STAGE_ORDERS',
        strategy: 'drop',
        rule: 'db.yaml conflicts[0] "schema/edw/tables/stage_orders.sql"',
        backup: null,
      },
    ]);
  });
});

describe('dbee status on Teradata (fake session)', () => {
  it('reports the last deployment, nothing pending, and why drift is unknown', async () => {
    w = teradataWorkspace();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const r = await w.dbee('status');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^edw on td-dev \(teradata:\/\/u@fake:1025\/DEV_EDW/);
    expect(r.stdout).toMatch(/last deployment: #1 deploy succeeded, 7\/7 steps, started \d{4}-\d\d-\d\dT/);
    expect(r.stdout).toMatch(/pending: nothing, up to date with the sources/);
    expect(r.stdout).toMatch(/drift: unknown \(the teradata engine has no schema fingerprint\)/);
    expect(r.stdout).toMatch(/deployments: 1, success rate: 100%/);

    const json = JSON.parse((await w.dbee('status', { format: 'json' })).stdout);
    expect(json.lastDeployment).toMatchObject({
      id: 1,
      kind: 'deploy',
      status: 'succeeded',
      steps_applied: 7,
      steps_total: 7,
      summary: { transaction: 'object' },
    });
    expect(json.pendingSteps).toEqual([]);
  });
});
