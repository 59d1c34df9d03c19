import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireTeradataLock } from '@dbee/teradata';
import { createFakeConnection, runBteq } from '../../packages/teradata/testing';
import { ansiEnvironment, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #39: the BTEQ path in a production change window. Each test runs `dbee plan --format bteq` of
// examples/teradata through the BTEQ interpreter of the test double (no Teradata system exists here: what these
// tests show is verified against the double only; the rules the double follows cite Teradata's documentation).

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

function workspace(options: Parameters<typeof teradataWorkspace>[0] = {}): TeradataWorkspace {
  const w = teradataWorkspace(options);
  opened.push(w);
  return w;
}

/** A procedure of about `kb` kilobytes of SPL (many statements), valid on the double. */
function bigProcedure(kb: number): string {
  const lines = ['REPLACE PROCEDURE {{env}}_EDW.big_proc (OUT n INTEGER)', 'BEGIN', '  DECLARE x INTEGER DEFAULT 0;'];
  let i = 0;
  while (lines.join('\n').length < kb * 1024)
    lines.push(`  SET x = x + ${i++}; -- step ${i} of a long procedure body, with a 'quoted' word`);
  lines.push('  SET n = x;', 'END;');
  return lines.join('\n') + '\n';
}

describe('BTEQ export: steps longer than the 31,000-byte literal limit (#39 item 4)', () => {
  it('a 40 KB procedure is deployed and recorded by the script: its ledger row is written in literals Teradata accepts', async () => {
    const w = workspace();
    w.write('schema/edw/procedures/big_proc.sql', bigProcedure(40));
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    const step = w.ledger('steps').find((s) => /big_proc/i.test(String(s.OBJECT_KEY)));
    expect(step?.STATUS).toBe('applied');
    // The whole text reached the ledger: the statements recorded are the procedure's, not a cut.
    const statements = JSON.parse(String(step!.STATEMENTS)) as string[];
    expect(statements.join('\n')).toContain('SET n = x;');
    expect(Buffer.byteLength(statements.join('\n'))).toBeGreaterThan(40 * 1024);
    // dbee deploy afterwards has nothing to do: the object is known to the ledger at its checksum.
    const mark = w.session.log.length;
    const next = await w.dbee('deploy');
    expect(next.code, next.stderr).toBe(0);
    expect(
      w.requestsSince(mark).filter((r) => /^\s*(CREATE|REPLACE|DROP|RENAME)\b/i.test(r) && !/DBEE_LEDGER/i.test(r)),
    ).toEqual([]);
  });

  it('the double refuses a request with a literal over 31,000 bytes (3738), as Teradata does', async () => {
    const w = workspace();
    const s = w.session.newSession();
    await s.run('CREATE MULTISET TABLE DEV_EDW.t (c CLOB CHARACTER SET UNICODE, i INTEGER) PRIMARY INDEX (i)');
    await expect(s.run(`INSERT INTO DEV_EDW.t (c, i) VALUES ('${'x'.repeat(31001)}', 1)`)).rejects.toThrow(
      /Error 3738/,
    );
    await s.run(
      `INSERT INTO DEV_EDW.t (c, i) VALUES (CAST('${'x'.repeat(31000)}' AS CLOB CHARACTER SET UNICODE) || '${'y'.repeat(31000)}', 1)`,
    );
    expect(String(w.session.rows('DEV_EDW.T')![0]!.C)).toHaveLength(62000);
  });
});

/** The example's CUSTOMERS table made by hand (same columns), with one row: the table `ifExists: rename` meets. */
async function handMadeCustomers(w: TeradataWorkspace): Promise<void> {
  const dba = w.session.newSession();
  await dba.run(
    'CREATE SET TABLE DEV_EDW.customers (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ' +
      "segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) UNIQUE PRIMARY INDEX (customer_id)",
  );
  await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
}

describe('BTEQ export: copyData into a SET table from a table holding duplicate rows (#64)', () => {
  it('TERA: the step stops before the rename instead of copying one row of each duplicate; a MULTISET table gets them all', async () => {
    for (const kind of ['SET', 'MULTISET'] as const) {
      const w = workspace();
      w.write(
        'schema/edw/tables/t_dup.sql',
        `CREATE ${kind} TABLE {{env}}_EDW.t_dup (a INTEGER, b VARCHAR(5)) PRIMARY INDEX (a);\n`,
      );
      const dba = w.session.newSession();
      await dba.run('CREATE MULTISET TABLE DEV_EDW.t_dup (a INTEGER, b VARCHAR(5)) PRIMARY INDEX (a)');
      await dba.run("INSERT INTO DEV_EDW.t_dup VALUES (1, 'x')");
      await dba.run("INSERT INTO DEV_EDW.t_dup VALUES (1, 'x ')");
      const { deploy } = await exportScripts(w);
      const run = await runBteq(deploy, w.session.newSession());
      const tables = [...w.session.catalog.keys()].filter((k) => k.includes('T_DUP'));
      if (kind === 'SET') {
        expect(run.exitCode).toBeGreaterThan(16);
        expect(run.output.join('\n')).toMatch(/DEV_EDW\.T_DUP holds duplicate rows, and the new table is a SET table/);
        expect(tables).toEqual(['DEV_EDW.T_DUP']);
        expect(w.session.rows('DEV_EDW.T_DUP')).toHaveLength(2);
        expect(w.ledger('lock')).toEqual([]);
      } else {
        expect(run.exitCode, run.output.slice(-4).join('\n')).toBe(0);
        expect(w.session.rows('DEV_EDW.T_DUP')).toHaveLength(2);
      }
    }
  });
});

describe('BTEQ export: copyData on a table renamed aside (#39 item 2)', () => {
  it("with the example's ifExists: rename, copyData: true the new table gets the rows, as with dbee deploy", async () => {
    const viaDeploy = workspace();
    await handMadeCustomers(viaDeploy);
    expect((await viaDeploy.dbee('deploy')).code).toBe(0);
    expect(viaDeploy.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);

    const w = workspace();
    await handMadeCustomers(w);
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([
      expect.objectContaining({ CUSTOMER_ID: 7, CUSTOMER_NAME: 'Ada' }),
    ]);
    // The backup keeps its rows too (the copy is a copy).
    const backup = String(w.ledger('backups')[0]!.BACKUP_NAME).toUpperCase();
    expect(w.session.rows(backup)).toHaveLength(1);
  });

  it('ANSI mode: the copy is committed with the step', async () => {
    const w = workspace({ tmode: 'ANSI' });
    ansiEnvironment(w);
    await handMadeCustomers(w);
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
  });

  it('copyData over a table that lacks a column of the new one: the step fails before anything is renamed', async () => {
    const w = workspace();
    const dba = w.session.newSession();
    await dba.run('CREATE MULTISET TABLE DEV_EDW.customers (customer_id INTEGER) PRIMARY INDEX (customer_id)');
    await dba.run('INSERT INTO DEV_EDW.customers (customer_id) VALUES (7)');
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode).toBeGreaterThan(16);
    expect(run.output.join('\n')).toMatch(/copyData: DEV_EDW\.CUSTOMERS must have every column of the new table/);
    expect(run.requests.filter((r) => /^RENAME TABLE DEV_EDW\.CUSTOMERS/i.test(r))).toEqual([]);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([{ CUSTOMER_ID: 7 }]);
    expect(w.ledger('deployments').map((d) => d.STATUS)).toEqual(['failed']);
  });

  it('without copyData the new table stays empty (the rows stay in the backup)', async () => {
    const w = workspace();
    w.write('db.yaml', readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('copyData: true', 'copyData: false'));
    await handMadeCustomers(w);
    const { deploy } = await exportScripts(w);
    expect(deploy).not.toMatch(/copyData/);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([]);
  });
});

