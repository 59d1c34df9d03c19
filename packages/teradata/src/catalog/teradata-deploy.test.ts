import { DbeeError, formatKey, PLAN_FORMAT_VERSION, type ObjectKey, type Plan, type PlanStep } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { planObjectChange, prepareTeradataPlan, reverseAfterFailure } from './teradata-deploy';
import { createFakeConnection, FakeTeradataSession } from '../../testing/fake-connection';
import type { TeradataConnection } from '../connection/teradata-connection';

const NOW = new Date(Date.UTC(2026, 10, 21, 10, 30, 0));

function step(objectKey: ObjectKey, statements: string[], action: PlanStep['action'] = 'create', order = 1): PlanStep {
  return {
    order,
    project: 'sales',
    key: formatKey(objectKey),
    objectKey,
    action,
    statements,
    reverse: null,
    transactional: true,
    hazards: [],
    source: { file: 'db/sales/x.sql', line: 1 },
    checksum: 'c0ffee',
  };
}

const ORDERS_V1 = `CREATE MULTISET TABLE SALES.ORDERS ,NO FALLBACK ,
     NO BEFORE JOURNAL,
     NO AFTER JOURNAL,
     CHECKSUM = DEFAULT,
     DEFAULT MERGEBLOCKRATIO,
     MAP = TD_MAP1
     (
      ORDER_ID INTEGER NOT NULL,
      CUSTOMER_ID INTEGER,
      NOTE VARCHAR(100) CHARACTER SET LATIN NOT CASESPECIFIC)
PRIMARY INDEX ( ORDER_ID );`;
const ORDERS_V2 = `CREATE MULTISET TABLE sales.orders (
  order_id INTEGER NOT NULL,
  customer_id INTEGER,
  amount DECIMAL(18,2)
) PRIMARY INDEX (order_id)`;
const VIEW_V1 = 'REPLACE VIEW SALES.V_ORDERS AS\nSELECT ORDER_ID FROM SALES.ORDERS';

const table: ObjectKey = { kind: 'table', schema: 'SALES', name: 'ORDERS' };
const view: ObjectKey = { kind: 'view', schema: 'SALES', name: 'V_ORDERS' };

function fixture(): { session: FakeTeradataSession; conn: TeradataConnection } {
  const session = new FakeTeradataSession({
    objects: {
      'SALES.ORDERS': { tableKind: 'T', show: ORDERS_V1 },
      'SALES.V_ORDERS': { tableKind: 'V', show: VIEW_V1 },
    },
  });
  return { session, conn: createFakeConnection(session) };
}

/** Run statements one request at a time, as the runner does on Teradata (auto-commit). */
async function apply(conn: TeradataConnection, statements: string[]): Promise<void> {
  for (const s of statements) await conn.execute(s);
}

