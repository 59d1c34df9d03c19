import { describe, expect, test } from 'vitest';
import type { ObjectKey } from '@dbee/core';
import { emptyModel, type Column, type SchemaModel, type Table } from '@dbee/core/schema';
import { columnBackup } from './column-backup';

const key: ObjectKey = { kind: 'table', schema: 'shop', name: 'customers' };
const col = (name: string, extra: Partial<Column> = {}): Column => ({
  name,
  type: 'text',
  default: null,
  identity: null,
  generated: null,
  collation: null,
  notNull: false,
  position: 1,
  dependsOn: [],
  attrs: {},
  ...extra,
});
const model = (pk: string[]): SchemaModel => {
  const table = {
    key,
    columns: [col('id'), col('note')],
    constraints: pk.length
      ? [
          {
            name: 'customers_pkey',
            kind: 'primary-key',
            columns: pk,
            expression: null,
            references: null,
            deferrable: false,
            initiallyDeferred: false,
          },
        ]
      : [],
  } as unknown as Table;
  return { ...emptyModel(), tables: [table] };
};

describe('a dropped column kept in a backup (deploy.keepDroppedColumns)', () => {
  test('copies the values with the primary key first; the reverse adds the column back, fills it and drops the backup', () => {
    const kept = columnBackup(
      { kind: 'drop-column', table: key, column: col('note', { notNull: true }) },
      model(['id']),
      '20261125t100000',
    );
    expect(kept).toEqual({
      statements: [
        'CREATE SCHEMA IF NOT EXISTS shop_dbee_bak',
        'CREATE TABLE shop_dbee_bak.customers_note_bak_20261125t100000 AS SELECT id, note FROM shop.customers',
        'ALTER TABLE shop.customers DROP COLUMN note',
      ],
      reverse: [
        'ALTER TABLE shop.customers ADD COLUMN note text',
        'UPDATE shop.customers AS t SET note = b.note FROM shop_dbee_bak.customers_note_bak_20261125t100000 AS b WHERE t.id = b.id',
        'ALTER TABLE shop.customers ALTER COLUMN note SET NOT NULL',
        'DROP TABLE shop_dbee_bak.customers_note_bak_20261125t100000',
      ],
      backup: 'shop_dbee_bak.customers_note_bak_20261125t100000',
    });
  });

  test('none without a primary key to put the values back by, nor for a generated or identity column', () => {
    const drop = (c: Column, pk: string[]) =>
      columnBackup({ kind: 'drop-column', table: key, column: c }, model(pk), 's');
    expect(drop(col('note'), [])).toBeNull();
    expect(drop(col('id'), ['id'])).toBeNull();
    expect(drop(col('note', { generated: "(id || '')" }), ['id'])).toBeNull();
    expect(drop(col('note', { identity: 'always' }), ['id'])).toBeNull();
  });
});
