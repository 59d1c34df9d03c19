import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTeradataSession, runBteq, type BteqRun } from '../../packages/teradata/testing';
import { ansiEnvironment, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #64: the BTEQ scripts through a real change window (RETRY, a kill, a re-run). Each test runs `dbee plan
// --format bteq` of examples/teradata through the BTEQ interpreter of the test double: verified on the double only
// (the behaviours it models cite Teradata's documentation in packages/teradata/testing).

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

function workspace(tmode: 'TERA' | 'ANSI' = 'TERA'): TeradataWorkspace {
  const w = teradataWorkspace({ tmode });
  opened.push(w);
  if (tmode === 'ANSI') ansiEnvironment(w);
  return w;
}

/** Ledger object keys the ledger holds a state for (`objects`). */
function known(w: TeradataWorkspace): string[] {
  return w
    .ledger('objects')
    .map((o) => String(o.OBJECT_KEY))
    .sort();
}

describe('B1: RETRY off, so a deadlock fails the step instead of committing its DDL without its ledger rows', () => {
  for (const tmode of ['TERA', 'ANSI'] as const) {
    it(`${tmode}: a 2631 on the view's REPLACE fails the step; re-running the same script completes the release`, async () => {
      const w = workspace(tmode);
      const { deploy } = await exportScripts(w);
      expect(deploy).toMatch(/^\.SET RETRY OFF$/m);
      // The view's REPLACE is chosen as the deadlock victim once (2631: the transaction is rolled back, in ANSI mode
      // too). With BTEQ's default RETRY ON, BTEQ resubmits the REPLACE alone, outside the step's transaction.
      w.session.on(
        /^REPLACE VIEW/i,
        { error: { code: 2631, text: 'Transaction aborted due to deadlock.' } },
        { times: 1 },
      );
      const first = await runBteq(deploy, w.session.newSession());
      expect(first.exitCode, first.output.join('\n')).toBeGreaterThan(16);
      // The step failed whole: no view the ledger does not know.
      expect(w.session.catalog.has('DEV_EDW.V_CUSTOMER_ORDERS')).toBe(false);

      const rerun = await runBteq(deploy, w.session.newSession());
      expect(rerun.exitCode, rerun.output.join('\n')).toBe(0);
      expect(known(w)).toContain('view:DEV_EDW.V_CUSTOMER_ORDERS');
      // Nothing of the script's own was renamed aside, and dbee deploy has nothing to do afterwards.
      expect(w.ledger('backups')).toEqual([]);
      const mark = w.session.log.length;
      expect((await w.dbee('deploy')).code).toBe(0);
      expect(
        w.requestsSince(mark).filter((r) => /^\s*(CREATE|REPLACE|DROP|RENAME)\b/i.test(r) && !/DBEE_LEDGER/i.test(r)),
      ).toEqual([]);
    });
  }

  it('the double: with RETRY ON an ANSI transaction aborted by 2631 loses its earlier rows, the resubmitted request commits alone', async () => {
    const w = workspace('ANSI');
    w.session.on(
      /^INSERT INTO DEV_EDW\.t VALUES \(2\)/,
      { error: { code: 2631, text: 'Transaction aborted due to deadlock.' } },
      { times: 1 },
    );
    const script = [
      '.SET SESSION TRANSACTION ANSI',
      '.LOGON fake/u,p',
      'CREATE MULTISET TABLE DEV_EDW.t (i INTEGER) PRIMARY INDEX (i);',
      'COMMIT;',
      'INSERT INTO DEV_EDW.t VALUES (1);',
      'INSERT INTO DEV_EDW.t VALUES (2);',
      'COMMIT;',
      '.QUIT 0',
    ].join('\n');
    const run = await runBteq(script, w.session.newSession());
    expect(run.exitCode).toBe(0);
    expect(w.session.rows('DEV_EDW.T')).toEqual([{ I: 2 }]);
    // TERA: the resubmitted request ran outside the BT, so the ET that follows has no transaction to end (3510).
    const t = workspace('TERA');
    t.session.on(
      /^INSERT INTO DEV_EDW\.t VALUES \(2\)/,
      { error: { code: 2631, text: 'Transaction aborted due to deadlock.' } },
      { times: 1 },
    );
    const tera = await runBteq(
      [
        '.LOGON fake/u,p',
        'CREATE MULTISET TABLE DEV_EDW.t (i INTEGER) PRIMARY INDEX (i);',
        'BT;',
        'INSERT INTO DEV_EDW.t VALUES (1);',
        'INSERT INTO DEV_EDW.t VALUES (2);',
        'ET;',
        '.IF ERRORCODE = 3510 THEN .QUIT 3',
        '.QUIT 0',
      ].join('\n'),
      t.session.newSession(),
    );
    expect(tera.exitCode).toBe(3);
    expect(t.session.rows('DEV_EDW.T')).toEqual([{ I: 2 }]);
  });
});

/** The example's CUSTOMERS made by hand with one row, on `session`'s system: the table `ifExists: rename` meets. */
async function handMadeCustomers(session: FakeTeradataSession): Promise<void> {
  const dba = session.newSession();
  if (session.tmode === 'ANSI') await dba.setAutocommit(true);
  await dba.run(
    'CREATE SET TABLE DEV_EDW.customers (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ' +
      "segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) UNIQUE PRIMARY INDEX (customer_id)",
  );
  await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
}

/** A small release of the example: CUSTOMERS (renamed aside, rows copied), ORDERS (new, with statistics), a view. */
async function smallRelease(tmode: 'TERA' | 'ANSI' = 'TERA'): Promise<{ deploy: string; rollback: string }> {
  const w = workspace(tmode);
  for (const f of [
    'schema/edw/tables/stage_orders.sql',
    'schema/edw/macros',
    'schema/edw/procedures',
    'schema/edw/join_indexes',
  ])
    rmSync(join(w.root, f), { recursive: true, force: true });
  return exportScripts(w);
}

/** A fresh fake system holding the hand-made CUSTOMERS (what the release meets). */
async function target(tmode: 'TERA' | 'ANSI' = 'TERA'): Promise<FakeTeradataSession> {
  const s = new FakeTeradataSession({ tmode, databases: ['DEV_EDW', 'DBEE_LEDGER'], strictReferences: true });
  await handMadeCustomers(s);
  return s;
}

function ids(s: FakeTeradataSession, table: string): unknown[] | undefined {
  return s
    .rows(table)
    ?.map((r) => r.CUSTOMER_ID)
    .sort();
}

/** User objects (not the ledger's), sorted. */
function objects(s: FakeTeradataSession): string[] {
  return [...s.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.')).sort();
}

const why = (r: BteqRun) => r.output.slice(-4).join('\n');

/**
 * The cut points of a Teradata-mode run (1-based request numbers to kill before): every request that commits a
 * change on its own, and each `BT` (a kill anywhere inside BT ... ET rolls the transaction back: the state of a kill
 * before its BT). A kill before a SELECT leaves the state of a kill before the next change, so SELECTs are left out.
 */
function cutPoints(run: BteqRun): number[] {
  let open = false;
  return run.requests.flatMap((r, i) => {
    if (/^\s*BT\s*$/i.test(r)) {
      open = true;
      return [i + 1];
    }
    if (/^\s*ET\s*$/i.test(r)) {
      open = false;
      return [];
    }
    return open || /^\s*SELECT\b/i.test(r) ? [] : [i + 1];
  });
}

describe('B2: one lock identity per release', () => {
  it('rollback.btq of a deploy script killed while it held the lock takes the lock over (before: exit 14 for hours)', async () => {
    const { deploy, rollback } = await smallRelease();
    const s = await target();
    const cut = await runBteq(deploy, s.newSession(), {
      kill:
        (await runBteq(deploy, (await target()).newSession())).requests.findIndex((r) =>
          /^CREATE TABLE|^CREATE MULTISET TABLE DEV_EDW\.orders/i.test(r),
        ) + 1,
    });
    expect(cut.exitCode).toBe(-1);
    expect(s.rows('DBEE_LEDGER.LOCK')).toHaveLength(1);
    const back = await runBteq(rollback, s.newSession());
    expect(back.exitCode, why(back)).toBe(0);
    expect(ids(s, 'DEV_EDW.CUSTOMERS')).toEqual([7]);
    expect(objects(s)).toEqual(['DEV_EDW.CUSTOMERS']);
    expect(s.rows('DBEE_LEDGER.LOCK')).toEqual([]);
  });
});

describe('B2: dbee unlock clears the lock row of a BTEQ script killed while it held it', () => {
  it('names the holder, asks for a confirmation, clears only that row; dbee deploy then runs (before: LOCK_BUSY for hours)', async () => {
    const w = workspace();
    const { deploy } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession(), { kill: 40 })).exitCode).toBe(-1);
    expect(w.ledger('lock')).toHaveLength(1);
    const busy = await w.dbee('deploy', { waitForLock: 0 });
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/another deployment holds the lock/);

    const asked = await w.dbee('unlock');
    expect(asked.code).toBe(1);
    expect(asked.stdout).toMatch(
      /td-dev: the deployment lock is held by DBEE@bteq \(pid [1-9]\d*\) since .*, deployment bteq-\d+-[0-9a-f]+, expires /,
    );
    expect(asked.stderr).toMatch(/needs a confirmation/);
    expect(w.ledger('lock')).toHaveLength(1);

    const cleared = await w.dbee('unlock', { assumeYes: true });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/the deployment lock of DBEE@bteq \(pid [1-9]\d*\) .* was cleared/);
    expect(w.ledger('lock')).toEqual([]);
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const none = await w.dbee('unlock');
    expect(none.stdout).toMatch(/no deployment lock is held; nothing to clear/);
  });
});

