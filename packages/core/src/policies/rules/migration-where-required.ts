import { statementRule } from './migration-statement';

/** `UPDATE` and `DELETE` have a WHERE clause. */
export const migrationWhereRequired = statementRule({
  name: 'migration-where-required',
  summary: 'UPDATE and DELETE in migrations have a WHERE clause.',
  why: 'A forgotten WHERE changes every row; when every row is meant, `WHERE true` says so.',
  bytebase: 'statement.where.require',
  defaultLevel: 'warning',
  engines: ['postgres', 'teradata'],
  examples: {
    forbid: 'DELETE FROM app.t;',
    allow: 'DELETE FROM app.t WHERE id < 10;',
  },
  // Teradata's abbreviations `UPD` and `DEL` too; its `DELETE FROM t ALL` says every row is meant, as `WHERE true` does.
  judge: (code) =>
    /^(update|upd|delete|del)\b/i.test(code) && !/\bwhere\b/i.test(code) && !/^del(ete)?\b.*\ball\s*;?$/is.test(code)
      ? `${code.split(/\s/)[0]!.toUpperCase()} without WHERE changes every row: add WHERE (WHERE true if that is meant)`
      : null,
});
