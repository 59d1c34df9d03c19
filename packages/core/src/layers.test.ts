import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

/**
 * The layers of core (CONTRIBUTING.md, "Layers of core"): its folders in one order, top first. A folder imports only
 * from its own level and the levels below it, not even a type, not even in a test beside the code; `operations/` is
 * the top and nothing below it imports from it (only `index.ts`, the package's public API, does). The imports that
 * run upward today are listed in `UPWARD` and that list can only shrink: a new upward import fails with its file and
 * line, and an entry that no longer occurs fails too, until it is taken off the list. No file imports itself back
 * through others (an import circle), whatever the levels say.
 */
const SRC = __dirname;

/** The folders of core, top first; the folders of one level may import each other. */
export const LEVELS: readonly (readonly string[])[] = [
  ['operations'],
  ['fleet'],
  ['pipeline'],
  ['diffing', 'package', 'promotion', 'notify', 'report', 'graph-view', 'docs-site', 'advise', 'lsp', 'blue-green', 'import'],
  ['context'],
  ['runner'],
  ['expand', 'check', 'policies'],
  ['smoke'],
  ['ledger'],
  ['planner'],
  ['engine'],
  ['plan'],
  ['schema'],
  ['sources'],
  ['model'],
  ['options'],
  ['config'],
];

/**
 * Today's imports against the order (`file -> folder/`), each to be mended by moving what it needs below it. Take an
 * entry off when it is mended; never add one: move the code instead.
 */
const UPWARD: readonly string[] = [];

/**
 * Today's circles between folders (each folder sorted, the circle listed by its folders in alphabetical order): what
 * the entries of `UPWARD` close. Take one off when it is mended; never add one.
 */
const FOLDER_CIRCLES: readonly string[] = [];

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
/** The folder of core a path is in (`null` for a file at the top of src/ or outside it). */
const folderOf = (path: string): string | null => {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 && parts[0] !== '..' ? parts[0] : null;
};
const rank = new Map(LEVELS.flatMap((level, i) => level.map((folder) => [folder, i] as const)));

/** The imports of `files` that run upward in `LEVELS` (keys `file -> folder/`, with their lines). */
function upward(files: readonly string[], read = (f: string) => readFileSync(f, 'utf8')) {
  const found = new Map<string, string[]>();
  for (const file of files) {
    const from = folderOf(file);
    if (from === null) continue;
    for (const i of importsOf(file, read(file))) {
      const to = i.path === null ? null : folderOf(i.path);
      if (to === null || to === from || rank.get(to)! >= rank.get(from)!) continue;
      const key = `${relative(SRC, file)} -> ${to}/`;
      found.set(key, [...(found.get(key) ?? []), `${relative(SRC, file)}:${i.line} imports ${i.spec}`]);
    }
  }
  return found;
}

/** The module a relative import names: `x.ts`, or `x/index.ts`. */
function moduleFile(path: string): string | null {
  for (const candidate of [`${path}.ts`, join(path, 'index.ts')]) if (existsSync(candidate)) return candidate;
  return path.endsWith('.ts') && existsSync(path) ? path : null;
}

/** The import circles among `files` (strongly connected components of two or more files, or a file importing itself). */
function circles(files: readonly string[]): string[][] {
  const edges = new Map(
    files.map((f) => [
      f,
      importsOf(f)
        .map((i) => (i.path === null ? null : moduleFile(i.path)))
        .filter((m): m is string => m !== null),
    ]),
  );
  // Tarjan's algorithm, iterative over the call stack it would use.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (start: string) => {
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1];
      const targets = edges.get(top.node) ?? [];
      if (top.edge < targets.length) {
        const to = targets[top.edge++];
        if (!edges.has(to)) continue;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== top.node);
        if (component.length > 1 || targets.includes(top.node)) found.push(component.sort());
      }
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found.map((c) => c.map((f) => relative(SRC, f)));
}

