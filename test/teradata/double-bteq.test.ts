import { describe, expect, it } from 'vitest';
import { FakeTeradataSession, runBteq } from '../../packages/teradata/testing';
import { UNLIMITED_PERM } from '../../packages/teradata/testing/fake-space';

/**
 * What the Teradata test double learned for issue #73 (item 1): what BTEQ and Teradata do that the double did not,
 * so that each fix of the change-window scripts has a test that fails before it. The manual each rule comes from is
 * quoted in packages/teradata/testing (bteq-interpreter.ts, fake-space.ts, fake-locks.ts). No Teradata system exists
 * here: every rule is the documentation's, verified against the double only.
 */

const code = (n: number) => new RegExp(`\\[Error ${n}\\]`);

async function salesTable(s: FakeTeradataSession, rows = 3): Promise<void> {
  await s.run('CREATE MULTISET TABLE SALES.t (i INTEGER, v VARCHAR(100)) PRIMARY INDEX (i)');
  for (let i = 1; i <= rows; i++) await s.run('INSERT INTO SALES.t VALUES (?, ?)', [i, 'x'.repeat(50)]);
}

describe('BTEQ interpreter: .LOGOFF ends the session; SQL after it is not sent', () => {
  it('a request after .LOGOFF is not sent, BTEQ warns (return code 2), and an open transaction is rolled back', async () => {
    const s = new FakeTeradataSession({ databases: ['SALES'] });
    await salesTable(s, 0);
    const run = await runBteq(
      [
        '.LOGON fake/u,p',
        'BT;',
        "INSERT INTO SALES.t VALUES (1, 'a');",
        '.LOGOFF',
        "INSERT INTO SALES.t VALUES (2, 'b');",
        '.IF ERRORCODE <> 0 THEN .QUIT 9',
        '.EXIT',
      ].join('\n'),
      s.newSession(),
    );
    expect(run.notSent).toEqual(["INSERT INTO SALES.t VALUES (2, 'b')"]);
    expect(run.output).toContain('*** Warning: You must LOGON before sending SQL requests.');
    expect(run.exitCode).toBe(2);
    expect(s.rows('SALES.T')).toEqual([]);
  });
});

describe('perm space per database (2644) and spool per user (2646)', () => {
  it('an INSERT ... SELECT or a CREATE TABLE AS WITH DATA past the PERM fails with 2644 and changes nothing', async () => {
    const s = new FakeTeradataSession({ databases: ['SALES'], perm: { SALES: 300 } });
    await salesTable(s);
    const used = s.databaseBytes('SALES');
    expect(used).toBeGreaterThan(150);
    await s.run('CREATE MULTISET TABLE SALES.t2 (i INTEGER, v VARCHAR(100)) PRIMARY INDEX (i)');
    await s.run('INSERT INTO SALES.t2 SELECT * FROM SALES.t WHERE i = 1');
    await expect(s.run('INSERT INTO SALES.t2 SELECT * FROM SALES.t')).rejects.toThrow(code(2644));
    expect(s.rows('SALES.T2')).toHaveLength(1);
    await expect(s.run('CREATE TABLE SALES.t3 AS SALES.t WITH DATA')).rejects.toThrow(/No more room in database SALES/);
    expect(s.catalog.has('SALES.T3')).toBe(false);
    // DBC.DiskSpaceV and DBC.TableSizeV answer the limit and what is used.
    const space = await s.run(
      "SELECT SUM(MaxPerm) AS mx, SUM(CurrentPerm) AS cur FROM DBC.DiskSpaceV WHERE DatabaseName = 'SALES'",
    );
    expect(space.resultSets[0]!.rows[0]).toEqual([300, s.databaseBytes('SALES')]);
    const size = await s.run(
      "SELECT SUM(CurrentPerm) FROM DBC.TableSizeV WHERE DatabaseName = 'SALES' AND TableName = 'T'",
    );
    expect(size.resultSets[0]!.rows[0]![0]).toBe(used);
    const other = new FakeTeradataSession({ databases: ['SALES'] });
    const free = await other.run("SELECT MaxPerm FROM DBC.DiskSpaceV WHERE DatabaseName = 'SALES'");
    expect(free.resultSets[0]!.rows[0]![0]).toBe(UNLIMITED_PERM);
  });

  it("a request that spools more than the user's SPOOL fails with 2646", async () => {
    const s = new FakeTeradataSession({ databases: ['SALES'], spool: 150 });
    await salesTable(s);
    await expect(s.run('SELECT * FROM SALES.t')).rejects.toThrow(code(2646));
    await s.run('SELECT * FROM SALES.t WHERE i = 1');
    await s.run('CREATE MULTISET TABLE SALES.t2 (i INTEGER, v VARCHAR(100)) PRIMARY INDEX (i)');
    await expect(s.run('INSERT INTO SALES.t2 SELECT * FROM SALES.t')).rejects.toThrow(/No more spool space in DBEE/);
    expect(s.rows('SALES.T2')).toEqual([]);
  });
});

describe('lock waits between sessions', () => {
  it("a DDL waits behind a reader's READ lock and a load's WRITE lock; an ACCESS read does not wait for a WRITE lock", async () => {
    const s = new FakeTeradataSession({ databases: ['SALES'] });
    await salesTable(s, 1);
    const reader = s.newSession();
    const release = reader.holdLock('SALES.T', 'READ');
    const ddl = s.newSession();
    let done = false;
    const rename = ddl.run('RENAME TABLE SALES.t TO SALES.t_old').then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(s.lockWaits.map((w) => w.sql)).toEqual(['RENAME TABLE SALES.t TO SALES.t_old']);
    // Another reader is not blocked by a READ lock.
    await s
      .newSession()
      .run('SELECT * FROM SALES.t_old', [])
      .catch(() => undefined);
    release();
    await rename;
    expect(done).toBe(true);
    expect(s.catalog.has('SALES.T_OLD')).toBe(true);

    const load = s.newSession().holdLock('SALES.T_OLD', 'WRITE');
    await s.newSession().run('LOCKING ROW FOR ACCESS SELECT * FROM SALES.t_old');
    let read = false;
    const plain = s
      .newSession()
      .run('SELECT * FROM SALES.t_old')
      .then(() => (read = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(read).toBe(false);
    load();
    await plain;
    expect(read).toBe(true);
  });

  it('LOCKING TABLE ... FOR EXCLUSIVE in a transaction holds the lock until it ends: a writer waits for the COMMIT', async () => {
    const s = new FakeTeradataSession({ databases: ['SALES'] });
    await salesTable(s, 1);
    const a = s.newSession();
    await a.setAutocommit(false);
    await a.run('LOCKING TABLE SALES.t FOR EXCLUSIVE SELECT COUNT(*) FROM SALES.t');
    let inserted = false;
    const insert = s
      .newSession()
      .run("INSERT INTO SALES.t VALUES (9, 'late')")
      .then(() => (inserted = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(inserted).toBe(false);
    await a.run('DROP TABLE SALES.t');
    await a.commit();
    await expect(insert).rejects.toThrow(code(3807));
  });
});