/** A second deployment's scripts: another deployment id (the export's id is the time to the second). */
function later(script: string, by = 7): string {
  return script.replace(/\b(\d{16})\b/g, (m) => String(Number(m) + by));
}

describe('BTEQ rollback of a deployment that changed REPLACE objects (#39 item 1, #64 S4)', () => {
  it('rollback.btq of the second deployment brings the earlier view text back (captured at export)', async () => {
    const w = workspace();
    const first = await exportScripts(w, 'first');
    expect((await runBteq(first.deploy, w.session.newSession())).exitCode).toBe(0);
    const viewBefore = w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show;

    const file = join(w.root, 'schema/edw/views/v_customer_orders.sql');
    w.write(
      'schema/edw/views/v_customer_orders.sql',
      readFileSync(file, 'utf8').replace('c.segment', 'c.segment,\n       c.created_at'),
    );
    const second = await exportScripts(w, 'second');
    const run = await runBteq(later(second.deploy), w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show).toMatch(/created_at/i);
    const known = () => w.ledger('objects').find((o) => o.OBJECT_KEY === 'view:DEV_EDW.V_CUSTOMER_ORDERS')?.CHECKSUM;
    const firstChecksum = w
      .ledger('steps')
      .find((st) => st.OBJECT_KEY === 'view:DEV_EDW.V_CUSTOMER_ORDERS' && st.STATUS === 'applied')?.CHECKSUM;
    expect(known()).not.toBe(firstChecksum);

    const back = await runBteq(later(second.rollback), w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')?.show.replace(/;$/, '')).toBe(
      viewBefore.replace(/;$/, ''),
    );
    expect(w.ledger('lock')).toEqual([]);
    // The ledger knows the view at the first deployment's checksum again.
    expect(known()).toBe(firstChecksum);
  });

  it('a script exported before another deployment changed the view stops before anything is undone; dbee rollback brings the text back', async () => {
    const w = workspace();
    const first = await exportScripts(w, 'first');
    expect((await runBteq(first.deploy, w.session.newSession())).exitCode).toBe(0);
    const file = join(w.root, 'schema/edw/views/v_customer_orders.sql');
    const source = readFileSync(file, 'utf8');
    w.write('schema/edw/views/v_customer_orders.sql', source.replace('c.segment', 'c.segment,\n       c.created_at'));
    // Exported now (the first deployment's view captured), run after another release changed the view.
    const second = await exportScripts(w, 'second');
    w.write('schema/edw/views/v_customer_orders.sql', source.replace('c.segment', 'c.segment AS seg'));
    const third = await exportScripts(w, 'third');
    expect((await runBteq(later(third.deploy, 3), w.session.newSession())).exitCode).toBe(0);
    const viewBefore = w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show;
    // Ids from the export's second: the second script's shifted past the third's (exported up to a second later).
    expect((await runBteq(later(second.deploy, 200), w.session.newSession())).exitCode).toBe(0);
    const viewAfter = w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show;

    const mark = w.session.log.length;
    const back = await runBteq(later(second.rollback, 200), w.session.newSession());
    expect(back.exitCode).toBeGreaterThan(16);
    expect(back.output.join('\n')).toMatch(
      /V_CUSTOMER_ORDERS was changed by deployment \d+, not created, from another definition than the one captured when this script was exported: .*dbee rollback/i,
    );
    // Nothing was undone, nothing written: the view is the second deployment's, the ledger has no rollback row.
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')?.show).toBe(viewAfter);
    // Only reads, and the deployment lock taken and released.
    expect(w.requestsSince(mark).filter((r) => !/^\s*SELECT\b/i.test(r) && !/"lock"/.test(r))).toEqual([]);
    expect(w.ledger('lock')).toEqual([]);
    expect(w.ledger('deployments').map((d) => d.KIND)).toEqual(['deploy', 'deploy', 'deploy']);

    // What the script points at works: dbee rollback restores the text the view had before.
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')?.show).toBe(viewBefore.replace(/;$/, ''));
  });

  it('rollback.btq of a first deployment still drops the view it created', async () => {
    const w = workspace();
    const { deploy, rollback } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.session.catalog.has('DEV_EDW.V_CUSTOMER_ORDERS')).toBe(false);
  });
});

