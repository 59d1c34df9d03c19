import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq, type BteqRun } from '../../packages/teradata/testing';
import { ansiEnvironment, exportScripts, teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #73 item 5: the rollback's check for rows written since the deployment, bounded and correct. A table the
// release built aside and swapped in (copyData) is compared with the backup by primary index key and row hash, both
// ways (rows loaded or changed since, and rows deleted since: putting the backup back would bring them back), under the
// same lock as the RENAME that takes it away in rollback.btq; a table larger than the configured bound is refused up
// front; the duplicate check before a copy is skipped where a unique index makes duplicates impossible. Before: EXCEPT
// ALL of whole rows, one way only, long before the rename and without a lock; dbee rollback compared row counts.
// Verified on the test double only.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

function workspace(options: Parameters<typeof teradataWorkspace>[0] = {}): TeradataWorkspace {
  const w = teradataWorkspace(options);
  opened.push(w);
  return w;
}

/** The example's CUSTOMERS made by hand (a SET table with a unique primary index) with three rows. */
async function handMadeCustomers(w: TeradataWorkspace, kind = 'SET', index = 'UNIQUE PRIMARY INDEX'): Promise<void> {
  const dba = w.session.newSession();
  await dba.run(
    `CREATE ${kind} TABLE DEV_EDW.customers (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ` +
      `segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) ${index} (customer_id)`,
  );
  for (const [id, name] of [
    [7, 'Ada'],
    [8, 'Bea'],
    [9, 'Cy'],
  ] as const)
    await dba.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [id, name, 'R', '2026-01-01 00:00:00']);
}

/** The release deployed through deploy.btq over the hand-made CUSTOMERS (built aside, filled, swapped in). */
async function deployed(w: TeradataWorkspace): Promise<{ deploy: string; rollback: string; run: BteqRun }> {
  const scripts = await exportScripts(w);
  const run = await runBteq(scripts.deploy, w.session.newSession());
  expect(run.exitCode, run.output.slice(-5).join('\n')).toBe(0);
  return { ...scripts, run };
}

const ids = (w: TeradataWorkspace, table = 'DEV_EDW.CUSTOMERS') =>
  (w.session.rows(table) ?? []).map((r) => Number(r.CUSTOMER_ID)).sort((a, b) => a - b);
const ddl = (w: TeradataWorkspace, mark: number) =>
  w.requestsSince(mark).filter((q) => /^\s*(DROP|RENAME|CREATE)\b/i.test(q) && !/DBEE_LEDGER/i.test(q));

