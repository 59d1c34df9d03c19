import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDriver, splitStatements, type TeradataSession } from '@dbee/teradata';
import { run } from '../support/run';

/**
 * The Teradata scenarios against a REAL system (`npm run test:teradata-live`; tools/teradata-live.js refuses to start
 * without DBEE_TEST_TD_HOST / DBEE_TEST_TD_USER / DBEE_TEST_TD_PASSWORD and BTEQ). Written without access to a
 * system: it has never run. It makes two scratch databases (PERM from the logged-on user, dropped at the end), and
 * runs examples/teradata through the real engine and the teradatasql driver: deploy, status, a second deploy,
 * rollback; an edited table file deployed as ALTER TABLE steps and rolled back; the example made by hand then `--if-exists rename` and its rollback (join index included); autoRollback
 * after a failing view; extract; the BTEQ export run by BTEQ, then status and a second run; a procedure that does
 * not compile makes the BTEQ script exit non-zero.
 */

const EXAMPLE = resolve(__dirname, '../../examples/teradata');
const env = process.env;
const PREFIX = `DBEE${Date.now().toString(36).toUpperCase()}`;
const EDW = `${PREFIX}_EDW`;
const LEDGER = `${PREFIX}_LEDGER`;
const PERM = env.DBEE_TEST_TD_PERM ?? '100000000';
/** Session mode of the environment dbee deploys with (tools/teradata-live.js runs the suite in both). */
const TMODE = env.DBEE_TEST_TD_TMODE === 'ANSI' ? 'ANSI' : 'TERA';

let root: string;
let session: TeradataSession;

const dbee = (command: Parameters<typeof run>[1], options: Record<string, unknown> = {}) =>
  run(
    root,
    command,
    { project: 'edw', env: 'td-live', ...options },
    { DBEE_TEST_TD_PASSWORD: env.DBEE_TEST_TD_PASSWORD },
  );

async function objects(): Promise<string[]> {
  const r = await session.run('SELECT TRIM(TableName) AS n FROM DBC.TablesV WHERE DatabaseName = ? ORDER BY 1', [EDW]);
  return (r.resultSets[0]?.rows ?? []).map((row) => String(row[0]).toUpperCase());
}

async function show(kind: string, name: string): Promise<string> {
  const r = await session.run(`SHOW ${kind} ${EDW}.${name}`);
  return r.resultSets.flatMap((s) => s.rows.map((row) => String(row[0]))).join('');
}

async function handMade(): Promise<void> {
  for (const folder of ['tables', 'join_indexes', 'views', 'macros', 'procedures']) {
    const dir = join(EXAMPLE, 'schema/edw', folder);
    for (const file of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, file), 'utf8').replace(/\{\{env\}\}/g, PREFIX);
      for (const s of splitStatements(text, file)) await session.run(s.sql);
    }
  }
}

async function dropEverything(): Promise<void> {
  for (const db of [EDW, LEDGER]) {
    // Join indexes, hash indexes and triggers first: they stand on tables (verify whether DELETE DATABASE needs this).
    const deps = await session
      .run(
        "SELECT TRIM(TableName), TableKind FROM DBC.TablesV WHERE DatabaseName = ? AND TableKind IN ('I', 'N', 'G')",
        [db],
      )
      .catch(() => null);
    const word: Record<string, string> = { I: 'JOIN INDEX', N: 'HASH INDEX', G: 'TRIGGER' };
    for (const row of deps?.resultSets[0]?.rows ?? [])
      await session.run(`DROP ${word[String(row[1]).trim()]} ${db}.${String(row[0])}`).catch(() => undefined);
    await session.run(`DELETE DATABASE ${db} ALL`).catch(() => undefined);
  }
}