describe('rollback of a table renamed aside never drops the rows written since the deployment (#39 item 3)', () => {
  it('rollback.btq stops before anything is undone when the new table holds rows', async () => {
    const w = workspace();
    await handMadeCustomers(w);
    const { deploy, rollback } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    await w.session
      .newSession()
      .run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [8, 'Bea', 'B', '2026-02-01 00:00:00']);
    const mark = w.session.log.length;
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode).toBeGreaterThan(16);
    expect(back.output.join('\n')).toMatch(/DEV_EDW\.CUSTOMERS holds rows written since deployment \d+/);
    // Only reads, and the deployment lock taken and released.
    expect(w.requestsSince(mark).filter((r) => !/^\s*SELECT\b/i.test(r) && !/"lock"/.test(r))).toEqual([]);
    expect(w.ledger('lock')).toEqual([]);
    expect(
      w.session
        .rows('DEV_EDW.CUSTOMERS')!
        .map((r) => r.CUSTOMER_ID)
        .sort(),
    ).toEqual([7, 8]);
  });

  it('rollback.btq puts the backup back when the new table holds only the rows copyData copied', async () => {
    const w = workspace();
    await handMadeCustomers(w);
    const { deploy, rollback } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
    expect(w.session.catalog.has(String(w.ledger('backups')[0]!.BACKUP_NAME).toUpperCase())).toBe(false);
  });

  it('dbee rollback of the BTEQ deployment knows the rows were copied: it puts the backup back (no rows written since)', async () => {
    const w = workspace();
    await handMadeCustomers(w);
    const { deploy } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
  });

  it('dbee rollback of a BTEQ deployment that renamed a table aside (no copy) puts it back', async () => {
    const w = workspace();
    w.write('db.yaml', readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('copyData: true', 'copyData: false'));
    await handMadeCustomers(w);
    const { deploy } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
    expect([...w.session.catalog.keys()].filter((k) => /_BAK_/i.test(k))).toEqual([]);
  });

  it('rollback.btq puts the backup back when the new table is empty', async () => {
    const w = workspace();
    w.write('db.yaml', readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('copyData: true', 'copyData: false'));
    await handMadeCustomers(w);
    const { deploy, rollback } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
  });
});

