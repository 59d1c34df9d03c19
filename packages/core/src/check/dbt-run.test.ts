import { describe, expect, it } from 'vitest';
import type { LineageRole, QueryLineage } from '../engine/engine';
import { parseKey } from '../model/object-key';
import type { Plan, PlanStep, StepAction } from '../plan/plan';
import { parseDbtManifest } from './dbt-manifest';
import { mayRead, readLineage } from './dbt-run';

const step = (order: number, key: string, action: StepAction): PlanStep => ({
  order,
  project: 'shop',
  key,
  objectKey: parseKey(key),
  action,
  statements: [],
  reverse: null,
  transactional: true,
  hazards: [],
  source: null,
  checksum: '',
});
const plan = (steps: PlanStep[]): Plan => ({
  formatVersion: 1,
  engine: 'postgres',
  projects: ['shop'],
  sourceCommit: null,
  baseFingerprint: null,
  steps,
});

describe('mayRead: which nodes are worth parsing for a release', () => {
  const alters = mayRead(plan([step(1, 'table:shop.orders', 'alter'), step(2, 'index:shop.orders_day', 'create')]));

  it.each([
    'select id from shop.orders',
    'select o.id from "shop"."orders" o',
    'SELECT ID FROM SHOP.ORDERS',
    'select * from orders where id = 1',
    'select orders.id from shop.orders\n',
    'select (select max(id) from shop.orders) as m',
  ])('a query naming the changed table is parsed: %s', (sql) => {
    expect(alters(sql)).toBe(true);
  });

  it.each([
    'select id from shop.orders_archive',
    'select id from shop.old_orders',
    'select id from shop."orders$2024"',
    'select id from shop.customers',
  ])('one naming only another relation is not, even when that name contains it: %s', (sql) => {
    expect(alters(sql)).toBe(false);
  });

  it("a table altered inside another object's step (the view dropped and made again around it) is changed too", () => {
    // Issue 89, found by the verdict matrix: `name` of core.products renamed while a view of core changes; the planner
    // carries the table's ALTERs in the view's step, and a model reading core.products.name was never judged.
    const carried = {
      ...step(1, 'view:core.active_customers', 'drop'),
      statements: [
        'DROP VIEW core.active_customers;\nALTER TABLE core.products DROP COLUMN name;\nALTER TABLE "core"."Prices" ADD COLUMN x int;',
      ],
    };
    const reads = mayRead(plan([carried]));
    expect(reads('select sku, name from core.products')).toBe(true);
    expect(reads('select x from core."Prices"')).toBe(true);
    expect(reads('select id from core.customers')).toBe(false);
  });

  it('a migration may change any relation: every node is parsed', () => {
    const migrates = mayRead(plan([step(1, 'table:shop.orders', 'alter'), step(2, 'migration:shop/V2', 'migrate')]));
    expect(migrates('select id from shop.customers')).toBe(true);
  });
});

describe('readLineage', () => {
  it('parses each distinct compiled SQL once, and gives every node with that SQL its reading', async () => {
    const node = (name: string, sql: string) => ({
      resource_type: 'model',
      name,
      language: 'sql',
      compiled_code: sql,
      depends_on: { nodes: [] },
    });
    const manifest = parseDbtManifest(
      {
        metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json' },
        nodes: {
          'model.p.a': node('a', 'select id from shop.orders'),
          'model.p.b': node('b', 'select id from shop.orders'),
          'model.p.c': node('c', 'select id, amount from shop.orders'),
          'model.p.d': node('d', 'select {{ x }} from shop.orders'),
          'model.p.e': node('e', 'select id from shop.customers'),
        },
      },
      'manifest.json',
    );
    const parsed: string[] = [];
    const role: LineageRole = {
      async read(sql) {
        parsed.push(sql);
        return { relations: [], columns: [], stars: [], unknown: [] } satisfies QueryLineage;
      },
    };
    const lineage = await readLineage(
      role,
      manifest,
      () => null,
      (sql) => sql.includes('orders'),
    );
    expect(parsed).toEqual(['select id from shop.orders', 'select id, amount from shop.orders']);
    expect([...lineage.keys()]).toEqual(['model.p.a', 'model.p.b', 'model.p.c']);
    expect(lineage.get('model.p.b')).toBe(lineage.get('model.p.a'));
  });
});
