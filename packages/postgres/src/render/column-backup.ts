import type { ChangeOf, SchemaModel } from '@dbee/core/schema';
import { formatKey } from '@dbee/core/schema';
import { backupName, backupSchema } from '../catalog/postgres-objects';
import { ident, qualified } from './quote';
import { columnDefinition } from './render-change';

/** The SQL of a dropped column whose values are kept (`deploy.keepDroppedColumns`), and the backup it keeps. */
export interface ColumnBackup {
  statements: string[];
  reverse: string[];
  /** `schema.name` of the backup table, recorded in the ledger's backups (`dbee cleanup` drops it when it expires). */
  backup: string;
}

/**
 * A column dropped with its values kept: they are copied first, with the table's primary key, into a table of the
 * backup schema (`<schema>_dbee_bak.<table>_<column>_bak_<stamp>`), then the column is dropped. The reverse adds the
 * column back (at the end of the table: PostgreSQL cannot place it), fills it from the backup by primary key, makes it
 * NOT NULL again when it was, and drops the backup. Null when the values cannot be put back by key: a table without a
 * primary key, a primary key column itself, a generated or identity column (its values are not written).
 */
export function columnBackup(change: ChangeOf<'drop-column'>, from: SchemaModel, stamp: string): ColumnBackup | null {
  const { table, column } = change;
  const live = from.tables.find((t) => formatKey(t.key) === formatKey(table));
  const pk = live?.constraints.find((c) => c.kind === 'primary-key')?.columns ?? [];
  if (!pk.length || pk.includes(column.name) || column.generated !== null || column.identity) return null;
  const schema = backupSchema(table.schema);
  const name = backupName(`${table.name}_${column.name}`, stamp);
  const backup = qualified(schema, name);
  const target = qualified(table.schema, table.name);
  const keys = pk.map(ident).join(', ');
  const col = ident(column.name);
  return {
    statements: [
      `CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`,
      `CREATE TABLE ${backup} AS SELECT ${keys}, ${col} FROM ${target}`,
      `ALTER TABLE ${target} DROP COLUMN ${col}`,
    ],
    reverse: [
      `ALTER TABLE ${target} ADD COLUMN ${columnDefinition({ ...column, notNull: false })}`,
      `UPDATE ${target} AS t SET ${col} = b.${col} FROM ${backup} AS b WHERE ${pk.map((k) => `t.${ident(k)} = b.${ident(k)}`).join(' AND ')}`,
      ...(column.notNull ? [`ALTER TABLE ${target} ALTER COLUMN ${col} SET NOT NULL`] : []),
      `DROP TABLE ${backup}`,
    ],
    backup: `${schema}.${name}`,
  };
}
