import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DbeeAggregateError, DbeeError } from '../errors';

/** Every file under `dir`, folder-relative with `/`, sorted; hidden files and folders left out. */
export function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, path));
    else if (e.isFile()) out.push(path);
  }
  return out.sort();
}

/** A folder that must exist: else the refusal, naming it. */
export function requireFolder(folder: string, display: string, what: string): void {
  let dir = false;
  try {
    dir = statSync(folder).isDirectory();
  } catch {
    // Missing: said below.
  }
  if (!dir)
    throw new DbeeError(`${display}: no such folder`, {
      code: 'IMPORT_INVALID',
      hint: `name the folder that holds ${what}`,
    });
}

/** A file's text, a BOM removed. */
export function readText(path: string): string {
  const text = readFileSync(path, 'utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A file name's description part as dbee's file name takes it (`Create users!` → `Create_users`). */
export function slug(description: string): string {
  const s = description
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  return s || 'migration';
}

/** The 1-based line of `index` in `text`. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** A problem in the tool's folder, with its file (workspace- or folder-relative as the caller names it) and line. */
export function invalid(file: string, line: number | undefined, message: string, hint: string): DbeeError {
  return new DbeeError(message, {
    code: 'IMPORT_INVALID',
    location: line === undefined ? { file } : { file, line },
    hint,
  });
}

/** Throw the problems collected: one as itself, several together. */
export function throwAll(problems: DbeeError[], display: string): void {
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1)
    throw new DbeeAggregateError(`${problems.length} problems in ${display}: nothing was written`, problems);
}

/** Two migrations with one version: the second refused. */
export function duplicateVersions<T extends { version: string; file: string }>(
  migrations: T[],
  display: string,
  problems: DbeeError[],
): T[] {
  const seen = new Map<string, string>();
  const out: T[] = [];
  for (const m of migrations) {
    const first = seen.get(m.version);
    if (first) {
      problems.push(
        invalid(
          `${display}/${m.file}`,
          1,
          `version ${m.version} is used twice (${first} and ${m.file})`,
          'give each migration its own version, as the tool itself requires',
        ),
      );
      continue;
    }
    seen.set(m.version, m.file);
    out.push(m);
  }
  return out;
}

/** Numeric comparison of dotted versions (`1.10` after `1.9`). */
export function byVersion(a: { version: string }, b: { version: string }): number {
  const x = a.version.split('.').map(Number);
  const y = b.version.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
