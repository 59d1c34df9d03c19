import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type FastGlob from 'fast-glob';

/**
 * fast-glob, loaded when globs are to be matched (a project's `sources:`, dbee.yaml's `ignore:`, conflict rules, a
 * project's `migrations/` or `smoke/` folder): loading it cost every command ~14 ms, most of which need no glob.
 */
export const fastGlob = () => require('fast-glob') as typeof FastGlob;

/** A file found by a walk: its root-relative, `/`-separated path, and whether a symbolic link led to it. */
export interface FoundFile {
  path: string;
  viaLink: boolean;
}

/** Which entries a walk takes: folders it does not enter (by name, and by name at the top), files it returns. */
interface WalkRules {
  skipDir(name: string, top: boolean): boolean;
  takeFile(name: string): boolean;
}

/**
 * The object files of a project without a `sources:` setting, in one walk of its folder: what fast-glob returns for
 * `**\/*.sql` with the litter, `migrations/**`, `smoke/**` and `**\/node_modules/**` ignored, dot files and folders
 * left out, symbolic links followed (walk.test.ts compares the two on generated trees). fast-glob compiles its patterns
 * again on every call: 0.4-0.8 ms a project, most of a no-op deploy's source discovery in an Nx batch of 200
 * projects; this walk reads each folder once and compiles nothing.
 *
 * Of the litter patterns only `**\/.*` can name a `.sql` file. Of the folders they name, fast-glob leaves out those
 * named by a pattern without a wildcard (`Thumbs.db/`, `desktop.ini/`) and walks the others (`x.bak/`): so does this.
 */
export function sqlFilesOf(root: string): FoundFile[] {
  return walkFiles(root, SQL_FILES);
}

const SKIPPED_AT_TOP = new Set(['migrations', 'smoke']);
/** Folders never walked: `**\/node_modules/**`, and the two litter names without a wildcard (fast-glob prunes those). */
const SKIPPED = new Set(['node_modules', 'Thumbs.db', 'desktop.ini']);
const SQL_FILES: WalkRules = {
  skipDir: (name, top) => SKIPPED.has(name) || (top && SKIPPED_AT_TOP.has(name)),
  takeFile: (name) => name.endsWith('.sql'),
};

/**
 * The workspace's `db.yaml` files when dbee.yaml sets no `ignore:`: what fast-glob returns for `**\/db.yaml` with
 * `ALWAYS_IGNORED` (`node_modules/` and `dist/` folders anywhere; `.git/`, `.nx/`, `.dbee/` are dot folders, which
 * neither enters), in one walk that loads no glob library (walk.test.ts compares the two).
 */
export function projectFilesOf(root: string, file: string): FoundFile[] {
  return walkFiles(root, {
    skipDir: (name) => name === 'node_modules' || name === 'dist',
    takeFile: (name) => name === file,
  });
}

function walkFiles(root: string, rules: WalkRules): FoundFile[] {
  const found: FoundFile[] = [];
  walk(root, '', false, { found, rules }, [root]);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function walk(
  dir: string,
  prefix: string,
  viaLink: boolean,
  into: { found: FoundFile[]; rules: WalkRules },
  above: string[],
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    // A folder that vanished while walking is empty, as fast-glob has it; any other error is the caller's to see.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const entry of entries) {
    const name = entry.name;
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    const link = entry.isSymbolicLink();
    if (link) {
      try {
        const target = statSync(path);
        isDir = target.isDirectory();
        isFile = target.isFile();
      } catch {
        continue; // a broken link is no file
      }
    }
    if (isDir) {
      if (into.rules.skipDir(name, prefix === '')) continue;
      if (link && linksAbove(path, above)) continue;
      walk(path, `${prefix}${name}/`, viaLink || link, into, [...above, path]);
    } else if (isFile && into.rules.takeFile(name)) {
      into.found.push({ path: prefix + name, viaLink: viaLink || link });
    }
  }
}

/**
 * A link to a folder the walk is in (or to the project's own folder): fast-glob followed it until the system's limit
 * on links, listing the same files forty times over; it is not followed. Links are rare: the folders above are looked
 * up only when one is met.
 */
function linksAbove(path: string, above: string[]): boolean {
  const { dev, ino } = statSync(path);
  return above.some((dir) => {
    const s = statSync(dir);
    return s.dev === dev && s.ino === ino;
  });
}