describe('dbee rollback of a table renamed aside never drops the rows written since the deployment (#39 item 3)', () => {
  it('refuses while the new table holds rows the backup does not account for (exit 1, nothing undone); --force accepts it', async () => {
    const w = workspace();
    await handMadeCustomers(w);
    expect((await w.dbee('deploy')).code).toBe(0);
    await w.session
      .newSession()
      .run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [8, 'Bea', 'B', '2026-02-01 00:00:00']);
    const mark = w.session.log.length;
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /CUSTOMERS received 1 row its backup does not hold \(loaded or changed\) and lost 0 rows its backup holds \(deleted or changed\): putting the backup back drops the first/,
    );
    expect(r.stderr).toMatch(/--force/);
    expect(
      w.requestsSince(mark).filter((q) => /^\s*(DROP|RENAME|CREATE|REPLACE)\b/i.test(q) && !/DBEE_LEDGER/i.test(q)),
    ).toEqual([]);
    expect(
      w.session
        .rows('DEV_EDW.CUSTOMERS')!
        .map((x) => x.CUSTOMER_ID)
        .sort(),
    ).toEqual([7, 8]);

    const forced = await w.dbee('rollback', { assumeYes: true, force: true });
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')!.map((x) => x.CUSTOMER_ID)).toEqual([7]);
  });

  it('puts the backup back when the new table holds only the rows copyData copied', async () => {
    const w = workspace();
    await handMadeCustomers(w);
    expect((await w.dbee('deploy')).code).toBe(0);
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
  });

  it('puts the backup back when the new table is empty', async () => {
    const w = workspace();
    w.write('db.yaml', readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('copyData: true', 'copyData: false'));
    await handMadeCustomers(w);
    expect((await w.dbee('deploy')).code).toBe(0);
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CUSTOMER_ID: 7 })]);
  });
});

/** A workspace whose environment (and double) run ANSI sessions. */
function ansiWorkspace(): TeradataWorkspace {
  const w = workspace({ tmode: 'ANSI' });
  ansiEnvironment(w);
  return w;
}

