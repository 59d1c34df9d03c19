import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { LOCAL_WORKSPACE_YAML, tempWorkspace } from '../support/workspace';

/**
 * Issue #63's "done when", with the hand-written manifests of test/fixtures/dbt (see its README) against releases of
 * the schema they describe, on PGlite (the 45 cases of dbt-check.test.ts run on the server too): a dropped source
 * column names the model's file and line; `SELECT *` is unknown; what is two refs downstream is named through
 * `child_map`; an added column breaks nothing; a rename through expand-contract passes for models on the old version;
 * another major version is refused; the drift rule names a declared column the schema lacks with both files.
 */
const FIXTURES = join(__dirname, '..', 'fixtures', 'dbt');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const PROJECT = 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n';
const ORDERS = (columns: string) =>
  `CREATE TABLE shop.orders (\n  id integer PRIMARY KEY,\n  customer_id integer NOT NULL,\n${columns}\n);\n`;
const V1 = {
  'shop/db.yaml': PROJECT,
  'shop/schema.sql': 'CREATE SCHEMA shop;\n',
  'shop/orders.sql': ORDERS('  amount numeric(12, 2),\n  placed_on date'),
  'shop/customers.sql': 'CREATE TABLE shop.customers (id integer PRIMARY KEY, name text);\n',
  'analytics/target/manifest.json': fixture('shop-v12.json'),
  'analytics/v11.json': fixture('shop-v11.json'),
  'analytics/v13.json': fixture('manifest-v13.json'),
};
const DROP_AMOUNT = ORDERS('  placed_on date');