describe('planObjectChange: tables', () => {
  it('creates a missing table; the reverse drops it', async () => {
    const { conn } = fixture();
    const c = await planObjectChange(
      conn,
      step({ ...table, name: 'NEW_T' }, ['CREATE MULTISET TABLE SALES.NEW_T (a INTEGER) PRIMARY INDEX (a)']),
      { ifExists: 'raise' },
    );
    expect(c).toMatchObject({
      statements: ['CREATE MULTISET TABLE SALES.NEW_T (a INTEGER) PRIMARY INDEX (a)'],
      reverse: ['DROP TABLE SALES.NEW_T'],
      existed: false,
      dataLoss: false,
    });
  });

  it('raise: an existing table is an OBJECT_EXISTS error naming it', async () => {
    const { conn } = fixture();
    try {
      await planObjectChange(conn, step(table, [ORDERS_V2]), { ifExists: 'raise' });
      throw new Error('expected OBJECT_EXISTS');
    } catch (e) {
      expect(e).toBeInstanceOf(DbeeError);
      expect((e as DbeeError).code).toBe('OBJECT_EXISTS');
      expect((e as DbeeError).message).toBe('table SALES.ORDERS already exists');
      expect((e as DbeeError).hint).toMatch(/ifExists: rename/);
    }
  });

  it('rename: renames aside with a timestamped backup, creates, copies surviving columns; the reverse restores it', async () => {
    const { session, conn } = fixture();
    const c = await planObjectChange(conn, step(table, [ORDERS_V2, "COMMENT ON TABLE sales.orders IS 'orders'"]), {
      ifExists: 'rename',
      copyData: true,
      now: NOW,
    });
    expect(c.statements).toEqual([
      'RENAME TABLE SALES.ORDERS TO SALES.ORDERS_BKP_20261121T103000',
      ORDERS_V2,
      'INSERT INTO SALES.ORDERS (ORDER_ID, CUSTOMER_ID) SELECT ORDER_ID, CUSTOMER_ID FROM SALES.ORDERS_BKP_20261121T103000',
      "COMMENT ON TABLE sales.orders IS 'orders'",
    ]);
    expect(c.reverse).toEqual([
      'DROP TABLE SALES.ORDERS',
      'RENAME TABLE SALES.ORDERS_BKP_20261121T103000 TO SALES.ORDERS',
    ]);
    expect(c.backup).toEqual({ database: 'SALES', name: 'ORDERS_BKP_20261121T103000', of: 'table:SALES.ORDERS' });
    expect(c.notes).toContain('copies 2 surviving columns: ORDER_ID, CUSTOMER_ID');

    await apply(conn, c.statements);
    expect([...session.catalog.keys()].sort()).toEqual([
      'SALES.ORDERS',
      'SALES.ORDERS_BKP_20261121T103000',
      'SALES.V_ORDERS',
    ]);
    await apply(conn, c.reverse!);
    expect([...session.catalog.keys()].sort()).toEqual(['SALES.ORDERS', 'SALES.V_ORDERS']);
    expect(session.catalog.get('SALES.ORDERS')!.show).toBe(ORDERS_V1);
  });

  it('rename: when the CREATE fails after the RENAME, the partial undo renames the backup back', async () => {
    const { session, conn } = fixture();
    const broken = ORDERS_V2.replace('amount DECIMAL(18,2)', 'amount DECIMAL(18,2) BOGUS');
    session.on((sql) => sql.includes('BOGUS'), {
      error: { code: 3706, text: "Syntax error: expected something between the word 'DECIMAL' and the word 'BOGUS'." },
    });
    const c = await planObjectChange(conn, step(table, [broken]), { ifExists: 'rename', now: NOW });
    let failedAt = -1;
    for (let i = 0; i < c.statements.length && failedAt < 0; i++) {
      await conn.execute(c.statements[i]!).catch((e: DbeeError) => {
        expect(e.code).toBe('SQL_SYNTAX');
        failedAt = i;
      });
    }
    expect(failedAt).toBe(1);
    expect(reverseAfterFailure(c, failedAt)).toEqual(['RENAME TABLE SALES.ORDERS_BKP_20261121T103000 TO SALES.ORDERS']);
    await apply(conn, reverseAfterFailure(c, failedAt)!);
    expect(session.catalog.get('SALES.ORDERS')!.show).toBe(ORDERS_V1);
    expect(session.catalog.has('SALES.ORDERS_BKP_20261121T103000')).toBe(false);
    expect(reverseAfterFailure(c, 0)).toEqual([]);
    expect(reverseAfterFailure(c, c.statements.length)).toEqual(c.reverse);
  });

  it('rename without copyData does not copy', async () => {
    const { conn } = fixture();
    const c = await planObjectChange(conn, step(table, [ORDERS_V2]), { ifExists: 'rename', now: NOW });
    expect(c.statements).toHaveLength(2);
  });

  it('drop: drops and recreates; the reverse recreates the old structure (rows are lost)', async () => {
    const { session, conn } = fixture();
    const c = await planObjectChange(conn, step(table, [ORDERS_V2]), { ifExists: 'drop' });
    expect(c.statements).toEqual(['DROP TABLE SALES.ORDERS', ORDERS_V2]);
    expect(c.reverse).toEqual(['DROP TABLE SALES.ORDERS', ORDERS_V1.replace(/;$/, '')]);
    expect(c.dataLoss).toBe(true);
    await apply(conn, c.statements);
    await apply(conn, c.reverse!);
    // SHOW TABLE of the re-created table is the same canonical text (the double canonicalises what it is given).
    expect(session.catalog.get('SALES.ORDERS')!.show).toBe(ORDERS_V1);
  });

  it('refuses when the name is taken by another kind of object', async () => {
    const { conn } = fixture();
    await expect(
      planObjectChange(conn, step({ ...table, name: 'V_ORDERS' }, ['CREATE TABLE SALES.V_ORDERS (a INT)']), {
        ifExists: 'drop',
      }),
    ).rejects.toMatchObject({
      code: 'OBJECT_KIND_CONFLICT',
    });
  });
});

