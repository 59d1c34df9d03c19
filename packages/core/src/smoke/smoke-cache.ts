import { hash } from 'node:crypto';
import { join } from 'node:path';
import { moduleSource } from '../config/config-cache';
import { canonicalJson } from '../plan/serialize';
import type { SmokeCheck } from '../model/smoke-check';
import { KeptPack } from '../planner/kept-pack';
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
 * as they are (a row holding `.inf` is read every time). It holds the files of the last load only (a `KeptPack`, as
 * the parse cache's).
 */
export class SmokeCache {
  private constructor(private readonly pack: KeptPack<SmokeCheck[]>) {}

  static open(cache: ParseCache, project: string, variables: Record<string, string>): SmokeCache {
    const name = digest(['dbee-smoke-v1', format(), cache.parser, project, canonicalJson(variables)].join('\0'));
    return new SmokeCache(KeptPack.open(join(cache.dir, `smoke-${name}.json`)));
  }

  /** The key of a smoke file's checks. */
  static key(path: string, text: string, searchPath: readonly string[]): string {
    return digest(`${path}\0${searchPath.join('\0')}\0\0${text}`);
  }

  /** The checks kept for `key` (a copy), or undefined when the file must be read. */
  checks(key: string): SmokeCheck[] | undefined {
    const kept = this.pack.get(key);
    return kept === undefined ? undefined : structuredClone(kept);
  }

  /** Keep the checks just read from a file without an error, when JSON holds them as they are. */
  keep(key: string, checks: SmokeCheck[]): void {
    if (jsonHolds(checks)) this.pack.put(key, checks);
  }

  /** Write the cache when it changed (a file read, or one it held gone), in the background. */
  save(): void {
    this.pack.save();
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
