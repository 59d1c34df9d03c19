import { type ChangeOf, type Classification, of, tk } from './classification';

/** NOT NULL added: a shadow column checked NOT VALID, validated at complete. Dropping NOT NULL is refused. */
export function alterColumnNullability(c: ChangeOf<'alter-column-nullability'>, s: Classification): void {
  if (c.to) {
    of(s.notNullAdded, tk(c.table.schema, c.table.name), () => new Set()).add(c.column);
    s.summary.push(`add NOT NULL to ${c.table.schema}.${c.table.name}.${c.column}`);
  } else
    s.refuse(
      `${c.table.schema}.${c.table.name}.${c.column}: dropping NOT NULL is not supported by the expand-contract strategy`,
      'deploy this change with the direct strategy (dbee deploy --strategy direct) first',
    );
}