describe('B3: every script re-runnable from where it stopped', () => {
  it("deploy.btq killed between a table's CREATE and its last statement: the same script completes the release", async () => {
    const { deploy } = await smallRelease();
    const full = await runBteq(deploy, (await target()).newSession());
    const s = await target();
    // Killed right after the new CUSTOMERS was created (before the copy of its rows).
    const at = full.requests.findIndex((r) => /^CREATE SET TABLE DEV_EDW\.customers/i.test(r)) + 2;
    expect((await runBteq(deploy, s.newSession(), { kill: at })).exitCode).toBe(-1);
    const again = await runBteq(deploy, s.newSession());
    expect(again.exitCode, why(again)).toBe(0);
    expect(ids(s, 'DEV_EDW.CUSTOMERS')).toEqual([7]);
    expect(s.rows('DBEE_LEDGER.BACKUPS')).toHaveLength(1);
  });

  it('rollback.btq killed right after the deployed table went aside: the name is never left without its rows, the re-run finishes', async () => {
    const { deploy, rollback } = await smallRelease();
    const s = await target();
    expect((await runBteq(deploy, s.newSession())).exitCode).toBe(0);
    const full = await runBteq(
      rollback,
      (
        await (async () => {
          const t = await target();
          await runBteq(deploy, t.newSession());
          return t;
        })()
      ).newSession(),
    );
    const at = full.requests.findIndex((r) => /^RENAME TABLE DEV_EDW\.CUSTOMERS_BAK_/i.test(r)) + 2;
    expect((await runBteq(rollback, s.newSession(), { kill: at })).exitCode).toBe(-1);
    expect(ids(s, 'DEV_EDW.CUSTOMERS')).toEqual([7]);
    const again = await runBteq(rollback, s.newSession());
    expect(again.exitCode, why(again)).toBe(0);
    expect(ids(s, 'DEV_EDW.CUSTOMERS')).toEqual([7]);
    expect(objects(s)).toEqual(['DEV_EDW.CUSTOMERS']);
  });
});

