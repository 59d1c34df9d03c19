import { shadowName, type TablePlanning } from './column-planning';
import type { Column } from '../../schema/model';
import type { ExpandColumn, ExpandTable, NewColumnSql, ShadowColumnSql } from '../../engine/engine';
import type { AbortSlots, CompleteSlots, ExpandSlots } from './rule';

/** A column's part of a table. */
type ColumnPart = { table: ExpandTable; column: ExpandColumn };

/**
 * The lifecycle of a column the expand phase adds physically (`added` under its final name, or the `shadow` of an old
 * one): added with the sync trigger that fills it, NOT NULL as a `NOT VALID` check until complete validates it and
 * sets NOT NULL, dropped by abort. `add-column`, `alter-column-type` and `alter-column-nullability` share it.
 */
export const newColumn = {
  expand(p: ColumnPart, sql: NewColumnSql): Partial<ExpandSlots> {
    return {
      columns: sql.add(p.table, p.column),
      ...(p.column.notNull ? { checks: [sql.addNotNullCheck(p.table, p.column)] } : {}),
    };
  },
  complete(p: ColumnPart, sql: NewColumnSql): Partial<CompleteSlots> {
    return p.column.notNull
      ? {
          validateNotNull: [sql.validateNotNullCheck(p.table, p.column)],
          setNotNull: sql.setNotNull(p.table, p.column),
        }
      : {};
  },
  abort(p: ColumnPart, sql: NewColumnSql): Partial<AbortSlots> {
    return {
      ...(p.column.notNull ? { dropChecks: [sql.dropNotNullCheck(p.table, p.column)] } : {}),
      dropColumns: [sql.drop(p.table, p.column)],
    };
  },
};

/** A shadow column: a new column that takes the old one's place at complete (a type change, NOT NULL added). */
export const shadowColumn = {
  expand: newColumn.expand,
  complete(p: ColumnPart, sql: ShadowColumnSql): Partial<CompleteSlots> {
    return { ...newColumn.complete(p, sql), swapShadows: [sql.swap(p.table, p.column)] };
  },
  abort: newColumn.abort,
};

/** A shadow column's expressions: `up` fills it from the old columns, `down` writes the old column from it. */
export interface ShadowExpressions {
  up: string | null;
  down: string | null;
}

/**
 * A column of the new shape whose type or nullability changes: a shadow column of the new shape, swapped in at
 * complete. Refused on a primary key column, and where an index or constraint on the old column would go with it.
 * `expressions` are the kind's (`typeExpressions`, `notNullExpressions`).
 */
export async function plannedShadowColumn(
  t: TablePlanning,
  col: Column,
  from: string,
  expressions: () => ShadowExpressions | Promise<ShadowExpressions>,
): Promise<ExpandColumn> {
  const { old, live, schema } = t;
  if (old.constraints.some((k) => k.kind === 'primary-key' && k.columns.includes(from)))
    t.refuse(
      `${t.key}.${col.name} is part of the primary key: changing its type or nullability is not supported by the expand-contract strategy`,
      'deploy this change with the direct strategy',
    );
  // The old column goes at complete, and with it every index and constraint on it: refused rather than lost.
  const mentions = (text: string | null) =>
    text !== null && new RegExp(`\\b${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text);
  const onIt = [
    ...old.constraints
      .filter((k) => k.kind !== 'primary-key' && (k.columns.includes(from) || mentions(k.expression)))
      .map((k) => `constraint ${k.name}`),
    ...live.indexes
      .filter(
        (i) =>
          i.table.schema === schema &&
          i.table.name === old.key.name &&
          (i.columns.includes(from) || mentions(i.predicate) || (i.expression && mentions(i.definition))),
      )
      .map((i) => `index ${i.key.name}`),
  ];
  if (onIt.length)
    t.refuse(
      `${t.key}.${col.name}: changing its type or nullability would drop ${onIt.join(', ')} with the old column at complete; the expand-contract strategy does not move them to the new column yet`,
      'deploy this change with the direct strategy, or drop them first and create them again after the release',
    );
  const { up, down } = await expressions();
  return {
    name: col.name,
    kind: 'shadow',
    physical: shadowName(col.name),
    from,
    type: col.type,
    notNull: col.notNull,
    default: col.default,
    up,
    down,
  };
}