describe('planObjectChange: views, macros, procedures', () => {
  it('replaces an existing view; the reverse is REPLACE with the SHOW text captured before', async () => {
    const { session, conn } = fixture();
    const src = 'CREATE VIEW sales.v_orders AS\nSELECT order_id, customer_id FROM sales.orders';
    const c = await planObjectChange(conn, step(view, [src], 'replace'), { ifExists: 'raise' });
    expect(c.statements).toEqual(['REPLACE VIEW sales.v_orders AS\nSELECT order_id, customer_id FROM sales.orders']);
    expect(c.reverse).toEqual([VIEW_V1.replace(/;$/, '')]);
    expect(c.previousDefinition).toBe(VIEW_V1);
    await apply(conn, c.statements);
    expect(session.catalog.get('SALES.V_ORDERS')!.show).toContain('customer_id');
    await apply(conn, c.reverse!);
    expect(session.catalog.get('SALES.V_ORDERS')!.show).toBe(VIEW_V1.replace(/;$/, ''));
  });

  it('creates a new macro with REPLACE; the reverse drops it', async () => {
    const { conn } = fixture();
    const src = 'CREATE MACRO sales.m AS (SELECT 1;)';
    const c = await planObjectChange(conn, step({ kind: 'macro', schema: 'SALES', name: 'M' }, [src]), {
      ifExists: 'raise',
    });
    expect(c).toMatchObject({
      statements: ['REPLACE MACRO sales.m AS (SELECT 1;)'],
      reverse: ['DROP MACRO SALES.M'],
      existed: false,
    });
  });

  it('expands {{var}} placeholders in the key and statements before looking at the database', async () => {
    const session = new FakeTeradataSession({
      objects: { 'DEV_SALES.V': { tableKind: 'V', show: 'REPLACE VIEW DEV_SALES.V AS SELECT 1 AS x' } },
    });
    const conn = createFakeConnection(session);
    const c = await planObjectChange(
      conn,
      step(
        { kind: 'view', schema: '{{env}}_SALES', name: 'v' },
        ['REPLACE VIEW {{env}}_SALES.v AS SELECT 2 AS x'],
        'replace',
      ),
      {
        ifExists: 'raise',
        variables: { env: 'dev' },
      },
    );
    expect(c.statements).toEqual(['REPLACE VIEW dev_SALES.v AS SELECT 2 AS x']);
    expect(c.reverse).toEqual(['REPLACE VIEW DEV_SALES.V AS SELECT 1 AS x']);
    expect(session.log.find((l) => l.sql.includes('DBC.TablesV'))!.params).toEqual(['DEV_SALES', 'V']);
  });

  it('a dropped view can be brought back from its SHOW text; a dropped table cannot', async () => {
    const { conn } = fixture();
    const v = await planObjectChange(conn, step(view, ['DROP VIEW SALES.V_ORDERS'], 'drop'), { ifExists: 'raise' });
    expect(v.reverse).toEqual([VIEW_V1.replace(/;$/, '')]);
    const t = await planObjectChange(conn, step(table, ['DROP TABLE SALES.ORDERS'], 'drop'), { ifExists: 'raise' });
    expect(t).toMatchObject({ reverse: null, dataLoss: true });
  });
});

describe('prepareTeradataPlan', () => {
  it('plans every step before anything runs, and the reverses undo the whole plan in reverse order', async () => {
    const { session, conn } = fixture();
    const before = new Map(session.catalog);
    const plan: Plan = {
      formatVersion: PLAN_FORMAT_VERSION,
      engine: 'teradata',
      projects: ['sales'],
      sourceCommit: null,
      baseFingerprint: null,
      steps: [
        step(table, [ORDERS_V2], 'create', 1),
        step(view, ['REPLACE VIEW sales.v_orders AS SELECT order_id, amount FROM sales.orders'], 'replace', 2),
        step(
          { kind: 'view', schema: 'SALES', name: 'V_NEW' },
          ['CREATE VIEW sales.v_new AS SELECT 1 AS one'],
          'create',
          3,
        ),
      ],
    };
    const { plan: prepared, changes } = await prepareTeradataPlan(conn, plan, {
      ifExists: (s) => (s.objectKey.kind === 'table' ? 'rename' : 'raise'),
      now: NOW,
    });
    expect(changes.map((c) => c.existed)).toEqual([true, true, false]);
    for (const s of prepared.steps) await apply(conn, s.statements);
    expect(session.catalog.has('SALES.V_NEW')).toBe(true);
    for (const s of [...prepared.steps].reverse()) await apply(conn, s.reverse!);
    expect(new Map([...session.catalog].map(([k, v]) => [k, v.show]))).toEqual(
      new Map([...before].map(([k, v]) => [k, v.show])),
    );
  });
});

