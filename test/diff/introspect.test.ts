import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatKey } from '../../packages/core/src/model/object-key';
import type { SchemaModel, Table } from '../../packages/core/src/schema';
import {
  fingerprint,
  introspect,
  introspectRelations,
  INTROSPECT_QUERY_COUNT,
} from '../../packages/postgres/src/introspect';
import { DESIRED_SQL, SCOPE } from './fixture';
import { counting, ENGINES, openScratch, type Scratch } from './helpers';

/** `n` tables with an index, a view, a function, a trigger, a comment and a grant each, in schema `name`. */
function manyObjects(name: string, n: number): string {
  const out = [
    `create schema ${name};`,
    `create function ${name}.touch() returns trigger language plpgsql as $$ begin return new; end $$;`,
  ];
  for (let i = 0; i < n; i++) {
    out.push(
      `create table ${name}.t${i} (id integer primary key, ref integer, label text default 'x' check (label <> ''));`,
      `create index t${i}_label_idx on ${name}.t${i} (label) where ref is not null;`,
      `create view ${name}.v${i} as select id, label from ${name}.t${i};`,
      `create function ${name}.f${i}(a integer) returns integer language sql immutable as $$ select a + ${i} $$;`,
      `create trigger t${i}_touch before update on ${name}.t${i} for each row execute function ${name}.touch();`,
      `comment on table ${name}.t${i} is 'table ${i}';`,
      `grant select on ${name}.v${i} to dbee_t_reader;`,
    );
  }
  return out.join('\n');
}

