import { statementRule } from './migration-statement';

/** `UPDATE` and `DELETE` have a WHERE clause. */
export const migrationWhereRequired = statementRule({
  name: 'migration-where-required',
  summary: 'UPDATE and DELETE in migrations have a WHERE clause.',
  why: 'A forgotten WHERE changes every row; when every row is meant, `WHERE true` says so.',
  bytebase: 'statement.where.require',
  defaultLevel: 'warning',
  examples: {
    forbid: 'DELETE FROM app.t;',
    allow: 'DELETE FROM app.t WHERE id < 10;',
  },
  judge: (code) =>
    /^(update|delete)\b/i.test(code) && !/\bwhere\b/i.test(code)
      ? `${code.split(/\s/)[0]!.toUpperCase()} without WHERE changes every row: add WHERE (WHERE true if that is meant)`
      : null,
});
