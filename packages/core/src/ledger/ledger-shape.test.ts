import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

/**
 * The ledger's shape (issues #57, #74): a record of small stores sharing one writer by reference, and one place that
 * builds the ledger of a session.
 */
const CORE = join(__dirname, '..');
const PACKAGES = join(CORE, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
  });
}

describe('the ledger', () => {
  test('no file of ledger/ is over 400 lines', () => {
    const long = sources(__dirname)
      .map((f) => [relative(CORE, f), readFileSync(f, 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 400);
    expect(long, 'split the store: one kind of row per file').toEqual([]);
  });

  test('is a record of stores, none of which extends another, built by openLedger only', () => {
    // The stores are the members of `Ledger` (ledger.ts), each a class of its own file.
    const record = readFileSync(join(__dirname, 'ledger.ts'), 'utf8');
    const stores = [...record.matchAll(/^ {2}readonly (\w+): (\w+);$/gm)].map((m) => m[2]!);
    expect(stores).toEqual([
      'LedgerTables',
      'LedgerBatch',
      'DeploymentStore',
      'StepStore',
      'ObjectStore',
      'BackupStore',
      'ReleaseStore',
    ]);
    const classes = sources(__dirname).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/\bclass (\w+)(?: extends (\w+))?/g)].map(
        (m) => [m[1]!, m[2] ?? null] as const,
      ),
    );
    // The writer is one object in two files: its storage (ledger-base.ts) and its request batching (ledger-writer.ts).
    expect(classes.filter(([, parent]) => parent !== null)).toEqual([['LedgerWriter', 'LedgerBase']]);
    // `tables` and `batch` are two narrow views of the one writer (types picked from it); the others are classes.
    for (const store of stores.slice(2)) expect(classes.map(([name]) => name)).toContain(store);
    const built = [
      ...sources(CORE),
      ...['cli', 'postgres', 'teradata'].flatMap((p) => sources(join(PACKAGES, p, 'src'))),
      ...sources(join(PACKAGES, '..', 'test')),
      ...sources(join(PACKAGES, '..', 'tools')),
    ]
      .filter((f) => new RegExp(`\\bnew (${[...stores, 'LedgerBase'].join('|')})\\(`).test(readFileSync(f, 'utf8')))
      .map((f) => relative(PACKAGES, f));
    expect(built).toEqual([join('core', 'src', 'ledger', 'open-ledger.ts')]);
  });

  test('no file outside ledger/ reaches the writer (`.writer.`): it goes through the stores, `tables` and `batch`', () => {
    const reached = [
      ...sources(CORE),
      ...['cli', 'postgres', 'teradata'].flatMap((p) => sources(join(PACKAGES, p, 'src'))),
      ...sources(join(PACKAGES, '..', 'plugins')),
      ...sources(join(PACKAGES, '..', 'tools')),
    ]
      .filter((f) => !f.startsWith(__dirname))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((line, i) => (/\.writer\b/.test(line) ? [`${relative(PACKAGES, f)}:${i + 1}`] : [])),
      );
    expect(reached).toEqual([]);
  });

  test('the runner takes the stores it writes, never the whole ledger', () => {
    // A value typed `Ledger` (`ledger: Ledger`, `as Ledger`, `Ledger | null`); `Pick<Ledger, ...>` and `RunnerLedger` pick stores.
    const whole = sources(join(CORE, 'runner')).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          /(?::|\bas|<|\|)\s*Ledger\b(?!\w)/.test(line.replace(/Pick<Ledger,/g, ''))
            ? [`${relative(CORE, f)}:${i + 1}`]
            : [],
        ),
    );
    expect(whole, 'take Pick<Ledger, ...> of the stores the function uses').toEqual([]);
    const releases = sources(join(CORE, 'runner')).filter((f) => /\.releases\b/.test(readFileSync(f, 'utf8')));
    expect(releases.map((f) => relative(CORE, f))).toEqual([]);
  });
});
