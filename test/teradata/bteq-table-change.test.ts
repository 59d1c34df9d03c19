import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBteq, type BteqRun, type FakeTeradataSession } from '../../packages/teradata/testing';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

// Issue #73 item 4: a table file changed since its deployment goes through BTEQ. `dbee plan --format bteq --env`
// plans the ALTER TABLE steps `dbee deploy` plans (the same planChange, against SHOW TABLE of the target when the
// scripts are exported), each guarded at run time by the ledger's checksum of the table; a change ALTER TABLE cannot
// make is refused at export (exit 1, naming the table and how to make it). Before, the export exited 0 and deploy.btq
// stopped at its first check with exit 17 ("a BTEQ script cannot change a table in place"). Verified on the test double
// only (its ALTER TABLE rules cite the manuals in packages/teradata/testing/fake-ddl.ts).

const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));
const ORDERS = 'schema/edw/tables/orders.sql';
const CUSTOMERS = 'schema/edw/tables/customers.sql';
const HAZARDS = ['table-rewrite', 'backward-incompatible', 'data-loss'];

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

/** The example deployed by `dbee deploy`, with a row in ORDERS and CUSTOMERS. */
async function deployed(): Promise<TeradataWorkspace> {
  const w = teradataWorkspace();
  opened.push(w);
  const r = await w.dbee('deploy', { assumeYes: true, now: NOW });
  expect(r.code, r.stderr).toBe(0);
  await w.session.run('INSERT INTO DEV_EDW.customers VALUES (?, ?, ?, ?)', [7, 'Ada', 'R', '2026-01-01 00:00:00']);
  await w.session.run('INSERT INTO DEV_EDW.orders VALUES (?, ?, ?, ?, ?, ?)', [1, 7, '2026-01-02', 'O', 10.5, 'first']);
  return w;
}

function edit(w: TeradataWorkspace, file: string, change: (text: string) => string): void {
  w.write(file, change(readFileSync(join(w.root, file), 'utf8')));
}

/** The release: ORDERS gets a column, a wider `note` and a compressed `status`; CUSTOMERS a declared column rename. */
function release(w: TeradataWorkspace, orders: (text: string) => string = widenAndAdd): void {
  edit(w, ORDERS, orders);
  edit(w, CUSTOMERS, (t) => t.replace('created_at    TIMESTAMP(0)', 'created_ts    TIMESTAMP(0)'));
  edit(
    w,
    'db.yaml',
    (t) =>
      `${t}renames:\n  - { kind: column, schema: '{{env}}_EDW', table: customers, from: created_at, to: created_ts }\n`,
  );
}

function widenAndAdd(text: string): string {
  return text
    .replace('status       CHAR(1) NOT NULL,', "status       CHAR(1) NOT NULL COMPRESS ('O', 'C'),")
    .replace(
      'note         VARCHAR(500) CHARACTER SET UNICODE',
      "note         VARCHAR(2000) CHARACTER SET UNICODE,\n  channel      VARCHAR(10) DEFAULT 'web'",
    );
}

async function exportBteq(w: TeradataWorkspace, allow = HAZARDS) {
  return w.dbee('plan', { format: 'bteq', out: 'out', allowHazards: allow });
}

function script(w: TeradataWorkspace, name: 'deploy.btq' | 'rollback.btq'): string {
  return readFileSync(join(w.root, 'out', name), 'utf8');
}

const show = (s: FakeTeradataSession, table: string) => s.catalog.get(`DEV_EDW.${table}`)!.show;
const alters = (requests: string[]) => requests.filter((r) => /^\s*(ALTER|CREATE TABLE \S+ AS)\b/i.test(r));
const why = (r: BteqRun) => r.output.slice(-8).join('\n');

