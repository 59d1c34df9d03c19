import { afterEach, describe, expect, it } from 'vitest';
import { runBteq } from '../../packages/teradata/testing';
import { exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #73 item 6: a live BTEQ lock. The script records its session number in the lock row, refreshes the row between
// steps, and `dbee unlock` asks DBC.SessionInfoV whether that session is still logged on before it breaks the lock.
// Verified against the double only (its sessions answer DBC.SessionInfoV until they log off or are killed).

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

describe('the BTEQ lock is live: session number, heartbeat, dbee unlock checks the holder (#73 item 6)', () => {
  it('records the session number and refreshes the row before every step', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    const { deploy } = await exportScripts(w);
    const steps = (deploy.match(/^\.REMARK 'step \d+\//gm) ?? []).length;
    const s = w.session.newSession();
    const held: unknown[] = [];
    // The row as it is while the script runs, read at each heartbeat.
    w.session.on(/^UPDATE DBEE_LEDGER\."lock"/, () => {
      held.push(w.ledger('lock')[0]?.OWNER_PID);
      return undefined;
    });
    const run = await runBteq(deploy, s);
    expect(run.exitCode, run.output.slice(-4).join('\n')).toBe(0);
    const beats = run.requests.filter((r) => /^UPDATE DBEE_LEDGER\."lock" SET "expires_at"/.test(r));
    expect(steps).toBeGreaterThan(3);
    expect(beats).toHaveLength(steps);
    expect(new Set(held)).toEqual(new Set([s.number]));
    expect(w.ledger('lock')).toEqual([]);
  });

  it('dbee unlock refuses while the script still runs (exit 1, lock kept); --force clears it and the script stops at its next heartbeat with 14', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    // CUSTOMERS made by hand: the example's ifExists rename moves it aside. A reader holds it: the script tries that
    // RENAME again after a sleep, logged on, holding the deployment lock.
    await w.session
      .newSession()
      .run(
        'CREATE SET TABLE DEV_EDW.customers (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ' +
          "segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) UNIQUE PRIMARY INDEX (customer_id)",
      );
    const { deploy } = await exportScripts(w);
    const release = w.session.newSession().holdLock('DEV_EDW.CUSTOMERS', 'READ');
    const s = w.session.newSession();
    // The script's RENAME takes the table with NOWAIT (#92 item 2): while it sleeps between two tries (`.OS sleep`) it
    // is still logged on, holding the deployment lock; the unlock is tried then.
    let refused: Awaited<ReturnType<typeof w.dbee>> | undefined;
    let forced: Awaited<ReturnType<typeof w.dbee>> | undefined;
    let owner: unknown;
    const run = await runBteq(deploy, s, {
      onOs: async () => {
        if (refused) return;
        owner = w.ledger('lock')[0]?.OWNER_PID;
        refused = await w.dbee('unlock', { assumeYes: true });
        expect(w.ledger('lock')).toHaveLength(1);
        forced = await w.dbee('unlock', { assumeYes: true, force: true });
        expect(w.ledger('lock')).toEqual([]);
        release();
      },
    });
    expect(owner).toBe(s.number);
    expect(refused!.code).toBe(1);
    expect(refused!.stderr).toMatch(new RegExp(`still runs: BTEQ session ${s.number} is still logged on`));
    expect(refused!.stderr).toMatch(/--force clears the lock anyway/);
    expect(forced!.code, forced!.stderr).toBe(0);
    expect(run.exitCode).toBe(14);
    expect(w.ledger('lock')).toEqual([]);
  });
});
