import { describe, expect, it } from 'vitest';
import type { CompatReport } from './compat';
import type { AppQuery } from './queries';
import { compatVerdict, type CompatOutcome } from './verdict';

const query = (origin: string): AppQuery => ({ text: 'SELECT 1', origin, references: [] });
const report = (over: Partial<CompatReport>): CompatOutcome => ({
  report: { checked: 2, broken: [], changed: [], unchecked: [], ...over },
});

const OUTCOMES: Record<string, CompatOutcome> = {
  clean: report({}),
  'result columns changed': report({ changed: [{ query: query('a.sql:1'), before: ['a int'], after: [], steps: [] }] }),
  broken: report({ broken: [{ query: query('a.sql:2'), error: 'column "x" does not exist', steps: [] }] }),
  'new query failing': report({
    next: { checked: 1, failing: [{ query: query('new.sql:1'), error: 'column "y" does not exist', steps: [] }] },
  }),
  'nothing checked': report({
    checked: 0,
    unchecked: [{ query: query('a.sql:1'), error: 'relation "t" does not exist' }],
  }),
  'empty source': report({ checked: 0 }),
  'empty new source': report({ next: { checked: 0, failing: [] } }),
  'not run': { notRun: "the copy of the target's schemas could not be made" },
};

/** The rule of docs/compat.md ("Exit codes"), as a table: what each mode makes of each outcome. */
const RULE: Record<string, Record<'fail' | 'warn' | 'off', 'refused' | 'warned' | 'ok'>> = {
  clean: { fail: 'ok', warn: 'ok', off: 'ok' },
  'result columns changed': { fail: 'ok', warn: 'ok', off: 'ok' },
  broken: { fail: 'refused', warn: 'warned', off: 'ok' },
  'new query failing': { fail: 'refused', warn: 'warned', off: 'ok' },
  'nothing checked': { fail: 'refused', warn: 'refused', off: 'ok' },
  'empty source': { fail: 'refused', warn: 'refused', off: 'ok' },
  'empty new source': { fail: 'refused', warn: 'refused', off: 'ok' },
  'not run': { fail: 'refused', warn: 'refused', off: 'ok' },
};

describe('compatVerdict: one rule for the dry run, the expand dry run, dbee check and the diff', () => {
  it.each(Object.keys(RULE))('%s', (name) => {
    for (const mode of ['fail', 'warn', 'off'] as const) {
      const v = compatVerdict(OUTCOMES[name]!, mode);
      const got = v === null ? 'ok' : 'refusal' in v ? 'refused' : 'warned';
      expect(got, `${name} with compat.mode ${mode}`).toBe(RULE[name]![mode]);
      if (v && 'refusal' in v) expect(v.refusal.exitCode).toBe(1);
    }
  });

  it('names the first broken query, and which application it belongs to', () => {
    const v = compatVerdict(OUTCOMES['new query failing']!, 'fail');
    expect(v && 'refusal' in v && v.refusal.message).toBe(
      `1 of the new application's 1 query fails on the new schema (first: new.sql:1: column "y" does not exist)`,
    );
    const w = compatVerdict(OUTCOMES.broken!, 'warn');
    expect(w && 'warning' in w && w.warning).toBe(
      `1 of the application's 2 queries would fail after this deployment (first: a.sql:2: column "x" does not exist) (compat.mode: warn)`,
    );
  });
});
