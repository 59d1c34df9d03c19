import { statementRule } from './migration-statement';

/** No `BEGIN`, `COMMIT` or `ROLLBACK` in a migration: dbee runs it in its own transaction. */
export const migrationNoTransactionControl = statementRule({
  name: 'migration-no-transaction-control',
  summary: 'Migrations contain no BEGIN, COMMIT, ROLLBACK or SAVEPOINT.',
  why: 'dbee runs a migration in a transaction with its ledger row; a COMMIT inside ends it early, and a failure after it cannot be undone.',
  bytebase: 'statement.disallow-commit',
  defaultLevel: 'error',
  engines: ['postgres', 'teradata'],
  examples: {
    forbid: 'UPDATE app.t SET a = 1 WHERE id = 1;\nCOMMIT;',
    allow: 'UPDATE app.t SET a = 1 WHERE id = 1;',
  },
  // Teradata's `BT`, `ET` and `ABORT` too (`BEGIN TRANSACTION`, `END TRANSACTION` and `ROLLBACK` are the words above).
  judge: (code) =>
    /^(begin|commit|rollback|end|start\s+transaction|savepoint|release|bt|et|abort)\b/i.test(code) &&
    !/^begin\s+atomic/i.test(code)
      ? `${code.split(/\s/)[0]!.toUpperCase()}: dbee runs each migration in a transaction of its own; take it out`
      : null,
});
