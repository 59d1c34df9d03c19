import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { statisticsGroups } from '../../packages/teradata/src/render/teradata-statistics';
import { liveUrl, openTarget, type Target, type TargetOptions } from './target';

// Issue #73 item 8: the change window's acceptance test on a live Teradata system (test/teradata-live/README.md).
// With TERADATA_LIVE_URL set, every scenario runs against that system, with the real BTEQ and teradatasql; without
// it (CI, `npm test`), against the test double, as a dry run of the suite itself. Each scenario asserts the ledger,
// the lock table and the rows; what only a live system can settle (a real restart, MultiLoad/FastLoad locks, a plan
// on 10^8 rows, a deadlock) it provokes there and injects or scales down on the double, as each scenario says.

const LIVE = !!process.env.TERADATA_LIVE_URL;
/** Generous on a live system (a copy of 10^8 rows), the suite's own on the double. */
const LONG = LIVE ? 4 * 3600_000 : undefined;

async function withTarget(options: TargetOptions, body: (t: Target) => Promise<void>): Promise<void> {
  const t = await openTarget(options);
  try {
    await body(t);
  } finally {
    await t.close();
  }
}

/** The example's CUSTOMERS made by hand (`kind` and index as given) with `rows` rows, the name in `spelling`. */
async function customersByHand(
  t: Target,
  rows: number,
  shape: { kind?: 'SET' | 'MULTISET'; index?: string; spelling?: string; duplicate?: boolean } = {},
): Promise<void> {
  const name = `${t.edw}.${shape.spelling ?? 'customers'}`;
  await t.exec(
    `CREATE ${shape.kind ?? 'SET'} TABLE ${name} (customer_id INTEGER NOT NULL, customer_name VARCHAR(200) CHARACTER SET UNICODE NOT NULL, ` +
      `segment CHAR(1) NOT NULL DEFAULT 'R', created_at TIMESTAMP(0) NOT NULL) ${shape.index ?? 'UNIQUE PRIMARY INDEX (customer_id)'}`,
    ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
  );
  const values = Array.from({ length: rows }, (_, i) => i + 1).map(
    (i) => `INSERT INTO ${name} VALUES (${i}, 'customer ${i}', 'R', TIMESTAMP '2026-01-01 00:00:00')`,
  );
  if (shape.duplicate) values.push(values[0]!);
  await t.exec(...values, ...(t.tmode === 'ANSI' ? ['COMMIT'] : []));
}

const count = async (t: Target, table: string): Promise<number> =>
  Number((await t.query(`SELECT COUNT(*) AS n FROM ${t.edw}.${table}`))[0]?.N);

/** Tables built aside or kept as backups (`<name>_new_<time>`, `<name>_bak_<time>`), upper case. */
async function leftovers(t: Target): Promise<string[]> {
  const rows = await t.query('SELECT TRIM(TableName) AS n FROM DBC.TablesV WHERE UPPER(DatabaseName) = ?', [t.edw]);
  return rows.map((r) => String(r.N).toUpperCase()).filter((n) => /_(NEW|BAK)_\d/.test(n));
}

/** The deployment lock's rows (none when the lock table does not exist yet). */
async function lockRows(t: Target): Promise<Record<string, unknown>[]> {
  return t.query(`SELECT "owner_pid" AS pid, "owner_token" AS token FROM ${t.ledger}."lock"`).catch(() => []);
}

/** The ledger's deployments, oldest first: their status. */
async function deployments(t: Target): Promise<string[]> {
  const rows = await t.query(`SELECT "status" AS s FROM ${t.ledger}."deployments" ORDER BY "id"`).catch(() => []);
  return rows.map((r) => String(r.S).trim());
}

/** The invariant of every failure: production keeps its rows, nothing built aside is left, the lock is released. */
async function untouched(t: Target, rows: number): Promise<void> {
  expect(await count(t, 'customers')).toBe(rows);
  expect(await leftovers(t)).toEqual([]);
  expect(await lockRows(t)).toEqual([]);
}

