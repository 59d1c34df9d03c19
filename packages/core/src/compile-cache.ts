import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

/**
 * The compiled code of the CommonJS modules a dbee process loads, kept between runs: Node >= 22.1 has its own
 * (`module.enableCompileCache`), used when it exists. On Node 20 compiling dbee's ~480 modules (zod, yaml, pg,
 * fast-glob, dbee itself) was the largest single cost of a `dbee deploy` with nothing to do (`wrapSafe`, a third of
 * the process's CPU time in a profile); V8's code cache, made after the modules ran, lets the next process skip it.
 *
 * One file per user, Node version, architecture and V8 flags (`options.v8Flags`) under `NODE_COMPILE_CACHE` or the
 * temporary folder; an entry is used only for the same file name with the same content (its MD5: V8 itself checks the
 * length only). Best effort: a cache that cannot be read or written is ignored. `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as on Node 22.
 * The cache holds code that runs: its folder must belong to the user running dbee and be writable by nobody else
 * (created so, `0700`); a folder someone else made or may write to (a shared temporary folder planted in advance) is
 * never read or written, the process compiles as usual.
 * A module whose source has `import(` is compiled by Node as usual (a `vm.Script` has no dynamic import on Node 20),
 * and so is every module under `--enable-source-maps`.
 */
