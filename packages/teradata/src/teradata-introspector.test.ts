import { describe, expect, it } from 'vitest';
import { introspect, listChangedObjects } from './teradata-introspector';
import { compareDefinitions } from './teradata-normalize';
import { createFakeConnection, FakeTeradataSession } from '../testing/fake-connection';

const SHOW_ORDERS =
  'CREATE SET TABLE DEV_EDW.Orders ,NO FALLBACK ,\n     NO BEFORE JOURNAL,\n     NO AFTER JOURNAL,\n     CHECKSUM = DEFAULT,\n' +
  '     DEFAULT MERGEBLOCKRATIO,\n     MAP = TD_MAP1\n     (\n      ORDER_ID INTEGER NOT NULL,\n      NOTE VARCHAR(20) CHARACTER SET LATIN NOT CASESPECIFIC)\nUNIQUE PRIMARY INDEX ( ORDER_ID );';

function catalog(): FakeTeradataSession {
  return new FakeTeradataSession({
    objects: {
      'DEV_EDW.ORDERS': { tableKind: 'T', show: SHOW_ORDERS },
      'DEV_EDW.V_ORDERS': {
        tableKind: 'V',
        show: 'REPLACE VIEW dev_edw.v_orders AS SELECT order_id FROM dev_edw.orders;',
      },
      'DEV_EDW.STAGE': {
        tableKind: 'O',
        show: 'CREATE MULTISET TABLE DEV_EDW.STAGE ,FALLBACK (A INTEGER) NO PRIMARY INDEX;',
      },
    },
  })
    .on(/FROM DBC\.TablesV WHERE DatabaseName IN \(\?\)/, {
      rows: [
        // DBC returns names as created (mixed case) and CHAR columns with padding.
        {
          database_name: 'dev_edw',
          table_name: 'Orders',
          table_kind: 'T',
          protection_type: 'N',
          check_opt: 'Y',
          creator_name: 'ETL',
          last_alter_name: 'ALICE',
          last_alter_timestamp: new Date(Date.UTC(2026, 10, 20, 9, 15, 0)),
          partitioning_levels: 0,
          comment_string: null,
        },
        {
          database_name: 'DEV_EDW',
          table_name: 'STAGE',
          table_kind: 'O',
          protection_type: 'F',
          check_opt: 'N',
          creator_name: 'ETL',
          last_alter_name: 'ETL',
          last_alter_timestamp: '2026-11-01 08:00:00',
          partitioning_levels: 0,
          comment_string: 'landing',
        },
        {
          database_name: 'DEV_EDW',
          table_name: 'V_ORDERS',
          table_kind: 'V',
          protection_type: null,
          check_opt: null,
          creator_name: 'ETL',
          last_alter_name: 'ETL',
          last_alter_timestamp: '2026-11-02 08:00:00',
          partitioning_levels: null,
          comment_string: null,
        },
      ],
    })
    .on('FROM DBC.ColumnsQV', {
      rows: [
        {
          database_name: 'DEV_EDW',
          table_name: 'ORDERS',
          column_name: 'ORDER_ID',
          column_id: 1025,
          column_type: 'I ',
          column_length: 4,
          total_digits: null,
          fractional_digits: null,
          nullable: 'N',
        },
        {
          database_name: 'DEV_EDW',
          table_name: 'ORDERS',
          column_name: 'NOTE',
          column_id: 1026,
          column_type: 'CV',
          column_length: 20,
          total_digits: null,
          fractional_digits: null,
          nullable: 'Y',
        },
      ],
    })
    .on('FROM DBC.IndicesV', {
      rows: [
        {
          database_name: 'DEV_EDW',
          table_name: 'ORDERS',
          index_type: 'P',
          unique_flag: 'Y',
          column_name: 'ORDER_ID',
          column_position: 1,
        },
      ],
    });
}