describe('BTEQ: a table changed since its deployment (#73 item 4)', () => {
  it('deploy.btq runs the ALTER TABLE steps dbee deploy runs (add, widen, compress, declared rename): same tables, rows kept, ledger at the sources; rollback.btq undoes them', async () => {
    const w = await deployed();
    release(w);
    const exported = await exportBteq(w);
    expect(exported.code, exported.stderr).toBe(0);
    const run = await runBteq(script(w, 'deploy.btq'), w.session.newSession());
    expect(run.exitCode, why(run)).toBe(0);
    expect(alters(run.requests)).toEqual([
      'ALTER TABLE DEV_EDW.CUSTOMERS RENAME CREATED_AT TO CREATED_TS',
      "ALTER TABLE DEV_EDW.ORDERS ADD STATUS COMPRESS ('C', 'O')",
      'ALTER TABLE DEV_EDW.ORDERS ADD NOTE VARCHAR(2000) CHARACTER SET UNICODE',
      "ALTER TABLE DEV_EDW.ORDERS ADD CHANNEL VARCHAR(10) DEFAULT 'web'",
    ]);
    expect(w.session.rows('DEV_EDW.ORDERS')).toEqual([expect.objectContaining({ ORDER_ID: 1, CHANNEL: 'web' })]);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([
      expect.objectContaining({ CUSTOMER_ID: 7, CREATED_TS: expect.anything() }),
    ]);

    // dbee deploy of the same change on a twin of the target: the same statements, the same tables.
    const twin = await deployed();
    release(twin);
    const mark = twin.session.log.length;
    const direct = await twin.dbee('deploy', { assumeYes: true, allowHazards: HAZARDS });
    expect(direct.code, direct.stderr).toBe(0);
    expect(alters(twin.requestsSince(mark))).toEqual(alters(run.requests));
    for (const table of ['ORDERS', 'CUSTOMERS']) expect(show(w.session, table)).toBe(show(twin.session, table));

    // The ledger records the sources: dbee deploy after the script has nothing to do.
    const after = w.session.log.length;
    const next = await w.dbee('deploy', { assumeYes: true });
    expect(next.code, next.stderr).toBe(0);
    expect(w.requestsSince(after).filter((r) => /^\s*(ALTER|CREATE|DROP|RENAME)\b/i.test(r))).toEqual([]);

    // rollback.btq undoes them, last first; the widened column has no reverse (Teradata cannot narrow it) and says so.
    const rollback = script(w, 'rollback.btq');
    expect(rollback).toMatch(/REMARK 'plan step \d+ \(alter table:DEV_EDW\.ORDERS\) has no reverse: it stays applied'/);
    const undo = await runBteq(rollback, w.session.newSession());
    expect(undo.exitCode, why(undo)).toBe(0);
    expect(alters(undo.requests)).toEqual([
      'ALTER TABLE DEV_EDW.ORDERS DROP CHANNEL',
      'ALTER TABLE DEV_EDW.ORDERS ADD STATUS NO COMPRESS',
      'ALTER TABLE DEV_EDW.CUSTOMERS RENAME CREATED_TS TO CREATED_AT',
    ]);
    expect(show(w.session, 'ORDERS')).not.toMatch(/COMPRESS|CHANNEL/);
    expect(w.session.rows('DEV_EDW.CUSTOMERS')).toEqual([expect.objectContaining({ CREATED_AT: expect.anything() })]);
  });

  it('the export is gated by the hazards dbee deploy is gated by: refused without --allow-hazards (exit 1, no script)', async () => {
    const w = await deployed();
    release(w);
    const r = await exportBteq(w, []);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/GATE_HAZARD_REFUSED|hazards environment td-dev does not allow: table-rewrite/);
    expect(existsSync(join(w.root, 'out', 'deploy.btq'))).toBe(false);
  });

  it('a change ALTER TABLE cannot make is refused at export: exit 1, naming the table and the way to make it, no script written', async () => {
    const w = await deployed();
    edit(w, ORDERS, (t) => t.replace('PRIMARY INDEX (customer_id)', 'PRIMARY INDEX (order_id)'));
    const r = await exportBteq(w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'table:DEV_EDW.ORDERS changed since it was deployed in a way ALTER TABLE cannot make in place',
    );
    expect(r.stderr).toContain('primary index or partitioning');
    expect(r.stderr).toMatch(/build the table aside in a migration/);
    expect(r.stderr).toMatch(/orders\.sql/);
    expect(existsSync(join(w.root, 'out', 'deploy.btq'))).toBe(false);
  });

  it('guarded by the ledger: a table changed after the export stops the script before its first step, nothing changed', async () => {
    const w = await deployed();
    release(w);
    expect((await exportBteq(w)).code).toBe(0);
    // Another release changed ORDERS in between: the ledger holds another checksum.
    await w.session.run(
      `UPDATE DBEE_LEDGER."objects" SET "checksum" = 'v1:another' WHERE "object_key" = 'table:DEV_EDW.ORDERS'`,
    );
    const run = await runBteq(script(w, 'deploy.btq'), w.session.newSession());
    expect(run.exitCode).toBeGreaterThan(16);
    expect(run.output.join('\n')).toMatch(/ORDERS changed since these scripts were exported.*Export the scripts again/);
    expect(alters(run.requests)).toEqual([]);
    expect(w.ledger('deployments')).toHaveLength(1);
  });

  it('killed at any request, the same script run again completes the release (a column drop whose copy committed included)', async () => {
    const w = await deployed();
    release(w, (t) =>
      t.replace(',\n  note         VARCHAR(500) CHARACTER SET UNICODE', ",\n  channel      VARCHAR(10) DEFAULT 'web'"),
    );
    expect((await exportBteq(w)).code).toBe(0);
    const deploy = script(w, 'deploy.btq');
    const reference = w.session.copySystem();
    const full = await runBteq(deploy, reference.newSession());
    expect(full.exitCode, why(full)).toBe(0);
    expect(alters(full.requests)).toEqual([
      'ALTER TABLE DEV_EDW.CUSTOMERS RENAME CREATED_AT TO CREATED_TS',
      "ALTER TABLE DEV_EDW.ORDERS ADD CHANNEL VARCHAR(10) DEFAULT 'web'",
      expect.stringMatching(/^CREATE TABLE DEV_EDW\.ORDERS_BKP_\w+ AS DEV_EDW\.ORDERS WITH DATA$/),
      'ALTER TABLE DEV_EDW.ORDERS DROP NOTE',
    ]);
    const backup = /ORDERS_BKP_\w+/.exec(alters(full.requests)[2]!)![0];
    const problems: string[] = [];
    for (let kill = 1; kill <= full.requests.length; kill++) {
      const system = w.session.copySystem();
      await runBteq(deploy, system.newSession(), { kill });
      const again = await runBteq(deploy, system.newSession());
      if (again.exitCode !== 0)
        problems.push(`killed before request ${kill}: re-run exit ${again.exitCode}: ${why(again)}`);
      else
        for (const table of ['ORDERS', 'CUSTOMERS', backup]) {
          const a = reference.catalog.get(`DEV_EDW.${table}`)?.show;
          const b = system.catalog.get(`DEV_EDW.${table}`)?.show;
          if (a !== b) problems.push(`killed before request ${kill}: ${table} differs`);
        }
    }
    expect(problems).toEqual([]);
  });
});
