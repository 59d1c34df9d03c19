import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goalsTable, judge, writeDocs } from '../../tools/bench/goals';
import { median } from '../../tools/bench-monorepo';

// The benchmarks' verdicts (tools/bench/goals.ts): arithmetic only, no timing.
describe('benchmark goals', () => {
  it('takes the median of an even count of runs as the mean of the two middle ones (bench-monorepo --runs 2)', () => {
    expect(median([3, 1])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
  });

  it('judges the median, the worst pair of a margin, and gives no verdict on too few runs', () => {
    const base = { label: 'g', bound: 'max' as const, limit: 1.2 };
    expect(judge({ ...base, samples: [1.1, 1.3, 1.0, 1.15, 2.0] }).status).toBe('met');
    expect(judge({ ...base, samples: [1.3, 1.3, 1.0, 1.25, 2.0] }).status).toBe('NOT MET');
    expect(judge({ ...base, samples: [1.0, 1.0] }).status).toBe('too few runs');
    expect(judge({ ...base, samples: [] }).status).toBe('not measured');
    const margin = { label: 'peer', bound: 'min' as const, limit: 1.2, judge: 'worst' as const, minRuns: 3 };
    expect(judge({ ...margin, samples: [3, 1.5, 1.25] }).status).toBe('met');
    expect(judge({ ...margin, samples: [3, 3, 1.1] })).toMatchObject({ status: 'NOT MET', value: 1.1 });
  });

  it('rewrites only its own block of the docs, and only with --write-docs', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dbee-goals-')), 'performance.md');
    const text = 'before\n<!-- bench:x -->\nold\n<!-- /bench:x -->\nafter\n<!-- bench:y -->\nkept\n<!-- /bench:y -->\n';
    writeFileSync(file, text);
    const table = goalsTable([judge({ label: 'a | b', samples: [1, 1, 1, 1, 1], bound: 'max', limit: 1.2 })]);
    writeDocs('x', table, file);
    expect(readFileSync(file, 'utf8')).toBe(text);
    process.argv.push('--write-docs');
    try {
      writeDocs('x', table, file);
      expect(() => writeDocs('z', table, file)).toThrow(/no block <!-- bench:z -->/);
    } finally {
      process.argv.pop();
    }
    const out = readFileSync(file, 'utf8');
    expect(out).toContain('| a \\| b | median 1.00x (range 1.00x - 1.00x, 5 runs) | met |');
    expect(out).not.toContain('old');
    expect(out.startsWith('before\n<!-- bench:x -->\n')).toBe(true);
    expect(out.endsWith('<!-- /bench:x -->\nafter\n<!-- bench:y -->\nkept\n<!-- /bench:y -->\n')).toBe(true);
  });
});