describe('introspect', () => {
  it('reads the model with one query per object class plus one SHOW per object', async () => {
    const session = catalog();
    const objects = await introspect(createFakeConnection(session), { databases: ['dev_edw'] });
    const dbc = session.log.filter((l) => /DBC\./.test(l.sql));
    expect(dbc.map((l) => /FROM (DBC\.\w+)/.exec(l.sql)![1])).toEqual(['DBC.TablesV', 'DBC.ColumnsQV', 'DBC.IndicesV']);
    expect(dbc.every((l) => l.params.length === 1 && l.params[0] === 'DEV_EDW')).toBe(true);
    expect(session.log.filter((l) => l.sql.startsWith('SHOW')).map((l) => l.sql)).toEqual([
      'SHOW TABLE DEV_EDW.ORDERS',
      'SHOW TABLE DEV_EDW.STAGE',
      'SHOW VIEW DEV_EDW.V_ORDERS',
    ]);

    expect(objects.map((o) => `${o.kind}:${o.key.schema}.${o.key.name}`)).toEqual([
      'table:DEV_EDW.ORDERS',
      'table:DEV_EDW.STAGE',
      'view:DEV_EDW.V_ORDERS',
    ]);
    const orders = objects[0]!;
    expect(orders.attributes).toEqual({
      fallback: false,
      primaryIndex: { unique: true, columns: ['ORDER_ID'], partitioned: false },
      partitioningLevels: 0,
      tableKind: 'SET',
      partitioning: null,
    });
    expect(orders.columns.map((c) => [c.name, c.typeCode, c.nullable])).toEqual([
      ['ORDER_ID', 'I', false],
      ['NOTE', 'CV', true],
    ]);
    expect(orders).toMatchObject({
      creatorName: 'ETL',
      lastAlterName: 'ALICE',
      lastAlterTimeStamp: '2026-11-20 09:15:00',
      tableKindCode: 'T',
    });
    expect(orders.rawDefinition).toBe(SHOW_ORDERS);
    expect(objects[1]!.attributes).toMatchObject({ primaryIndex: null, fallback: true, tableKind: 'MULTISET' });
    expect(objects[1]!.commentString).toBe('landing');
  });

  it('gives definitions that compare equal to the sources', async () => {
    const [orders, , view] = await introspect(createFakeConnection(catalog()), { databases: ['DEV_EDW'] });
    const source =
      'CREATE SET TABLE dev_edw.orders (order_id INTEGER NOT NULL, note VARCHAR(20)) UNIQUE PRIMARY INDEX (order_id)';
    expect(compareDefinitions(source, orders!.rawDefinition!).equal).toBe(true);
    expect(
      compareDefinitions(
        'CREATE VIEW dev_edw.v_orders AS\n  SELECT order_id\n  FROM dev_edw.orders',
        view!.rawDefinition!,
      ).equal,
    ).toBe(true);
  });

  it('can skip SHOW', async () => {
    const session = catalog();
    const objects = await introspect(createFakeConnection(session), { databases: ['DEV_EDW'], definitions: false });
    expect(session.log.some((l) => l.sql.startsWith('SHOW'))).toBe(false);
    expect(objects[0]!.definition).toBeNull();
  });
});

describe('listChangedObjects', () => {
  it('filters by user and by hours, computed on the server, in one query', async () => {
    const session = new FakeTeradataSession().on('FROM DBC.TablesV', {
      rows: [
        {
          database_name: 'DEV_EDW',
          table_name: 'V_ORDERS',
          table_kind: 'V',
          creator_name: 'ETL',
          last_alter_name: 'ALICE',
          last_alter_timestamp: '2026-11-21 08:00:00',
          create_timestamp: '2026-01-01 00:00:00',
        },
      ],
    });
    const out = await listChangedObjects(createFakeConnection(session), {
      databases: ['dev_edw', 'dev_sales'],
      byUser: 'ALICE',
      since: { hours: 24 },
    });
    expect(out).toEqual([
      {
        key: { kind: 'view', schema: 'DEV_EDW', name: 'V_ORDERS' },
        tableKindCode: 'V',
        creatorName: 'ETL',
        lastAlterName: 'ALICE',
        lastAlterTimeStamp: '2026-11-21 08:00:00',
        createTimeStamp: '2026-01-01 00:00:00',
      },
    ]);
    const { sql, params } = session.log[0]!;
    expect(sql).toContain('WHERE DatabaseName IN (?, ?) AND TableKind IN (');
    expect(sql).toContain(
      "AND (LastAlterName = ? OR CreatorName = ?) AND LastAlterTimeStamp >= CURRENT_TIMESTAMP(0) - INTERVAL '24' HOUR(4) ORDER BY LastAlterTimeStamp DESC",
    );
    expect(params).toEqual(['DEV_EDW', 'DEV_SALES', 'ALICE', 'ALICE']);
  });

  it('has no cap: 4-digit hours, then exact days and hours; refuses beyond 9,999 days; binds a Date as its UTC fields', async () => {
    const session = new FakeTeradataSession().on('FROM DBC.TablesV', { rows: [] });
    const conn = createFakeConnection(session);
    await listChangedObjects(conn, { databases: ['X'], since: { hours: 168 } });
    expect(session.log[0]!.sql).toContain("CURRENT_TIMESTAMP(0) - INTERVAL '168' HOUR(4)");
    await listChangedObjects(conn, { databases: ['X'], since: new Date(Date.UTC(2026, 10, 1, 6, 0, 0)) });
    expect(session.log[1]!.sql).toContain('LastAlterTimeStamp >= CAST(? AS TIMESTAMP(0))');
    expect(session.log[1]!.params).toEqual(['X', '2026-11-01 06:00:00']);
    // 500 days and 5 hours: beyond 9,999 hours, exact.
    await listChangedObjects(conn, { databases: ['X'], since: { hours: 500 * 24 + 5 } });
    expect(session.log[2]!.sql).toContain("CURRENT_TIMESTAMP(0) - INTERVAL '500' DAY(4) - INTERVAL '5' HOUR(4)");
    await expect(listChangedObjects(conn, { databases: ['X'], since: { hours: 10000 * 24 } })).rejects.toThrow(
      /9,999 days/,
    );
  });
});