describe('ANSI sessions: names are kept as written and compared case-specifically with literals (#39 item 5)', () => {
  it('the double keeps the case of names and compares them as the session mode says', async () => {
    for (const tmode of ['TERA', 'ANSI'] as const) {
      const w = workspace({ tmode });
      const s = w.session.newSession();
      if (tmode === 'ANSI') await s.setAutocommit(false);
      await s.run('CREATE MULTISET TABLE DEV_EDW.lower_name (x INTEGER) PRIMARY INDEX (x)');
      if (tmode === 'ANSI') await s.commit();
      const exact = await s.run(
        "SELECT TableName FROM DBC.TablesV WHERE DatabaseName = 'DEV_EDW' AND TableName = 'lower_name'",
      );
      expect(exact.resultSets?.[0]?.rows).toEqual([['lower_name']]);
      const upper = await s.run(
        "SELECT TableName FROM DBC.TablesV WHERE DatabaseName = 'DEV_EDW' AND TableName = 'LOWER_NAME'",
      );
      expect(upper.resultSets?.[0]?.rows ?? []).toHaveLength(tmode === 'TERA' ? 1 : 0);
      const blind = await s.run(
        "SELECT TableName FROM DBC.TablesV WHERE UPPER(DatabaseName) = 'DEV_EDW' AND UPPER(TableName) = 'LOWER_NAME'",
      );
      expect(blind.resultSets?.[0]?.rows).toEqual([['lower_name']]);
      if (tmode === 'ANSI') await s.commit();
    }
  });

  it('dbee deploy in ANSI mode finds a table made by hand with a lower-case name: ifExists raise refuses (exit 1)', async () => {
    const w = ansiWorkspace();
    const dba = w.session.newSession();
    await dba.setAutocommit(false);
    await dba.run('CREATE MULTISET TABLE DEV_EDW.customers (customer_id INTEGER) PRIMARY INDEX (customer_id)');
    await dba.commit();
    const r = await w.dbee('deploy', { assumeYes: true, ifExists: 'raise' });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /table:DEV_EDW\.CUSTOMERS already exists in the database, but the ledger does not know it/i,
    );
  });

  it('the BTEQ script in ANSI mode finds a view made by hand with a lower-case name: raise stops instead of replacing it', async () => {
    const w = ansiWorkspace();
    w.write('db.yaml', readFileSync(join(w.root, 'db.yaml'), 'utf8').replace('ifExists: rename', 'ifExists: raise'));
    const dba = w.session.newSession();
    await dba.setAutocommit(false);
    await dba.run('CREATE MULTISET TABLE DEV_EDW.other_table (x INTEGER) PRIMARY INDEX (x)');
    await dba.commit();
    await dba.run('CREATE VIEW DEV_EDW.v_customer_orders AS SELECT x FROM DEV_EDW.other_table');
    await dba.commit();
    const handMade = w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show;
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode).toBeGreaterThan(16);
    expect(run.output.join('\n')).toMatch(/V_CUSTOMER_ORDERS exists and the ledger does not know it: ifExists raise/);
    expect(w.session.catalog.get('DEV_EDW.V_CUSTOMER_ORDERS')!.show).toBe(handMade);
  });
});

describe('BTEQ script: the logon is checked (#39 item 6)', () => {
  it('a failed logon ends the script with 12 and nothing deployed, even where BTEQ leaves ERRORCODE at 0 for unsent requests', async () => {
    const w = workspace();
    const { deploy, rollback } = await exportScripts(w);
    for (const script of [deploy, rollback]) {
      const run = await runBteq(script, w.session.newSession(), { logon: 'fails' });
      expect(run.exitCode, run.output.join('\n')).toBe(12);
      expect(run.requests).toEqual([]);
    }
    expect([...w.session.catalog.keys()]).toEqual([]);
  });
});

describe('BTEQ scripts take the deployment lock dbee deploy takes (#39 item 6)', () => {
  it('a script run while dbee holds the lock ends with 14 and changes nothing; after it, no lock row is left', async () => {
    const w = workspace();
    const { deploy } = await exportScripts(w);
    const held = await acquireTeradataLock(createFakeConnection(w.session.newSession()), 'deploy', {
      database: 'DBEE_LEDGER',
      timeoutMs: 0,
      heartbeat: false,
      owner: { user: 'ada', host: 'ci', pid: 1, since: new Date().toISOString() },
    });
    const blocked = await runBteq(deploy, w.session.newSession());
    expect(blocked.exitCode, blocked.output.join('\n')).toBe(14);
    expect([...w.session.catalog.keys()].filter((k) => k.startsWith('DEV_EDW.'))).toEqual([]);
    await held.release();

    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(w.ledger('lock')).toEqual([]);
    // dbee deploy can take the lock after the script.
    expect((await w.dbee('deploy')).code).toBe(0);
  });

  it('the rollback script takes the lock too: exit 14 while dbee holds it, nothing undone', async () => {
    const w = workspace();
    const { deploy, rollback } = await exportScripts(w);
    expect((await runBteq(deploy, w.session.newSession())).exitCode).toBe(0);
    const held = await acquireTeradataLock(createFakeConnection(w.session.newSession()), 'deploy', {
      database: 'DBEE_LEDGER',
      timeoutMs: 0,
      heartbeat: false,
      owner: { user: 'ada', host: 'ci', pid: 1, since: new Date().toISOString() },
    });
    const blocked = await runBteq(rollback, w.session.newSession());
    expect(blocked.exitCode, blocked.output.join('\n')).toBe(14);
    expect(w.session.catalog.has('DEV_EDW.CUSTOMERS')).toBe(true);
    await held.release();
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode, back.output.join('\n')).toBe(0);
    expect(w.ledger('lock')).toEqual([]);
  });

  it('a failing step releases the lock too (ANSI mode included)', async () => {
    for (const tmode of ['TERA', 'ANSI'] as const) {
      const w = tmode === 'ANSI' ? ansiWorkspace() : workspace();
      const file = join(w.root, 'schema/edw/procedures/load_orders.sql');
      w.write(
        'schema/edw/procedures/load_orders.sql',
        readFileSync(file, 'utf8').replace(/FROM\s+\{\{env\}\}_EDW\.stage_orders/i, 'FROM {{env}}_EDW.no_such_table'),
      );
      const { deploy } = await exportScripts(w);
      const run = await runBteq(deploy, w.session.newSession());
      expect(run.exitCode).toBeGreaterThan(16);
      expect(w.ledger('lock')).toEqual([]);
    }
  });
});