beforeAll(async () => {
  session = await loadDriver('teradatasql').connect({
    host: env.DBEE_TEST_TD_HOST!,
    user: env.DBEE_TEST_TD_USER!,
    password: env.DBEE_TEST_TD_PASSWORD!,
    ...(env.DBEE_TEST_TD_LOGMECH ? { logmech: env.DBEE_TEST_TD_LOGMECH } : {}),
  });
  for (const db of [EDW, LEDGER])
    await session.run(`CREATE DATABASE ${db} FROM ${env.DBEE_TEST_TD_USER} AS PERM = ${PERM}`);
  root = mkdtempSync(join(tmpdir(), 'dbee-td-live-'));
  cpSync(EXAMPLE, root, { recursive: true });
  writeFileSync(
    join(root, 'dbee.yaml'),
    `version: 1
defaultEnvironment: td-live
environments:
  td-live:
    engine: teradata
    connection:
      host: ${env.DBEE_TEST_TD_HOST}
      user: ${env.DBEE_TEST_TD_USER}
      password: \${DBEE_TEST_TD_PASSWORD}
${env.DBEE_TEST_TD_LOGMECH ? `      logmech: ${env.DBEE_TEST_TD_LOGMECH}\n` : ''}      tmode: ${TMODE}
      database: ${EDW}
      ledgerDatabase: ${LEDGER}
    variables:
      env: ${PREFIX}
`,
  );
});

