import { openLedger } from '@dbee/core';
import { describe, expect, it } from 'vitest';
import { createFakeConnection, FakeTeradataSession } from '../../testing/fake-connection';
import { teradataLedger } from '../ledger/teradata-ledger';
import {
  backupNameFromStamp,
  captureDefinition,
  existingObjects,
  renderCopyData,
  searchPathStatement,
  setAside,
} from './teradata-objects';

const ORDERS = 'CREATE MULTISET TABLE SALES.ORDERS (ID INTEGER NOT NULL, NOTE VARCHAR(10)) PRIMARY INDEX (ID)';
const VIEW = 'CREATE VIEW SALES.V AS SELECT ID FROM SALES.ORDERS';

function system() {
  return new FakeTeradataSession({
    objects: {
      'SALES.ORDERS': { tableKind: 'T', show: ORDERS, rows: [{ ID: 1, NOTE: 'a' }] },
      'SALES.V': { tableKind: 'V', show: VIEW },
      'SALES.JI': {
        tableKind: 'I',
        show: 'CREATE JOIN INDEX SALES.JI AS SELECT ID FROM SALES.ORDERS PRIMARY INDEX (ID)',
      },
    },
  });
}

describe('engine members for the core runner', () => {
  it('existingObjects: one DBC.TablesV query for all keys, and only objects of the same kind count', async () => {
    const session = system();
    const found = await existingObjects(createFakeConnection(session), [
      { kind: 'table', schema: 'SALES', name: 'ORDERS' },
      { kind: 'table', schema: 'SALES', name: 'V' },
      { kind: 'view', schema: 'sales', name: 'v' },
      { kind: 'table', schema: 'SALES', name: 'NOPE' },
    ]);
    expect([...found].sort()).toEqual(['table:SALES.ORDERS', 'view:sales.v']);
    expect(session.log.filter((l) => l.sql.includes('DBC.TablesV'))).toHaveLength(1);
  });

  it('captureDefinition: SHOW text, views as REPLACE, null when missing', async () => {
    const conn = createFakeConnection(system());
    expect(await captureDefinition(conn, { kind: 'view', schema: 'SALES', name: 'V' })).toBe(
      'REPLACE VIEW SALES.V AS SELECT ID FROM SALES.ORDERS',
    );
    expect(await captureDefinition(conn, { kind: 'table', schema: 'SALES', name: 'ORDERS' })).toBe(ORDERS);
    expect(await captureDefinition(conn, { kind: 'macro', schema: 'SALES', name: 'NOPE' })).toBeNull();
  });

  it('setAside: rename keeps a backup named from the stamp (and its columns for the copy), drop has no reverse for a table', async () => {
    const conn = createFakeConnection(system());
    const columns = new Map<string, string[]>();
    const table = { kind: 'table' as const, schema: 'SALES', name: 'ORDERS' };
    expect(await setAside(conn, table, 'rename', '20261121t103000', columns)).toEqual({
      statements: ['RENAME TABLE SALES.ORDERS TO SALES.ORDERS_BKP_20261121T103000'],
      reverse: ['RENAME TABLE SALES.ORDERS_BKP_20261121T103000 TO SALES.ORDERS'],
      backup: { ...table, name: 'ORDERS_BKP_20261121T103000' },
      // A table is built aside, then swapped in (#73 item 3): test/teradata/build-aside.test.ts.
      buildAside: expect.objectContaining({ statements: expect.any(Function), undoAt: expect.any(Function) }),
    });
    expect(renderCopyData({ ...table, name: 'ORDERS_BKP_20261121T103000' }, table, columns)).toBe(
      'INSERT INTO SALES.ORDERS (ID, NOTE) SELECT ID, NOTE FROM SALES.ORDERS_BKP_20261121T103000',
    );
    expect(await setAside(conn, table, 'drop', '20261121t103000')).toEqual({
      statements: ['DROP TABLE SALES.ORDERS'],
      reverse: null,
      backup: null,
    });
    expect(await setAside(conn, { kind: 'join-index', schema: 'SALES', name: 'JI' }, 'rename', 's')).toEqual({
      statements: ['DROP JOIN INDEX SALES.JI'],
      reverse: ['CREATE JOIN INDEX SALES.JI AS SELECT ID FROM SALES.ORDERS PRIMARY INDEX (ID)'],
      backup: null,
    });
    expect(await setAside(conn, { kind: 'view', schema: 'SALES', name: 'V' }, 'drop', 's')).toEqual({
      statements: ['DROP VIEW SALES.V'],
      reverse: ['REPLACE VIEW SALES.V AS SELECT ID FROM SALES.ORDERS'],
      backup: null,
    });
    expect(await setAside(conn, { kind: 'table', schema: 'SALES', name: 'NOPE' }, 'rename', 's')).toBeNull();
    expect(backupNameFromStamp('x'.repeat(200), '20261121t103000')).toHaveLength(128);
    expect(searchPathStatement(['DEV_EDW', 'OTHER'])).toBe('DATABASE DEV_EDW');
  });
});

