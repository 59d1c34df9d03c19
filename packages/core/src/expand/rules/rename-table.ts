import { tk } from './classification';
import { nothing, type ExpandRule } from './rule';

/** A table renamed: the new version schema's view keeps the new name over the old table; renamed at complete. */
export const renameTable: ExpandRule<'rename-table'> = {
  validate() {},
  plan(c, s) {
    s.renamedTables.set(tk(c.table.schema, c.from), c.to);
    s.summary.push(`rename table ${c.table.schema}.${c.from} to ${c.to}`);
  },
  expand: nothing,
  complete: (p, sql) => ({ renameTable: [sql.rename(p.table)] }),
  abort: nothing,
  completes: (c, of) => of(c.table)?.t.name === c.from,
};