describe('statistics are collected after the rows are copied, on both paths (#39 item 6)', () => {
  /** The example's ORDERS made by hand, with one row (its COLLECT STATISTICS line left out). */
  async function handMadeOrders(w: TeradataWorkspace): Promise<void> {
    const text = readFileSync(join(w.root, 'schema/edw/tables/orders.sql'), 'utf8').replace(/\{\{env\}\}/g, 'DEV');
    const create = text.slice(text.search(/CREATE\b/i), text.indexOf(';', text.search(/CREATE\b/i)));
    await w.session.newSession().run(create);
    await w.session
      .newSession()
      .run(
        "INSERT INTO DEV_EDW.orders (order_id, customer_id, order_date, status, amount) VALUES (1, 7, DATE '2026-01-02', 'O', 10)",
      );
  }
  const order = (requests: string[]) =>
    requests
      .map((r) => r.replace(/^\/\*[\s\S]*?\*\/\s*/, ''))
      .filter((r) => /^(INSERT INTO DEV_EDW\.ORDERS|COLLECT STATISTICS)/i.test(r))
      .map((r) => r.split(/\s/).slice(0, 2).join(' ').toUpperCase());

  it('dbee deploy: the copy into the new table comes before its COLLECT STATISTICS', async () => {
    const w = workspace();
    await handMadeOrders(w);
    const mark = w.session.log.length;
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(order(w.requestsSince(mark))).toEqual(['INSERT INTO', 'COLLECT STATISTICS']);
    expect(w.session.rows('DEV_EDW.ORDERS')).toHaveLength(1);
  });

  it('the BTEQ script: the same order', async () => {
    const w = workspace();
    await handMadeOrders(w);
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(order(run.requests)).toEqual(['INSERT INTO', 'COLLECT STATISTICS']);
  });
});

describe('a procedure that compiles with warnings only is created, on both paths (#39 items 6 and 7)', () => {
  const warnings = (sql: string) => (/load_orders/i.test(sql) ? 'SPL5000:W(L10), a warning only' : null);

  it('the BTEQ script records it applied (exit 0), and a second script has nothing to do', async () => {
    const w = workspace({ splWarnings: warnings });
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBe(0);
    expect(w.session.catalog.has('DEV_EDW.LOAD_ORDERS')).toBe(true);
    expect(w.ledger('steps').find((s) => /load_orders/i.test(String(s.OBJECT_KEY)))?.STATUS).toBe('applied');
    const again = await runBteq(later(deploy), w.session.newSession());
    expect(again.exitCode, again.output.join('\n')).toBe(0);
    expect(again.requests.filter((r) => /^(REPLACE|RENAME|DROP)\b/i.test(r))).toEqual([]);
  });

  it('dbee deploy records it applied too', async () => {
    const w = workspace({ splWarnings: warnings });
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(w.ledger('steps').find((s) => /load_orders/i.test(String(s.OBJECT_KEY)))?.STATUS).toBe('applied');
  });
});