/**
 * The circles between folders: the strongly connected components of the graph whose nodes are core's folders and whose
 * edges are the imports between them (two or more folders that reach each other), each as `a ⇄ b ⇄ c`.
 */
function folderCircles(files: readonly string[], read = (f: string) => readFileSync(f, 'utf8')): string[] {
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const from = folderOf(file);
    if (from === null) continue;
    for (const i of importsOf(file, read(file))) {
      const to = i.path === null ? null : folderOf(i.path);
      if (to === null || to === from) continue;
      edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  const reach = (start: string) => {
    const seen = new Set([start]);
    const todo = [start];
    while (todo.length) for (const to of edges.get(todo.pop()!) ?? []) if (!seen.has(to) && seen.add(to)) todo.push(to);
    return seen;
  };
  const reached = new Map([...edges.keys()].map((f) => [f, reach(f)]));
  const found = new Set<string>();
  for (const [folder, seen] of reached) {
    const circle = [...seen].filter((other) => reached.get(other)?.has(folder)).sort();
    if (circle.length > 1) found.add(circle.join(' ⇄ '));
  }
  return [...found].sort();
}

describe('layers of core', () => {
  const files = sourceFiles(SRC);

  test('every folder of core has its level', () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.filter((f) => !rank.has(f))).toEqual([]);
    expect([...rank.keys()].filter((f) => !folders.includes(f))).toEqual([]);
  });

  test('nothing below operations/ imports from it (index.ts, the public API, excepted)', () => {
    const top = join(SRC, 'operations');
    const below = files.filter((f) => !inside(f, top) && f !== join(SRC, 'index.ts'));
    expect(below.length).toBeGreaterThan(100);
    const up = below.flatMap((file) =>
      importsOf(file)
        .filter((i) => i.path !== null && inside(i.path, top))
        .map((i) => `${relative(SRC, file)}:${i.line} imports ${i.spec}`),
    );
    expect(up).toEqual([]);
  });

  test('no import runs upward in the order but the listed ones, and every listed one still does', () => {
    const found = upward(files);
    const added = [...found].filter(([key]) => !UPWARD.includes(key)).flatMap(([, lines]) => lines);
    expect(added, 'imports against the order of LEVELS: move what they need below them').toEqual([]);
    const mended = UPWARD.filter((key) => !found.has(key));
    expect(mended, 'mended: take these off UPWARD').toEqual([]);
  });

  test('no circle between folders but the listed ones, and every listed one still closes', () => {
    const found = folderCircles(files);
    expect(
      found.filter((c) => !FOLDER_CIRCLES.includes(c)),
      'folders that import each other (through others too): move what one needs below it',
    ).toEqual([]);
    expect(
      FOLDER_CIRCLES.filter((c) => !found.includes(c)),
      'mended: take these off FOLDER_CIRCLES',
    ).toEqual([]);
  });

  test('the circle check sees two folders that import each other through a third', () => {
    const probe = (folder: string) => join(SRC, folder, 'probe.ts');
    const texts = new Map([
      [probe('runner'), "import { a } from '../expand/a';"],
      [probe('expand'), "import { b } from '../ledger/b';"],
      [probe('ledger'), "import type { C } from '../runner/c';"],
      [probe('model'), "import { d } from '../config/d';"],
    ]);
    expect(folderCircles([...texts.keys()], (f) => texts.get(f)!)).toEqual(['expand ⇄ ledger ⇄ runner']);
  });

  test('no PostgreSQL catalog name in core outside tests: the engine package keeps them behind its roles', () => {
    const catalog = /pg_catalog|pg_class|pg_settings|pg_stat_statements|pg_current_wal/;
    const named = files
      .filter((f) => !f.endsWith('.test.ts'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .flatMap((line, i) => (catalog.test(line) ? [`${relative(SRC, f)}:${i + 1}`] : [])),
      );
    expect(named, 'move the SQL into the engine package, behind a role of engine/engine.ts').toEqual([]);
  });

  test('no import circle between the files of core', () => {
    expect(circles(files)).toEqual([]);
  });

  test('no import circle in any package of the tree, nor between packages', () => {
    const root = join(SRC, '..', '..', '..');
    const packages = ['packages', 'plugins'].flatMap((top) =>
      readdirSync(join(root, top)).map((name) => join(root, top, name)),
    );
    const named = new Map<string, string>();
    for (const dir of packages) {
      const manifest = join(dir, 'package.json');
      if (existsSync(manifest)) named.set(JSON.parse(readFileSync(manifest, 'utf8')).name as string, dir);
    }
    const own = (dir: string) => (existsSync(join(dir, 'src')) ? sourceFiles(join(dir, 'src')) : []);
    // Within each package: the files' circles (a test file imports what it tests, nothing imports it).
    const found = [...named.values()].flatMap((dir) =>
      circles(own(dir).filter((f) => !/\.test\.ts$/.test(f))).map((c) => c.map((f) => relative(root, f))),
    );
    expect(found).toEqual([]);
    // Between packages: `@dbee/x` (or `@dbee/x/sub`) imported by another package's sources, as a graph of packages.
    const uses = new Map<string, Set<string>>();
    for (const [name, dir] of named) {
      const to = new Set<string>();
      for (const f of own(dir).filter((x) => !/\.test\.ts$/.test(x)))
        for (const i of importsOf(f)) {
          const target = [...named.keys()].find((n) => i.spec === n || i.spec.startsWith(`${n}/`));
          if (target && target !== name) to.add(target);
        }
      uses.set(name, to);
    }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      [...(uses.get(from) ?? [])].some((n) => n === to || (!seen.has(n) && (seen.add(n), reaches(n, to, seen))));
    expect([...named.keys()].filter((n) => reaches(n, n)).sort()).toEqual([]);
  });

  test('the checks read every kind of import, with its line, and see an import against the order', () => {
    // A type import, a re-export and a dynamic import, as the tests above see them.
    const probe = join(SRC, 'fleet', 'probe.ts');
    const text = [
      "import type { A } from '../operations/a';",
      "export { b } from '../operations/b';",
      "const c = () => import('../pipeline/c');",
      "import { d } from '../model/d';",
    ].join('\n');
    expect(
      importsOf(probe, text).map((i) => [i.line, i.path !== null && inside(i.path, join(SRC, 'operations'))]),
    ).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, false],
    ]);
    expect([...upward([probe], () => text)]).toEqual([
      [
        'fleet/probe.ts -> operations/',
        ['fleet/probe.ts:1 imports ../operations/a', 'fleet/probe.ts:2 imports ../operations/b'],
      ],
    ]);
  });

  test('every engine package has the same file set: its roles in the same folders, engine.ts wiring them', () => {
    const root = join(SRC, '..', '..', '..');
    const engines = ['postgres', 'teradata'].map((name) => join(root, 'packages', name, 'src'));
    // The folders every engine has (Kysely's dialects: one file set each), and what may sit at the top of src/.
    const common = ['catalog', 'connection', 'introspect', 'ledger', 'lock', 'parse', 'render', 'smoke'];
    for (const src of engines) {
      const entries = readdirSync(src, { withFileTypes: true });
      const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name);
      expect(
        common.filter((f) => !folders.includes(f)),
        `${relative(root, src)}: folders missing`,
      ).toEqual([]);
      const top = entries
        .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
        .map((e) => e.name)
        .sort();
      // lazy-roles.ts is engine.ts's wiring too: the roles' modules it loads on first use, apart because Vitest swaps
      // that module for test/support/lazy-roles.ts (Node's require does not load the sources under Vitest).
      expect(
        top.filter((f) => f !== 'lazy-roles.ts'),
        `${relative(root, src)}: a role's file belongs in its folder`,
      ).toEqual(['engine.ts', 'index.ts']);
    }
  });
});
