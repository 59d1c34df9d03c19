import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fg from 'fast-glob';
import { afterEach, describe, expect, it } from 'vitest';
import { LITTER, MIGRATIONS_DIR, SMOKE_DIR } from './discover';
import { projectFilesOf, sqlFilesOf } from '../config/walk';
import { ALWAYS_IGNORED } from '../config/workspace';

/** What discoverSources asked fast-glob for a project without `sources:` (and still asks for one with them). */
const globbed = (root: string) =>
  fg
    .sync(['**/*.sql'], {
      cwd: root,
      dot: false,
      onlyFiles: true,
      ignore: [...LITTER, `${MIGRATIONS_DIR}/**`, `${SMOKE_DIR}/**`, '**/node_modules/**'],
    })
    .sort();

const walked = (root: string) => sqlFilesOf(root).map((f) => f.path);

let roots: string[] = [];
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});
function tree(files: string[], links: [string, string][] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'dbee-walk-'));
  roots.push(root);
  // A name drawn both as a folder and as a file is a folder.
  const folders = new Set(
    files.flatMap((f) =>
      f
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
    ),
  );
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    if (!folders.has(f)) writeFileSync(join(root, f), 'SELECT 1;\n');
  }
  for (const [at, target] of links) {
    if (folders.has(at) || files.includes(at)) continue;
    mkdirSync(dirname(join(root, at)), { recursive: true });
    symlinkSync(target, join(root, at));
  }
  return root;
}

/** A seeded generator (mulberry32): the same trees on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A generated tree for `seed`: 25 files at depths 0-3 with folder and file names drawn from `folders` and `names`,
 * a link at the top to the first folder drawn (a folder beside, not above, it) and, with `extraLinks`, more links.
 */
function generated(
  seed: number,
  folders: readonly string[],
  names: readonly string[],
  extraLinks: (files: string[], next: () => number) => [string, string][],
): { root: string; links: [string, string][] } {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const files: string[] = [];
  for (let i = 0; i < 25; i++) {
    const depth = Math.floor(next() * 4);
    files.push([...Array.from({ length: depth }, () => pick(folders)), pick(names)].join('/'));
  }
  const dirs = [...new Set(files.map((f) => dirname(f)).filter((d) => d !== '.'))];
  const links: [string, string][] = [];
  if (dirs.length && next() < 0.7) links.push([`linked${seed}`, dirs[0]!]);
  links.push(...extraLinks(files, next));
  return { root: tree(files, links), links };
}

/** Names that each rule of the globs treats differently: dot names, litter, the folders skipped, case, suffixes. */
const FOLDERS = [
  'schema',
  'views',
  '.hidden',
  'migrations',
  'smoke',
  'node_modules',
  'x.bak',
  'y~',
  '#z#',
  'Thumbs.db',
  'desktop.ini',
];
const FILES = [
  'a.sql',
  'B.SQL',
  '.dot.sql',
  'c.sql~',
  '#d.sql#',
  'e.sql.bak',
  'f.swp',
  'g.txt',
  'h.sql.orig',
  'desktop.ini',
  'i.pgsql',
  'j.sql',
];

describe('sqlFilesOf: the default sources in one walk, as fast-glob finds them', () => {
  it('finds the same files as the globs on 60 generated trees with litter, skipped folders, dot names and links', () => {
    for (let seed = 1; seed <= 60; seed++) {
      // Links: to a folder beside (not above) them, to a file, and a broken one.
      const { root, links } = generated(seed, FOLDERS, FILES, (files, next) => [
        ...(next() < 0.5 ? [['schema/to-file.sql', join('..', files[0]!)] as [string, string]] : []),
        ...(next() < 0.3 ? [['broken.sql', 'nowhere.sql'] as [string, string]] : []),
      ]);
      const [w, g] = [walked(root), globbed(root)];
      const only = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).join(', ');
      expect(
        w,
        `seed ${seed}: walk only [${only(w, g)}], globs only [${only(g, w)}]; links ${JSON.stringify(links)}`,
      ).toEqual(g);
    }
  });

  it('says which files a symbolic link led to (their real path is checked against the workspace)', () => {
    const root = tree(['schema/a.sql', 'shared/b.sql'], [['linked', 'shared']]);
    expect(sqlFilesOf(root)).toEqual([
      { path: 'linked/b.sql', viaLink: true },
      { path: 'schema/a.sql', viaLink: false },
      { path: 'shared/b.sql', viaLink: false },
    ]);
  });

  it('does not follow a link to a folder it is in (fast-glob listed the same files until the system refused)', () => {
    const up = tree(['a/b/x.sql', 'a/y.sql'], [['a/b/up', '..']]);
    expect(walked(up)).toEqual(['a/b/x.sql', 'a/y.sql']);
    expect(globbed(up).length).toBeGreaterThan(40);
    // More than one such link multiplies the paths fast-glob follows (3^40 with three): the walk is not fooled.
    const loops = tree(
      ['a/b/x.sql', 'a/y.sql'],
      [
        ['a/b/up', '..'],
        ['a/b/self', '.'],
        ['top', '.'],
      ],
    );
    expect(walked(loops)).toEqual(['a/b/x.sql', 'a/y.sql']);
  });
});

describe("projectFilesOf: the workspace's db.yaml files in one walk, as fast-glob finds them", () => {
  const DIRS = ['db', 'apps', 'node_modules', 'dist', '.git', '.nx', '.dbee', 'x.dist', 'distant', 'sales', 'core'];
  const NAMES = ['db.yaml', 'DB.yaml', 'db.yml', '.db.yaml', 'db.yaml.bak', 'a.sql'];
  const globbedProjects = (root: string) =>
    fg.sync('**/db.yaml', { cwd: root, ignore: ALWAYS_IGNORED, dot: false }).sort();

  it('finds the same files as the glob with the always-ignored folders on 60 generated trees with links', () => {
    for (let seed = 101; seed <= 160; seed++) {
      const { root, links } = generated(seed, DIRS, NAMES, (_files, next) =>
        next() < 0.3 ? [['gone', 'nowhere']] : [],
      );
      const w = projectFilesOf(root, 'db.yaml').map((f) => f.path);
      expect(w, `seed ${seed}; links ${JSON.stringify(links)}`).toEqual(globbedProjects(root));
    }
  });
});