afterAll(async () => {
  if (session) {
    await dropEverything();
    for (const db of [EDW, LEDGER]) await session.run(`DROP DATABASE ${db}`).catch(() => undefined);
    await session.close();
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('examples/teradata on a live Teradata system', () => {
  it('deploys, reports nothing pending, deploys nothing the second time, and rolls back to nothing', async () => {
    const r = await dbee('deploy', { assumeYes: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await objects()).toEqual([
      'CUSTOMERS',
      'JI_ORDERS_BY_CUSTOMER',
      'LOAD_ORDERS',
      'ORDERS',
      'PURGE_CANCELLED',
      'STAGE_ORDERS',
      'V_CUSTOMER_ORDERS',
    ]);
    expect((await dbee('status')).stdout).toMatch(/pending: nothing/);
    expect((await dbee('deploy', { assumeYes: true })).stdout).toMatch(/nothing to deploy/);
    const back = await dbee('rollback', { assumeYes: true });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(await objects()).toEqual([]);
  });

  it('an edited table file deploys as ALTER TABLE steps (hazards allowed), leaves nothing to do, and rolls back to the SHOW text it had', async () => {
    expect((await dbee('deploy', { assumeYes: true })).code).toBe(0);
    await session.run(`INSERT INTO ${EDW}.customers VALUES (7, 'Ada', 'R', TIMESTAMP '2026-01-01 00:00:00')`);
    const before = await show('TABLE', 'customers');
    const file = join(root, 'schema/edw/tables/customers.sql');
    const original = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      original
        .replace("DEFAULT 'R',", "DEFAULT 'B' TITLE 'Segment',")
        .replace(
          'created_at    TIMESTAMP(0) NOT NULL',
          "created_at    TIMESTAMP(0) NOT NULL,\n  region        CHAR(2) DEFAULT 'EU'",
        )
        .replace('UNIQUE PRIMARY INDEX (customer_id);', 'UNIQUE PRIMARY INDEX (customer_id)\nINDEX (customer_name);')
        .replace("AS 'One row per customer; segment R = retail, B = business'", "AS 'One row per customer'"),
    );
    try {
      const r = await dbee('deploy', { assumeYes: true, allowHazards: ['table-rewrite', 'index-build'] });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // What to compare first on a real system: SHOW TABLE after the ALTERs (see docs/teradata.md).
      expect(await show('TABLE', 'customers')).toMatch(/REGION|region/);
      expect((await dbee('deploy', { assumeYes: true })).stdout).toMatch(/nothing to deploy/);
      const back = await dbee('rollback', { assumeYes: true });
      expect(back.stderr).toBe('');
      expect(await show('TABLE', 'customers')).toBe(before);
    } finally {
      writeFileSync(file, original);
    }
    // The next scenarios start from an empty database and ledger (a second rollback would redo the ALTERs).
    await dropEverything();
    expect(await objects()).toEqual([]);
  });

  it('over the example made by hand: --if-exists rename (join index dropped and created again around each table), then rollback restores it', async () => {
    await handMade();
    await session.run(`INSERT INTO ${EDW}.customers VALUES (7, 'Ada', 'R', TIMESTAMP '2026-01-01 00:00:00')`);
    const orders = await show('TABLE', 'orders');
    const r = await dbee('deploy', { assumeYes: true, ifExists: 'rename' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await objects()).toContain('JI_ORDERS_BY_CUSTOMER');
    const back = await dbee('rollback', { assumeYes: true });
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(await show('TABLE', 'orders')).toBe(orders);
    const rows = await session.run(`SELECT COUNT(*) FROM ${EDW}.customers`);
    expect(Number(rows.resultSets[0]!.rows[0]![0])).toBe(1);
    await dropEverything();
  });

  it('autoRollback: a view over a missing table fails (3807) and every applied step is undone', async () => {
    const db = join(root, 'db.yaml');
    const original = readFileSync(db, 'utf8');
    writeFileSync(db, original.replace('deploy:\n', 'deploy:\n  autoRollback: true\n'));
    writeFileSync(
      join(root, 'schema/edw/views/v_broken.sql'),
      'REPLACE VIEW {{env}}_EDW.v_broken AS SELECT * FROM {{env}}_EDW.no_such_table;\n',
    );
    try {
      const r = await dbee('deploy', { assumeYes: true });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/3807/);
      expect(await objects()).toEqual([]);
    } finally {
      writeFileSync(db, original);
      rmSync(join(root, 'schema/edw/views/v_broken.sql'));
    }
  });

  it('extract writes every object of the deployed example as a source file', async () => {
    expect((await dbee('deploy', { assumeYes: true })).code).toBe(0);
    const r = await dbee('extract', { out: 'extracted' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = readdirSync(join(root, 'extracted'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.sql'));
    expect(files.length).toBeGreaterThanOrEqual(7);
    expect((await dbee('rollback', { assumeYes: true })).code).toBe(0);
  });

  it('BTEQ: the exported script deploys what dbee deploy would, is recorded in the ledger, and a second run applies nothing', async () => {
    const out = join(root, 'dist/bteq');
    const planned = await dbee('plan', { format: 'bteq', out: 'dist/bteq' });
    expect(planned.code).toBe(0);
    const logon = `.LOGON ${env.DBEE_TEST_TD_HOST}/${env.DBEE_TEST_TD_USER},${env.DBEE_TEST_TD_PASSWORD};\n`;
    writeFileSync(join(out, 'logon.btq'), logon, { mode: 0o600 });
    const bteq = (file: string) =>
      spawnSync(env.DBEE_TEST_TD_BTEQ ?? 'bteq', { cwd: out, input: readFileSync(join(out, file)), encoding: 'utf8' });
    const first = bteq('deploy.btq');
    expect(first.status, first.stdout).toBe(0);
    expect(await objects()).toHaveLength(7);
    expect((await dbee('status')).stdout).toMatch(/pending: nothing/);
    expect(bteq('deploy.btq').status).toBe(0);
    expect(existsSync(join(out, 'rollback.btq'))).toBe(true);
  });

  it('BTEQ: a procedure that does not compile makes the script exit non-zero', async () => {
    writeFileSync(
      join(root, 'schema/edw/procedures/broken.sql'),
      'REPLACE PROCEDURE {{env}}_EDW.broken () BEGIN DELETE FROM {{env}}_EDW.no_such_table; END;\n',
    );
    try {
      const planned = await dbee('plan', { format: 'bteq', out: 'dist/bteq-broken' });
      expect(planned.code).toBe(0);
      const out = join(root, 'dist/bteq-broken');
      writeFileSync(
        join(out, 'logon.btq'),
        `.LOGON ${env.DBEE_TEST_TD_HOST}/${env.DBEE_TEST_TD_USER},${env.DBEE_TEST_TD_PASSWORD};\n`,
        { mode: 0o600 },
      );
      const r = spawnSync(env.DBEE_TEST_TD_BTEQ ?? 'bteq', {
        cwd: out,
        input: readFileSync(join(out, 'deploy.btq')),
        encoding: 'utf8',
      });
      expect(r.status).not.toBe(0);
    } finally {
      rmSync(join(root, 'schema/edw/procedures/broken.sql'));
    }
  });
});
