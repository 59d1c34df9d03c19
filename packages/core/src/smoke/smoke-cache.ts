import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCacheFile } from '../background';
import { moduleSource } from '../config/config-cache';
import { canonicalJson } from '../plan/serialize';
import type { SmokeCheck } from '../model/smoke-check';
import type { ParseCache } from '../planner/project-model';

/**
 * The checks read from a project's smoke files, kept between runs beside the parse cache (`.dbee/cache/parse`), one
 * file per project, set of variables and parser (engine, dbee's version), as the parse cache keeps its parses: a
 * deployment whose smoke files did not change reads their checks back instead of parsing YAML and validating it, so
 * the YAML library and zod (about 200 modules a process loads) do not load for them.
 *
 * An entry is a file's checks by its path, its text (placeholders expanded) and the search path. The file's name names
 * the code that makes the checks from the text (smoke-file.ts, smoke-schema.ts, units.ts, object-key.ts) and the
 * versions of the YAML library and zod, so checks made by other code are never read back. Only a file read without an
 * error is kept (a file with a mistake is read, and reported with its line, every time), and only checks JSON holds
 * as they are (a row holding `.inf` is read every time). It holds the files of the last load only; a read-only,
 * missing or unreadable cache only loses the shortcut, and two processes saving at once each write a whole file and
 * rename it, the last wins.
 */
export class SmokeCache {
  private readonly used = new Map<string, SmokeCheck[]>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly kept: ReadonlyMap<string, SmokeCheck[]>,
  ) {}

  static open(cache: ParseCache, project: string, variables: Record<string, string>): SmokeCache {
    const name = digest(['dbee-smoke-v1', format(), cache.parser, project, canonicalJson(variables)].join('\0'));
    const file = join(cache.dir, `smoke-${name}.json`);
    let kept = new Map<string, SmokeCheck[]>();
    try {
      kept = new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, SmokeCheck[]>));
    } catch {
      // Not written yet, or unreadable: every file is read.
    }
    return new SmokeCache(file, kept);
  }

  /** The key of a smoke file's checks. */
  static key(path: string, text: string, searchPath: readonly string[]): string {
    return digest(`${path}\0${searchPath.join('\0')}\0\0${text}`);
  }

  /** The checks kept for `key` (a copy), or undefined when the file must be read. */
  checks(key: string): SmokeCheck[] | undefined {
    const kept = this.kept.get(key);
    if (kept === undefined) return undefined;
    this.used.set(key, kept);
    return structuredClone(kept);
  }

  /** Keep the checks just read from a file without an error, when JSON holds them as they are. */
  keep(key: string, checks: SmokeCheck[]): void {
    if (!jsonHolds(checks)) return;
    this.used.set(key, checks);
    this.changed = true;
  }

  /** Write the cache when it changed (a file read, or one it held gone), in the background. */
  save(): void {
    if (!this.changed && this.used.size === this.kept.size) return;
    writeCacheFile(this.file, JSON.stringify(Object.fromEntries(this.used)));
  }
}

/**
 * Whether JSON gives `value` back as it is, but for object properties that are `undefined` (left out, as absent):
 * finite numbers, strings, booleans, null, arrays and plain objects of them.
 */
function jsonHolds(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => v !== undefined && jsonHolds(v));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.values(value).every((v) => v === undefined || jsonHolds(v));
  return false;
}

const digest = (text: string) => hash('sha256', text, 'hex').slice(0, 40);

let formatKey: string | undefined;

/** The code that makes a file's checks and the libraries it reads them with, as the cache file's name holds them. */
function format(): string {
  formatKey ??= digest(
    [
      (require('yaml/package.json') as { version: string }).version,
      (require('zod/package.json') as { version: string }).version,
      moduleSource('smoke-file', __dirname),
      moduleSource('smoke-schema', __dirname),
      moduleSource('units', join(__dirname, '..', 'config')),
      moduleSource('object-key', join(__dirname, '..', 'model')),
    ].join('\0'),
  );
  return formatKey;
}
