import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTeradataSession } from '../../packages/teradata/testing';
import { run } from '../support/run';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

// `dbee extract` on Teradata (the test double): SHOW text as files, database names written back as placeholders,
// --since/--by from DBC.TablesV's CreateTimeStamp/LastAlterTimeStamp/CreatorName/LastAlterName.

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

const T0 = new Date('2026-03-01T08:00:00Z');
let clock = T0;

function workspace(): TeradataWorkspace {
  clock = T0;
  const w = teradataWorkspace({ clock: () => clock });
  opened.push(w);
  return w;
}

const extract = (w: TeradataWorkspace, options: Record<string, unknown> = {}) =>
  run(w.root, 'extract', { project: 'edw', env: 'td-dev', ...options }, { TD_PASSWORD: 'td-test-secret' });

const VIEW = 'schema/edw/views/v_customer_orders.sql';

describe('dbee extract on Teradata', () => {
  it('--since returns exactly the objects created or altered after the time, with placeholders restored', async () => {
    const w = workspace();
    expect((await w.dbee('deploy')).code).toBe(0);
    // A DBA changes the view by hand an hour later, as another user, and makes a new macro.
    clock = new Date('2026-03-01T09:00:00Z');
    const dba = new FakeTeradataSession({ user: 'ALICE' }, w.session);
    await dba.run(
      'REPLACE VIEW DEV_EDW.v_customer_orders AS LOCKING ROW FOR ACCESS SELECT o.order_id, o.amount FROM DEV_EDW.orders o',
    );
    await dba.run('CREATE MACRO DEV_EDW.m_hot AS (SELECT COUNT(*) FROM DEV_EDW.orders;)');
    const before = readFileSync(join(w.root, 'schema/edw/tables/orders.sql'), 'utf8');

    const r = await extract(w, { since: '2026-03-01T08:30:00Z' });
    expect(r.code, r.stderr).toBe(0);
    const written = [...(r.stdout + r.stderr).matchAll(/write (\S+)/g)].map((m) => m[1]).sort();
    expect(written).toEqual(
      ['edw/schema/edw/macros/m_hot.sql', `edw/${VIEW}`]
        .map((p) => p.replace(/^edw\//, ''))
        .sort()
        .map((p) => expect.stringContaining(p)),
    );
    expect(written).toHaveLength(2);
    expect(readFileSync(join(w.root, VIEW), 'utf8')).toBe(
      'REPLACE VIEW {{env}}_EDW.v_customer_orders AS LOCKING ROW FOR ACCESS SELECT o.order_id, o.amount FROM {{env}}_EDW.orders o;\n',
    );
    expect(readFileSync(join(w.root, 'schema/edw/macros/m_hot.sql'), 'utf8')).toContain('{{env}}_EDW.orders');
    expect(readFileSync(join(w.root, 'schema/edw/macros/m_hot.sql'), 'utf8')).not.toMatch(/DEV_EDW/i);
    // Untouched objects are not rewritten.
    expect(readFileSync(join(w.root, 'schema/edw/tables/orders.sql'), 'utf8')).toBe(before);

    // A time before the deployment: every object; after the hand changes: none.
    const all = await extract(w, { since: '2026-03-01T07:00:00Z', dryRun: true });
    // The example's 7 objects and the new macro.
    expect([...(all.stdout + all.stderr).matchAll(/would write (\S+)/g)].length).toBe(8);
    const none = await extract(w, { since: '2026-03-01T10:00:00Z', dryRun: true });
    expect([...(none.stdout + none.stderr).matchAll(/would write (\S+)/g)]).toEqual([]);
  });

  it('--since far back is not capped (a year and more), --by keeps what a user created or altered', async () => {
    const w = workspace();
    expect((await w.dbee('deploy')).code).toBe(0);
    clock = new Date('2027-06-01T00:00:00Z');
    const dba = new FakeTeradataSession({ user: 'ALICE' }, w.session);
    await dba.run('CREATE MACRO DEV_EDW.m_alice AS (SELECT 1;)');
    // Two years before the clock: the deployment's objects (older than 99 days) are all in.
    const longAgo = await extract(w, { since: '2025-06-01T00:00:00Z', dryRun: true, now: clock });
    expect([...(longAgo.stdout + longAgo.stderr).matchAll(/would write (\S+)/g)].length).toBe(8);
    // A time after the deployment, more than 99 days before the clock: only the new macro.
    const after = await extract(w, { since: '2026-04-01T00:00:00Z', dryRun: true, now: clock });
    expect([...(after.stdout + after.stderr).matchAll(/would write (\S+)/g)].map((m) => m[1])).toEqual([
      expect.stringContaining('m_alice.sql'),
    ]);
    const byAlice = await extract(w, { by: 'alice', dryRun: true });
    expect([...(byAlice.stdout + byAlice.stderr).matchAll(/would write (\S+)/g)].map((m) => m[1])).toEqual([
      expect.stringContaining('schema/edw/macros/m_alice.sql'),
    ]);
  });

  it('writes comments (table and column) and statistics with each table, as d-bee does; the files deploy them again (#39)', async () => {
    const w = workspace();
    expect((await w.dbee('deploy')).code).toBe(0);
    await w.session.newSession().run("COMMENT ON COLUMN DEV_EDW.customers.segment AS 'R = retail, B = business'");
    const r = await extract(w, {});
    expect(r.code, r.stderr).toBe(0);
    const customers = readFileSync(join(w.root, 'schema/edw/tables/customers.sql'), 'utf8');
    expect(customers).toContain(
      "COMMENT ON TABLE {{env}}_EDW.CUSTOMERS AS 'One row per customer; segment R = retail, B = business';",
    );
    expect(customers).toContain("COMMENT ON COLUMN {{env}}_EDW.CUSTOMERS.SEGMENT AS 'R = retail, B = business';");
    const orders = readFileSync(join(w.root, 'schema/edw/tables/orders.sql'), 'utf8');
    expect(orders).toMatch(
      /COLLECT STATISTICS\s+COLUMN \( CUSTOMER_ID \) ,\s+COLUMN \( ORDER_DATE \)\s+ON \{\{env\}\}_EDW\.ORDERS;\n$/,
    );
    expect(readFileSync(join(w.root, VIEW), 'utf8')).not.toMatch(/COMMENT|COLLECT/);

    // The extracted files deploy to an empty system with their comments and statistics.
    const fresh = teradataWorkspace({ clock: () => clock });
    opened.push(fresh);
    for (const f of ['schema/edw/tables/customers.sql', 'schema/edw/tables/orders.sql'])
      fresh.write(f, readFileSync(join(w.root, f), 'utf8'));
    expect((await fresh.dbee('deploy')).code).toBe(0);
    expect(fresh.session.catalog.get('DEV_EDW.CUSTOMERS')?.columnComments).toEqual({
      SEGMENT: 'R = retail, B = business',
    });
    expect(fresh.session.catalog.get('DEV_EDW.ORDERS')?.statistics).toEqual([['CUSTOMER_ID'], ['ORDER_DATE']]);
  });

  it('reports objects dbee deployed that were dropped by hand', async () => {
    const w = workspace();
    expect((await w.dbee('deploy')).code).toBe(0);
    await w.session.newSession().run('DROP TABLE DEV_EDW.stage_orders');
    rmSync(join(w.root, 'schema/edw/tables/stage_orders.sql'));
    const r = await extract(w, {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/deleted on td-dev: table:DEV_EDW\.STAGE_ORDERS/i);
    expect(existsSync(join(w.root, 'schema/edw/tables/stage_orders.sql'))).toBe(false);
  });

  it('--delete-dropped deletes the file of each object dbee deployed that was dropped (--dry-run only says so)', async () => {
    const w = workspace();
    expect((await w.dbee('deploy')).code).toBe(0);
    await w.session.newSession().run('DROP TABLE DEV_EDW.stage_orders');
    const file = join(w.root, 'schema/edw/tables/stage_orders.sql');
    const dry = await extract(w, { deleteDropped: true, dryRun: true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would delete schema/edw/tables/stage_orders.sql  (table:DEV_EDW.STAGE_ORDERS)');
    expect(existsSync(file)).toBe(true);
    const r = await extract(w, { deleteDropped: true });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
    // The other files stay.
    expect(existsSync(join(w.root, 'schema/edw/tables/orders.sql'))).toBe(true);
    expect(existsSync(join(w.root, VIEW))).toBe(true);
  });

  it('--owner takes a database hierarchy: the root and every database it owns, however deep and whatever the names sort', async () => {
    const w = workspace();
    const dba = w.session.newSession();
    await dba.run('CREATE DATABASE DEV_ROOT FROM DBC AS PERM = 1e9');
    await dba.run('CREATE DATABASE DEV_STG FROM DEV_ROOT AS PERM = 1e8');
    // A grandchild whose name sorts before its parent (d-bee's owner walk misses it).
    await dba.run('CREATE DATABASE DEV_AAA FROM DEV_STG AS PERM = 1e7');
    await dba.run('CREATE DATABASE DEV_OTHER FROM DBC AS PERM = 1e7');
    await dba.run('CREATE MULTISET TABLE DEV_AAA.t1 (a INTEGER) PRIMARY INDEX (a)');
    await dba.run('CREATE MULTISET TABLE DEV_STG.t2 (b INTEGER) PRIMARY INDEX (b)');
    await dba.run('CREATE MULTISET TABLE DEV_OTHER.t3 (c INTEGER) PRIMARY INDEX (c)');
    const r = await run(
      w.root,
      'extract',
      { project: 'landing', env: 'td-dev', owner: 'dev_root' },
      { TD_PASSWORD: 'td-test-secret' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--owner dev_root: DEV_ROOT, DEV_STG, DEV_AAA');
    const yaml = readFileSync(join(w.root, 'landing/db.yaml'), 'utf8');
    expect(yaml).toMatch(/DEV_ROOT[\s\S]*DEV_STG[\s\S]*DEV_AAA/);
    expect(yaml).not.toContain('DEV_OTHER');
    const written = [...r.stdout.matchAll(/write (\S+\.sql)/g)].map((m) => m[1]).sort();
    expect(written).toEqual(['landing/schema/dev_aaa/tables/t1.sql', 'landing/schema/dev_stg/tables/t2.sql']);
  });

  it('--owner is refused for a project that lists its databases, and for a database that does not exist', async () => {
    const w = workspace();
    const known = await extract(w, { owner: 'DEV_EDW' });
    expect(known.code).toBe(1);
    expect(known.stderr).toContain('--owner DEV_EDW: project edw lists its schemas in');
    const missing = await run(
      w.root,
      'extract',
      { project: 'landing', env: 'td-dev', owner: 'NO_SUCH_DB' },
      { TD_PASSWORD: 'td-test-secret' },
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--owner NO_SUCH_DB: no such database on td-dev');
  });
});
