import { readFileSync, rmSync } from 'node:fs';
import { splitStatements } from '@dbee/teradata';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTeradataSession, runBteq, type BteqRun } from '../../packages/teradata/testing';
import { ansiEnvironment, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #73 item 3, "build aside, then swap": a table met under ifExists: rename with copyData (the example's
// CUSTOMERS) is built under another name, filled, given its grants, and only then made live by two renames. Before,
// the live table was renamed aside first and the new one filled under the production name: a failed or killed copy
// left production reading an empty table. Verified on the test double only (its rules cite Teradata's manuals in
// packages/teradata/testing); what only a live system settles is listed in docs/teradata.md.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

const ROWS = 12;

/** The example's CUSTOMERS made by hand with `ROWS` rows: MULTISET with a NUPI when `duplicateKeys` (two rows of id 1). */
async function handMade(session: FakeTeradataSession, duplicateKeys = false): Promise<void> {
  const dba = session.newSession();
  await dba.run(
    `CREATE ${duplicateKeys ? 'MULTISET' : 'SET'} TABLE DEV_EDW.customers (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ` +
      `segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) ${duplicateKeys ? '' : 'UNIQUE '}PRIMARY INDEX (customer_id)`,
  );
  for (let i = 1; i <= ROWS; i++)
    await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [
      duplicateKeys && i === 2 ? 1 : i,
      `customer ${i}`,
      'R',
      '2026-01-01 00:00:00',
    ]);
}

/** The release: the example without the objects that do not bear on CUSTOMERS (a shorter script to kill). */
async function release(): Promise<string> {
  const w = teradataWorkspace();
  opened.push(w);
  for (const f of [
    'schema/edw/tables/stage_orders.sql',
    'schema/edw/macros',
    'schema/edw/procedures',
    'schema/edw/join_indexes',
  ])
    rmSync(join(w.root, f), { recursive: true, force: true });
  return (await exportScripts(w)).deploy;
}

function system(options: { spool?: number } = {}): FakeTeradataSession {
  return new FakeTeradataSession({ databases: ['DEV_EDW', 'DBEE_LEDGER'], strictReferences: true, ...options });
}

