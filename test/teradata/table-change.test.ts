import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareDefinitions } from '../../packages/teradata/src/render/teradata-normalize';
import { FakeTeradataSession } from '../../packages/teradata/testing';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * An edit to a deployed table file of examples/teradata, deployed by `dbee deploy` as ALTER TABLE steps planned against
 * SHOW TABLE of the target (Engine.inPlace.planChange), on the stricter test double (ALTER TABLE ADD/DROP, CREATE/DROP INDEX,
 * COMMENT and DBC CommentString as documented: see packages/teradata/testing/fake-connection.ts). The check that matters: after
 * the steps, the table's SHOW TABLE is what a table created from the edited file would show, its rows are kept, and
 * the next deploy has nothing to do.
 */

const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));
const LATER = new Date(Date.UTC(2026, 10, 22, 9, 0, 0));
const CUSTOMERS = 'schema/edw/tables/customers.sql';
const ORDERS = 'schema/edw/tables/orders.sql';

let w: TeradataWorkspace;
afterEach(() => w?.dispose());

function read(path: string): string {
  return readFileSync(join(w.root, path), 'utf8');
}

/** SHOW TABLE of a table created directly from `file`'s CREATE TABLE on a fresh system. */
async function showOfFresh(file: string): Promise<string> {
  const fresh = new FakeTeradataSession({ databases: ['DEV_EDW'] });
  const create = read(file)
    .replace(/\{\{env\}\}/g, 'DEV')
    .split(/;\s*\n/)[0]!;
  await fresh.run(create.replace(/^(--.*\n)+/, ''));
  const name = /([a-z_]+)\.sql$/.exec(file)![1]!.toUpperCase();
  return fresh.catalog.get(`DEV_EDW.${name}`)!.show;
}

async function deployedExample(): Promise<void> {
  w = teradataWorkspace();
  expect((await w.dbee('deploy', { assumeYes: true, now: NOW })).code).toBe(0);
  await w.session.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
  await w.session.run('INSERT INTO DEV_EDW.orders VALUES (?, ?, ?, ?, ?, ?)', [1, 7, '2026-01-02', 'O', 10.5, 'first']);
}

