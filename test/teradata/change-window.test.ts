import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
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
