import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEngine } from '@dbee/postgres';
import type { Connection, ObjectKey } from '@dbee/core';
import { ENGINES, workspaceWith, type TestWorkspace } from './helpers';

const engine = createPostgresEngine();

const SETUP = `
CREATE SCHEMA shop;
CREATE TYPE shop.status AS ENUM ('new', 'paid');
CREATE DOMAIN shop.positive AS integer CHECK (VALUE > 0);
CREATE TABLE shop.orders (id serial PRIMARY KEY, status shop.status NOT NULL DEFAULT 'new', qty shop.positive, note text);
CREATE INDEX orders_status_idx ON shop.orders (status);
CREATE VIEW shop.open_orders AS SELECT id, qty FROM shop.orders WHERE status = 'new';
CREATE FUNCTION shop.total(p shop.status) RETURNS bigint LANGUAGE sql AS $$ SELECT sum(qty) FROM shop.orders WHERE status = p $$;
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.touch();
INSERT INTO shop.orders (qty, note) VALUES (1, 'a'), (2, 'b');
`;

const key = (kind: ObjectKey['kind'], name: string, extra: Partial<ObjectKey> = {}): ObjectKey => ({
  kind,
  schema: 'shop',
  name,
  ...extra,
});

describe.each(ENGINES)('PostgreSQL catalog helpers for deploy safety [%s]', (kind) => {
  let w: TestWorkspace;
  let conn: Connection;
  beforeAll(async () => {
    w = await workspaceWith(kind, {});
    conn = await w.target.connect();
    await conn.execute(SETUP);
  });
  afterAll(async () => {
    await conn?.close();
    await w?.remove();
  });

  it('existingObjects answers for every kind in one query, and unknown argument types count as absent', async () => {
    const keys = [
      key('table', 'orders'),
      key('table', 'missing'),
      key('view', 'open_orders'),
      key('index', 'orders_status_idx'),
      key('function', 'total', { args: ['shop.status'] }),
      key('function', 'total', { args: ['integer'] }),
      key('function', 'total', { args: ['shop.nosuchtype'] }),
      key('type', 'status'),
      key('domain', 'positive'),
      key('trigger', 'orders_touch', { parent: 'shop.orders' }),
      key('constraint', 'orders_pkey', { parent: 'shop.orders' }),
      { kind: 'schema', schema: '', name: 'shop' } as ObjectKey,
      { kind: 'schema', schema: '', name: 'nope' } as ObjectKey,
    ];
    const found = await engine.catalog!.existingObjects(conn, keys);
    expect([...found].sort()).toEqual(
      [
        'constraint:shop.orders_pkey@shop.orders',
        'domain:shop.positive',
        'function:shop.total(shop.status)',
        'index:shop.orders_status_idx',
        'schema:shop',
        'table:shop.orders',
        'trigger:shop.orders_touch@shop.orders',
        'type:shop.status',
        'view:shop.open_orders',
      ].sort(),
    );
  });

  it('captureDefinition writes statements that recreate views, functions, triggers and types', async () => {
    const view = await engine.catalog!.captureDefinition(conn, key('view', 'open_orders'));
    expect(view).toMatch(/^CREATE OR REPLACE VIEW shop\.open_orders AS\n/);
    const fn = await engine.catalog!.captureDefinition(conn, key('function', 'total', { args: ['shop.status'] }));
    expect(fn).toMatch(/^CREATE OR REPLACE FUNCTION shop\.total\(p shop\.status\)/);
    expect(
      await engine.catalog!.captureDefinition(conn, key('trigger', 'orders_touch', { parent: 'shop.orders' })),
    ).toMatch(/^CREATE OR REPLACE TRIGGER orders_touch BEFORE UPDATE ON shop\.orders/);
    expect(await engine.catalog!.captureDefinition(conn, key('type', 'status'))).toBe(
      "CREATE TYPE shop.status AS ENUM ('new', 'paid')",
    );
    expect(await engine.catalog!.captureDefinition(conn, key('domain', 'positive'))).toMatch(
      /^CREATE DOMAIN shop\.positive AS integer CONSTRAINT positive_check CHECK/,
    );
    const table = await engine.catalog!.captureDefinition(conn, key('table', 'orders'));
    expect(table).toContain('CREATE TABLE shop.orders (');
    expect(table).toContain("status shop.status DEFAULT 'new'::shop.status NOT NULL");
    expect(table).toContain('CONSTRAINT orders_pkey PRIMARY KEY (id)');
    expect(await engine.catalog!.captureDefinition(conn, key('view', 'missing'))).toBeNull();
    // The captured view recreates it: replace it, run the capture, and it is back.
    await conn.execute(
      "CREATE OR REPLACE VIEW shop.open_orders AS SELECT id, qty FROM shop.orders WHERE status = 'paid'",
    );
    await conn.execute(view!);
    expect(await engine.catalog!.captureDefinition(conn, key('view', 'open_orders'))).toBe(view);
  });

  it('setAside renames a table with its indexes and sequence; its reverse renames them back', async () => {
    const aside = await engine.catalog!.setAside(conn, key('table', 'orders'), 'rename', '20261121t103000');
    expect(aside).toEqual({
      statements: [
        'CREATE SCHEMA IF NOT EXISTS shop_dbee_bak',
        'ALTER TABLE shop.orders RENAME TO orders_bak_20261121t103000',
        'ALTER SEQUENCE shop.orders_id_seq RENAME TO orders_id_seq_bak_20261121t103000',
        'ALTER INDEX shop.orders_pkey RENAME TO orders_pkey_bak_20261121t103000',
        'ALTER INDEX shop.orders_status_idx RENAME TO orders_status_idx_bak_20261121t103000',
        'ALTER TABLE shop.orders_bak_20261121t103000 SET SCHEMA shop_dbee_bak',
      ],
      reverse: [
        'ALTER TABLE shop_dbee_bak.orders_bak_20261121t103000 SET SCHEMA shop',
        'ALTER TABLE shop.orders_bak_20261121t103000 RENAME TO orders',
        'ALTER SEQUENCE shop.orders_id_seq_bak_20261121t103000 RENAME TO orders_id_seq',
        'ALTER INDEX shop.orders_pkey_bak_20261121t103000 RENAME TO orders_pkey',
        'ALTER INDEX shop.orders_status_idx_bak_20261121t103000 RENAME TO orders_status_idx',
        'DO $dbee$ BEGIN DROP SCHEMA IF EXISTS shop_dbee_bak; EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $dbee$',
      ],
      backup: { ...key('table', 'orders_bak_20261121t103000'), schema: 'shop_dbee_bak' },
    });
    await conn.transaction(async (tx) => {
      for (const s of aside!.statements) await tx.execute(s);
      // The new table gets the usual names, and copyData brings the rows of surviving columns over.
      await tx.execute('CREATE TABLE shop.orders (id serial PRIMARY KEY, note text, added boolean DEFAULT true)');
      await tx.execute(engine.catalog!.renderCopyData(aside!.backup!, key('table', 'orders'))!);
      const copied = await tx.query('SELECT id, note, added FROM shop.orders ORDER BY id');
      expect(copied.rows).toEqual([
        { id: 1, note: 'a', added: true },
        { id: 2, note: 'b', added: true },
      ]);
      await tx.execute("INSERT INTO shop.orders (note) VALUES ('c')");
      expect((await tx.query<{ id: number }>("SELECT id FROM shop.orders WHERE note = 'c'")).rows).toEqual([{ id: 3 }]);
      await tx.execute('DROP TABLE shop.orders CASCADE');
      for (const s of aside!.reverse!) await tx.execute(s);
    });
    expect((await conn.query('SELECT count(*)::int AS n FROM shop.orders')).rows).toEqual([{ n: 2 }]);
    expect(await engine.catalog!.existingObjects(conn, [key('index', 'orders_status_idx')])).toEqual(
      new Set(['index:shop.orders_status_idx']),
    );
  });

  it('setAside drop: no CASCADE, and a view comes back from its captured definition', async () => {
    expect((await engine.catalog!.setAside(conn, key('table', 'orders'), 'drop', 'x'))!).toEqual({
      statements: ['DROP TABLE shop.orders'],
      reverse: null,
      backup: null,
    });
    const view = (await engine.catalog!.setAside(conn, key('view', 'open_orders'), 'drop', 'x'))!;
    expect(view.statements).toEqual(['DROP VIEW shop.open_orders']);
    expect(view.reverse![0]).toMatch(/^CREATE OR REPLACE VIEW shop\.open_orders AS/);
    const fn = (await engine.catalog!.setAside(
      conn,
      key('function', 'total', { args: ['shop.status'] }),
      'rename',
      '20261121t103000',
    ))!;
    expect(fn.statements).toEqual([
      'CREATE SCHEMA IF NOT EXISTS shop_dbee_bak',
      'ALTER ROUTINE shop.total(shop.status) RENAME TO total_bak_20261121t103000',
      'ALTER ROUTINE shop.total_bak_20261121t103000(shop.status) SET SCHEMA shop_dbee_bak',
    ]);
    expect(fn.reverse).toEqual([
      'ALTER ROUTINE shop_dbee_bak.total_bak_20261121t103000(shop.status) SET SCHEMA shop',
      'ALTER ROUTINE shop.total_bak_20261121t103000(shop.status) RENAME TO total',
      'DO $dbee$ BEGIN DROP SCHEMA IF EXISTS shop_dbee_bak; EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $dbee$',
    ]);
    expect(await engine.catalog!.setAside(conn, key('table', 'missing'), 'rename', 'x')).toBeNull();
  });
});