describe('dbee check --dbt with the fixture manifests [pglite]', () => {
  const w = tempWorkspace({ 'dbee.yaml': LOCAL_WORKSPACE_YAML, ...V1 });
  const check = (options: Record<string, unknown> = {}) =>
    run(w.root, 'check', { project: 'shop', dbt: 'analytics/target/manifest.json', ...options });
  beforeAll(async () => {
    const deployed = await run(w.root, 'deploy', { project: 'shop' });
    expect(deployed.code, deployed.stderr).toBe(0);
  });
  afterAll(() => w.remove());

  it('a release that drops a source column: breaking, with the file and line, the step, what is downstream, and drift', async () => {
    w.write('shop/orders.sql', DROP_AMOUNT);
    const r = await check();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('BREAKING model stg_orders (models/staging/stg_orders.sql)');
    expect(r.stdout).toContain(
      'models/staging/stg_orders.sql:4:5: reads shop.orders.amount, which the release removes or renames (step 1 alter table:shop.orders)',
    );
    // Two refs below stg_orders, and the dashboard on top of them, through child_map.
    expect(r.stdout).toContain('downstream: model fct_revenue, model rpt_top_customers, exposure revenue_dashboard');
    expect(r.stdout).toContain('BREAKING test source_not_null_shop_orders_amount');
    expect(r.stdout).toMatch(/UNKNOWN model stg_customers[^\n]*\n[^\n]*reads every column of shop\.orders \(\*\)/);
    expect(r.stdout).toContain('PASS model stg_order_dates');
    expect(r.stdout).toContain(
      'DRIFT warn missing-column: source shop.orders (models/staging/sources.yml) declares column coupon, which shop.orders (defined in shop/orders.sql:1) lacks in the desired schema and environment local',
    );
    expect(r.stderr).toContain(
      'the dbt check fails: 2 dbt nodes break (first: models/staging/stg_orders.sql:4:5: reads shop.orders.amount',
    );
    // The same in JSON and Markdown.
    const json = JSON.parse((await check({ format: 'json' })).stdout);
    expect(json.manifest.version).toBe(12);
    expect(json.nodes.map((n: { name: string; verdict: string }) => `${n.name}:${n.verdict}`)).toEqual([
      'stg_orders:breaking',
      'source_not_null_shop_orders_amount:breaking',
      'stg_customers:unknown',
      'stg_order_dates:pass',
    ]);
    const md = (await check({ format: 'markdown' })).stdout;
    expect(md).toContain('### dbt models against this release');
    expect(md).toContain(
      '| **breaking** | model stg_orders | models/staging/stg_orders.sql:4 | reads shop.orders.amount, which the release removes or renames |',
    );
  });

  it('a manifest of schema v11 is read; one of another major version is refused', async () => {
    w.write('shop/orders.sql', DROP_AMOUNT);
    const v11 = await check({ dbt: 'analytics/v11.json' });
    expect(v11.code, v11.stderr).toBe(1);
    expect(v11.stdout).toContain('BREAKING model stg_orders');
    expect(v11.stdout).toContain('dbt (manifest v11, column level)');
    const v13 = await check({ dbt: 'analytics/v13.json' });
    expect(v13.code).toBe(1);
    expect(v13.stderr).toContain(
      'analytics/v13.json: dbt manifest schema v13 is not one dbee reads (it reads v7 to v12 and v20',
    );
    expect(v13.stderr).not.toMatch(/\n\s+at /);
    // deploy --dbt checks on the dry run's copy only: a real deploy or an unverified dry run refuses it.
    for (const options of [{}, { dryRun: true, verify: false }]) {
      const refused = await run(w.root, 'deploy', { project: 'shop', dbt: 'analytics/v11.json', ...options });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('--dbt checks the dbt models on the verified dry run');
    }
  });

  it('an added column breaks nothing; SELECT * stays unknown, a warning unless check.dbt.unknown is fail', async () => {
    w.write('shop/orders.sql', ORDERS('  amount numeric(12, 2),\n  placed_on date,\n  channel text'));
    const added = await check();
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('PASS model stg_orders');
    expect(added.stdout).toContain('UNKNOWN model stg_customers');
    expect(added.stderr).toContain('1 dbt node reads what the release changes and cannot be judged');
    w.write('shop/db.yaml', `${PROJECT}check:\n  dbt: { unknown: fail }\n`);
    const strict = await check();
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('(check.dbt.unknown: fail)');
    w.write('shop/db.yaml', PROJECT);
  });

  it("check.dbt.manifest in db.yaml: deploy --dry-run runs the check and refuses; the drift rule's severity is set there", async () => {
    w.write('shop/orders.sql', DROP_AMOUNT);
    w.write(
      'shop/db.yaml',
      `${PROJECT}check:\n  dbt:\n    manifest: ../analytics/target/manifest.json\n    drift: { missing-column: off }\n`,
    );
    const dry = await run(w.root, 'deploy', { project: 'shop', dryRun: true });
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('BREAKING model stg_orders');
    expect(dry.stdout).not.toContain('DRIFT');
    expect(dry.stderr).toContain('the dbt check fails');
    w.write('shop/db.yaml', PROJECT);
  });

  it('dbee status runs the drift rules against the live schema; a rule of severity error fails it', async () => {
    w.write('shop/db.yaml', `${PROJECT}check:\n  dbt: { manifest: ../analytics/target/manifest.json }\n`);
    const warned = await run(w.root, 'status', { project: 'shop' });
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stdout).toContain(
      '  dbt drift (warn, missing-column): source shop.orders (models/staging/sources.yml) declares column coupon, which shop.orders (defined in shop/orders.sql:1) lacks in environment local',
    );
    w.write(
      'shop/db.yaml',
      `${PROJECT}check:\n  dbt: { manifest: ../analytics/target/manifest.json, drift: { missing-column: error } }\n`,
    );
    const failed = await run(w.root, 'status', { project: 'shop', format: 'json' });
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).dbtDrift).toMatchObject([{ rule: 'missing-column', severity: 'error' }]);
    w.write('shop/db.yaml', PROJECT);
  });

  it('a rename through expand-contract passes for models on the old version; the same rename in one step breaks them', async () => {
    const renamed = `${PROJECT}renames:\n  - { kind: column, schema: shop, table: orders, from: amount, to: total }\n`;
    w.write('shop/db.yaml', renamed);
    w.write('shop/orders.sql', ORDERS('  total numeric(12, 2),\n  placed_on date'));
    const direct = await check();
    expect(direct.code).toBe(1);
    expect(direct.stdout).toContain('reads shop.orders.amount, which the release removes or renames');
    w.write('shop/db.yaml', `${renamed}deploy: { strategy: expand-contract }\n`);
    const expanded = await check();
    expect(expanded.code, expanded.stdout + expanded.stderr).toBe(0);
    // The expand keeps the table's column (the new name lives in the new version schema): nothing a model reads changes.
    expect(expanded.stdout).toContain('column level): 0 nodes read what the release changes: 0 breaking');
    expect(expanded.stdout).not.toMatch(/^BREAKING/m);
    // Against the new version's shape (what `dbee complete` leaves), the model must move: said, not refused.
    expect(expanded.stdout).toMatch(
      /AFTER COMPLETE \(new version shop_v\w+\) BREAKING model stg_orders: models\/staging\/stg_orders.sql:4:5: reads shop.orders.amount, which the release removes or renames/,
    );
    w.write('shop/db.yaml', PROJECT);
  });
});
