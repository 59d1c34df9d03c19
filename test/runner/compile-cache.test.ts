import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The compile cache of a dbee process on Node 20 (packages/core/src/compile-cache.ts), as the processes users start
// run it: the compiled dist/ (built by test/support/global-setup.ts). On Node >= 22.1 it is Node's own cache.
const REPO = resolve(__dirname, '..', '..');
const CACHE_MODULE = join(REPO, 'packages', 'core', 'dist', 'compile-cache.js');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'dbee.js');
const ownCache = typeof (require('node:module') as { enableCompileCache?: unknown }).enableCompileCache !== 'function';

let dir: string;
let cacheDir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbee-compile-cache-test-'));
  cacheDir = join(dir, 'cache');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `node -e` with the cache enabled, then requires `file`; prints what it exports (JSON). */
function load(file: string, env: NodeJS.ProcessEnv = {}): string {
  const script = `require(${JSON.stringify(CACHE_MODULE)}).enableCompileCache();
    console.log(JSON.stringify(require(${JSON.stringify(file)})));`;
  const { NODE_DISABLE_COMPILE_CACHE: _off, ...rest } = process.env;
  return execFileSync(process.execPath, ['-e', script], {
    stdio: 'pipe',
    env: { ...rest, NODE_COMPILE_CACHE: cacheDir, ...env },
    encoding: 'utf8',
  }).trim();
}
const cacheFiles = () => (existsSync(cacheDir) ? readdirSync(cacheDir).map((f) => join(cacheDir, f)) : []);