describe('B4: rows written since the deployment are compared by content', () => {
  it('a delete + insert load keeps the count: rollback.btq still stops, nothing undone, the loaded row kept', async () => {
    const { deploy, rollback } = await smallRelease();
    const s = await target();
    expect((await runBteq(deploy, s.newSession())).exitCode).toBe(0);
    const load = s.newSession();
    await load.run('DELETE FROM DEV_EDW.customers WHERE customer_id = 7');
    await load.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [
      7,
      'Ada Lovelace',
      'B',
      '2026-03-01 00:00:00',
    ]);
    const back = await runBteq(rollback, s.newSession());
    expect(back.exitCode).toBeGreaterThan(16);
    expect(back.output.join('\n')).toMatch(/DEV_EDW\.CUSTOMERS holds rows written since deployment \d+/);
    expect(s.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_NAME: 'Ada Lovelace' })]);
    expect(s.rows('DBEE_LEDGER.LOCK')).toEqual([]);
  });
});

describe('a small release killed at every cut point', () => {
  // Every state a kill can leave is a cut point (`cutPoints`). At each: the deploy script re-run completes the release as one uninterrupted run does, or the
  // rollback script brings the target back; and a rollback killed at each of its own cut points is completed by
  // running it again. CUSTOMERS keeps its row throughout.
  it('TERA: re-running deploy.btq or running rollback.btq always ends with every table and its rows', async () => {
    const { deploy, rollback } = await smallRelease();
    const reference = await target();
    const full = await runBteq(deploy, reference.newSession());
    expect(full.exitCode, why(full)).toBe(0);
    const cuts = cutPoints(full);
    expect(cuts.length).toBeGreaterThan(10);
    for (const k of cuts) {
      const s = await target();
      expect((await runBteq(deploy, s.newSession(), { kill: k })).exitCode).toBe(-1);
      const again = await runBteq(deploy, s.newSession());
      expect(again.exitCode, `deploy re-run after a kill before request ${k}: ${why(again)}`).toBe(0);
      expect(objects(s)).toEqual(objects(reference));
      expect(ids(s, 'DEV_EDW.CUSTOMERS')).toEqual([7]);

      const r = await target();
      await runBteq(deploy, r.newSession(), { kill: k });
      const back = await runBteq(rollback, r.newSession());
      expect(back.exitCode, `rollback after a kill before request ${k}: ${why(back)}`).toBe(0);
      expect(objects(r)).toEqual(['DEV_EDW.CUSTOMERS']);
      expect(ids(r, 'DEV_EDW.CUSTOMERS')).toEqual([7]);
      expect(r.rows('DBEE_LEDGER.LOCK')).toEqual([]);
    }
    const undo = await runBteq(rollback, reference.newSession());
    expect(undo.exitCode, why(undo)).toBe(0);
    for (const k of cutPoints(undo)) {
      const s = await target();
      await runBteq(deploy, s.newSession());
      expect((await runBteq(rollback, s.newSession(), { kill: k })).exitCode).toBe(-1);
      // Between the two renames the name is free for a moment (Teradata runs one DDL per transaction): the row is
      // then in the backup, under its own name, and the re-run puts it back.
      const backup = objects(s).find((o) => /^DEV_EDW\.CUSTOMERS_BAK_/.test(o));
      expect(ids(s, 'DEV_EDW.CUSTOMERS') ?? ids(s, backup!)).toEqual([7]);
      const again = await runBteq(rollback, s.newSession());
      expect(again.exitCode, `rollback re-run after a kill before request ${k}: ${why(again)}`).toBe(0);
      expect(objects(s)).toEqual(['DEV_EDW.CUSTOMERS']);
      expect(ids(s, 'DEV_EDW.CUSTOMERS')).toEqual([7]);
    }
  });
});

