import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';

/**
 * `dbee dbt-sources`: dbt sources YAML from a project's desired schema, and its round trip: generated, edited by hand,
 * generated again after the schema changed; the hand edits are kept, the new column is added, a column gone goes
 * unless a person added a test to it. The YAML is checked against the shape dbt documents for source properties
 * (docs.getdbt.com/reference/source-properties): `version: 2`, `sources[]` with `name`, `database`, `schema`,
 * `tables[]` with `name`, `description`, `columns[]` with `name`, `data_type`, `description`, `tests`/`data_tests`,
 * `meta`.
 */
const column = z.object({
  name: z.string(),
  data_type: z.string().optional(),
  description: z.string().optional(),
  data_tests: z.array(z.unknown()).optional(),
  tests: z.array(z.unknown()).optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});
const table = z.object({
  name: z.string(),
  identifier: z.string().optional(),
  description: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  columns: z.array(column).optional(),
});
const dbtSources = z.object({
  version: z.literal(2),
  sources: z.array(
    z.object({
      name: z.string(),
      database: z.string().optional(),
      schema: z.string().optional(),
      description: z.string().optional(),
      tables: z.array(table),
    }),
  ),
});

const WS =
  'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: memory }\n';
const ORDERS = (extra: string) =>
  `CREATE TABLE shop.orders (\n  id integer PRIMARY KEY,\n  amount numeric(12, 2),\n  note text${extra}\n);\nCOMMENT ON TABLE shop.orders IS 'One row per order';\nCOMMENT ON COLUMN shop.orders.amount IS 'Total in euros';\n`;
const OUT = 'analytics/models/sources/shop.yml';

describe('dbee dbt-sources [pglite]', () => {
  const w = tempWorkspace({
    'dbee.yaml': WS,
    'shop/db.yaml': 'version: 1\nname: shop\nengine: postgres\nschemas: [shop]\n',
    'shop/schema.sql': 'CREATE SCHEMA shop;\n',
    'shop/orders.sql': ORDERS(''),
    'shop/customers.sql': 'CREATE TABLE shop.customers (id integer PRIMARY KEY, "Full Name" text);\n',
  });
  afterAll(() => w.remove());
  const generate = () =>
    run(w.root, 'dbt-sources', {
      project: 'shop',
      out: OUT,
      staging: 'analytics/models/staging',
      database: 'warehouse',
    });
  const read = (rel: string) => readFileSync(join(w.root, rel), 'utf8');

  it('writes sources as dbt documents them, with types and comments, and staging models quoted as PostgreSQL needs', async () => {
    const r = await generate();
    expect(r.code, r.stderr).toBe(0);
    const yaml = dbtSources.parse(parse(read(OUT)));
    expect(yaml.sources).toEqual([
      {
        name: 'shop',
        database: 'warehouse',
        schema: 'shop',
        tables: [
          {
            name: 'customers',
            columns: [
              { name: 'id', data_type: 'integer' },
              { name: 'Full Name', data_type: 'text' },
            ],
          },
          {
            name: 'orders',
            description: 'One row per order',
            columns: [
              { name: 'id', data_type: 'integer' },
              { name: 'amount', data_type: 'numeric(12,2)', description: 'Total in euros' },
              { name: 'note', data_type: 'text' },
            ],
          },
        ],
      },
    ]);
    expect(read('analytics/models/staging/stg_shop__customers.sql')).toContain(
      "select\n    id,\n    \"Full Name\"\nfrom {{ source('shop', 'customers') }}",
    );
  });

  it('again after hand edits and a schema change: keeps the edits, adds the new column, drops an untouched one', async () => {
    const edited = read(OUT)
      .replace('description: One row per order', 'description: Orders, as the shop writes them # by hand')
      .replace(
        '          - name: note\n            data_type: text',
        '          - name: note\n            data_type: text\n            description: Free text from the customer\n            data_tests:\n              - not_null',
      )
      .replace(
        '        columns:\n          - name: id\n            data_type: integer\n          - name: amount',
        '        meta: { owner: finance }\n        columns:\n          - name: id\n            data_type: integer\n          - name: amount',
      );
    w.write(OUT, edited);
    w.write('analytics/models/staging/stg_shop__orders.sql', "select id from {{ source('shop', 'orders') }} -- mine\n");
    // The schema gains channel, loses nothing yet; customers loses its untouched column.
    w.write('shop/orders.sql', ORDERS(',\n  channel varchar(20)'));
    w.write('shop/customers.sql', 'CREATE TABLE shop.customers (id integer PRIMARY KEY);\n');
    const r = await generate();
    expect(r.code, r.stderr).toBe(0);
    const text = read(OUT);
    expect(text).toContain('# by hand');
    const yaml = dbtSources.parse(parse(text));
    const orders = yaml.sources[0]!.tables.find((t) => t.name === 'orders')!;
    expect(orders.description).toBe('Orders, as the shop writes them');
    expect(orders.meta).toEqual({ owner: 'finance' });
    expect(orders.columns).toEqual([
      { name: 'id', data_type: 'integer' },
      { name: 'amount', data_type: 'numeric(12,2)', description: 'Total in euros' },
      { name: 'note', data_type: 'text', description: 'Free text from the customer', data_tests: ['not_null'] },
      { name: 'channel', data_type: 'character varying(20)' },
    ]);
    expect(yaml.sources[0]!.tables.find((t) => t.name === 'customers')!.columns).toEqual([
      { name: 'id', data_type: 'integer' },
    ]);
    expect(read('analytics/models/staging/stg_shop__orders.sql')).toContain('-- mine');

    // A column a person added a test to stays when the schema drops it (the drift rule reports it); run once more,
    // nothing changes.
    w.write('shop/orders.sql', ORDERS('').replace(',\n  note text', ''));
    expect((await generate()).code).toBe(0);
    const kept = dbtSources.parse(parse(read(OUT))).sources[0]!.tables.find((t) => t.name === 'orders')!;
    expect(kept.columns!.map((c) => c.name)).toEqual(['id', 'amount', 'note']);
    const again = read(OUT);
    const same = await generate();
    expect(same.stdout).toContain(`${OUT}: up to date`);
    expect(read(OUT)).toBe(again);
  });
});