describe('planObjectChange: conflicts on REPLACE and tables under a join index (issue #17)', () => {
  const created = (o: ObjectKey, sql: string) => step(o, [sql], 'create');

  it('a view the step creates but that exists is a conflict although the source says REPLACE: raise refuses, rename and drop keep it', async () => {
    const { session, conn } = fixture();
    const src = 'REPLACE VIEW SALES.V_ORDERS AS SELECT ORDER_ID, CUSTOMER_ID FROM SALES.ORDERS';
    await expect(planObjectChange(conn, created(view, src), { ifExists: 'raise' })).rejects.toMatchObject({
      code: 'OBJECT_EXISTS',
    });
    const renamed = await planObjectChange(conn, created(view, src), { ifExists: 'rename', now: NOW });
    expect(renamed.statements).toEqual(['RENAME VIEW SALES.V_ORDERS TO SALES.V_ORDERS_BKP_20261121T103000', src]);
    expect(renamed.reverse).toEqual([
      'DROP VIEW SALES.V_ORDERS',
      'RENAME VIEW SALES.V_ORDERS_BKP_20261121T103000 TO SALES.V_ORDERS',
    ]);
    const dropped = await planObjectChange(conn, created(view, src), { ifExists: 'drop' });
    expect(dropped.statements).toEqual(['DROP VIEW SALES.V_ORDERS', src]);
    // The reverse is the SHOW text it replaced.
    expect(dropped.reverse).toEqual(['DROP VIEW SALES.V_ORDERS', VIEW_V1]);
    await apply(conn, dropped.statements);
    await apply(conn, dropped.reverse!);
    expect(session.catalog.get('SALES.V_ORDERS')!.show).toBe(VIEW_V1);
  });

  it('rename of a table with a join index drops the index first and creates it again after; the reverse does the same', async () => {
    const { session, conn } = fixture();
    const ji = 'CREATE JOIN INDEX SALES.JI AS SELECT ORDER_ID, CUSTOMER_ID FROM SALES.ORDERS PRIMARY INDEX (ORDER_ID)';
    await session.run(ji);
    const c = await planObjectChange(conn, step(table, [ORDERS_V2]), { ifExists: 'rename', now: NOW });
    expect(c.statements).toEqual([
      'DROP JOIN INDEX SALES.JI',
      'RENAME TABLE SALES.ORDERS TO SALES.ORDERS_BKP_20261121T103000',
      ORDERS_V2,
      ji,
    ]);
    expect(c.reverse).toEqual([
      'DROP JOIN INDEX SALES.JI',
      'DROP TABLE SALES.ORDERS',
      'RENAME TABLE SALES.ORDERS_BKP_20261121T103000 TO SALES.ORDERS',
      ji,
    ]);
    await apply(conn, c.statements);
    await apply(conn, c.reverse!);
    expect(session.catalog.get('SALES.ORDERS')!.show).toBe(ORDERS_V1);
    expect(session.catalog.get('SALES.JI')!.tableKind).toBe('I');
  });

  it('a plain drop of a table drops its join index first, and says so', async () => {
    const { session, conn } = fixture();
    await session.run('CREATE JOIN INDEX SALES.JI AS SELECT ORDER_ID FROM SALES.ORDERS PRIMARY INDEX (ORDER_ID)');
    const c = await planObjectChange(conn, step(table, ['DROP TABLE SALES.ORDERS'], 'drop'), { ifExists: 'raise' });
    expect(c.statements).toEqual(['DROP JOIN INDEX SALES.JI', 'DROP TABLE SALES.ORDERS']);
    expect(c.notes).toEqual(['join-index SALES.JI is defined on it: dropped first']);
    await apply(conn, c.statements);
    expect(session.catalog.size).toBe(1);
  });
});
