import { statementRule } from './migration-statement';

/** No `DROP ... CASCADE` or `TRUNCATE ... CASCADE` in a migration. */
export const migrationNoCascade = statementRule({
  name: 'migration-no-cascade',
  summary: 'Migrations drop and truncate without CASCADE.',
  why: 'CASCADE drops every view, key and function that depends on the object, whatever the author knew of them.',
  bytebase: 'statement.disallow-cascade',
  defaultLevel: 'error',
  engines: ['postgres'],
  examples: {
    forbid: 'DROP TABLE app.t CASCADE;',
    allow: 'DROP TABLE app.t;',
  },
  judge: (code) =>
    /^(drop|truncate)\b/i.test(code) && /\bcascade\s*$/i.test(code)
      ? 'CASCADE removes whatever depends on it: drop the dependents by name first'
      : null,
});
