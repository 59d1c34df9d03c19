import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/**
 * A dump of a freshly initialised PGlite data folder. Starting a database from it takes about a fifth of the
 * time initdb takes (measured: ~0.37 s against ~2 s), which is most of the cost of a shadow build. Kept in
 * memory for the process and on disk under the workspace's `.dbee/cache`, keyed by the PGlite version and
 * {@link TEMPLATE_FORMAT}.
 *
 * It holds only the database PGlite connects to (`postgres`): initdb also makes `template0` and `template1`, which
 * only `CREATE DATABASE` reads, and PGlite serves a single database, so no shadow or embedded environment can use
 * another one. Each is a third of the dump's ~1,000 files, and loading the files is what a start from the
 * template spends its time on: without them a start takes about a quarter less (`npm run bench:pglite`).
 *
 * The dump is the same in every workspace of a machine (it depends on PGlite's version only), so it is also kept in
 * the machine's cache folder (`machineCacheDir`): a new workspace, a fresh CI checkout on a kept runner or another git
 * worktree starts from it instead of running initdb again (about 2 s of CPU, and 25 MB written per workspace).
 */
let inMemory: Promise<Blob> | null = null;

/** What the cached dump holds; a new value makes every workspace build its template again. 2: `postgres` only. */
const TEMPLATE_FORMAT = 2;

/** The databases initdb makes beside `postgres`, dropped from the template (see above). */
const UNUSED_DATABASES = ['template0', 'template1'];

export function pgliteTemplate(workspaceRoot: string): Promise<Blob> {
  inMemory ??= (async () => {
    const name = `pglite-${pgliteVersion()}-${TEMPLATE_FORMAT}.tar`;
    const files = [join(workspaceRoot, '.dbee', 'cache', name)];
    const machine = machineCacheDir();
    if (machine) files.push(join(machine, name));
    // Only the workspace's: the machine's folder may serve workspaces of other dbee (and PGlite) versions.
    removeStaleTemplates(dirname(files[0]!), files[0]!);
    return load(files);
  })().catch((e) => {
    inMemory = null;
    throw e;
  });
  return inMemory;
}

/**
 * Remove the templates of other PGlite versions or formats from the cache folder (25-40 MB each, left behind by
 * an upgrade), keeping `keep`. Files being written (`.tmp`) are not templates yet; one that cannot be removed stays.
 */
export function removeStaleTemplates(cacheDir: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(cacheDir);
  } catch {
    return; // no cache folder yet
  }
  for (const name of names) {
    const path = join(cacheDir, name);
    if (/^pglite-.+\.tar$/.test(name) && path !== keep) rmSync(path, { force: true });
  }
}

/**
 * The template's bytes, handed to PGlite as a Blob that it reads with `arrayBuffer()` (all it calls on
 * `loadDataDir`). Node's own Blob reads its 25 MB through a stream of chunks and concatenates them: ~70 ms per
 * database start here; a copy of the bytes takes a few. Each start gets its own copy, so nothing PGlite does to
 * the buffer reaches the next one.
 */
class TemplateBlob extends Blob {
  private readonly content: Uint8Array;
  constructor(content: Uint8Array) {
    super([content]); // every other way of reading it stays a Blob's
    this.content = content;
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    // Not `content.slice()`: on a Buffer (readFileSync's) that is a view, not a copy.
    const copy = new Uint8Array(this.content.byteLength);
    copy.set(this.content);
    return copy.buffer;
  }
}

/**
 * The machine's cache folder for what every workspace shares: `DBEE_CACHE_DIR`, else `$XDG_CACHE_HOME/dbee`, else
 * `~/.cache/dbee`; null when there is no home to put it in.
 */
export function machineCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.DBEE_CACHE_DIR) return env.DBEE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'dbee');
  let home = '';
  try {
    home = homedir();
  } catch {
    return null; // no home folder (a user without one): the workspace's cache alone
  }
  return home ? join(home, '.cache', 'dbee') : null;
}

/**
 * The template from the first of `files` that exists (the workspace's cache, then the machine's); else made now and
 * written to each of them that can be written (a read-only or missing home is no error: the workspace's copy stays).
 */
async function load(files: readonly string[]): Promise<Blob> {
  for (const file of files) if (existsSync(file)) return new TemplateBlob(readFileSync(file));
  const seed = new PGlite();
  try {
    await seed.waitReady;
    for (const name of UNUSED_DATABASES) {
      // Two requests: DROP DATABASE refuses to run in the implicit transaction of a multi-statement one.
      await seed.exec(`ALTER DATABASE ${name} IS_TEMPLATE false`);
      await seed.exec(`DROP DATABASE ${name}`);
    }
    await seed.exec('CHECKPOINT');
    const bytes = new Uint8Array(await (await seed.dumpDataDir('none')).arrayBuffer());
    files.forEach((file, i) => {
      try {
        mkdirSync(dirname(file), { recursive: true });
        // Write then rename: a concurrent process never reads half a template.
        writeFileSync(file + `.${process.pid}.tmp`, bytes);
        renameSync(file + `.${process.pid}.tmp`, file);
      } catch (e) {
        if (i === 0) throw e; // the workspace's own cache must be writable, as every cache file of dbee's
        rmSync(file + `.${process.pid}.tmp`, { force: true });
      }
    });
    return new TemplateBlob(bytes);
  } finally {
    await seed.close();
  }
}

function pgliteVersion(): string {
  // The package's exports map hides package.json; find it beside the resolved entry point.
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@electric-sql/pglite') return pkg.version ?? 'unknown';
    }
  }
  return 'unknown';
}
