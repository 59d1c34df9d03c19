import { madeAtExpand, nothing, type ExpandRule } from './rule';

/** A table created: made at expand (the new version's view reads it), left by complete, dropped by abort. */
export const createTable: ExpandRule<'create-table'> = {
  validate() {},
  plan(c, s) {
    s.summary.push(`create table ${c.table.key.schema}.${c.table.key.name}`);
  },
  expand: (p, sql) => ({ create: [sql.create(p.table)] }),
  complete: nothing,
  abort: (p) => ({ dropTables: [p.table] }),
  completes: madeAtExpand,
};