describe('the core Ledger over the Teradata dialect (fake session)', () => {
  it('creates versions 1 to 3 one DDL request at a time, supplies ids, binds booleans as 1/0 and reads JSON text back', async () => {
    const session = new FakeTeradataSession();
    const ledger = openLedger(createFakeConnection(session), teradataLedger());
    expect(await ledger.tables.ensure()).toBe(3);
    expect(session.log.some((l) => l.sql.includes('autocommit_off'))).toBe(false);
    expect(await ledger.tables.ensure()).toBe(3);
    const id = await ledger.deployments.startDeployment({
      project: 'edw',
      environment: 'dev',
      kind: 'deploy',
      planChecksum: 'p',
      package: null,
      gitCommit: null,
      toolVersion: '0',
      osUser: 'me',
      ciJob: null,
      host: 'h',
      stepsTotal: 1,
    });
    expect(id).toBe(1);
    await ledger.steps.recordStep(id, {
      order: 1,
      objectKey: 'view:S.V',
      action: 'create',
      checksum: 'c',
      statements: ['REPLACE VIEW S.V AS SELECT 1 AS x'],
      reverse: ['DROP VIEW S.V'],
      previousDefinition: null,
      transactional: true,
      startedAt: new Date(),
      durationMs: 1,
      status: 'applied',
      error: null,
    });
    await ledger.objects.setObjectState('edw', 'view:S.V', 'c', id);
    await ledger.backups.recordBackup(id, 'table:S.T', 'S.T_BKP_1');
    await ledger.backups.recordBackup(id, 'table:S.U', 'S.U_BKP_1');
    await ledger.deployments.finishDeployment(id, 'succeeded', null, null, { transaction: 'object' });
    expect(session.log.find((l) => l.sql.startsWith('INSERT INTO DBEE_LEDGER."steps"'))!.params[8]).toBe(1);
    expect(await ledger.steps.of(id)).toEqual([
      expect.objectContaining({
        transactional: true,
        statements: ['REPLACE VIEW S.V AS SELECT 1 AS x'],
        reverse: ['DROP VIEW S.V'],
        previousChecksum: null,
      }),
    ]);
    expect((await ledger.backups.of(id)).map((b) => b.id)).toEqual([1, 2]);
    const [d] = await ledger.deployments.list('edw', 'dev');
    expect(d).toMatchObject({ id: 1, status: 'succeeded', steps_applied: 1, summary: { transaction: 'object' } });
    expect(typeof d!.started_at).toBe('string');
    expect(
      await ledger.deployments.startDeployment({
        project: 'edw',
        environment: 'dev',
        kind: 'deploy',
        planChecksum: 'p',
        package: null,
        gitCommit: null,
        toolVersion: '0',
        osUser: 'me',
        ciJob: null,
        host: 'h',
        stepsTotal: 0,
      }),
    ).toBe(2);
    expect(await ledger.deployments.ledgerBefore(2)).toEqual({ objects: { 'view:S.V': 'c' }, migrations: {} });
  });

  it('the fake refuses what Teradata would: a boolean parameter, NULL in NOT NULL, a duplicate unique primary index', async () => {
    const session = new FakeTeradataSession({
      objects: {
        'S.T': { tableKind: 'T', show: 'CREATE TABLE S.T (K INTEGER NOT NULL, V VARCHAR(5)) UNIQUE PRIMARY INDEX (K)' },
      },
    });
    const conn = createFakeConnection(session);
    await expect(conn.query('INSERT INTO S.T VALUES (?, ?)', [true, 'a'])).rejects.toThrow(/boolean/);
    await expect(conn.query('INSERT INTO S.T (V) VALUES (?)', ['a'])).rejects.toThrow(/3604/);
    await conn.query('INSERT INTO S.T VALUES (?, ?)', [1, 'a']);
    await expect(conn.query('INSERT INTO S.T VALUES (?, ?)', [1, 'b'])).rejects.toThrow(/2801/);
    await expect(conn.query('SELECT nope FROM S.T')).rejects.toThrow(/5628/);
    await expect(conn.query('SELECT * FROM S.MISSING')).rejects.toThrow(/3807/);
    expect((await conn.query('SELECT K, V FROM S.T WHERE V IN (?, ?) ORDER BY K DESC', ['a', 'z'])).rows).toEqual([
      { k: 1, v: 'a' },
    ]);
  });
});