/** A run of deploy.btq that completes the release: exit 0, the ledger's last deployment succeeded, no lock row. */
async function completes(t: Target, dir: string, rows: number): Promise<void> {
  const again = await t.bteq(dir, 'deploy.btq');
  expect(again.exitCode, again.output.slice(-2000)).toBe(0);
  expect((await deployments(t)).at(-1)).toBe('succeeded');
  expect(await lockRows(t)).toEqual([]);
  expect(await count(t, 'customers')).toBe(rows);
  expect((await t.dbee('status')).stdout).toMatch(/pending: nothing/);
}

const BTEQ_NOT_SENT = /must LOGON|not logged on|no session/i;

describe(`the change window on ${LIVE ? 'a live Teradata system' : 'the test double (dry run of the live suite)'}`, () => {
  it('1. .LOGOFF then SQL, per exit code: 0, 14 (lock held) and a failed step each release only their own lock and send every request', async () => {
    await withTarget({}, async (t) => {
      await customersByHand(t, 3);
      // A macro under a table's name: the ORDERS step fails when it copies the rows (not a table).
      await t.exec(`CREATE MACRO ${t.edw}.orders AS (SELECT 1 AS one;)`, ...(t.tmode === 'ANSI' ? ['COMMIT'] : []));
      const { dir } = await t.exportScripts('s1');
      const failed = await t.bteq(dir, 'deploy.btq');
      expect(failed.exitCode, failed.output.slice(-2000)).toBeGreaterThan(16);
      expect(failed.output).not.toMatch(BTEQ_NOT_SENT);
      expect(await lockRows(t)).toEqual([]);
      expect((await deployments(t)).at(-1)).toBe('failed');
      await t.exec(`DROP MACRO ${t.edw}.orders`, ...(t.tmode === 'ANSI' ? ['COMMIT'] : []));

      // Another deployment holds the lock (a live holder, not expired): exit 14, its row untouched.
      await t.exec(
        `INSERT INTO ${t.ledger}."lock" ("lock_key", "owner_token", "owner_user", "owner_host", "owner_pid", "deployment_id", "acquired_at", "expires_at") ` +
          `VALUES ('deploy', 'other', USER, 'elsewhere', 1, 'other', CURRENT_TIMESTAMP(6), CURRENT_TIMESTAMP(6) + INTERVAL '1' HOUR)`,
        ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
      );
      const locked = await t.bteq(dir, 'deploy.btq');
      expect(locked.exitCode).toBe(14);
      expect((await lockRows(t)).map((r) => String(r.TOKEN).trim())).toEqual(['other']);
      await t.exec(`DELETE FROM ${t.ledger}."lock"`, ...(t.tmode === 'ANSI' ? ['COMMIT'] : []));

      await completes(t, dir, 3);
      const back = await t.bteq(dir, 'rollback.btq');
      expect(back.exitCode, back.output.slice(-2000)).toBe(0);
      expect(back.output).not.toMatch(BTEQ_NOT_SENT);
      expect(await lockRows(t)).toEqual([]);
      expect(await count(t, 'customers')).toBe(3);
    });
  });

  it('2. a restart in the middle of the swap with RETRY OFF: the script stops, production keeps its rows (or the backup holds them), the re-run completes', async () => {
    await withTarget({}, async (t) => {
      await customersByHand(t, 5);
      const { dir, deploy } = await t.exportScripts('s2');
      expect(deploy).toMatch(/^\.SET RETRY OFF$/m);
      const cut = await t.bteq(dir, 'deploy.btq', {
        disturb: { at: /RENAME TABLE \S*CUSTOMERS\S* TO/i, restart: true },
      });
      expect(cut.exitCode).not.toBe(0);
      const backup = (await leftovers(t)).find((n) => /^CUSTOMERS_BAK_/.test(n));
      const live = await count(t, 'customers').catch(() => null);
      // Between the two renames the production name is free and the backup holds the rows; never an empty table.
      expect(live ?? (backup ? await count(t, backup) : null)).toBe(5);
      await completes(t, dir, 5);
      expect(await leftovers(t)).toEqual([expect.stringMatching(/^CUSTOMERS_BAK_/)]);
    });
  });

  it('3. lock waits: a load that holds the table (2652) stops deploy.btq with production untouched; behind a reader it waits, then completes', async () => {
    await withTarget({}, async (t) => {
      await customersByHand(t, 4);
      const { dir } = await t.exportScripts('s3');
      // A MultiLoad or FastLoad job stopped before its end leaves the table locked for it: other requests fail with
      // 2652 "Operation not allowed: ... is being Loaded" until the job is restarted or released (RELEASE MLOAD).
      const loaded = await loadLock(t, dir);
      if (!loaded)
        t.inject(/INSERT INTO \S*CUSTOMERS_NEW_\w+ \(/i, 2652, 'Operation not allowed: table is being Loaded.');
      const stopped = await t.bteq(dir, 'deploy.btq');
      expect(stopped.exitCode).toBeGreaterThan(16);
      expect(stopped.output).toMatch(/2652/);
      expect(await leftovers(t)).toEqual([]);
      expect(await lockRows(t)).toEqual([]);
      const rows = loaded ? 0 : 4;
      if (loaded) await t.exec(`DROP TABLE ${t.edw}.customers`).then(() => customersByHand(t, 0));

      // A reader in an open transaction holds a READ lock on CUSTOMERS (a long report; a MultiLoad's acquisition
      // phase): the script's RENAME waits for it, then the script completes.
      const reader = await t.session();
      await reader.setAutocommit(false);
      await reader.run(`LOCKING TABLE ${t.edw}.customers FOR READ SELECT COUNT(*) FROM ${t.edw}.customers`);
      let ended = false;
      const running = t.bteq(dir, 'deploy.btq').then((r) => ((ended = true), r));
      await new Promise((r) => setTimeout(r, LIVE ? 15_000 : 50));
      expect(ended).toBe(false);
      await reader.commit();
      await reader.close();
      const run = await running;
      expect(run.exitCode, run.output.slice(-2000)).toBe(0);
      expect(await lockRows(t)).toEqual([]);
      expect(await count(t, 'customers')).toBe(rows);
      expect((await deployments(t)).at(-1)).toBe('succeeded');
    });
  });

  it(
    '4. the rollback check on a large table: bounded, by key and row hash, its EXPLAIN printed; a row changed since the release is found',
    async () => {
      const rows = LIVE ? Number(process.env.TERADATA_LIVE_BIG_ROWS ?? 100_000_000) : 200;
      await withTarget({}, async (t) => {
        await customersByHand(t, LIVE ? 0 : rows);
        if (LIVE) await fillBig(t, rows);
        const { dir, rollback } = await t.exportScripts('s4');
        const deployed = await t.bteq(dir, 'deploy.btq');
        expect(deployed.exitCode, deployed.output.slice(-2000)).toBe(0);
        await t.exec(
          `UPDATE ${t.edw}.customers SET segment = 'B' WHERE customer_id = 7`,
          ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
        );
        if (LIVE) await explainChecks(t, rollback);
        const started = Date.now();
        const back = await t.bteq(dir, 'rollback.btq');
        process.stdout.write(`rollback check over ${rows} rows: ${Date.now() - started} ms\n`);
        // The changed row stops the table's restore: it stays as the release made it, with every row.
        expect(back.exitCode).not.toBe(0);
        expect(back.output).toMatch(/holds rows written since deployment/);
        expect(await count(t, 'customers')).toBe(rows);
        expect(await lockRows(t)).toEqual([]);
      });
    },
    LONG,
  );

  it('5. 2644 and 2646 during a copy: the new table is dropped, production keeps its rows, the lock is released', async () => {
    // 2644. Live: a database with room for the table once and not twice, refused before anything runs (the free-space
    // check); double: that check passes and the copy fails with 2644 (injected), as on a skewed AMP.
    const big = LIVE ? 15_000 : 150;
    await withTarget({ perm: LIVE ? 2_000_000 : 40_000 }, async (t) => {
      await customersByHand(t, LIVE ? 0 : big);
      if (LIVE) await fillBig(t, big);
      const { dir } = await t.exportScripts('s5');
      t.inject(/INSERT INTO \S*CUSTOMERS_NEW_\w+ \(/i, 2644, 'No more room in database.');
      const run = await t.bteq(dir, 'deploy.btq');
      expect(run.exitCode).toBeGreaterThan(16);
      expect(run.output).toMatch(/2644|less free permanent space/);
      await untouched(t, big);
    });
    // 2646: BTEQ logged on as a user of little SPOOL.
    const rows = LIVE ? 50_000 : 12;
    await withTarget({ spool: LIVE ? 100_000 : 300 }, async (t) => {
      await customersByHand(t, LIVE ? 0 : rows);
      if (LIVE) await fillBig(t, rows);
      const { dir } = await t.exportScripts('s5b');
      const run = await t.bteq(dir, 'deploy.btq');
      // A live copy between tables of one primary index may need no spool: then it completes, rows and all.
      if (run.exitCode === 0 && t.live) return void expect(await count(t, 'customers')).toBe(rows);
      expect(run.output).toMatch(/2646/);
      await untouched(t, rows);
    });
  });

  it('6. a deadlock (2631) in ANSI mode with RETRY OFF: the step fails whole, the re-run completes', async () => {
    await withTarget({ tmode: 'ANSI' }, async (t) => {
      await customersByHand(t, 3);
      const { dir } = await t.exportScripts('s6');
      const injected = t.inject(/^RENAME TABLE \S*CUSTOMERS TO/i, 2631, 'Transaction ABORTed due to deadlock.');
      if (!injected) await crossLocks(t);
      const run = await t.bteq(dir, 'deploy.btq');
      // On a live system the deadlock's victim may be the suite's session: the script then completes at once.
      if (injected) expect(run.exitCode).toBeGreaterThan(16);
      if (run.exitCode !== 0) {
        expect(run.output).toMatch(/2631/);
        await untouched(t, 3);
      }
      await completes(t, dir, 3);
    });
  });

  it('7. ANSI mode end to end with lower-case names: deploy.btq, dbee status, rollback.btq', async () => {
    await withTarget({ tmode: 'ANSI' }, async (t) => {
      await customersByHand(t, 2, { spelling: 'customers' });
      const { dir } = await t.exportScripts('s7');
      await completes(t, dir, 2);
      const back = await t.bteq(dir, 'rollback.btq');
      expect(back.exitCode, back.output.slice(-2000)).toBe(0);
      expect(await count(t, 'customers')).toBe(2);
      expect(await leftovers(t)).toEqual([]);
      expect(await lockRows(t)).toEqual([]);
      expect((await deployments(t)).at(-1)).toBe('succeeded');
    });
  });

  for (const tmode of ['TERA', 'ANSI'] as const) {
    it(`8. ${tmode}: copyData from a table holding duplicate rows into the SET table: stopped, no row lost, nothing renamed`, async () => {
      await withTarget({ tmode }, async (t) => {
        await customersByHand(t, 3, { kind: 'MULTISET', index: 'PRIMARY INDEX (customer_id)', duplicate: true });
        const { dir } = await t.exportScripts('s8');
        const run = await t.bteq(dir, 'deploy.btq');
        expect(run.exitCode).toBeGreaterThan(16);
        expect(run.output).toMatch(tmode === 'TERA' ? /holds duplicate rows/ : /280[12]/);
        await untouched(t, 4);
      });
    });
  }

  it("9. the GRANT file: the table built aside gets the old table's rights through BTEQ's exported file", async () => {
    await withTarget({}, async (t) => {
      const role = `${t.edw.replace(/_EDW$/, '')}_READER`;
      await customersByHand(t, 1);
      await t.exec(
        `CREATE ROLE ${role}`,
        `GRANT SELECT ON ${t.edw}.customers TO ${role}`,
        ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
      );
      const { dir } = await t.exportScripts('s9');
      const run = await t.bteq(dir, 'deploy.btq');
      expect(run.exitCode, run.output.slice(-2000)).toBe(0);
      const rights = await t.query(
        'SELECT TRIM(AccessRight) AS r FROM DBC.AllRoleRightsV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ? AND UPPER(RoleName) = ?',
        [t.edw, 'CUSTOMERS', role.toUpperCase()],
      );
      expect(rights.map((r) => r.R)).toContain('R');
      // On a live system, the file BTEQ exported, for the record (its layout is what this scenario checks).
      for (const f of LIVE ? readdirSync(dir).filter((n) => /^dbee_grants_/.test(n)) : [])
        process.stdout.write(`--- ${f}\n${readFileSync(join(dir, f), 'utf8')}\n`);
      await t.exec(`DROP ROLE ${role}`).catch(() => undefined);
    });
  });

  it('10. SPL warnings only (5527): the procedure is created and recorded as applied; the re-run has nothing to do', async () => {
    const warned = (sql: string) => (/PROCEDURE \S*extra\b/i.test(sql) ? 'SPL5000:W(L3), unused cursor C1.' : null);
    await withTarget({ splWarnings: warned }, async (t) => {
      writeFileSync(
        join(t.root, 'schema/edw/procedures/extra.sql'),
        'REPLACE PROCEDURE {{env}}_EDW.extra (OUT n INTEGER)\nBEGIN\n  DECLARE c1 CURSOR FOR SELECT 1;\n  SET n = 1;\nEND;\n',
      );
      const { dir } = await t.exportScripts('s10');
      const run = await t.bteq(dir, 'deploy.btq');
      expect(run.exitCode, run.output.slice(-2000)).toBe(0);
      const extra = await t.query(
        'SELECT 1 AS x FROM DBC.TablesV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ?',
        [t.edw, 'EXTRA'],
      );
      expect(extra).toHaveLength(1);
      expect((await deployments(t)).at(-1)).toBe('succeeded');
      expect((await t.dbee('status')).stdout).toMatch(/pending: nothing/);
    });
  });

  it('11. SHOW STATISTICS and DBC.StatsV: the layout dbee reads gives back the groups the file collects', async () => {
    await withTarget({}, async (t) => {
      const r = await t.dbee('deploy', { assumeYes: true });
      expect(r.code, r.stderr).toBe(0);
      const session = await t.session();
      const shown = await session.run(`SHOW STATISTICS ON ${t.edw}.orders`);
      await session.close();
      const text = shown.resultSets
        .flatMap((s) => s.rows.map((row) => row.join('')))
        .join('')
        .replace(/\r/g, '\n');
      process.stdout.write(`SHOW STATISTICS:\n${text}\n`);
      expect(statisticsGroups(text)?.groups.map((g) => g.columns.join(','))).toEqual(['CUSTOMER_ID', 'ORDER_DATE']);
      // The BTEQ script's statistics copy looks groups up in DBC.StatsV by their columns, comma-separated.
      const stats = await t.query(
        'SELECT UPPER(ColumnName) AS c FROM DBC.StatsV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = ? AND ColumnName IS NOT NULL ORDER BY 1',
        [t.edw, 'ORDERS'],
      );
      expect(stats.map((s) => String(s.C).trim())).toEqual(['CUSTOMER_ID', 'ORDER_DATE']);
    });
  });

  it('12. a lock past its expiry: its holder is gone, the next script (rollback.btq) takes it over and releases it', async () => {
    await withTarget({}, async (t) => {
      await customersByHand(t, 2);
      const { dir } = await t.exportScripts('s12');
      // The lock table as a dead script left it: created by a first run that got the lock, then a row that expired.
      const first = await t.bteq(dir, 'deploy.btq');
      expect(first.exitCode, first.output.slice(-2000)).toBe(0);
      await t.exec(
        `INSERT INTO ${t.ledger}."lock" ("lock_key", "owner_token", "owner_user", "owner_host", "owner_pid", "deployment_id", "acquired_at", "expires_at") ` +
          `VALUES ('deploy', 'dead', USER, 'bteq', 99999, 'dead', CURRENT_TIMESTAMP(6) - INTERVAL '7' HOUR, CURRENT_TIMESTAMP(6) - INTERVAL '1' HOUR)`,
        ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
      );
      const back = await t.bteq(dir, 'rollback.btq');
      expect(back.exitCode, back.output.slice(-2000)).toBe(0);
      expect(await lockRows(t)).toEqual([]);
      expect(await count(t, 'customers')).toBe(2);
    });
  });

  it('13. authorizations and function mappings read back: extract writes what DBC.AuthorizationsV and DBC.FunctionMappingsV give, and dbee diff finds the files equal', async () => {
    await withTarget({}, async (t) => {
      // A public object store's credentials (USER '' PASSWORD '': SQL Data Definition Language, CREATE AUTHORIZATION)
      // and a mapping of READ_NOS (TD_SYSFNLIB) that uses it, made by hand as a DBA would.
      await t.exec(
        `CREATE AUTHORIZATION ${t.edw}.s3_public AS DEFINER TRUSTED USER '' PASSWORD ''`,
        ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
        `CREATE FUNCTION MAPPING ${t.edw}.nos_map FOR READ_NOS EXTERNAL SECURITY DEFINER TRUSTED ${t.edw}.s3_public ` +
          "USING LOCATION('/s3/td-usgs-public.s3.amazonaws.com/')",
        ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
      );
      const x = await t.dbee('extract');
      expect(x.code, x.stdout + x.stderr).toBe(0);
      expect(x.stdout + x.stderr).toMatch(/set TD_AUTH_EDW_S3_PUBLIC where dbee deploy runs/);
      const auth = readFileSync(join(t.root, 'schema/edw/authorizations/s3_public.sql'), 'utf8');
      expect(auth).toMatch(/AS DEFINER TRUSTED\n {2}USER '' PASSWORD '\$\{TD_AUTH_EDW_S3_PUBLIC\}';/);
      const mapping = readFileSync(join(t.root, 'schema/edw/function_mappings/nos_map.sql'), 'utf8');
      expect(mapping).toMatch(/FUNCTION MAPPING .*nos_map.* FOR .*READ_NOS/is);
      // The files say what the target has: neither is a difference (the password is never compared).
      const diff = await t.dbee('diff');
      expect(diff.stdout).not.toMatch(/S3_PUBLIC|NOS_MAP/);
    });
  });

  it("14. a restart at rollback.btq's column drop (the undo of an added column): the re-run finishes, the column gone, the step undone once", async () => {
    await withTarget({}, async (t) => {
      expect((await t.dbee('deploy', { assumeYes: true })).code).toBe(0);
      const orders = join(t.root, 'schema/edw/tables/orders.sql');
      writeFileSync(
        orders,
        readFileSync(orders, 'utf8').replace(
          'note         VARCHAR(500) CHARACTER SET UNICODE',
          "note         VARCHAR(500) CHARACTER SET UNICODE,\n  channel      VARCHAR(10) DEFAULT 'web'",
        ),
      );
      const { dir } = await t.exportScripts('s14', { allowHazards: ['table-rewrite'] });
      const deploy = await t.bteq(dir, 'deploy.btq');
      expect(deploy.exitCode, deploy.output.slice(-2000)).toBe(0);
      // On the double the session ends right before the drop; on a live system the restart comes as BTEQ prints it.
      const cut = await t.bteq(dir, 'rollback.btq', {
        disturb: { at: /ALTER TABLE \S+ DROP CHANNEL/i, restart: true },
      });
      expect(cut.exitCode).not.toBe(0);
      const again = await t.bteq(dir, 'rollback.btq');
      expect(again.exitCode, again.output.slice(-2000)).toBe(0);
      const columns = await t.query(
        "SELECT TRIM(ColumnName) AS c FROM DBC.ColumnsV WHERE UPPER(DatabaseName) = ? AND UPPER(TableName) = 'ORDERS'",
        [t.edw],
      );
      expect(columns.map((c) => String(c.C).toUpperCase())).not.toContain('CHANNEL');
      const undone = await t.query(
        `SELECT COUNT(*) AS n FROM ${t.ledger}."steps" WHERE "action" = 'undo-alter' AND "object_key" LIKE '%ORDERS'`,
      );
      expect(Number(undone[0]?.N)).toBe(1);
      expect(await lockRows(t)).toEqual([]);
    });
  });

  it('15. a reader holding CUSTOMERS through every NOWAIT try: deploy.btq stops (16 + i) with production untouched; once the reader ends, it completes', async () => {
    await withTarget({}, async (t) => {
      await customersByHand(t, 3);
      const { dir, deploy } = await t.exportScripts('s15');
      expect(deploy).toMatch(/^\.REMARK 'this script locks exclusively, each with NOWAIT and \d+ tries: .*CUSTOMERS/im);
      const reader = await t.session();
      await reader.setAutocommit(false);
      await reader.run(`LOCKING TABLE ${t.edw}.customers FOR READ SELECT COUNT(*) FROM ${t.edw}.customers`);
      const stopped = await t.bteq(dir, 'deploy.btq');
      expect(stopped.exitCode).toBeGreaterThan(16);
      expect(stopped.output).toMatch(/CUSTOMERS is locked by another session \(7423/i);
      await untouched(t, 3);
      await reader.commit();
      await reader.close();
      await completes(t, dir, 3);
    });
  });

  it('16. the re-run after a restart during the copy never compares whole rows: the branch that did is gone, the re-run completes', async () => {
    await withTarget({}, async (t) => {
      await customersByHand(t, 4);
      const { dir, deploy } = await t.exportScripts('s16');
      expect(deploy).not.toMatch(/EXCEPT ALL SELECT (?!DISTINCT)[^;]*_bak_/i);
      const cut = await t.bteq(dir, 'deploy.btq', {
        disturb: { at: /INSERT INTO \S*CUSTOMERS_NEW_\w+ \(/i, restart: true },
      });
      expect(cut.exitCode).not.toBe(0);
      // Production keeps its rows; the table built aside waits for the re-run, which builds it again.
      expect(await count(t, 'customers')).toBe(4);
      await completes(t, dir, 4);
      expect(await leftovers(t)).toEqual([expect.stringMatching(/^CUSTOMERS_BAK_/)]);
    });
  });

  it("17. a name changed only in case since the release (NOT CASESPECIFIC): rollback.btq's check finds it and stops; the table keeps the row", async () => {
    await withTarget({}, async (t) => {
      await customersByHand(t, 2);
      const { dir } = await t.exportScripts('s17');
      const run = await t.bteq(dir, 'deploy.btq');
      expect(run.exitCode, run.output.slice(-2000)).toBe(0);
      await t.exec(
        `UPDATE ${t.edw}.customers SET customer_name = 'CUSTOMER 1' WHERE customer_id = 1`,
        ...(t.tmode === 'ANSI' ? ['COMMIT'] : []),
      );
      const back = await t.bteq(dir, 'rollback.btq');
      expect(back.exitCode).toBeGreaterThan(16);
      expect(back.output).toMatch(/CUSTOMERS holds rows written since deployment \d+/i);
      const names = await t.query(`SELECT customer_name AS n FROM ${t.edw}.customers WHERE customer_id = 1`);
      expect(String(names[0]?.N)).toBe('CUSTOMER 1');
      expect(await lockRows(t)).toEqual([]);
    });
  });
});

/**
 * Live only: a FastLoad job on CUSTOMERS (emptied first: FastLoad loads empty tables) that logs off after BEGIN
 * LOADING, without END LOADING, leaves the table in its loading state (Teradata FastLoad Reference, "BEGIN LOADING",
 * "Restarting"), so the script's copy meets 2652. Needs `fastload` (TTU) on PATH or TERADATA_LIVE_FASTLOAD. The
 * table is dropped afterwards (a DBA would finish or restart the job). False on the double, which injects 2652.
 */
async function loadLock(t: Target, dir: string): Promise<boolean> {
  if (!t.live) return false;
  const url = new URL(process.env.TERADATA_LIVE_URL!);
  await t.exec(`DELETE FROM ${t.edw}.customers`);
  const script = join(dir, 'stopped.fld');
  writeFileSync(
    script,
    `LOGON ${url.hostname}/${decodeURIComponent(url.username)},${decodeURIComponent(url.password)};\n` +
      `BEGIN LOADING ${t.edw}.customers ERRORFILES ${t.edw}.customers_e1, ${t.edw}.customers_e2;\nLOGOFF;\n`,
    { mode: 0o600 },
  );
  const r = spawnSync(process.env.TERADATA_LIVE_FASTLOAD ?? 'fastload', {
    input: readFileSync(script),
    encoding: 'utf8',
  });
  process.stdout.write(r.stdout ?? '');
  if (r.error)
    throw new Error(`fastload could not run (${r.error.message}): install TTU or set TERADATA_LIVE_FASTLOAD`);
  return true;
}

/** Live only: a table of `rows` rows for the rollback check (doubling INSERT ... SELECT). */
async function fillBig(t: Target, rows: number): Promise<void> {
  const c = `${t.edw}.customers`;
  await t.exec(`INSERT INTO ${c} VALUES (1, 'customer 1', 'R', TIMESTAMP '2026-01-01 00:00:00')`);
  for (let n = 1; n < rows; n *= 2)
    await t.exec(
      `INSERT INTO ${c} SELECT customer_id + ${n}, customer_name, segment, created_at FROM ${c} WHERE customer_id + ${n} <= ${rows}`,
    );
}

/** Live only: EXPLAIN of each check request of rollback.btq (the HASHROW comparisons), printed; no product join. */
async function explainChecks(t: Target, rollback: string): Promise<void> {
  const checks = rollback.split(/;\s*\n/).filter((r) => /HASHROW/i.test(r) && /^\s*SELECT/im.test(r));
  expect(checks.length).toBeGreaterThan(0);
  for (const check of checks) {
    const sql = check.slice(check.search(/^\s*(LOCKING|SELECT)/im));
    const plan = (await t.query(`EXPLAIN ${sql}`)).map((r) => Object.values(r).join('')).join('\n');
    process.stdout.write(`EXPLAIN:\n${plan}\n`);
    expect(plan).not.toMatch(/product join/i);
  }
}

/**
 * Live only: a deadlock provoked across the script and a session of the suite: the session takes CUSTOMERS for WRITE
 * in an open transaction, then (once the script, holding its ledger rows, waits for CUSTOMERS) asks for the ledger's
 * steps table. Teradata's deadlock detection aborts one of the two with 2631; either outcome is asserted.
 */
async function crossLocks(t: Target): Promise<void> {
  const s = await t.session();
  await s.setAutocommit(false);
  await s.run(`LOCKING TABLE ${t.edw}.customers FOR WRITE SELECT COUNT(*) FROM ${t.edw}.customers`);
  setTimeout(() => {
    void s
      .run(`LOCKING TABLE ${t.ledger}."steps" FOR WRITE SELECT COUNT(*) FROM ${t.ledger}."steps"`)
      .then(() => s.commit())
      .catch(() => s.rollback().catch(() => undefined))
      .finally(() => void s.close());
  }, 10_000);
}

describe('TERADATA_LIVE_URL', () => {
  it('is read into the connection, session mode and options; a URL without a user, password or host is refused by name', () => {
    expect(
      liveUrl('teradata://dbee_test:s%40cret@vantage:1025/?tmode=ansi&logmech=LDAP&perm=5e8&bteq=/opt/bteq'),
    ).toEqual({
      host: 'vantage:1025',
      user: 'dbee_test',
      password: 's@cret',
      tmode: 'ANSI',
      logmech: 'LDAP',
      perm: '5e8',
      bteq: '/opt/bteq',
    });
    expect(liveUrl('')).toBeNull();
    expect(() => liveUrl('teradata://vantage/')).toThrow(/the user, password or host is missing/);
    expect(() => liveUrl('teradata://u:p@vantage/?tmode=BTET')).toThrow(/tmode=BTET, expected TERA or ANSI/);
  });
});
