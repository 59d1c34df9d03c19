import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { longFunctions } from '../../../../tools/function-lengths';
import { lockTableDdl, teradataLedgerMigrations } from '../ledger/teradata-ledger';

// Issue #92, deliverable 1: `bteq/` keeps BTEQ's control flow (`.IF ERRORCODE`, labels, the lock row's place, the
// dictionary guards) and names none of the ledger's tables: the script's ledger rows come from core's stores, recorded,
// and its questions to the ledger from `ledger/script-ledger.ts`. Read from the sources, as core's layers.test.ts reads
// its folders: a finding names the file and line.

const DIR = __dirname;
const sources = readdirSync(DIR)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => ({ file: f, lines: readFileSync(join(DIR, f), 'utf8').split('\n') }));

/** The ledger's table names, read from its DDL (every version, and the lock table). */
function ledgerTables(): string[] {
  const ddl = [...teradataLedgerMigrations('DBEE_LEDGER').flat(), lockTableDdl('DBEE_LEDGER')].join('\n');
  return [...new Set([...ddl.matchAll(/\bTABLE\s+DBEE_LEDGER\."(\w+)"/gi)].map((m) => m[1]!))].sort();
}

describe('bteq/ is BTEQ control flow (#92)', () => {
  it('names no ledger table: not as a quoted name, a string, or after FROM / INTO / UPDATE / JOIN / TABLE', () => {
    const tables = ledgerTables();
    expect(tables).toEqual(expect.arrayContaining(['backups', 'deployments', 'lock', 'objects', 'steps']));
    const found: string[] = [];
    for (const { file, lines } of sources) {
      for (const [i, line] of lines.entries()) {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue;
        for (const t of tables) {
          // A quoted name, a string (not a type's index, `Ledger['objects']`), a qualified name after a keyword, or a
          // regular expression's `\bname\b`.
          const named = new RegExp(
            String.raw`"${t}"|(?<!\[)'${t}'|\b(FROM|INTO|UPDATE|JOIN|TABLE)\s+(\$\{[^}]*\}|\w+)\.${t}\b|\\b${t}\\b`,
          );
          if (named.test(line)) found.push(`${file}:${i + 1}: ${t}: ${line.trim()}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('toBteq and toBteqRollback are at most 80 lines each, callbacks included: the stages are named functions', () => {
    // Measured as tools/function-lengths.ts measures core's operations (first token to closing brace).
    const measured = longFunctions('bteq.ts', readFileSync(join(DIR, 'bteq.ts'), 'utf8'), 0).filter((f) =>
      /^toBteq(Rollback)?( >|$)/.test(f.name),
    );
    expect(measured.map((f) => f.name)).toEqual(expect.arrayContaining(['toBteq', 'toBteqRollback']));
    expect(measured.filter((f) => f.lines > 80)).toEqual([]);
  });
});
