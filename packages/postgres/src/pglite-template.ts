import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/**
 * A dump of a freshly initialised PGlite data folder. Starting a database from it takes about a fifth of the
 * time initdb takes (measured: ~0.37 s against ~2 s), which is most of the cost of a shadow build. Kept in
 * memory for the process and on disk under the workspace's `.dbee/cache`, keyed by the PGlite version.
 */
let inMemory: Promise<Blob> | null = null;

export function pgliteTemplate(workspaceRoot: string): Promise<Blob> {
  inMemory ??= load(join(workspaceRoot, '.dbee', 'cache', `pglite-${pgliteVersion()}.tar`)).catch((e) => {
    inMemory = null;
    throw e;
  });
  return inMemory;
}

/**
 * The template's bytes, handed to PGlite as a Blob that it reads with `arrayBuffer()` (all it calls on
 * `loadDataDir`). Node's own Blob reads its 40 MB through a stream of chunks and concatenates them: ~70 ms per
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
