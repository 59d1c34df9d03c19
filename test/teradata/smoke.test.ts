import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

/**
 * Smoke checks on Teradata (`Engine.smoke` of @dbee/teradata), on the fake Teradata system: `dbee deploy` of
 * examples/teradata with a smoke/edw.yaml runs it, `dbee smoke-test` passes, a failing check exits 3, and a check
 * that changes rows is rolled back. Nothing here has run on a live Teradata system.
 */

/** Smoke checks of the example project (examples/teradata has none: they are this test's). */
const SMOKE = `# Smoke checks run by \`dbee smoke-test edw\` and after each deployment (see docs/teradata.md, "Smoke checks").
# Each runs with auto-commit off and is rolled back; its time bound is checked when it returns (Teradata has no
# statement timeout a session can set). The driver reports no column types: check rows, not columns.
checks:
  - name: every order has a customer
    query: SELECT COUNT(*) AS orphans FROM {{env}}_EDW.orders WHERE customer_id IS NULL
    rows: [{ orphans: 0 }]
    timeout: 5s
  - name: purging cancelled orders leaves none before the date (rolled back)
    query: EXEC {{env}}_EDW.purge_cancelled (DATE '2020-01-01')
    timeout: 5s
`;

let w: TeradataWorkspace;
const smokeTest = () => run(w.root, 'smoke-test', { project: 'edw', env: 'td-dev' }, { TD_PASSWORD: 'td-test-secret' });

beforeAll(async () => {
  w = teradataWorkspace();
  mkdirSync(join(w.root, 'smoke'));
  w.write('smoke/edw.yaml', SMOKE);
  const r = await w.dbee('deploy', { assumeYes: true });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/every order has a customer/);
});
afterAll(() => w?.dispose());

describe('smoke checks on Teradata (fake session)', () => {
  it('dbee smoke-test passes: baseline (objects exist, the view compiles) and the example checks', async () => {
    const r = await smokeTest();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pass {2}baseline: deployed objects exist/);
    expect(r.stdout).toMatch(/pass {2}baseline: view dev_edw\.v_customer_orders compiles/i);
    expect(r.stdout).toMatch(/pass {2}purging cancelled orders/);
  });

  it('a check runs with auto-commit off and is rolled back: rows a check deletes are still there', async () => {
    w.session
      .rows('DEV_EDW.ORDERS')!
      .push({ ORDER_ID: 1, CUSTOMER_ID: 7, ORDER_DATE: '2019-01-01', STATUS: 'X', AMOUNT: 1 });
    w.write('smoke/zz.yaml', 'checks:\n  - name: delete every order\n    query: DELETE FROM {{env}}_EDW.orders\n');
    const mark = w.session.log.length;
    const r = await smokeTest();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pass {2}delete every order/);
    expect(w.session.rows('DEV_EDW.ORDERS')).toHaveLength(1);
    const log = w.session.log.slice(mark).map((l) => l.sql);
    // The DELETE ran with auto-commit off, and the next transaction control after it is the rollback.
    const del = log.findIndex((sql) => /^DELETE FROM DEV_EDW\.orders/i.test(sql));
    expect(log.slice(0, del)).toContain('{fn teradata_autocommit_off}');
    expect(log.slice(del + 1).find((sql) => /teradata_(commit|rollback)/.test(sql))).toBe('{fn teradata_rollback}');
  });

  it('a failing check exits 3 and names the check, the rows and the file', async () => {
    w.write(
      'smoke/zz.yaml',
      'checks:\n  - name: no orders\n    query: SELECT COUNT(*) AS n FROM {{env}}_EDW.orders\n    rows: [{ n: 0 }]\n',
    );
    const r = await smokeTest();
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/FAIL {2}no orders .*\n.*rows differ/);
  });

  it('a view over a table that is gone fails its baseline compile check (EXPLAIN: 3807)', async () => {
    w.write('smoke/zz.yaml', 'checks: []\n');
    const orders = w.session.catalog.get('DEV_EDW.ORDERS')!;
    w.session.catalog.delete('DEV_EDW.ORDERS');
    const r = await smokeTest();
    w.session.catalog.set('DEV_EDW.ORDERS', orders);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /FAIL {2}baseline: view DEV_EDW\.V_CUSTOMER_ORDERS compiles[^\n]*\n\s*failed: Teradata error 3807/i,
    );
  });

  it('a missing object fails the baseline', async () => {
    w.session.catalog.delete('DEV_EDW.PURGE_CANCELLED');
    const r = await smokeTest();
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /FAIL {2}baseline: deployed objects exist[^\n]*\n\s*missing: macro:dev_edw\.purge_cancelled/i,
    );
  });
});