describe.each(ENGINES)('introspection [%s]', (engine) => {
  let db: Scratch;
  let model: SchemaModel;
  const table = (name: string): Table => model.tables.find((t) => t.key.name === name)!;

  beforeAll(async () => {
    db = await openScratch(engine);
    await db.conn.execute(DESIRED_SQL);
    await db.conn.execute(`
      create schema dbee;
      create table dbee.deployments (id integer primary key);
      create function shop.extension_member() returns integer language sql as 'select 1';
      alter extension plpgsql add function shop.extension_member();
      ${manyObjects('five', 5)}
      ${manyObjects('fifty', 50)}
    `);
    model = await introspect(db.conn, { schemas: [...SCOPE.schemas, 'dbee'] });
  });

  afterAll(async () => {
    await db?.dispose();
  });

  test('reads tables, columns and constraints as PostgreSQL prints them', () => {
    expect(model.schemas.map((s) => s.key.name)).toEqual(['report', 'shop']);
    expect(model.tables.map((t) => t.key.name)).toEqual(['customers', 'order_lines', 'orders', 'products']);
    const customers = table('customers');
    expect(customers.columns.find((c) => c.name === 'id')).toMatchObject({
      type: 'bigint',
      identity: 'always',
      notNull: true,
      default: null,
    });
    expect(customers.columns.find((c) => c.name === 'note')).toMatchObject({
      collation: 'pg_catalog."C"',
      notNull: false,
    });
    expect(customers.columns.find((c) => c.name === 'address')).toMatchObject({
      type: 'shop.address',
      dependsOn: [{ kind: 'type', schema: 'shop', name: 'address' }],
    });
    const orders = table('orders');
    expect(orders.columns.find((c) => c.name === 'invoice_no')).toMatchObject({
      default: "nextval('shop.invoice_no'::regclass)",
      dependsOn: [{ kind: 'sequence', schema: 'shop', name: 'invoice_no' }],
    });
    expect(orders.columns.find((c) => c.name === 'id')?.identity).toBe('by-default');
    const lines = table('order_lines');
    expect(lines.columns.find((c) => c.name === 'amount')).toMatchObject({
      type: 'numeric(14,2)',
      generated: '((qty)::numeric * unit_price)',
    });
    const fk = lines.constraints.find((c) => c.name === 'order_lines_order_id_fkey')!;
    expect(fk).toMatchObject({
      kind: 'foreign-key',
      columns: ['order_id'],
      references: {
        table: { kind: 'table', schema: 'shop', name: 'orders' },
        columns: ['id'],
        onDelete: 'cascade',
        onUpdate: 'no-action',
        match: 'simple',
      },
      deferrable: true,
      initiallyDeferred: true,
      definition: 'FOREIGN KEY (order_id) REFERENCES shop.orders(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED',
    });
    expect(lines.constraints.find((c) => c.kind === 'primary-key')?.columns).toEqual(['order_id', 'line_no']);
    expect(lines.constraints.find((c) => c.kind === 'check')).toMatchObject({
      expression: '(qty > 0)',
      definition: 'CHECK ((qty > 0))',
    });
  });

  test('reads indexes, views with their dependencies, routines, triggers, types and sequences', () => {
    const index = (name: string) => model.indexes.find((i) => i.key.name === name)!;
    expect(index('orders_open_idx')).toMatchObject({ unique: false, columns: ['placed_at'], expression: false });
    expect(index('orders_open_idx').predicate).toContain("'new'::shop.order_status");
    expect(index('customers_lower_email_idx')).toMatchObject({
      expression: true,
      definition: 'CREATE INDEX customers_lower_email_idx ON shop.customers USING btree (lower(email))',
    });
    expect(index('products_sku_active_idx')).toMatchObject({ unique: true, predicate: 'active' });
    expect(index('daily_sales_day_idx').table).toEqual({
      kind: 'materialized-view',
      schema: 'report',
      name: 'daily_sales',
    });
    // Indexes that implement constraints belong to the constraint.
    expect(model.indexes.map((i) => i.key.name)).not.toContain('orders_pkey');

    const view = (name: string) => model.views.find((v) => v.key.name === name)!;
    expect(view('customer_revenue').dependsOn.map(formatKey)).toEqual([
      'table:shop.customers',
      'view:report.order_summary',
    ]);
    expect(view('order_summary').dependsOn.map(formatKey)).toContain('function:shop.order_total(bigint)');
    expect(view('order_summary').columns).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'customer_id', type: 'bigint' },
      { name: 'status', type: 'shop.order_status' },
      { name: 'total', type: 'numeric' },
    ]);
    expect(view('daily_sales').key.kind).toBe('materialized-view');
    expect(view('daily_sales').dependsOnColumns).toContainEqual({
      table: { kind: 'table', schema: 'shop', name: 'orders' },
      column: 'total',
    });

    const routine = (name: string) => model.routines.find((r) => r.key.name === name)!;
    expect(routine('order_total')).toMatchObject({
      key: { kind: 'function', args: ['bigint'] },
      language: 'sql',
      returnType: 'numeric',
      volatility: 'stable',
      identityArgs: 'p_order bigint',
    });
    expect(routine('order_total').definition).toMatch(
      /^CREATE OR REPLACE FUNCTION shop\.order_total\(p_order bigint\)/,
    );
    expect(routine('cancel_order').key.kind).toBe('procedure');
    expect(routine('touch_updated_at')).toMatchObject({ language: 'plpgsql', returnType: 'trigger' });
    expect(routine('customer_orders').dependsOn.map(formatKey)).toEqual(['table:shop.orders']);

    expect(model.triggers).toHaveLength(1);
    expect(model.triggers[0]).toMatchObject({
      key: { kind: 'trigger', schema: 'shop', name: 'orders_touch', parent: 'shop.orders' },
      function: { kind: 'function', schema: 'shop', name: 'touch_updated_at', args: [] },
      constraintTrigger: false,
    });

    const type = (name: string) => model.types.find((t) => t.key.name === name)!;
    expect(type('order_status')).toMatchObject({ variant: 'enum', values: ['new', 'paid', 'shipped', 'cancelled'] });
    expect(type('address')).toMatchObject({
      variant: 'composite',
      attributes: [{ name: 'street' }, { name: 'city' }, { name: 'zip', type: 'character varying(10)' }],
    });
    expect(type('positive_amount')).toMatchObject({
      key: { kind: 'domain' },
      variant: 'domain',
      baseType: 'numeric(12,2)',
      default: '0',
      notNull: true,
      checks: [{ name: 'positive_amount_check', definition: 'CHECK ((VALUE >= (0)::numeric))' }],
    });

    const seq = (name: string) => model.sequences.find((s) => s.key.name === name)!;
    expect(seq('invoice_no')).toMatchObject({ start: '1000', increment: '10', ownedBy: null, dataType: 'bigint' });
    expect(seq('products_id_seq').ownedBy).toEqual({
      table: { kind: 'table', schema: 'shop', name: 'products' },
      column: 'id',
    });
    // Identity columns' sequences belong to the column.
    expect(model.sequences.map((s) => s.key.name)).toEqual(['invoice_no', 'products_id_seq']);
  });

  test('reads comments, effective privileges and owners', () => {
    expect(model.comments).toContainEqual({
      target: { kind: 'table', schema: 'shop', name: 'orders' },
      column: 'status',
      text: 'Lifecycle state',
    });
    expect(model.comments).toContainEqual({
      target: { kind: 'table', schema: 'shop', name: 'products' },
      constraint: 'products_price_check',
      text: 'Sanity cap',
    });
    expect(model.comments).toContainEqual({
      target: { kind: 'schema', schema: '', name: 'report' },
      text: 'Read models',
    });
    const on = (name: string) => model.privileges.filter((p) => p.target.name === name);
    expect(on('order_total')).toEqual([
      {
        target: { kind: 'function', schema: 'shop', name: 'order_total', args: ['bigint'] },
        grantee: 'dbee_t_reader',
        privileges: ['EXECUTE'],
        grantable: [],
      },
    ]);
    expect(on('touch_updated_at').map((p) => `${p.grantee}:${p.privileges.join(',')}`)).toEqual(['PUBLIC:EXECUTE']);
    expect(on('customers').map((p) => `${p.column}:${p.privileges.join(',')}`)).toEqual(['email:SELECT', 'id:SELECT']);
    expect(model.owners.find((o) => o.target.name === 'orders')?.owner).toBe('postgres');
  });

  test('leaves out the dbee ledger schema and objects that belong to extensions', () => {
    expect(model.schemas.map((s) => s.key.name)).not.toContain('dbee');
    expect(model.tables.some((t) => t.key.schema === 'dbee')).toBe(false);
    expect(model.routines.map((r) => r.key.name)).not.toContain('extension_member');
  });

  test('runs the same fixed number of catalog queries for 5 and for 50 tables', async () => {
    const small = counting(db.conn);
    const large = counting(db.conn);
    const five = await introspect(small, { schemas: ['five'] });
    const fifty = await introspect(large, { schemas: ['fifty'] });
    expect(five.tables).toHaveLength(5);
    expect(fifty.tables).toHaveLength(50);
    expect(fifty.views).toHaveLength(50);
    expect(fifty.comments).toHaveLength(50);
    expect(small.queries).toBe(INTROSPECT_QUERY_COUNT);
    expect(large.queries).toBe(INTROSPECT_QUERY_COUNT);
  });

  test('introspectRelations reads the columns of the tables and views as introspect does, in 5 catalog queries', async () => {
    const counted = counting(db.conn);
    const relations = await introspectRelations(counted, { schemas: ['fifty', ...SCOPE.schemas] });
    const full = await introspect(db.conn, { schemas: ['fifty', ...SCOPE.schemas] });
    const columns = (m: SchemaModel) =>
      [...m.tables, ...m.views].map(
        (r) => `${formatKey(r.key)}(${r.columns.map((c) => `${c.name} ${c.type}`).join(', ')})`,
      );
    expect(columns(relations)).toEqual(columns(full));
    expect(relations.tables.length + relations.views.length).toBeGreaterThan(100);
    expect([relations.routines, relations.indexes, relations.comments]).toEqual([[], [], []]);
    expect(relations.tables.every((t) => t.constraints.length === 0)).toBe(true);
    // schemas, tables, views, and the session's settings set and put back
    expect(counted.queries).toBe(5);
  });

  test('restores the session search_path it changed', async () => {
    await db.conn.execute('set search_path = shop, public');
    await introspect(db.conn, SCOPE);
    const r = await db.conn.query<{ search_path: string }>('show search_path');
    expect(r.rows[0]!.search_path).toBe('shop, public');
    await db.conn.execute('set search_path = "$user", public');
  });
});

