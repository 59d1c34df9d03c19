import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #73 item 3 (the free-space check): a table renamed aside with copyData (the example's CUSTOMERS: ifExists
// rename, copyData true) needs room for a second copy of its rows. On the double, DEV_EDW's PERM holds the hand-made
// table once and a half: the copy would fail with 2644 after the rename. Verified against the double only.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

async function customers(w: TeradataWorkspace, rows: number): Promise<void> {
  const dba = w.session.newSession();
  await dba.run(
    'CREATE SET TABLE DEV_EDW.customers (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ' +
      "segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) UNIQUE PRIMARY INDEX (customer_id)",
  );
  for (let i = 1; i <= rows; i++)
    await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [
      i,
      `customer ${i}`,
      'R',
      '2026-01-01 00:00:00',
    ]);
}

describe('BTEQ: a copy that does not fit is refused before the table is renamed aside (#73 item 3)', () => {
  it('too little PERM: exit 16 + step, the production table keeps its rows, no backup, no lock; with room it deploys', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    await customers(w, 20);
    const size = w.session.databaseBytes('DEV_EDW');
    await w.session.newSession().run(`MODIFY DATABASE DEV_EDW AS PERM = ${Math.floor(size * 1.5)}`);
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode).toBeGreaterThan(16);
    expect(run.output.join('\n')).toMatch(/DEV_EDW has less free permanent space than DEV_EDW\.CUSTOMERS takes/);
    expect(run.output.join('\n')).not.toMatch(/Failure 2644/);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(20);
    expect([...w.session.catalog.keys()].filter((k) => /CUSTOMERS_BAK/.test(k))).toEqual([]);
    expect(w.ledger('lock')).toEqual([]);

    // More PERM: the same script deploys, the rows copied.
    await w.session.newSession().run(`MODIFY DATABASE DEV_EDW AS PERM = ${size * 3}`);
    const again = await runBteq(deploy, w.session.newSession());
    expect(again.exitCode, again.output.slice(-4).join('\n')).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(20);
  });
});
