import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { teradataWorkspace, type TeradataWorkspace } from './helpers';

// `dbee diff --env` on Teradata: the engine compares each source object of examples/teradata with the live one on the
// test double (SHOW TABLE / SHOW VIEW / SHOW MACRO..., DBC.TablesV), and prints the same formats as on PostgreSQL.
// Verified against the double only (no Teradata system here).

const opened: TeradataWorkspace[] = [];
afterEach(() => {
  for (const w of opened.splice(0)) w.dispose();
});

async function deployed(): Promise<TeradataWorkspace> {
  const w = teradataWorkspace();
  opened.push(w);
  const r = await w.dbee('deploy', { assumeYes: true });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return w;
}

interface JsonDiff {
  changes: number;
  hazards: string[];
  unplanned?: { key: string; reason: string }[];
  steps: { key: string; action: string; statements: string[]; reverse: string[] | null }[];
}

const json = async (w: TeradataWorkspace): Promise<JsonDiff> => {
  const r = await w.dbee('diff', { format: 'json' });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as JsonDiff;
};

describe('dbee diff on Teradata', () => {
  it('an empty target: every object of the sources is a create; after the deployment: no differences', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    const before = await json(w);
    expect(before.steps.map((s) => `${s.action} ${s.key}`).sort()).toEqual([
      'create join-index:DEV_EDW.JI_ORDERS_BY_CUSTOMER',
      'create macro:DEV_EDW.PURGE_CANCELLED',
      'create procedure:DEV_EDW.LOAD_ORDERS',
      'create table:DEV_EDW.CUSTOMERS',
      'create table:DEV_EDW.ORDERS',
      'create table:DEV_EDW.STAGE_ORDERS',
      'create view:DEV_EDW.V_CUSTOMER_ORDERS',
    ]);
    // Nothing was applied.
    expect(w.session.catalog.has('DEV_EDW.ORDERS')).toBe(false);

    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    const text = await w.dbee('diff');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('edw: td-dev (teradata://');
    expect(text.stdout).toContain('  no differences');
  });

  it('changes made on the target: a view replaced by hand, a table altered by the source, a table made by hand', async () => {
    const w = await deployed();
    const dba = w.session.newSession();
    await dba.run('REPLACE VIEW DEV_EDW.v_customer_orders AS SELECT 1 AS hand_made');
    await dba.run('CREATE MULTISET TABLE DEV_EDW.scratch (x INTEGER) PRIMARY INDEX (x)');
    const stage = readFileSync(join(w.root, 'schema/edw/tables/stage_orders.sql'), 'utf8');
    w.write(
      'schema/edw/tables/stage_orders.sql',
      stage.replace('amount       DECIMAL(18,2)', 'amount       DECIMAL(18,2),\n  channel      VARCHAR(10)'),
    );

    const d = await json(w);
    const byKey = new Map(d.steps.map((s) => [s.key, s]));
    // The view: the source's text replaces the hand-made one; the reverse brings the hand-made text back.
    const view = byKey.get('view:DEV_EDW.V_CUSTOMER_ORDERS');
    expect(view?.action).toBe('replace');
    expect(view?.statements[0]).toMatch(/^\s*(--[^\n]*\n)*\s*REPLACE VIEW DEV_EDW\.v_customer_orders AS/);
    expect(view?.reverse?.[0]).toContain('hand_made');
    // The table: an ALTER TABLE from SHOW TABLE, as a deployment of the changed file would plan it.
    const stageStep = byKey.get('table:DEV_EDW.STAGE_ORDERS');
    expect(stageStep?.action).toBe('alter');
    expect(stageStep?.statements.join('\n')).toMatch(/ALTER TABLE DEV_EDW\.STAGE_ORDERS ADD channel VARCHAR\(10\)/i);
    // The hand-made table: dropped, with its rows.
    expect(byKey.get('table:DEV_EDW.SCRATCH')?.action).toBe('drop');
    expect(d.hazards).toContain('data-loss');
    // Nothing else differs (the unchanged tables, macro, procedure and join index are equal to their SHOW text).
    expect(d.changes).toBe(3);
    expect(d.unplanned ?? []).toEqual([]);

    // The same result as text and as Markdown.
    const text = await w.dbee('diff');
    expect(text.stdout).toContain('  view:DEV_EDW.V_CUSTOMER_ORDERS');
    expect(text.stdout).toContain('    ~ replace');
    expect(text.stdout).toContain('    - drop  [data-loss]');
    expect(text.stdout).toContain('3 changes, hazards: data-loss, table-rewrite');
    const md = await w.dbee('diff', { format: 'markdown' });
    expect(md.stdout).toContain('| `table:DEV_EDW.SCRATCH` | drop | ⚠️ data-loss |');
  });

  it('a change only a migration can make is named (exit 0), and --fail-on-diff exits 1 on any difference', async () => {
    const w = await deployed();
    const customers = readFileSync(join(w.root, 'schema/edw/tables/customers.sql'), 'utf8');
    w.write(
      'schema/edw/tables/customers.sql',
      customers.replace(/customer_name\s+VARCHAR\(200\)/i, 'customer_name VARCHAR(100)'),
    );
    const d = await json(w);
    expect(d.unplanned).toEqual([expect.objectContaining({ key: 'table:DEV_EDW.CUSTOMERS' })]);
    const text = await w.dbee('diff');
    expect(text.stdout).toContain('  needs a migration: table:DEV_EDW.CUSTOMERS: ');
    const view = w.session.newSession();
    await view.run('REPLACE VIEW DEV_EDW.v_customer_orders AS SELECT 1 AS hand_made');
    const fail = await w.dbee('diff', { failOnDiff: true });
    expect(fail.code).toBe(1);
  });

  it('what manage.ignore leaves alone (and comments, with manage.comments false) is neither dropped nor changed', async () => {
    const w = await deployed();
    const dba = w.session.newSession();
    await dba.run('CREATE MULTISET TABLE DEV_EDW.tmp_load_1 (x INTEGER) PRIMARY INDEX (x)');
    await dba.run('CREATE MULTISET TABLE DEV_EDW.scratch (x INTEGER) PRIMARY INDEX (x)');
    await dba.run('REPLACE VIEW DEV_EDW.v_customer_orders AS SELECT 1 AS hand_made');
    await dba.run("COMMENT ON TABLE DEV_EDW.customers AS 'changed by hand'");
    const dbYaml = readFileSync(join(w.root, 'db.yaml'), 'utf8');
    // A placeholder in a glob names the database as the environment does; any case matches.
    w.write(
      'db.yaml',
      `${dbYaml}manage:\n  comments: false\n  ignore: ['table:{{env}}_EDW.TMP_*', 'view:*.v_customer_orders']\n`,
    );
    const d = await json(w);
    expect(d.steps.map((s) => `${s.action} ${s.key}`)).toEqual(['drop table:DEV_EDW.SCRATCH']);
  });

  it('--against-env is refused with exit 1: it needs a shadow database', async () => {
    const w = await deployed();
    const r = await w.dbee('diff', { againstEnv: 'td-dev' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("compares an environment with the working tree's sources only");
  });
});

describe('dbee diff on Teradata: databases, users and profiles', () => {
  it('one that exists as its file says is no difference; a changed space limit is the MODIFY a deployment would run', async () => {
    const w = teradataWorkspace();
    opened.push(w);
    w.write('schema/edw/stg.sql', 'CREATE DATABASE {{env}}_STG FROM {{env}}_EDW AS PERM = 1000000;\n');
    w.write('schema/edw/etl_profile.sql', 'CREATE PROFILE etl_profile AS SPOOL = 2000000;\n');
    expect((await w.dbee('deploy', { assumeYes: true })).code).toBe(0);
    expect((await json(w)).steps).toEqual([]);
    w.write('schema/edw/etl_profile.sql', 'CREATE PROFILE etl_profile AS SPOOL = 3000000;\n');
    const d = await json(w);
    expect(d.steps.map((s) => [s.action, s.key, s.statements])).toEqual([
      ['alter', 'profile:ETL_PROFILE', ['MODIFY PROFILE ETL_PROFILE AS SPOOL = 3000000']],
    ]);
  });
});