describe("BTEQ script: a step's DDL and its ledger rows are one transaction (#39 item 6)", () => {
  // The step's rows go first and the DDL last, then ET (COMMIT): a DDL may end an explicit transaction ("Rules for
  // Transactions Containing DDL Statements"), and a failing request aborts the whole transaction in Teradata mode.
  const stepRow = /INSERT INTO DBEE_LEDGER\."steps".*V_CUSTOMER_ORDERS.*'applied'/s;

  for (const tmode of ['TERA', 'ANSI'] as const) {
    it(`${tmode}: when the step's ledger rows cannot be written, the object is not made either, and the rerun finishes without renaming anything aside`, async () => {
      const w = workspace({ tmode });
      if (tmode === 'ANSI') ansiEnvironment(w);
      const { deploy } = await exportScripts(w);
      // The ledger write of the view's step fails once (a lost session, a full ledger database...).
      w.session.on(stepRow, { error: { code: 2644, text: 'No more room in database DBEE_LEDGER.' } }, { times: 1 });
      const first = await runBteq(deploy, w.session.newSession());
      expect(first.exitCode, first.output.join('\n')).toBe(16);
      // Before, the view was REPLACEd (and committed) before its rows were written: an object the ledger did not know.
      expect(w.session.catalog.has('DEV_EDW.V_CUSTOMER_ORDERS')).toBe(false);

      const rerun = await runBteq(deploy, w.session.newSession());
      expect(rerun.exitCode, rerun.output.join('\n')).toBe(0);
      expect(w.session.catalog.has('DEV_EDW.V_CUSTOMER_ORDERS')).toBe(true);
      // Before, the rerun met the script's own view as a conflict and renamed it aside (ifExists: rename).
      expect(w.ledger('backups')).toEqual([]);
      expect(rerun.requests.filter((r) => /^RENAME\b/i.test(r))).toEqual([]);
      const status = await w.dbee('status');
      expect(status.code, status.stderr).toBe(0);
    });
  }

  it('a procedure keeps its rows in a transaction of their own, after its compile check', async () => {
    const w = workspace();
    const { deploy } = await exportScripts(w);
    const at = deploy.indexOf('REPLACE PROCEDURE');
    expect(at).toBeGreaterThan(0);
    const after = deploy.slice(at);
    expect(after.indexOf('.IF WARNINGCODE = 5527')).toBeLessThan(after.indexOf('INSERT INTO DBEE_LEDGER."steps"'));
  });
});

/** The hand-made customers table with rights granted to two roles and to a user (with GRANT OPTION). */
async function grantedCustomers(w: TeradataWorkspace): Promise<void> {
  await handMadeCustomers(w);
  const dba = w.session.newSession();
  await dba.run('GRANT SELECT ON DEV_EDW.customers TO REPORTING');
  await dba.run('GRANT SELECT, INSERT, UPDATE ON DEV_EDW.customers TO LOADER');
  await dba.run('CREATE USER ALICE FROM DBC AS PERM = 0, PASSWORD = secret');
  await dba.run('GRANT SELECT ON DEV_EDW.customers TO ALICE WITH GRANT OPTION');
}

/** The table-level rights on `table` as `grantee right [+ for GRANT OPTION]`, sorted. */
function rightsOn(w: TeradataWorkspace, table: string): string[] {
  return (w.session.catalog.get(table)?.rights ?? [])
    .map((x) => `${x.grantee} ${x.right}${x.grantOption ? ' +' : ''}`)
    .sort();
}