describe.runIf(ownCache)('compile cache (Node 20)', () => {
  it('keeps the compiled code of the modules a process loaded, and a second process uses it without writing again', () => {
    const module = join(dir, 'm.js');
    writeFileSync(
      module,
      `module.exports = { answer: 6 * 7, name: require('node:path').basename(__filename), here: __dirname === ${JSON.stringify(dir)}, resolved: require.resolve('./m.js') === __filename };\n`,
    );
    const first = load(module);
    expect(JSON.parse(first)).toEqual({ answer: 42, name: 'm.js', here: true, resolved: true });
    const [file] = cacheFiles();
    expect(file).toBeDefined();
    expect(readFileSync(file!).includes(Buffer.from(module))).toBe(true);
    const written = statSync(file!).mtimeMs;

    expect(load(module)).toBe(first);
    expect(statSync(file!).mtimeMs).toBe(written); // every module came from the cache: nothing new to write
  });

  it('runs the new content of a changed module, even of the same length (V8 itself checks only the length)', () => {
    const module = join(dir, 'm.js');
    writeFileSync(module, 'module.exports = 1111;\n');
    expect(load(module)).toBe('1111');
    writeFileSync(module, 'module.exports = 2222;\n');
    expect(load(module)).toBe('2222');
    expect(load(module)).toBe('2222');
  });

  it('reports a syntax error as Node does, with the file', () => {
    const module = join(dir, 'broken.js');
    writeFileSync(module, 'module.exports = {;\n');
    expect(() => load(module)).toThrow(/broken\.js[\s\S]*SyntaxError/);
  });

  it('is off with NODE_DISABLE_COMPILE_CACHE, and unreadable cache files are ignored', () => {
    const module = join(dir, 'm.js');
    writeFileSync(module, 'module.exports = 3;\n');
    expect(load(module, { NODE_DISABLE_COMPILE_CACHE: '1' })).toBe('3');
    expect(cacheFiles()).toEqual([]);
    // Under --enable-source-maps Node compiles (and maps) every module itself.
    expect(load(module, { NODE_OPTIONS: '--enable-source-maps' })).toBe('3');
    expect(cacheFiles()).toEqual([]);
    load(module);
    for (const f of cacheFiles()) writeFileSync(f, 'not a cache');
    expect(load(module)).toBe('3');
  });

  it('never reads or writes a cache folder another user owns or may write to (it holds code that runs)', () => {
    const module = join(dir, 'm.js');
    writeFileSync(module, 'module.exports = 5;\n');
    mkdirSync(cacheDir, { mode: 0o777 });
    chmodSync(cacheDir, 0o777); // the umask took some bits away
    expect(load(module)).toBe('5');
    expect(cacheFiles()).toEqual([]);
    // The same folder made private: used.
    chmodSync(cacheDir, 0o700);
    expect(load(module)).toBe('5');
    expect(cacheFiles()).toHaveLength(1);
    // A cache file in a folder others may write to is not read: a planted entry for this module's content never runs.
    chmodSync(cacheDir, 0o777);
    const [file] = cacheFiles();
    writeFileSync(file!, 'planted');
    expect(load(module)).toBe('5');
    expect(readFileSync(file!, 'utf8')).toBe('planted');
  });

  it('is used by the dbee command to run a command, not for --help or --version (a few small files)', () => {
    const env = { ...process.env, DBEE_USE_DIST: '1', NODE_COMPILE_CACHE: cacheDir, NODE_DISABLE_COMPILE_CACHE: '' };
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    expect(run('--version').stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(run('--help').status).toBe(0);
    expect(cacheFiles()).toEqual([]);
    // A command that loads core and stops at the workspace it cannot find.
    const status = () => run('status', 'sales', '--cwd', dir);
    const first = status();
    expect(first.stderr).toContain('no dbee.yaml found');
    expect(cacheFiles()).toHaveLength(1);
    expect(readFileSync(cacheFiles()[0]!).includes(Buffer.from(join('cli', 'dist', 'run-command.js')))).toBe(true);
    // The packages' bundles (tools/bundle.js) load after the cache is installed: the command line is a leaf of its own.
    for (const bundle of [join('cli', 'dist', 'cli.bundle.js'), join('core', 'dist', 'core.bundle.js')])
      expect(readFileSync(cacheFiles()[0]!).includes(Buffer.from(bundle)), bundle).toBe(true);
    expect(status().stderr).toBe(first.stderr);
    // Its V8 flags (--turbo-filter=findStringEnd --no-maglev --liftoff-only) name the file: a process without them (an Nx executor) keeps a file of its own
    // instead of rewriting the command's on every run (V8 refuses code cached under other flags).
    const [file] = cacheFiles();
    expect(file).toMatch(/-turbo-filter-findStringEnd-no-maglev-liftoff-only\.bin$/);
    const written = statSync(file!).mtimeMs;
    load(join(REPO, 'packages', 'cli', 'dist', 'run-command.js'));
    expect(cacheFiles()).toHaveLength(2);
    expect(statSync(file!).mtimeMs).toBe(written);
  });

  it('the dbee command compiles both WebAssembly modules (libpg-query, PGlite) under its flags, Liftoff only', () => {
    // docs/performance.md, "WebAssembly at its baseline compiler": PGlite stays at Liftoff too (TurboFan for it was
    // measured slower). test/nx-cache/wasm-probe.cjs records V8's flag-derived tag when a module compiles.
    const ws = join(dir, 'ws');
    mkdirSync(join(ws, 'x'), { recursive: true });
    writeFileSync(
      join(ws, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: .dbee/db\n',
    );
    writeFileSync(join(ws, 'x', 'db.yaml'), 'version: 1\nname: x\nengine: postgres\nschemas: [x]\n');
    writeFileSync(join(ws, 'x', 'schema.sql'), 'CREATE SCHEMA x;\nCREATE TABLE x.t (id int PRIMARY KEY);\n');
    const log = join(dir, 'probe.jsonl');
    const probe = join(REPO, 'test', 'nx-cache', 'wasm-probe.cjs');
    const r = spawnSync(process.execPath, ['--require', probe, BIN, 'deploy', 'x', '--cwd', ws], {
      env: { ...process.env, DBEE_USE_DIST: '1', NODE_COMPILE_CACHE: cacheDir, WASM_PROBE_LOG: log },
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const size = (path: string) => statSync(require.resolve(path, { paths: [REPO] })).size;
    const tags = new Map(
      readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; bytes?: number; tag: number })
        .filter((l) => l.event === 'wasm')
        .map((l) => [l.bytes, l.tag]),
    );
    const flags = ['--turbo-filter=findStringEnd', '--no-maglev', '--liftoff-only'];
    const commandTag = Number(
      execFileSync(process.execPath, [
        '-e',
        `const v8 = require('node:v8'); for (const f of ${JSON.stringify(flags)}) v8.setFlagsFromString(f);
         process.stdout.write(String(v8.cachedDataVersionTag()))`,
      ]),
    );
    expect(tags.get(size('libpg-query/wasm/libpg-query.wasm'))).toBe(commandTag);
    // PGlite's exports hide its files: pglite.wasm sits beside its entry point.
    const pglite = join(require.resolve('@electric-sql/pglite', { paths: [REPO] }), '..', 'pglite.wasm');
    expect(tags.get(statSync(pglite).size)).toBe(commandTag);
  });
});
