import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

/** The ledger's shape (issue #57): small stores, and one place that builds the ledger of a session. */
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

  test('is built by openLedger only, in core and the CLI', () => {
    const built = [...sources(CORE), ...sources(join(PACKAGES, 'cli', 'src'))]
      .filter((f) => /\bnew Ledger\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(PACKAGES, f));
    expect(built).toEqual([join('core', 'src', 'ledger', 'open-ledger.ts')]);
  });
});
