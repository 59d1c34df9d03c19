import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

/**
 * The layers of core (CONTRIBUTING.md, "Layers"): `operations/` is the top, one module per command over everything
 * else; no folder below it imports from it, not even a type, not even in a test. Only `index.ts`, the package's public
 * API, does. What an operation shares with the layers below (its context, the loading of models, the deploy report)
 * lives below it, in `context/` and `runner/`.
 */
const SRC = __dirname;
const TOP = join(SRC, 'operations');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module a file imports, re-exports or loads (`import()`, `require`), with its line, resolved when relative. */
function importsOf(
  file: string,
  text = readFileSync(file, 'utf8'),
): { line: number; spec: string; path: string | null }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => ({
    line: source.getLineAndCharacterOfPosition(f.pos).line + 1,
    spec: f.fileName,
    path: f.fileName.startsWith('.') ? resolve(dirname(file), f.fileName) : null,
  }));
}

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);

describe('layers of core', () => {
  test('nothing below operations/ imports from it (index.ts, the public API, excepted)', () => {
    const below = sourceFiles(SRC).filter((f) => !inside(f, TOP) && f !== join(SRC, 'index.ts'));
    expect(below.length).toBeGreaterThan(100);
    const upward = below.flatMap((file) =>
      importsOf(file)
        .filter((i) => i.path !== null && inside(i.path, TOP))
        .map((i) => `${relative(SRC, file)}:${i.line} imports ${i.spec}`),
    );
    expect(upward).toEqual([]);
  });

  test('the check reads every kind of import, with its line', () => {
    // A type import, a re-export and a dynamic import, as the test above sees them.
    const probe = join(SRC, 'fleet', 'probe.ts');
    const text = [
      "import type { A } from '../operations/a';",
      "export { b } from '../operations/b';",
      "const c = () => import('../operations/c');",
    ].join('\n');
    expect(importsOf(probe, text).map((i) => [i.line, i.path !== null && inside(i.path, TOP)])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
  });
});
