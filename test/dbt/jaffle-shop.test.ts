import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { LOCAL_WORKSPACE_YAML, tempWorkspace } from '../support/workspace';

/**
 * A manifest dbt wrote, not one of ours (test/fixtures/dbt/jaffle-shop: dbt 1.12's `manifest.json` of dbt Labs'
 * jaffle-shop, as kept by dbt-artifacts-parser's tests; Apache-2.0): six sources in schema `raw`, staging models that
 * read them through three-part names (`"jaffle_shop"."raw"."raw_orders"`), marts two refs below, semantic models,
 * metrics, saved queries, unit tests and dbt's own macros beside them. The sources are a dbee project `raw` whose
 * tables have the columns of jaffle-shop's seeds, deployed to PGlite; `dbee check --dbt` judges releases of it.
 */
const ORDERS = (money: string) =>
  `CREATE TABLE raw.raw_orders (\n  id text PRIMARY KEY,\n  customer text,\n  ordered_at timestamp,\n  store_id text,\n${money}\n);\n`;
const V1 = {
  'raw/db.yaml': 'version: 1\nname: raw\nengine: postgres\nschemas: [raw]\n',
  'raw/schema.sql': 'CREATE SCHEMA raw;\n',
  'raw/raw_customers.sql': 'CREATE TABLE raw.raw_customers (id text PRIMARY KEY, name text);\n',
  'raw/raw_orders.sql': ORDERS('  subtotal integer,\n  tax_paid integer,\n  order_total integer'),
  'raw/raw_items.sql': 'CREATE TABLE raw.raw_items (id text PRIMARY KEY, order_id text, sku text);\n',
  'raw/raw_stores.sql':
    'CREATE TABLE raw.raw_stores (id text PRIMARY KEY, name text, opened_at timestamp, tax_rate double precision);\n',
  'raw/raw_products.sql':
    'CREATE TABLE raw.raw_products (sku text PRIMARY KEY, name text, type text, price integer, description text);\n',
  'raw/raw_supplies.sql':
    'CREATE TABLE raw.raw_supplies (id text, name text, cost integer, perishable boolean, sku text);\n',
};

describe('dbee check --dbt with a manifest dbt wrote: jaffle-shop [pglite]', () => {
  const w = tempWorkspace({ 'dbee.yaml': LOCAL_WORKSPACE_YAML, ...V1 });
  const check = (options: Record<string, unknown> = {}) =>
    run(w.root, 'check', { project: 'raw', dbt: 'analytics/target/manifest.json', ...options });
  beforeAll(async () => {
    cpSync(
      join(__dirname, '..', 'fixtures', 'dbt', 'jaffle-shop', 'manifest.json'),
      join(w.root, 'analytics', 'target', 'manifest.json'),
    );
    const deployed = await run(w.root, 'deploy', { project: 'raw' });
    expect(deployed.code, deployed.stderr).toBe(0);
  }, 120_000);
  afterAll(() => w.remove());

  it('a release that adds a column breaks no model', async () => {
    w.write(
      'raw/raw_orders.sql',
      ORDERS('  subtotal integer,\n  tax_paid integer,\n  order_total integer,\n  note text'),
    );
    const r = await check({ format: 'json' });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { nodes: { name: string; verdict: string }[] };
    // stg_orders reads raw_orders through `with source as (select * from ...)`: the columns it names, not `*`.
    expect(report.nodes.map((n) => `${n.name}:${n.verdict}`)).toEqual(['stg_orders:pass']);
  });

  it('a release that renames a column stg_orders reads breaks it, naming the column, and what is below it', async () => {
    w.write('raw/raw_orders.sql', ORDERS('  subtotal_cents integer,\n  tax_paid integer,\n  order_total integer'));
    const r = await check();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('BREAKING model stg_orders (models/staging/stg_orders.sql)');
    // Line 19 of the compiled SQL (`subtotal as subtotal_cents,` in the renaming CTE), as in the model's file.
    expect(r.stdout).toContain(
      'models/staging/stg_orders.sql:19:9: reads raw.raw_orders.subtotal, which the release removes or renames',
    );
    // What is below it, through dbt's child_map: the marts, the semantic models, metrics and saved queries on them.
    const below = /downstream: ([^\n]*)/.exec(r.stdout)?.[1]?.split(', ') ?? [];
    expect(below).toEqual(
      expect.arrayContaining([
        'model orders',
        'model customers',
        'semantic_model orders',
        'metric revenue',
        'saved_query order_metrics',
      ]),
    );
    expect(r.stderr).toContain('the dbt check fails: 1 dbt node breaks');
  });

  it('a column dropped from each of the other five sources breaks the staging model that reads it, and only that one', async () => {
    w.write('raw/raw_orders.sql', V1['raw/raw_orders.sql']);
    w.write('raw/raw_customers.sql', 'CREATE TABLE raw.raw_customers (id text PRIMARY KEY);\n');
    w.write('raw/raw_items.sql', 'CREATE TABLE raw.raw_items (id text PRIMARY KEY, order_id text);\n');
    w.write(
      'raw/raw_stores.sql',
      'CREATE TABLE raw.raw_stores (id text PRIMARY KEY, name text, opened_at timestamp);\n',
    );
    w.write(
      'raw/raw_products.sql',
      'CREATE TABLE raw.raw_products (sku text PRIMARY KEY, name text, type text, price integer);\n',
    );
    w.write('raw/raw_supplies.sql', 'CREATE TABLE raw.raw_supplies (id text, name text, cost integer, sku text);\n');
    const r = await check({ format: 'json' });
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as {
      nodes: { name: string; verdict: string; findings: { message: string }[] }[];
    };
    expect(report.nodes.map((n) => `${n.name}:${n.verdict}`).sort()).toEqual([
      'stg_customers:breaking',
      'stg_locations:breaking',
      'stg_order_items:breaking',
      'stg_products:breaking',
      'stg_supplies:breaking',
    ]);
    expect(report.nodes.flatMap((n) => n.findings.map((f) => f.message)).sort()).toEqual([
      'reads raw.raw_customers.name, which the release removes or renames',
      'reads raw.raw_items.sku, which the release removes or renames',
      'reads raw.raw_products.description, which the release removes or renames',
      'reads raw.raw_stores.tax_rate, which the release removes or renames',
      'reads raw.raw_supplies.perishable, which the release removes or renames',
    ]);
  });
});
