import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
 */
let inMemory: Promise<Blob> | null = null;

/** What the cached dump holds; a new value makes every workspace build its template again. 2: `postgres` only. */
const TEMPLATE_FORMAT = 2;

/** The databases initdb makes beside `postgres`, dropped from the template (see above). */
const UNUSED_DATABASES = ['template0', 'template1'];

export function pgliteTemplate(workspaceRoot: string): Promise<Blob> {
  inMemory ??= (async () => {
    const file = join(workspaceRoot, '.dbee', 'cache', `pglite-${pgliteVersion()}-${TEMPLATE_FORMAT}.tar`);
    removeStaleTemplates(dirname(file), file);
    return load(file);
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

async function load(file: string): Promise<Blob> {
  if (existsSync(file)) return new TemplateBlob(readFileSync(file));
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
    mkdirSync(dirname(file), { recursive: true });
    // Write then rename: a concurrent process never reads half a template.
    writeFileSync(file + `.${process.pid}.tmp`, bytes);
    renameSync(file + `.${process.pid}.tmp`, file);
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
