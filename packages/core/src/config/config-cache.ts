import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { hash } from 'node:crypto';

/**
 * The values of the workspace's configuration files (`dbee.yaml`, every `db.yaml`), kept between runs in
 * `.dbee/cache/config-<key>.json` by path and digest of the text, so that a command reads them back instead of parsing
 * YAML. Parsing is what a command with nothing to do spent most on before it could plan: 0.3-0.5 ms a file for the
 * YAML library in a new process, 80-110 ms for the 200 `db.yaml` of an Nx batch, paid again by every CLI process.
 *
 * A file whose text changed is parsed again (the digest is of the whole text); the key of the cache file names the
 * YAML library's version and this format, so another version never reads these values. Only values JSON keeps as they
 * are (no `.inf`, `.nan`) are kept, and only of files that parsed without an error: a file with a mistake is parsed
 * every time and reported with its line. The line of a later validation error comes from parsing the text then
 * (`YamlFile` parses on first need). A read-only, missing or unreadable cache only loses the shortcut; two processes
 * saving at once each write a whole file of their own and rename it, the last wins.
 *
 * Beside a file's value it keeps what the file's schema made of it (`valid`, by the schema's name: defaults applied,
 * values converted), when the file passed its validation: a command whose files all come from here validates nothing
 * again and loads neither the schemas nor zod. The key of the cache file names the schemas' source too, so a value
 * validated by other schemas is never read back.
 */
export class ConfigCache {
  private readonly used = new Map<string, Entry>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly kept: ReadonlyMap<string, Entry>,
  ) {}

  static open(workspaceRoot: string): ConfigCache {
    const file = join(workspaceRoot, '.dbee', 'cache', `config-${FORMAT}.json`);
    let kept = new Map<string, Entry>();
    try {
      kept = new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, Entry>));
    } catch {
      // Not written yet, or unreadable: every file is parsed.
    }
    return new ConfigCache(file, kept);
  }

  /** The value kept for `path` when its text is still `text`; undefined when it must be parsed. */
  value(path: string, text: string): unknown {
    const entry = this.kept.get(path);
    if (!entry || entry.sha !== digest(text)) return undefined;
    this.used.set(path, entry);
    return entry.value;
  }

  /** Keep the value of a file just parsed without an error, when JSON holds it as it is. */
  keep(path: string, text: string, value: unknown): void {
    if (!keepsAsIs(value)) return;
    this.used.set(path, { sha: digest(text), value });
    this.changed = true;
  }

  /** What `schema` made of the value of `path` (text `text`) when it passed, or undefined when it must validate. */
  validated(path: string, text: string, schema: string): unknown {
    const entry = this.used.get(path);
    return entry && entry.sha === digest(text) ? entry.valid?.[schema] : undefined;
  }

  /** Keep what `schema` made of the value of `path`, kept already, when JSON holds it as it is. */
  keepValidated(path: string, text: string, schema: string, valid: unknown): void {
    const entry = this.used.get(path);
    if (!entry || entry.sha !== digest(text) || !keepsAsIs(valid)) return;
    this.used.set(path, { ...entry, valid: { ...entry.valid, [schema]: valid } });
    this.changed = true;
  }

  /**
   * Write the cache when it changed (a file parsed, or one it held is gone), before `Workspace.load` returns: one
   * small file, written only when the configuration changed, so nothing is left in flight for a caller that never
   * waits for background work (a workspace folder removed right after its load found it still being written).
   */
  save(): void {
    if (!this.changed && this.used.size === this.kept.size) return;
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(temporary, JSON.stringify(Object.fromEntries(this.used)));
      renameSync(temporary, this.file);
    } catch {
      // A read-only or vanished workspace: the next command parses again.
    }
  }
}

interface Entry {
  sha: string;
  value: unknown;
  /** What each schema made of `value`, by the schema's name (`workspace`, `project`). */
  valid?: Record<string, unknown>;
}

/** Whether JSON holds `value` as it is (no `undefined`, `Infinity`, `NaN`, date). */
function keepsAsIs(value: unknown): boolean {
  return value !== undefined && isDeepStrictEqual(JSON.parse(JSON.stringify(value)), value);
}

const digest = (text: string) => hash('sha256', text, 'hex').slice(0, 40);

/**
 * This format, the YAML library's version and the text of the schemas (schema.ts, and units.ts and kinds.ts, whose
 * conversions and values the schemas use, compiled or not, and zod's version): the values depend on the first two,
 * what the schemas made of them on the others.
 */
const FORMAT = digest(
  [
    'dbee-config-v2',
    (require('yaml/package.json') as { version: string }).version,
    (require('zod/package.json') as { version: string }).version,
    moduleSource('schema'),
    moduleSource('units'),
    moduleSource('kinds'),
  ].join('\0'),
).slice(0, 12);

/**
 * The text of module `name` in `dir` (beside this one by default): compiled (`.js`) in a package, the source (`.ts`)
 * when run from it. What a cache's key names when what it keeps depends on that code.
 */
export function moduleSource(name: string, dir: string = __dirname): string {
  for (const file of [`${name}.js`, `${name}.ts`]) {
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch {
      // Not this one.
    }
  }
  throw new Error(`no ${name}.js or ${name}.ts in ${dir}`);
}