describe('S2: ANSI mode end to end: the session mode reaches the comparison of definitions', () => {
  it('dbee diff right after a deploy in ANSI mode finds no difference (before: a false CASESPECIFIC on every character column)', async () => {
    const w = workspace('ANSI');
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const diff = await w.dbee('diff');
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('  no differences');
    // A deployed table edited (a column added) is planned as an ALTER, not refused as a change of every column.
    w.write(
      'schema/edw/tables/customers.sql',
      readFileSync(join(w.root, 'schema/edw/tables/customers.sql'), 'utf8').replace(
        '  created_at    TIMESTAMP(0) NOT NULL',
        '  created_at    TIMESTAMP(0) NOT NULL,\n  email         VARCHAR(320) CHARACTER SET UNICODE',
      ),
    );
    const again = await w.dbee('deploy', { assumeYes: true, allowHazards: ['table-rewrite'] });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(w.requestsSince(0).filter((q) => /^ALTER TABLE DEV_EDW\.CUSTOMERS ADD/i.test(q))).toHaveLength(1);
  });
});

describe('S1: CREATE forms of REPLACE-able objects in the BTEQ script', () => {
  it('a view file written as CREATE VIEW (as SHOW and dbee extract write it), changed: the second script replaces it (before: 3804 halfway)', async () => {
    const w = workspace();
    const file = join(w.root, 'schema/edw/views/v_customer_orders.sql');
    w.write(
      'schema/edw/views/v_customer_orders.sql',
      readFileSync(file, 'utf8').replace('REPLACE VIEW', 'CREATE VIEW'),
    );
    const first = await exportScripts(w, 'first');
    expect((await runBteq(first.deploy, w.session.newSession())).exitCode).toBe(0);
    w.write(
      'schema/edw/views/v_customer_orders.sql',
      readFileSync(file, 'utf8').replace('c.segment', 'c.segment,\n       c.created_at'),
    );
    const second = await exportScripts(w, 'second');
    const run = await runBteq(
      second.deploy.replace(/\b(\d{16})\b/g, (m) => String(Number(m) + 7)),
      w.session.newSession(),
    );
    expect(run.exitCode, why(run)).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show).toMatch(/created_at/i);
  });
});