const userTables = (s: FakeTeradataSession) => [...s.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.')).sort();
const why = (r: BteqRun) => r.output.slice(-6).join('\n');

/** Requests of a run a kill can stop before: each that commits on its own, and each BT (not inside BT ... ET). */
function cutPoints(run: BteqRun): number[] {
  let open = false;
  return run.requests.flatMap((r, i) => {
    if (/^\s*BT\s*$/i.test(r)) return ((open = true), [i + 1]);
    if (/^\s*ET\s*$/i.test(r)) return ((open = false), []);
    return open || /^\s*SELECT\b/i.test(r) ? [] : [i + 1];
  });
}

describe('BTEQ: build aside, then swap (#73 item 3)', () => {
  it('killed before any request, the production name holds every row or (between the two renames) is free with the rows in the backup; the re-run completes', async () => {
    const deploy = await release();
    const reference = system();
    await handMade(reference);
    const full = await runBteq(deploy, reference.newSession());
    expect(full.exitCode, why(full)).toBe(0);
    expect(reference.rows('DEV_EDW.CUSTOMERS')).toHaveLength(ROWS);
    // The new table is filled under its own name, then renamed twice.
    const copy = full.requests.findIndex((r) => /INSERT INTO DEV_EDW\.CUSTOMERS_NEW_\w+ \(/.test(r));
    const swap = full.requests.findIndex((r) => /^RENAME TABLE DEV_EDW\.CUSTOMERS TO DEV_EDW\.CUSTOMERS_BAK_/.test(r));
    expect(copy).toBeGreaterThan(0);
    expect(swap).toBeGreaterThan(copy);
    let between = 0;
    for (const k of cutPoints(full)) {
      const s = system();
      await handMade(s);
      expect((await runBteq(deploy, s.newSession(), { kill: k })).exitCode).toBe(-1);
      const live = s.rows('DEV_EDW.CUSTOMERS');
      if (live) expect(live, `killed before request ${k}`).toHaveLength(ROWS);
      else {
        between++;
        const backup = userTables(s).find((t) => /^DEV_EDW\.CUSTOMERS_BAK_/.test(t))!;
        expect(s.rows(backup), `killed before request ${k}`).toHaveLength(ROWS);
      }
      const again = await runBteq(deploy, s.newSession());
      expect(again.exitCode, `re-run after a kill before request ${k}: ${why(again)}`).toBe(0);
      expect(s.rows('DEV_EDW.CUSTOMERS')).toHaveLength(ROWS);
      expect(userTables(s).filter((t) => /_NEW_/.test(t))).toEqual([]);
      expect(s.rows('DBEE_LEDGER.LOCK')).toEqual([]);
    }
    // One cut point between the two renames (the second rename's transaction).
    expect(between).toBe(1);
  });

  const failures: [string, () => FakeTeradataSession, boolean, RegExp][] = [
    [
      '2644 no more room',
      () => {
        const s = system();
        s.on(/INSERT INTO DEV_EDW\.CUSTOMERS\w* \(/, {
          error: { code: 2644, text: 'No more room in database DEV_EDW.' },
        });
        return s;
      },
      false,
      /Failure 2644/,
    ],
    ['2646 no more spool', () => system({ spool: 300 }), false, /Failure 2646/],
    ['2801 duplicate unique primary index', () => system(), true, /Failure 2801/],
  ];
  for (const [what, make, duplicateKeys, error] of failures) {
    it(`${what} during the copy: the new table is dropped, the old one stays live with its rows; nothing renamed, no lock`, async () => {
      const deploy = await release();
      const s = make();
      await handMade(s, duplicateKeys);
      const run = await runBteq(deploy, s.newSession());
      expect(run.exitCode, why(run)).toBeGreaterThan(16);
      expect(run.output.join('\n')).toMatch(error);
      expect(s.rows('DEV_EDW.CUSTOMERS')).toHaveLength(ROWS);
      expect(userTables(s).filter((t) => /CUSTOMERS_(NEW|BAK)_/.test(t))).toEqual([]);
      expect(run.output.join('\n')).toMatch(/it is dropped, and DEV_EDW\.CUSTOMERS stays live as it was/);
      expect(s.rows('DBEE_LEDGER.BACKUPS') ?? []).toEqual([]);
      expect(s.rows('DBEE_LEDGER.LOCK')).toEqual([]);
    });
  }
});

describe('dbee deploy: build aside, then swap (#73 item 3)', () => {
  function workspace(options: { perm?: Record<string, number> } = {}): TeradataWorkspace {
    const w = teradataWorkspace(options);
    opened.push(w);
    for (const f of [
      'schema/edw/tables/stage_orders.sql',
      'schema/edw/macros',
      'schema/edw/procedures',
      'schema/edw/join_indexes',
    ])
      rmSync(join(w.root, f), { recursive: true, force: true });
    return w;
  }

  it('the new table is filled under its own name before two renames make it live; the old one is the backup', async () => {
    const w = workspace();
    await handMade(w.session);
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const sent = w.requestsSince(mark).map((q) => q.replace(/^\/\*[\s\S]*?\*\/\s*/, ''));
    const copy = sent.findIndex((q) => /^INSERT INTO DEV_EDW\.CUSTOMERS_NEW_\w+ \(/.test(q));
    const first = sent.findIndex((q) => /^RENAME TABLE DEV_EDW\.CUSTOMERS TO DEV_EDW\.CUSTOMERS_BKP_/.test(q));
    const second = sent.findIndex((q) => /^RENAME TABLE DEV_EDW\.CUSTOMERS_NEW_\w+ TO DEV_EDW\.CUSTOMERS$/.test(q));
    expect(copy).toBeGreaterThan(0);
    expect(first).toBeGreaterThan(copy);
    expect(second).toBe(first + 1);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(ROWS);
    const backup = userTables(w.session).find((t) => /^DEV_EDW\.CUSTOMERS_BKP_/.test(t))!;
    expect(w.session.rows(backup)).toHaveLength(ROWS);
    // dbee rollback counts the copied rows as the backup's: it puts the old table back.
    const back = await w.dbee('rollback', { assumeYes: true });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(ROWS);
    expect(userTables(w.session).filter((t) => /CUSTOMERS_/.test(t))).toEqual([]);
  });

  it('2644 during the copy: the step fails (exit 2), the new table is dropped at once, the old one stays live with its rows', async () => {
    const w = workspace();
    await handMade(w.session);
    w.session.on(/INSERT INTO DEV_EDW\.CUSTOMERS\w* \(/, {
      error: { code: 2644, text: 'No more room in database DEV_EDW.' },
    });
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(ROWS);
    expect(userTables(w.session).filter((t) => /CUSTOMERS_/.test(t))).toEqual([]);
    expect(r.stdout + r.stderr).toMatch(/2644/);
  });

  it('too little PERM for the copy: refused before anything runs (exit 1), naming the bytes needed', async () => {
    const probe = workspace();
    await handMade(probe.session);
    const size = probe.session.databaseBytes('DEV_EDW');
    const w = workspace({ perm: { DEV_EDW: Math.floor(size * 1.5) } });
    await handMade(w.session);
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/copy of DEV_EDW\.CUSTOMERS needs \d+/);
    expect(r.stdout + r.stderr).toMatch(/more bytes of PERM for DEV_EDW/);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(ROWS);
    expect(userTables(w.session)).toEqual(['DEV_EDW.CUSTOMERS']);
  });
});

describe('dbee deploy: statistics copied, not collected again, when the column set is unchanged (#73 item 7)', () => {
  it('ORDERS made by hand as its file says, with statistics: COLLECT STATISTICS ... FROM the live table (a changed column set collects in full: deploy.test.ts)', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    const text = readFileSync(join(w.root, 'schema/edw/tables/orders.sql'), 'utf8').replace(/\{\{env\}\}/g, 'DEV');
    const dba = w.session.newSession();
    for (const st of splitStatements(text, 'orders.sql')) await dba.run(st.sql);
    await dba.run(
      "INSERT INTO DEV_EDW.orders (order_id, customer_id, order_date, status, amount) VALUES (1, 7, DATE '2026-01-02', 'O', 10)",
    );
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const collects = w.requestsSince(mark).filter((q) => /^COLLECT STAT/i.test(q) && /ORDERS/i.test(q));
    expect(collects).toEqual([
      expect.stringMatching(
        /^COLLECT STATISTICS COLUMN \(customer_id\), COLUMN \(order_date\) ON DEV_EDW\.ORDERS_NEW_\w+ FROM DEV_EDW\.ORDERS$/,
      ),
    ]);
    // The statistics came with the copy: the live table has them under its name.
    expect(w.session.catalog.get('DEV_EDW.ORDERS')?.statistics).toEqual([['CUSTOMER_ID'], ['ORDER_DATE']]);
  });

  it('a group the live table has no statistics on is collected over the new table, the others copied', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    const text = readFileSync(join(w.root, 'schema/edw/tables/orders.sql'), 'utf8')
      .replace(/\{\{env\}\}/g, 'DEV')
      .replace('COLUMN (customer_id), COLUMN (order_date)', 'COLUMN (customer_id)');
    const dba = w.session.newSession();
    for (const st of splitStatements(text, 'orders.sql')) await dba.run(st.sql);
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.requestsSince(mark).filter((q) => /^COLLECT STAT/i.test(q) && /ORDERS/i.test(q))).toEqual([
      expect.stringMatching(
        /^COLLECT STATISTICS COLUMN \(customer_id\) ON DEV_EDW\.ORDERS_NEW_\w+ FROM DEV_EDW\.ORDERS$/,
      ),
      expect.stringMatching(/^COLLECT STATISTICS COLUMN \(order_date\) ON DEV_EDW\.ORDERS_NEW_\w+$/),
    ]);
    expect(w.session.catalog.get('DEV_EDW.ORDERS')?.statistics).toEqual([['CUSTOMER_ID'], ['ORDER_DATE']]);
  });
});

describe('BTEQ: statistics copied, not collected again, when the column set is unchanged (#73 item 7)', () => {
  /** The example's ORDERS made by hand, as its file says unless `amount` is given, with one row and statistics. */
  async function ordersByHand(session: FakeTeradataSession, amount = 'DECIMAL(18,2)', statistics = true) {
    const w = teradataWorkspace();
    opened.push(w);
    const text = readFileSync(join(w.root, 'schema/edw/tables/orders.sql'), 'utf8')
      .replace(/\{\{env\}\}/g, 'DEV')
      .replace('DECIMAL(18,2)', amount);
    const dba = session.newSession();
    for (const st of splitStatements(text, 'orders.sql'))
      if (statistics || !/^COLLECT/i.test(st.sql)) await dba.run(st.sql);
    await dba.run(
      "INSERT INTO DEV_EDW.orders (order_id, customer_id, order_date, status, amount) VALUES (1, 7, DATE '2026-01-02', 'O', 10)",
    );
  }
  const collects = (run: BteqRun) => run.requests.filter((r) => /^COLLECT STAT/i.test(r) && /ORDERS/i.test(r));

  for (const tmode of ['TERA', 'ANSI'] as const) {
    it(`${tmode}: the same columns, statistics on the live table: COLLECT STATISTICS ... FROM it, no full collect`, async () => {
      const w = teradataWorkspace();
      opened.push(w);
      if (tmode === 'ANSI') ansiEnvironment(w);
      const { deploy } = await exportScripts(w);
      const s = new FakeTeradataSession({ databases: ['DEV_EDW', 'DBEE_LEDGER'], strictReferences: true, tmode });
      await ordersByHand(s);
      const run = await runBteq(deploy, s.newSession());
      expect(run.exitCode, why(run)).toBe(0);
      expect(collects(run)).toEqual([
        expect.stringMatching(
          /^COLLECT STATISTICS COLUMN \(customer_id\), COLUMN \(order_date\) ON DEV_EDW\.ORDERS_NEW_\w+ FROM DEV_EDW\.ORDERS$/,
        ),
      ]);
      expect(s.rows('DEV_EDW.ORDERS')).toHaveLength(1);
      expect(s.catalog.get('DEV_EDW.ORDERS')?.statistics).toEqual([['CUSTOMER_ID'], ['ORDER_DATE']]);
    });
  }

  it('a column of another type, or no statistics on the live table: collected in full over the new table', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    const { deploy } = await exportScripts(w);
    for (const [amount, statistics] of [
      ['DECIMAL(12,2)', true],
      ['DECIMAL(18,2)', false],
    ] as const) {
      const s = system();
      await ordersByHand(s, amount, statistics);
      const run = await runBteq(deploy, s.newSession());
      expect(run.exitCode, why(run)).toBe(0);
      expect(collects(run), `${amount}, statistics: ${statistics}`).toEqual([
        expect.stringMatching(
          /^COLLECT STATISTICS COLUMN \(customer_id\), COLUMN \(order_date\) ON DEV_EDW\.ORDERS_NEW_\w+$/,
        ),
      ]);
      expect(s.catalog.get('DEV_EDW.ORDERS')?.statistics).toEqual([['CUSTOMER_ID'], ['ORDER_DATE']]);
    }
  });
});
