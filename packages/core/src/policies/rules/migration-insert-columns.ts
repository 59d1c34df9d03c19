import { statementRule } from './migration-statement';

/** `INSERT` names its columns. */
export const migrationInsertColumns = statementRule({
  name: 'migration-insert-columns',
  summary: 'INSERT in migrations names its columns.',
  why: 'Without a column list the values go by position: a column added or reordered later shifts them silently.',
  bytebase: 'statement.insert.must-specify-column',
  defaultLevel: 'warning',
  engines: ['postgres', 'teradata'],
  examples: {
    forbid: "INSERT INTO app.t VALUES (1, 'a');",
    allow: "INSERT INTO app.t (id, name) VALUES (1, 'a');",
  },
  // Teradata's `INS` and its INSERT without INTO too.
  judge: (code) =>
    /^ins(?:ert)?\s+(?:into\s+)?(?:"[^"]*"|[\w$]+)(?:\s*\.\s*(?:"[^"]*"|[\w$]+))?\s*(?:as\s+\w+\s*)?(values|select|default|with)\b/i.test(
      code,
    )
      ? 'INSERT without a column list: name the columns'
      : null,
});
