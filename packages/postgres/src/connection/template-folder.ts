import { existsSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';

/**
 * A new embedded database's folder written from the template dump (pglite-template.ts) by Node itself, as PGlite
 * would write it from `loadDataDir`: each file's bytes and modification time, each folder, nothing else. PGlite
 * writes the dump's ~400 entries through its emulated file system, one call at a time, which took about twice the CPU
 * of this (0.55 s against 0.3 s for the whole open, measured on the 2-core machine): every new embedded environment
 * (a first `dbee deploy`, each test of the suite's PGlite legs) paid it.
 *
 * The files go to a folder beside `dataDir` that is renamed into place at the end, so a process killed half-way
 * leaves no half-made database where the next open would take it for a whole one. Returns true when `dataDir` holds
 * the database (this call's, or another process's that was renamed into place first); false, writing nothing, when
 * the dump is not a plain tar this reader knows (PGlite's `dumpDataDir('none')`) or `dataDir` holds something else:
 * the caller then hands the dump to PGlite as before.
 */
export function writeTemplateFolder(dataDir: string, dump: Uint8Array): boolean {
  const entries = tarEntries(dump);
  if (!entries) return false;
  const staging = `${dataDir}.new-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(staging, { recursive: true });
    for (const e of entries) {
      const path = join(staging, e.name);
      if (e.dir) {
        mkdirSync(path, { recursive: true });
        continue;
      }
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, dump.subarray(e.offset, e.offset + e.size));
      utimesSync(path, e.mtime, e.mtime);
    }
    renameSync(staging, dataDir);
    return true;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    // A folder is there already: a whole database another process renamed into place first is opened as it is;
    // anything else is left to PGlite, which knows what to do with it.
    return existsSync(join(dataDir, 'PG_VERSION'));
  }
}

interface TarEntry {
  /** The path inside the data folder, without a leading `/`. */
  name: string;
  dir: boolean;
  /** Where the file's bytes start in the dump, and how many. */
  offset: number;
  size: number;
  /** Modification time, in seconds. */
  mtime: number;
}

/** The entries of a ustar archive of files and folders only; null for anything else (compressed, links, `..`). */
function tarEntries(tar: Uint8Array): TarEntry[] | null {
  const text = (at: number, length: number) => {
    const field = tar.subarray(at, at + length);
    const end = field.indexOf(0);
    return Buffer.from(field.subarray(0, end < 0 ? length : end)).toString('latin1');
  };
  const octal = (at: number, length: number) => Number.parseInt(text(at, length).trim() || '0', 8);
  const entries: TarEntry[] = [];
  let at = 0;
  while (at + 512 <= tar.length && tar[at] !== 0) {
    if (!text(at + 257, 6).startsWith('ustar')) return null;
    const prefix = text(at + 345, 155);
    const name = normalize((prefix ? `${prefix}/` : '') + text(at, 100)).replace(/^[/\\]+/, '');
    const type = String.fromCharCode(tar[at + 156]!);
    const size = octal(at + 124, 12);
    if (!name || name === '.' || name.split(sep).includes('..')) return null;
    if (type !== '0' && type !== '\0' && type !== '5') return null;
    entries.push({ name, dir: type === '5', offset: at + 512, size, mtime: octal(at + 136, 12) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return entries.length > 0 && at <= tar.length ? entries : null;
}