describe('the rollback data check: by key and row hash, deletes included (#73 item 5)', () => {
  it('rollback.btq stops, nothing undone, when a row was deleted or changed since the release (not only loaded)', async () => {
    for (const change of [
      'DELETE FROM DEV_EDW.customers WHERE customer_id = 8',
      "UPDATE DEV_EDW.customers SET customer_name = 'Bee' WHERE customer_id = 8",
    ]) {
      const w = workspace();
      await handMadeCustomers(w);
      const { rollback } = await deployed(w);
      await w.session.newSession().run(change);
      const mark = w.session.log.length;
      const back = await runBteq(rollback, w.session.newSession());
      expect(back.exitCode, change).toBeGreaterThan(16);
      expect(back.output.join('\n')).toMatch(/DEV_EDW\.CUSTOMERS holds rows written since deployment \d+/);
      expect(ddl(w, mark)).toEqual([]);
      // Compared by key and row hash, not by whole rows: no EXCEPT ALL of the table's columns.
      expect(
        // A NOT NULL key is joined with a plain `=` (the join stays on the primary index, #92 item 4).
        back.requests.some((r) =>
          /NOT EXISTS \(SELECT 1 FROM .* WHERE o\.CUSTOMER_ID = n\.CUSTOMER_ID AND HASHROW\(/.test(r),
        ),
      ).toBe(true);
      expect(back.requests.some((r) => /EXCEPT ALL SELECT CUSTOMER_ID, CUSTOMER_NAME/.test(r))).toBe(false);
    }
  });

  it('dbee rollback refuses a deleted or changed row too (it compared row counts), naming both kinds; --force accepts', async () => {
    const w = workspace();
    await handMadeCustomers(w);
    await deployed(w);
    const dba = w.session.newSession();
    await dba.run('DELETE FROM DEV_EDW.customers WHERE customer_id = 8');
    await dba.run("UPDATE DEV_EDW.customers SET customer_name = 'Cyd' WHERE customer_id = 9");
    const mark = w.session.log.length;
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /CUSTOMERS received 1 row its backup does not hold \(loaded or changed\) and lost 2 rows its backup holds \(deleted or changed\)/,
    );
    expect(ddl(w, mark)).toEqual([]);
    const forced = await w.dbee('rollback', { assumeYes: true, force: true });
    expect(forced.code, forced.stderr).toBe(0);
    expect(ids(w)).toEqual([7, 8, 9]);
  });

  for (const mode of ['TERA', 'ANSI'] as const)
    it(`${mode}: a row loaded after the checks before the rollback began is found under the lock of the RENAME: the table stays, with the row`, async () => {
      const w = workspace({ tmode: mode });
      if (mode === 'ANSI') ansiEnvironment(w);
      await handMadeCustomers(w);
      const { rollback } = await deployed(w);
      // A load that commits between the checks before anything is undone and the rename (injected into the script).
      const lines = rollback.split('\n');
      const at = lines.findIndex((l) => /^LOCKING TABLE \S*CUSTOMERS\S* FOR EXCLUSIVE NOWAIT SELECT/.test(l));
      expect(at).toBeGreaterThan(0);
      const begin = mode === 'TERA' ? at - 2 : at;
      lines.splice(
        begin,
        0,
        "INSERT INTO DEV_EDW.customers VALUES (10, 'Dee', 'B', TIMESTAMP '2026-02-01 00:00:00');",
        ...(mode === 'ANSI' ? ['COMMIT;'] : []),
      );
      const back = await runBteq(lines.join('\n'), w.session.newSession());
      expect(back.exitCode).toBeGreaterThan(16);
      expect(back.output.join('\n')).toMatch(/CUSTOMERS received rows since deployment \d+ while this script ran/);
      expect(ids(w)).toEqual([7, 8, 9, 10]);
      expect(w.ledger('lock')).toEqual([]);
      // The check and the RENAME are one transaction: the lock is taken by the check's request, before the RENAME.
      const locked = rollback
        .split('\n')
        .slice(begin, at + 60)
        .join('\n');
      expect(locked).toMatch(
        new RegExp(
          `${mode === 'TERA' ? 'BT;\\n' : ''}[\\s\\S]*LOCKING TABLE \\S+ FOR EXCLUSIVE [\\s\\S]*RENAME TABLE \\S+ TO \\S+_rb_\\w+;\\n\\.IF ERRORCODE <> 0 THEN \\.GOTO FAIL_\\d+\\n${mode === 'TERA' ? 'ET;' : 'COMMIT;'}`,
          'i',
        ),
      );
      // Once the row is moved into the backup, the same script finishes the rollback.
      await w.session
        .newSession()
        .run(
          `INSERT INTO DEV_EDW.${String(w.ledger('backups')[0]!.BACKUP_NAME).split('.')[1]} VALUES (10, 'Dee', 'B', TIMESTAMP '2026-02-01 00:00:00')`,
        );
      const again = await runBteq(rollback, w.session.newSession());
      expect(again.exitCode, again.output.slice(-4).join('\n')).toBe(0);
      expect(ids(w)).toEqual([7, 8, 9, 10]);
    });

  it('a MULTISET table without a unique primary index is compared as a multiset of (key, row hash): one duplicate more is found', async () => {
    const w = workspace();
    await handMadeCustomers(w, 'MULTISET', 'PRIMARY INDEX');
    w.write(
      'schema/edw/tables/customers.sql',
      readFileSync(join(w.root, 'schema/edw/tables/customers.sql'), 'utf8')
        .replace('CREATE SET TABLE', 'CREATE MULTISET TABLE')
        .replace('UNIQUE PRIMARY INDEX', 'PRIMARY INDEX'),
    );
    const { rollback } = await deployed(w);
    await w.session
      .newSession()
      .run("INSERT INTO DEV_EDW.customers VALUES (7, 'Ada', 'R', TIMESTAMP '2026-01-01 00:00:00')");
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode).toBeGreaterThan(16);
    expect(back.requests.some((r) => /EXCEPT ALL SELECT o\.CUSTOMER_ID, HASHROW\(/.test(r))).toBe(true);
    expect(ids(w)).toEqual([7, 7, 8, 9]);
  });
});

describe('the rollback data check is bounded (#73 item 5)', () => {
  it('a table and backup over connection.rollbackCheckMaxBytes are refused up front, saying so: rollback.btq and dbee rollback', async () => {
    const w = workspace();
    w.write(
      'dbee.yaml',
      readFileSync(join(w.root, 'dbee.yaml'), 'utf8').replace(
        'database: DEV_EDW',
        'database: DEV_EDW\n      rollbackCheckMaxBytes: 100',
      ),
    );
    await handMadeCustomers(w);
    const { rollback } = await deployed(w);
    const mark = w.session.log.length;
    const back = await runBteq(rollback, w.session.newSession());
    expect(back.exitCode).toBeGreaterThan(16);
    expect(back.output.join('\n')).toMatch(
      /CUSTOMERS and its backup take more than 100 bytes together .*connection\.rollbackCheckMaxBytes.*nothing was undone/,
    );
    // Refused by their size: not compared.
    expect(back.requests.some((r) => /HASHROW/.test(r))).toBe(false);
    expect(ddl(w, mark)).toEqual([]);
    const r = await w.dbee('rollback', { assumeYes: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/more than the 100 the check compares \(connection\.rollbackCheckMaxBytes\)/);
    expect(ids(w)).toEqual([7, 8, 9]);
  });

  it('a bound that is not a positive number of bytes is refused (exit 1)', async () => {
    const w = workspace();
    w.write(
      'dbee.yaml',
      readFileSync(join(w.root, 'dbee.yaml'), 'utf8').replace(
        'database: DEV_EDW',
        'database: DEV_EDW\n      rollbackCheckMaxBytes: lots',
      ),
    );
    const r = await w.dbee('status');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/connection\.rollbackCheckMaxBytes: "lots" is not a positive whole number of bytes/);
  });
});

describe('the duplicate check before a copy into a SET table (#73 item 5)', () => {
  it('is skipped where a unique primary index over copied columns makes duplicates impossible, BTEQ and dbee deploy', async () => {
    const w = workspace();
    await handMadeCustomers(w);
    const { run } = await deployed(w);
    expect(run.requests.some((r) => /FROM DBC\.IndicesV i WHERE .*UniqueFlag = 'Y'/.test(r))).toBe(true);
    expect(run.requests.some((r) => /EXCEPT ALL SELECT DISTINCT/.test(r))).toBe(false);

    const direct = workspace();
    await handMadeCustomers(direct);
    const mark = direct.session.log.length;
    expect((await direct.dbee('deploy', { assumeYes: true })).code).toBe(0);
    expect(direct.requestsSince(mark).some((r) => /EXCEPT ALL SELECT DISTINCT/.test(r))).toBe(false);
  });

  it('still runs on a table without one (a NUPI MULTISET table), and stops on its duplicates', async () => {
    const w = workspace();
    await handMadeCustomers(w, 'MULTISET', 'PRIMARY INDEX');
    await w.session
      .newSession()
      .run("INSERT INTO DEV_EDW.customers VALUES (7, 'Ada', 'R', TIMESTAMP '2026-01-01 00:00:00')");
    const { deploy } = await exportScripts(w);
    const run = await runBteq(deploy, w.session.newSession());
    expect(run.exitCode).toBeGreaterThan(16);
    expect(run.requests.some((r) => /EXCEPT ALL SELECT DISTINCT/.test(r))).toBe(true);
    expect(run.output.join('\n')).toMatch(/holds duplicate rows, and the new table is a SET table/);
  });
});
