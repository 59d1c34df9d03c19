import { describe, expect, it } from 'vitest';
import { listChangedObjects } from './teradata-introspector';
import { createFakeConnection, FakeTeradataSession } from '../../testing/fake-connection';

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
    expect(sql).toContain('WHERE UPPER(DatabaseName) IN (?, ?) AND TableKind IN (');
    expect(sql).toContain(
      "AND (UPPER(LastAlterName) = ? OR UPPER(CreatorName) = ?) AND LastAlterTimeStamp >= CURRENT_TIMESTAMP(0) - INTERVAL '24' HOUR(4) ORDER BY LastAlterTimeStamp DESC",
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