describe('a changed table file on Teradata: ALTER TABLE steps from SHOW TABLE (fake session)', () => {
  it('new column, DEFAULT and TITLE, secondary index and comments: gated by their hazards, then applied; the table equals one made from the file; rollback restores it', async () => {
    await deployedExample();
    const before = w.session.catalog.get('DEV_EDW.CUSTOMERS')!.show;
    w.write(
      CUSTOMERS,
      read(CUSTOMERS)
        .replace(
          "segment       CHAR(1) NOT NULL DEFAULT 'R',",
          "segment       CHAR(1) NOT NULL DEFAULT 'B' TITLE 'Segment',",
        )
        .replace(
          'created_at    TIMESTAMP(0) NOT NULL',
          "created_at    TIMESTAMP(0) NOT NULL,\n  region        CHAR(2) DEFAULT 'EU'",
        )
        .replace('UNIQUE PRIMARY INDEX (customer_id);', 'UNIQUE PRIMARY INDEX (customer_id)\nINDEX (customer_name);')
        .replace("AS 'One row per customer; segment R = retail, B = business'", "AS 'One row per customer'") +
        "\nCOMMENT ON COLUMN {{env}}_EDW.customers.segment AS 'R = retail, B = business';\n",
    );

    // Adding a column rewrites every row and an index is built: refused unless the environment allows it.
    let mark = w.session.log.length;
    const refused = await w.dbee('deploy', { assumeYes: true, now: LATER });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/table-rewrite \(adds column REGION: rewrites every row of DEV_EDW\.CUSTOMERS/);
    expect(refused.stderr).toMatch(/index-build/);
    expect(w.requestsSince(mark).filter((s) => /^(ALTER|CREATE|COMMENT)\b/.test(s))).toEqual([]);

    // A dry run shows the ALTER steps and changes nothing. Teradata has no scratch database to verify the plan on:
    // the dry run says so and refuses (exit 1) unless told to print the plan unverified.
    mark = w.session.log.length;
    const unverifiable = await w.dbee('deploy', {
      dryRun: true,
      now: LATER,
      allowHazards: ['table-rewrite', 'index-build'],
    });
    expect(unverifiable.code).toBe(1);
    expect(unverifiable.stderr).toMatch(/could not verify the plan: the teradata engine has no shadow database/);
    const dry = await w.dbee('deploy', {
      dryRun: true,
      verify: false,
      now: LATER,
      allowHazards: ['table-rewrite', 'index-build'],
    });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("ALTER TABLE DEV_EDW.CUSTOMERS ADD REGION CHAR(2) DEFAULT 'EU'");
    expect(w.requestsSince(mark).filter((s) => /^(ALTER|CREATE|COMMENT)\b/.test(s))).toEqual([]);

    mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true, now: LATER, allowHazards: ['table-rewrite', 'index-build'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      w.requestsSince(mark).filter((s) => /^(ALTER|CREATE|DROP|COMMENT)\b/.test(s) && !s.includes('DBEE_LEDGER')),
    ).toEqual([
      "ALTER TABLE DEV_EDW.CUSTOMERS ADD SEGMENT DEFAULT 'B' TITLE 'Segment'",
      "ALTER TABLE DEV_EDW.CUSTOMERS ADD REGION CHAR(2) DEFAULT 'EU'",
      'CREATE INDEX (CUSTOMER_NAME) ON DEV_EDW.CUSTOMERS',
      "COMMENT ON TABLE DEV_EDW.customers AS 'One row per customer'",
      "COMMENT ON COLUMN DEV_EDW.customers.segment AS 'R = retail, B = business'",
    ]);
    // SHOW TABLE now says what a table created from the edited file says; the row is kept, with the new column's DEFAULT.
    const after = w.session.catalog.get('DEV_EDW.CUSTOMERS')!;
    expect(compareDefinitions(await showOfFresh(CUSTOMERS), after.show).equal).toBe(true);
    expect(after.rows).toEqual([
      {
        CUSTOMER_ID: 7,
        CUSTOMER_NAME: 'Ada',
        SEGMENT: 'R',
        CREATED_AT: new Date('2026-01-01T00:00:00Z'),
        REGION: 'EU',
      },
    ]);
    expect(after.comment).toBe('One row per customer');
    expect(after.columnComments).toEqual({ SEGMENT: 'R = retail, B = business' });
    const steps = w.ledger('steps').filter((s) => s.DEPLOYMENT_ID === 2);
    expect(steps.map((s) => [s.OBJECT_KEY, s.ACTION, s.STATUS])).toEqual(
      Array(5).fill(['table:DEV_EDW.CUSTOMERS', 'alter', 'applied']),
    );
    expect(JSON.parse(String(steps[1]!.REVERSE_STATEMENTS))).toEqual(['ALTER TABLE DEV_EDW.CUSTOMERS DROP REGION']);
    expect(JSON.parse(String(steps[3]!.REVERSE_STATEMENTS))).toEqual([
      "COMMENT ON TABLE DEV_EDW.CUSTOMERS AS 'One row per customer; segment R = retail, B = business'",
    ]);

    // The ledger holds the file's checksum: nothing left to do.
    const again = await w.dbee('deploy', { assumeYes: true, now: LATER });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/edw: nothing to deploy/);

    // Rollback undoes the steps newest first: the table, its rows and its comments are as before.
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    const restored = w.session.catalog.get('DEV_EDW.CUSTOMERS')!;
    expect(compareDefinitions(before, restored.show).equal).toBe(true);
    expect(restored.rows).toEqual([
      { CUSTOMER_ID: 7, CUSTOMER_NAME: 'Ada', SEGMENT: 'R', CREATED_AT: new Date('2026-01-01T00:00:00Z') },
    ]);
    expect(restored.comment).toBe('One row per customer; segment R = retail, B = business');
  });

  it('a dropped column: refused without data-loss allowed; then a copy of the table with its rows first, and the column goes', async () => {
    await deployedExample();
    w.write(
      ORDERS,
      read(ORDERS).replace(
        'amount       DECIMAL(18,2) NOT NULL,\n  note         VARCHAR(500) CHARACTER SET UNICODE',
        'amount       DECIMAL(18,2) NOT NULL',
      ),
    );
    const refused = await w.dbee('deploy', { assumeYes: true, now: LATER, allowHazards: ['table-rewrite'] });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /data-loss \(drops column NOTE of DEV_EDW\.ORDERS; the values are kept in DEV_EDW\.ORDERS_BKP_20261122T090000\)/,
    );
    expect(w.session.catalog.has('DEV_EDW.ORDERS_BKP_20261122T090000')).toBe(false);

    const r = await w.dbee('deploy', { assumeYes: true, now: LATER, allowHazards: ['table-rewrite', 'data-loss'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(w.session.rows('DEV_EDW.ORDERS_BKP_20261122T090000')).toEqual([
      expect.objectContaining({ ORDER_ID: 1, NOTE: 'first' }),
    ]);
    expect(w.session.rows('DEV_EDW.ORDERS')).toEqual([
      { ORDER_ID: 1, CUSTOMER_ID: 7, ORDER_DATE: '2026-01-02', STATUS: 'O', AMOUNT: 10.5 },
    ]);
    expect(compareDefinitions(await showOfFresh(ORDERS), w.session.catalog.get('DEV_EDW.ORDERS')!.show).equal).toBe(
      true,
    );
    // The join index over orders was not in the way (it does not read NOTE) and is still there.
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')?.tableKind).toBe('I');
    expect((await w.dbee('deploy', { assumeYes: true, now: LATER })).stdout).toMatch(/edw: nothing to deploy/);
  });

  it('a changed join index (written with CREATE) is dropped and created again (index-build), and rollback puts the old one back', async () => {
    await deployedExample();
    const JI = 'schema/edw/join_indexes/ji_orders_by_customer.sql';
    const before = w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')!.show;
    w.write(JI, read(JI).replace('       c.segment\n', '       c.segment,\n       o.status\n'));
    expect((await w.dbee('deploy', { assumeYes: true, now: LATER })).code).toBe(1);
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true, now: LATER, allowHazards: ['index-build'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      w
        .requestsSince(mark)
        .filter((s) => /^(CREATE|DROP)\b/.test(s) && !s.includes('DBEE_LEDGER'))
        .map((s) => s.split('\n')[0]),
    ).toEqual(['DROP JOIN INDEX DEV_EDW.JI_ORDERS_BY_CUSTOMER', 'CREATE JOIN INDEX DEV_EDW.ji_orders_by_customer AS']);
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')!.show).toContain('o.status');
    expect((await w.dbee('deploy', { assumeYes: true, now: LATER })).stdout).toMatch(/edw: nothing to deploy/);
    expect((await w.dbee('rollback', { assumeYes: true })).code).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.JI_ORDERS_BY_CUSTOMER')!.show).toBe(before);
  });

  it('a change only a migration can make is refused, naming it; a column a join index reads cannot be dropped; with a migration pending, the file is recorded after it', async () => {
    await deployedExample();
    const original = read(ORDERS);
    w.write(ORDERS, original.replace('amount       DECIMAL(18,2) NOT NULL', 'amount       DECIMAL(20,2) NOT NULL'));
    const mark = w.session.log.length;
    let r = await w.dbee('deploy', {
      assumeYes: true,
      now: LATER,
      allowHazards: ['table-rewrite', 'data-loss', 'index-build'],
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /table:DEV_EDW\.ORDERS changed since it was deployed in a way that needs a migration: column AMOUNT: DECIMAL\(18, 2\) NOT NULL → DECIMAL\(20, 2\) NOT NULL/,
    );
    expect(r.stderr).toMatch(/schema\/edw\/tables\/orders\.sql/);
    expect(
      w.requestsSince(mark).filter((s) => /^(ALTER|CREATE|DROP|RENAME)\b/.test(s) && !s.includes('DBEE_LEDGER')),
    ).toEqual([]);

    // AMOUNT is read by the join index: Teradata refuses to drop it before the join index changes.
    w.write(ORDERS, original.replace('amount       DECIMAL(18,2) NOT NULL,\n', ''));
    r = await w.dbee('deploy', { assumeYes: true, now: LATER, allowHazards: ['table-rewrite', 'data-loss'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /column AMOUNT is read by join-index DEV_EDW\.JI_ORDERS_BY_CUSTOMER, which must change first/,
    );

    // The staging table gets a primary index: a copy-and-swap a migration does; the file's new text is recorded after it.
    w.write(ORDERS, original);
    w.write(
      'schema/edw/tables/stage_orders.sql',
      read('schema/edw/tables/stage_orders.sql').replace('NO PRIMARY INDEX;', 'PRIMARY INDEX (order_id);'),
    );
    mkdirSync(join(w.root, 'migrations'));
    w.write(
      'migrations/V1__stage_orders_primary_index.sql',
      `CREATE MULTISET TABLE {{env}}_EDW.stage_orders_new, NO FALLBACK (
  order_id BIGINT, customer_id INTEGER, order_date DATE, status CHAR(1), amount DECIMAL(18,2)
) PRIMARY INDEX (order_id);
INSERT INTO {{env}}_EDW.stage_orders_new SELECT * FROM {{env}}_EDW.stage_orders;
DROP TABLE {{env}}_EDW.stage_orders;
RENAME TABLE {{env}}_EDW.stage_orders_new TO {{env}}_EDW.stage_orders;
`,
    );
    w.write(
      'migrations/V1__stage_orders_primary_index.rollback.sql',
      `CREATE MULTISET TABLE {{env}}_EDW.stage_orders_old, NO FALLBACK (
  order_id BIGINT, customer_id INTEGER, order_date DATE, status CHAR(1), amount DECIMAL(18,2)
) NO PRIMARY INDEX;
INSERT INTO {{env}}_EDW.stage_orders_old SELECT * FROM {{env}}_EDW.stage_orders;
DROP TABLE {{env}}_EDW.stage_orders;
RENAME TABLE {{env}}_EDW.stage_orders_old TO {{env}}_EDW.stage_orders;
`,
    );
    r = await w.dbee('deploy', { assumeYes: true, now: LATER });
    expect(r.stderr).toMatch(
      /table:DEV_EDW\.STAGE_ORDERS changed in a way only a migration can make \(primary index or partitioning: .*\); taken to be made by migration:edw\/V1/,
    );
    expect(r.code).toBe(0);
    const steps = w.ledger('steps').filter((s) => s.DEPLOYMENT_ID === 2);
    expect(steps.map((s) => [s.OBJECT_KEY, s.ACTION])).toEqual([
      ['migration:edw/V1', 'migrate'],
      ['table:DEV_EDW.STAGE_ORDERS', 'alter'],
    ]);
    expect(
      compareDefinitions(
        await showOfFresh('schema/edw/tables/stage_orders.sql'),
        w.session.catalog.get('DEV_EDW.STAGE_ORDERS')!.show,
      ).equal,
    ).toBe(true);
    expect((await w.dbee('deploy', { assumeYes: true, now: LATER })).stdout).toMatch(/edw: nothing to deploy/);
  });
});

describe('statistics of a changed table (#64 S5)', () => {
  it('only the groups a change touches are collected again: a new column and its new group, not the table in full; a comment collects none', async () => {
    await deployedExample();
    const collects = (mark: number) => w.requestsSince(mark).filter((r) => /^\s*COLLECT\b/i.test(r));
    w.write(
      ORDERS,
      read(ORDERS)
        .replace(
          '  note         VARCHAR(500) CHARACTER SET UNICODE',
          '  note         VARCHAR(500) CHARACTER SET UNICODE,\n  channel      CHAR(1)',
        )
        .replace('COLUMN (order_date) ON', 'COLUMN (order_date), COLUMN (channel) ON'),
    );
    let mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true, now: LATER, allowHazards: ['table-rewrite'] });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(collects(mark)).toEqual(['COLLECT STATISTICS COLUMN (channel) ON DEV_EDW.orders']);
    expect(w.session.catalog.get('DEV_EDW.ORDERS')!.statistics).toEqual([['CUSTOMER_ID'], ['ORDER_DATE'], ['CHANNEL']]);

    w.write(ORDERS, `${read(ORDERS)}\nCOMMENT ON TABLE {{env}}_EDW.orders AS 'Orders of the shop';\n`);
    mark = w.session.log.length;
    const c = await w.dbee('deploy', { assumeYes: true, now: LATER });
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(w.requestsSince(mark).filter((q) => /^\s*COMMENT\b/i.test(q))).toHaveLength(1);
    expect(collects(mark)).toEqual([]);
  });
});