describe('dbee deploy: a table renamed aside passes its grants to the new table (#39 item 6)', () => {
  it('roles and users granted on the old table keep their rights on the new one; the backup keeps its own', async () => {
    const w = workspace({ roles: ['REPORTING', 'LOADER'] });
    await grantedCustomers(w);
    const r = await w.dbee('deploy', { assumeYes: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rights = rightsOn(w, 'DEV_EDW.CUSTOMERS');
    // Before, the new table had none of them: every role not granted in the sources lost access.
    expect(rights).toEqual(['ALICE R +', 'LOADER I', 'LOADER R', 'LOADER U', 'REPORTING R']);
    const backup = String(w.ledger('backups')[0]!.BACKUP_NAME).toUpperCase();
    expect(w.session.catalog.get(backup)?.rights?.length).toBe(5);
    // The grants are in the step's recorded statements, after the CREATE.
    const step = w.ledger('steps').find((s) => /CUSTOMERS/i.test(String(s.OBJECT_KEY)) && s.STATUS === 'applied');
    // Granted on the table built aside, before the swap (#73 item 3).
    expect(String(step?.STATEMENTS)).toMatch(/GRANT SELECT ON DEV_EDW\.CUSTOMERS_NEW_\w+ TO REPORTING/);
  });
});

describe('BTEQ script: a table renamed aside passes its grants to the new table, as dbee deploy does (#39 item 6)', () => {
  for (const tmode of ['TERA', 'ANSI'] as const) {
    it(`${tmode}: the script writes the GRANTs from DBC.AllRightsV/AllRoleRightsV at run time and runs them`, async () => {
      const w = workspace({ roles: ['REPORTING', 'LOADER'], tmode });
      if (tmode === 'ANSI') ansiEnvironment(w);
      await grantedCustomers(w);
      const { deploy } = await exportScripts(w);
      const run = await runBteq(deploy, w.session.newSession());
      expect(run.exitCode, run.output.join('\n')).toBe(0);
      const rights = rightsOn(w, 'DEV_EDW.CUSTOMERS');
      // Before, the new table had none of them.
      expect(rights).toEqual(['ALICE R +', 'LOADER I', 'LOADER R', 'LOADER U', 'REPORTING R']);
      // Granted on the table built aside, before it takes the production name (#73 item 3).
      expect(run.requests).toContainEqual(
        expect.stringMatching(/^GRANT SELECT ON DEV_EDW\.CUSTOMERS_NEW_\w+ TO "LOADER"$/),
      );
    });
  }

  it('GRANTs that did not run (here: the exported file is not run) fail the step: exit 16 + i, not 0', async () => {
    const w = workspace({ roles: ['REPORTING'] });
    await handMadeCustomers(w);
    const dba = w.session.newSession();
    await dba.run('GRANT SELECT ON DEV_EDW.customers TO REPORTING');
    const { deploy } = await exportScripts(w);
    // The right stays listed for the backup and the new table lacks it: the check after the GRANTs sees it missing.
    const script = deploy.replace(/\.RUN FILE=dbee_grants_\d+_\d+\.btq/, (m) => `${m.replace('.RUN', '.REMARK')}`);
    const run = await runBteq(script, w.session.newSession());
    expect(run.exitCode, run.output.join('\n')).toBeGreaterThan(16);
    // The table built aside is dropped before the swap: the old table stays live, with its right and its row (#73 item 3).
    expect(w.session.catalog.get('DEV_EDW.CUSTOMERS')?.rights ?? []).toEqual([
      expect.objectContaining({ grantee: 'REPORTING' }),
    ]);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toHaveLength(1);
    expect([...w.session.catalog.keys()].filter((k) => /CUSTOMERS_(NEW|BAK)_/.test(k))).toEqual([]);
  });
});

describe('BTEQ script: a table changed after the scripts were exported', () => {
  it('stops before its first step (exit 16 + i, nothing changed) when the ledger holds another definition than its CREATE (the export planned it from the sources)', async () => {
    const w = workspace();
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    // Exported while the table is as deployed: its step is the file's CREATE, skipped at run time by the ledger.
    const { deploy } = await exportScripts(w);
    // Then dbee deploy changes the table (ALTER TABLE ... ADD): the ledger holds another definition.
    const file = join(w.root, 'schema/edw/tables/stage_orders.sql');
    w.write(
      'schema/edw/tables/stage_orders.sql',
      readFileSync(file, 'utf8').replace(
        'amount       DECIMAL(18,2)',
        'amount       DECIMAL(18,2),\n  channel      VARCHAR(10)',
      ),
    );
    const r = await w.dbee('deploy', { assumeYes: true, allowHazards: ['table-rewrite'] });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const mark = w.session.log.length;
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode).toBeGreaterThan(16);
    expect(run.output.join('\n')).toMatch(/STAGE_ORDERS was deployed from another definition: .*dbee deploy/);
    // Only reads and the deployment lock: no step ran, no deployment row was written.
    expect(w.requestsSince(mark).filter((r) => !/^\s*SELECT\b/i.test(r) && !/"lock"/.test(r))).toEqual([]);
  });
});