describe.each(ENGINES)('fingerprint [%s]', (engine) => {
  let db: Scratch;

  beforeAll(async () => {
    db = await openScratch(engine);
    await db.conn.execute(DESIRED_SQL);
  });

  afterAll(async () => {
    await db?.dispose();
  });

  test('is stable while nothing changes, also across data changes and ANALYZE', async () => {
    const first = await fingerprint(db.conn, SCOPE);
    expect(await fingerprint(db.conn, SCOPE)).toBe(first);
    await db.conn.execute(`
      insert into shop.customers (email, name) values ('a@example.com', 'A');
      insert into shop.orders (customer_id) select id from shop.customers;
      analyze shop.orders;
      create table public.elsewhere (id integer);
      comment on table public.elsewhere is 'out of scope';
    `);
    expect(await fingerprint(db.conn, SCOPE)).toBe(first);
  });

  const mutations: [string, string][] = [
    ['ALTER COLUMN ... SET DEFAULT', `alter table shop.orders alter column placed_at set default clock_timestamp()`],
    [
      'ALTER COLUMN ... SET DEFAULT again (the column already had one)',
      `alter table shop.orders alter column placed_at set default now()`,
    ],
    [
      'CREATE OR REPLACE VIEW with the same columns',
      `create or replace view report.order_summary as
       select o.id, o.customer_id, o.status, shop.order_total(o.id) as total from shop.orders o where o.id > 0`,
    ],
    ['COMMENT ON TABLE', `comment on table shop.orders is 'changed'`],
    ['COMMENT ON COLUMN', `comment on column shop.customers.email is 'login'`],
    ['COMMENT ON FUNCTION', `comment on function shop.order_total(bigint) is 'changed'`],
    ['GRANT', `grant update on shop.orders to dbee_t_reader`],
    ['GRANT on a column', `grant update (name) on shop.customers to dbee_t_reader`],
    ['ALTER TYPE ... ADD VALUE', `alter type shop.order_status add value 'refunded'`],
    [
      'CREATE OR REPLACE FUNCTION',
      `create or replace function shop.order_total(p_order bigint) returns numeric language sql stable
       as $$ select 0::numeric $$`,
    ],
    ['CREATE INDEX', `create index orders_customer_idx on shop.orders (customer_id)`],
    ['ALTER COLUMN ... TYPE without a rewrite', `alter table shop.products alter column sku type varchar(64)`],
    ['SET NOT NULL', `alter table shop.products alter column price set not null`],
    ['ALTER SEQUENCE', `alter sequence shop.invoice_no increment 5`],
    ['ALTER DOMAIN ADD CONSTRAINT', `alter domain shop.positive_amount add constraint below_max check (value < 1e9)`],
    ['DROP TRIGGER', `drop trigger orders_touch on shop.orders`],
    ['DROP COLUMN', `alter table shop.customers drop column note`],
  ];

  test.each(mutations)('changes on %s', async (_what, sql) => {
    const before = await fingerprint(db.conn, SCOPE);
    await db.conn.execute(sql);
    const after = await fingerprint(db.conn, SCOPE);
    expect(after).not.toBe(before);
    expect(await fingerprint(db.conn, SCOPE)).toBe(after);
  });
});
