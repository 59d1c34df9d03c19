import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { longFunctions } from '../../../../tools/function-lengths';

/**
 * Operations read top-down (CONTRIBUTING.md, "Layers of core"): no function of `operations/` (its subfolders
 * included) is over 80 lines, a long one is split into named steps.
 */
const MAX_LINES = 80;

describe('operations read top-down', () => {
  test(`no function of operations/ is over ${MAX_LINES} lines`, () => {
    // An operation's modules (operations/rollback/) are measured as the operation is.
    const files = readdirSync(__dirname, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    expect(files.length).toBeGreaterThan(20);
    const long = files
      .flatMap((f) =>
        longFunctions(
          relative(join(__dirname, '..'), join(__dirname, f)),
          readFileSync(join(__dirname, f), 'utf8'),
          MAX_LINES,
        ),
      )
      .map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
    expect(long).toEqual([]);
  });

  test('a callback is counted, named after the function it is written in', () => {
    const body = Array.from({ length: 5 }, (_, i) => `    const x${i} = ${i};`).join('\n');
    const text = `export async function outer() {\n  return run(async () => {\n${body}\n  });\n}\n`;
    expect(longFunctions('probe.ts', text, 4)).toEqual([
      { name: 'outer', file: 'probe.ts', line: 1, lines: 9 },
      { name: 'outer > (callback)', file: 'probe.ts', line: 2, lines: 7 },
    ]);
  });
});