export function enableCompileCache(options: CompileCacheOptions = {}): void {
  const v8Flags = options.v8Flags ?? [];
  for (const flag of v8Flags) setFlagsFromString(flag);
  const nodeCache = (Module as unknown as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof nodeCache === 'function') {
    nodeCache();
    return;
  }
  // With --enable-source-maps Node maps stack traces through the modules it compiles itself: left to it.
  const sourceMaps = (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;
  if (process.env.NODE_DISABLE_COMPILE_CACHE || sourceMaps || installed in globalThis) return;
  Object.defineProperty(globalThis, installed, { value: true });
  const cache = new CodeCache(cacheFile(v8Flags));
  const proto = Module.prototype as unknown as { _compile: Compile };
  const compile = proto._compile;
  proto._compile = function (this: Module, content: string, filename: string) {
    const fn = content.includes('import(') ? undefined : cache.compile(content, filename);
    return fn
      ? fn.call(this.exports, this.exports, requireOf(this), this, filename, dirname(filename))
      : compile.call(this, content, filename);
  };
  process.once('exit', () => cache.save());
}

/** Writes what this process compiled without the cache now (a long-running process: an Nx batch), not only at exit. */
export function saveCompileCache(): void {
  (globalThis as { [cacheKey]?: CodeCache })[cacheKey]?.save();
}

type Compile = (this: Module, content: string, filename: string) => unknown;
type Wrapper = (...args: unknown[]) => unknown;
const installed = Symbol.for('dbee.compileCache');
const cacheKey = Symbol.for('dbee.compileCache.instance');
/** Above this size, entries this process did not use are dropped when it writes the file. */
const KEEP_UNUSED_BELOW = 32 * 1024 * 1024;

/** What the process that installs the cache changes about V8. */
export interface CompileCacheOptions {
  /**
   * V8 flags set first (`v8.setFlagsFromString`), e.g. `['--turbo-filter=findStringEnd']` (the dbee command's). V8 refuses code cached
   * under other flags, so the cache file's name says them: processes with and without them do not rewrite each
   * other's file on every run. Default: none.
   */
  v8Flags?: readonly string[];
}

function cacheFile(v8Flags: readonly string[]): string {
  const user = process.getuid?.() ?? (process.env.USERNAME || 'user');
  const dir = process.env.NODE_COMPILE_CACHE || join(tmpdir(), `dbee-compile-cache-${user}`);
  const flags = v8Flags
    .map(
      (f) =>
        `-${f
          .replace(/[^a-z0-9]+/gi, ' ')
          .trim()
          .replace(/ /g, '-')}`,
    )
    .join('');
  return join(dir, `${process.version}-${process.arch}${flags}.bin`);
}

/**
 * Whether `dir` (made now if missing, `0700`) is a real folder of this process's user that no one else may write to.
 * Where there are no user ids (Windows) the temporary folder is the user's own.
 */
function ownPrivateFolder(dir: string): boolean {
  const uid = process.getuid?.();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (uid === undefined) return true;
    const folder = lstatSync(dir);
    return folder.isDirectory() && folder.uid === uid && (folder.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The `require` a module's wrapper receives, as Node makes it (resolve, cache, main, extensions). */
function requireOf(mod: Module): NodeJS.Require {
  const M = Module as unknown as {
    _resolveFilename(request: string, parent: Module, isMain: boolean, options?: object): string;
    _resolveLookupPaths(request: string, parent: Module): string[] | null;
    _extensions: NodeJS.RequireExtensions;
    _cache: NodeJS.Dict<NodeJS.Module>;
  };
  const require = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: object) =>
    M._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => M._resolveLookupPaths(request, mod);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = M._extensions;
  require.cache = M._cache;
  return require;
}

/** The entries read at start (name and content hash -> V8 code cache) and the scripts compiled without one. */
class CodeCache {
  private readonly stored = new Map<string, Buffer>();
  private readonly used = new Map<string, Buffer>();
  private fresh: [string, Script][] = [];

  private readonly trusted: boolean;

  constructor(private readonly file: string) {
    (globalThis as { [cacheKey]?: CodeCache })[cacheKey] = this;
    this.trusted = ownPrivateFolder(dirname(file));
    if (!this.trusted) return;
    try {
      const blob = readFileSync(file);
      const headerLength = blob.readUInt32LE(0);
      const index = JSON.parse(blob.subarray(4, 4 + headerLength).toString()) as [string, number][];
      let offset = 4 + headerLength;
      for (const [key, length] of index) {
        if (offset + length > blob.length) break;
        this.stored.set(key, blob.subarray(offset, offset + length));
        offset += length;
      }
    } catch {
      // no cache yet, or one this process cannot read: compile as usual
    }
  }

  /** The module's wrapper function, compiled with its cached code if there is some; undefined if it does not compile. */
  compile(content: string, filename: string): Wrapper | undefined {
    const key = `${filename}\0${createHash('md5').update(content).digest('base64')}`;
    const cachedData = this.stored.get(key);
    let script: Script;
    try {
      // A leading #! line is a comment to keep line numbers (inside the wrapper it would not parse).
      const source = Module.wrap(content.startsWith('#!') ? `//${content}` : content);
      script = new Script(source, { filename, cachedData });
    } catch {
      return undefined; // Node's own compile reports the error
    }
    if (cachedData && !script.cachedDataRejected) this.used.set(key, cachedData);
    else this.fresh.push([key, script]);
    return script.runInThisContext({ displayErrors: true }) as Wrapper;
  }

  /** Writes the file (to a temporary name, then renamed: concurrent processes never read half of one) if it changed. */
  save(): void {
    if (this.fresh.length === 0 || !this.trusted) return;
    try {
      for (const [key, script] of this.fresh) this.used.set(key, script.createCachedData());
      this.fresh = [];
      const entries = new Map(this.used);
      let size = [...entries.values()].reduce((n, b) => n + b.length, 0);
      // Kept from earlier runs: other modules (another command loads other ones), not an older content of one loaded.
      const loaded = new Set([...entries.keys()].map((key) => key.slice(0, key.indexOf('\0'))));
      for (const [key, data] of this.stored) {
        if (entries.has(key) || loaded.has(key.slice(0, key.indexOf('\0')))) continue;
        if (size + data.length > KEEP_UNUSED_BELOW) break;
        entries.set(key, data);
        size += data.length;
      }
      const header = Buffer.from(JSON.stringify([...entries].map(([key, data]) => [key, data.length])));
      const length = Buffer.alloc(4);
      length.writeUInt32LE(header.length);
      const temporary = `${this.file}.${process.pid}`;
      writeFileSync(temporary, Buffer.concat([length, header, ...entries.values()]));
      renameSync(temporary, this.file);
    } catch {
      // a cache that cannot be written: the next process compiles as usual
    }
  }
}
