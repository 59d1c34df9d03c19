import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CreateNodesContext, CreateNodesResult } from '@nx/devkit';
import { INSTALLED_FINGERPRINT_SCRIPT, WORKSPACE_FILE } from './constants';
import type { NormalizedOptions } from './options';

type Result = readonly [file: string, result: CreateNodesResult];

/** Bump when the shape of the inferred configuration changes in a way the key below does not capture. */
const FORMAT = 2;
/** Entries kept: a few, for switching between branches. */
const KEEP = 4;
/** Entry files are `inferred-<key>.json`. */
const ENTRY_PREFIX = 'inferred-';
const LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock'];
const DBEE_PACKAGES = ['nx', 'cli', 'core', 'postgres', 'teradata'];

/** One stored inference: the key it answers, and the results. */
interface Entry {
  format: number;
  key: string;
  results: Result[];
}

/**
 * The plugin's cache of its inferred configuration, in Nx's workspace data directory (`.nx/workspace-data` unless
 * NX_WORKSPACE_DATA_DIRECTORY says otherwise; `nx reset` clears it). Keyed by a hash of everything the inference
 * reads: the db.yaml files (their content), dbee.yaml, the plugin options and nx.json's named inputs, where the dbee
 * packages come from (node_modules links, lock file sizes and times) and the plugin's own code. A hit answers
 * without loading @dbee/core or parsing a single db.yaml; a failed inference is never stored.
 *
 * One file per key (`inferred-<key>.json`), the `KEEP` most recently stored kept: a hit reads and parses its own
 * entry only (about 6 KB per project), however many branches have entries, and a miss writes only its own.
 */
export class InferenceCache {
  private readonly dir: string;

  constructor(private readonly context: CreateNodesContext) {
    this.dir = join(dataDirectory(context.workspaceRoot), 'dbee-nx-plugin');
  }

  key(configFiles: readonly string[], options: NormalizedOptions): string {
    const root = this.context.workspaceRoot;
    const hash = createHash('sha256');
    const add = (...parts: unknown[]) => hash.update(`${JSON.stringify(parts)}\n`);
    const nxJson = this.context.nxJsonConfiguration;
    add(
      FORMAT,
      root,
      __dirname,
      options,
      nxJson?.namedInputs ?? null,
      nxJson?.pluginsConfig?.['@nx/js'] ?? null,
      codeStamp(),
    );
    add(WORKSPACE_FILE, readOr(join(root, WORKSPACE_FILE)));
    for (const file of [...configFiles].sort()) add(file, readOr(join(root, file)));
    for (const lock of LOCK_FILES) add(lock, stamp(join(root, lock)));
    for (const p of DBEE_PACKAGES)
      add(
        p,
        stamp(join(root, 'node_modules', '@dbee', p, 'package.json')),
        realpathOr(join(root, 'node_modules', '@dbee', p)),
      );
    add(stamp(join(root, INSTALLED_FINGERPRINT_SCRIPT)));
    return hash.digest('hex');
  }

  get(key: string): Result[] | undefined {
    try {
      const entry = JSON.parse(readFileSync(this.file(key), 'utf8')) as Partial<Entry>;
      return entry.format === FORMAT && entry.key === key && Array.isArray(entry.results) ? entry.results : undefined;
    } catch {
      return undefined;
    }
  }

  set(key: string, results: Result[]): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const file = this.file(key);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ format: FORMAT, key, results } satisfies Entry));
      renameSync(tmp, file);
      this.prune(file);
    } catch {
      // A cache that cannot be written costs time, never a result.
    }
  }

  private file(key: string): string {
    return join(this.dir, `${ENTRY_PREFIX}${key}.json`);
  }

  /** Keeps the `KEEP` entries stored last (`kept` among them), and drops the single file of earlier versions. */
  private prune(kept: string): void {
    const entries = readdirSync(this.dir)
      .filter((f) => f.startsWith(ENTRY_PREFIX) && f.endsWith('.json'))
      .map((f) => join(this.dir, f))
      .filter((f) => f !== kept)
      .map((f) => ({ f, t: mtimeOr(f) }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of entries.slice(KEEP - 1)) rmSync(f, { force: true });
    rmSync(join(this.dir, 'inferred.json'), { force: true });
  }
}

/** `DBEE_NX_PLUGIN_CACHE=false` turns the cache off (to measure, or to rule it out). */
export function inferenceCacheEnabled(): boolean {
  return process.env.DBEE_NX_PLUGIN_CACHE !== 'false';
}

/**
 * Nx's workspace data directory for this workspace, by Nx's own rule (`workspaceDataDirectory` in @nx/devkit's
 * internals: NX_WORKSPACE_DATA_DIRECTORY, or the older NX_PROJECT_GRAPH_CACHE_DIRECTORY, relative to the root;
 * else `<root>/.nx/workspace-data` in a workspace with nx.json). Computed here rather than imported: loading
 * @nx/devkit costs the plugin worker more (about 140 ms) than a cache hit saves on a small workspace.
 */
export function dataDirectory(workspaceRoot: string): string {
  const configured = process.env.NX_WORKSPACE_DATA_DIRECTORY ?? process.env.NX_PROJECT_GRAPH_CACHE_DIRECTORY;
  return configured ? resolve(workspaceRoot, configured) : join(workspaceRoot, '.nx', 'workspace-data');
}

let code: string | undefined;
/** Size and time of the plugin's own files, and @dbee/core's version: a changed plugin never reads old entries. */
function codeStamp(): string {
  if (code !== undefined) return code;
  const parts: string[] = [];
  for (const dir of [__dirname, join(__dirname, '..')]) {
    try {
      for (const f of readdirSync(dir).sort()) parts.push(f, stamp(join(dir, f)));
    } catch {
      // not there
    }
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const manifest = require.resolve('@dbee/core/package.json', { paths: [__dirname] });
    parts.push(
      readOr(manifest),
      stamp(join(dirname(manifest), 'src', 'config')),
      stamp(join(dirname(manifest), 'dist')),
    );
  } catch {
    parts.push('no @dbee/core');
  }
  code = parts.join('|');
  return code;
}

function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return '-';
  }
}

function mtimeOr(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '\0missing';
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
