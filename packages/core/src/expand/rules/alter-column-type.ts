import { type ChangeOf, type Classification, of, tk } from './classification';

/** A column retyped: a shadow column of the new type, filled by `up`, written back by `down`. */
export function alterColumnType(c: ChangeOf<'alter-column-type'>, s: Classification): void {
  of(s.typeChanged, tk(c.table.schema, c.table.name), () => new Set()).add(c.column);
  s.summary.push(
    `change the type of ${c.table.schema}.${c.table.name}.${c.column} from ${c.from.type} to ${c.to.type}`,
  );
}
