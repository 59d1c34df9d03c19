#!/usr/bin/env node
'use strict';
/**
 * Bundles each published package's compiled entry points into one file (esbuild): `node tools/bundle.js [package
 * folder...]` (default: every published package), run after `tsc -b` by `npm run build`, the packages' `prepack` and
 * the test suite's global setup.
 *
 * What a package ships:
 *   - `dist/<name>.bundle.js` (+ `.map`): every module of the package's `src/`, each evaluated when first required,
 *     exactly as before (esbuild wraps a module reached through `require()` or `import()` in an init function): a
 *     command loads its operation's code and no other, an engine and its drivers load on first use of the engine;
 *   - every entry point (package.json `exports`, `main`, the `bin` scripts' targets, executors.json and
 *     generators.json) replaced in `dist/` by a one-line stub that takes its module from the bundle: whichever entry a
 *     process comes in by, each module of the package exists once in it (`instanceof DbeeError` holds across packages);
 *   - a few leaves bundled on their own and required by the bundle (core's `errors` and `compile-cache`, the CLI's
 *     command line `main`): `dbee --help` loads the command line and the errors only, and the compile cache is
 *     installed before the bundles compile;
 *   - the rest of tsc's `dist/` as it was (declarations, and the modules' text some caches hash: config-cache.ts).
 *
 * Other packages (dependencies, peers and the other @dbee packages) stay external: pg, PGlite, libpg-query, zod,
 * teradatasql load from node_modules as before, and each @dbee package from its own bundle; fast-glob is inlined.
 * Modules keep their `__dirname` and `__filename` as compiled by tsc (`dist/<folder>`), and each records its
 * evaluation in `globalThis[Symbol.for('dbee.bundledModules')]` as its former dist/ path: the start-up tests read it
 * to tell which modules a command evaluated (packages/cli/src/start-up.test.ts).
 * Source maps point at `src/*.ts`; an internal error's stack is mapped through them when it is printed
 * (`sourceMappedStack`, packages/cli/src/stack-trace.ts).
 *
 * Incremental: a package whose bundle is newer than its sources, its package.json and this script, and whose stubs
 * and leaves are in place, is skipped. `--force` bundles every package named.
 */
const { existsSync, readFileSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

const REPO = resolve(__dirname, '..');
/** The published packages (packages/vscode is packaged with vsce, not bundled here). */
const PACKAGES = ['packages/core', 'packages/postgres', 'packages/teradata', 'packages/cli', 'plugins/nx'];
/** Modules bundled on their own, before the package's bundle, which requires them (src/ paths, without `.ts`). */
const LEAVES = {
  'packages/core': ['errors', 'compile-cache'],
  // The command line: `--help` reads it alone, and a command's code (the bundle) loads after the compile cache.
  'packages/cli': ['main'],
  'plugins/nx': ['executors/compile-cache'],
};
/**
 * Entries no package.json names, which a leaf loads: within a leaf, an entry is required from its stub (in the
 * bundle), not bundled into the leaf.
 */
const EXTRA_ENTRIES = { 'packages/cli': ['lsp/lsp-command'] };
/**
 * A leaf an entry's stub requires before the bundle, by the entry's folder: the Nx executors install the compile cache
 * first (executors/compile-cache.ts), and the bundle they then load is the largest file it is for.
 */
const FIRST = { 'plugins/nx': { 'executors/': 'executors/compile-cache' } };
/**
 * Dependencies bundled into the package that uses them (with what they require): small, pure JavaScript, used by no
 * other package through this one, so a second copy elsewhere is harmless. fast-glob is some 70 modules of its own.
 */
const INLINED = ['fast-glob'];

const posix = (p) => p.split(sep).join('/');
/** How a stub starts (then the bundle's name): what tells a stub from what tsc wrote. */
const STUB = '// bundled by tools/bundle.js: ';

/** The dist/ files (without `.js`) a process may require: exports, main, bin targets, executors and generators. */
function entryPoints(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const found = new Set();
  const add = (p) => {
    const m = /^\.\/dist\/(.+?)(\.js)?$/.exec(String(p));
    if (m) found.add(m[1]);
  };
  add(pkg.main);
  for (const target of Object.values(pkg.exports ?? {})) if (typeof target === 'object') add(target.default);
  for (const file of ['executors.json', 'generators.json']) {
    if (!existsSync(join(dir, file))) continue;
    const json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    for (const e of Object.values(json.executors ?? json.generators ?? {})) {
      add(e.implementation);
      add(e.batchImplementation);
      add(e.factory);
    }
  }
  for (const bin of Object.values(typeof pkg.bin === 'object' ? pkg.bin : {})) {
    const text = readFileSync(join(dir, bin), 'utf8');
    for (const m of text.matchAll(/['"]\.\.\/dist\/([\w/.-]+?)(?:\.js)?['"]/g)) found.add(m[1]);
  }
  for (const e of EXTRA_ENTRIES[posix(relative(REPO, dir))] ?? []) found.add(e);
  return [...found].filter((e) => existsSync(join(dir, 'src', `${e}.ts`))).sort();
}

/** The newest modification time under `dir` (files only), 0 when it does not exist. */
function newest(dir, skip = () => false) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const f = join(e.parentPath ?? e.path, e.name);
    if (e.isFile() && !skip(f)) t = Math.max(t, statSync(f).mtimeMs);
  }
  return t;
}

/**
 * esbuild plugin: each module of src/ gets, on its first line (line numbers and source maps unchanged), the record
 * of its evaluation and, where it uses them, tsc's `__dirname` / `__filename`; the leaves (other than `self`) are
 * required from their own file, and so are the entries from a leaf (`self`).
 */
function dbeeModules(dir, leaves, self, entries) {
  const srcDir = join(dir, 'src');
  const leafFiles = new Map(leaves.map((l) => [join(srcDir, `${l}.ts`), l]));
  if (self) for (const e of entries) leafFiles.set(join(srcDir, `${e}.ts`), e);
  /** The path of `file` for a `require` in the file this build writes (the bundle in dist/, or the leaf `self`). */
  const fromOutput = (file) => {
    const to = posix(relative(self ? dirname(join(dir, 'dist', self)) : join(dir, 'dist'), file));
    return to.startsWith('.') ? to : `./${to}`;
  };
  return {
    name: 'dbee-modules',
    setup(build) {
      // Bare imports: external (node_modules at run time), but for the inlined dependencies and what they require.
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const inlined = INLINED.includes(args.path) || /[\\/]node_modules[\\/]/.test(args.importer);
        return inlined && !args.path.startsWith('node:') ? undefined : { path: args.path, external: true };
      });
      build.onResolve({ filter: /^\./ }, async (args) => {
        if (args.pluginData === 'inner' || !args.importer) return undefined;
        const r = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: 'inner',
        });
        // JSON stays a file, read with JSON.parse as before (as JavaScript, 100 kB of the command table took V8
        // longer to parse): tsc's copy in dist/ for one under src/, the package's own package.json as it is.
        if (r.path.endsWith('.json')) {
          const file = r.path.startsWith(srcDir + sep) ? join(dir, 'dist', relative(srcDir, r.path)) : r.path;
          return { path: fromOutput(file), external: true };
        }
        const leaf = leafFiles.get(r.path);
        // Required from the bundle (dist/) or from a leaf's file: the path from that file's folder.
        if (leaf && leaf !== self) return { path: fromOutput(join(dir, 'dist', `${leaf}.js`)), external: true };
        return r;
      });
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!args.path.startsWith(srcDir + sep)) return { contents: source, loader: 'ts' };
        const rel = posix(relative(srcDir, args.path)).replace(/\.ts$/, '.js');
        const folder = posix(dirname(rel));
        const at = folder === '.' ? '__dbeeDist' : `__dbeeDist + ${JSON.stringify(`/${folder}`)}`;
        let prologue = `__dbeeModules.push(__dbeeDist + ${JSON.stringify(`/${rel}`)});`;
        if (/\b__dirname\b/.test(source)) prologue += `var __dirname = ${at};`;
        if (/\b__filename\b/.test(source)) prologue += `var __filename = __dbeeDist + ${JSON.stringify(`/${rel}`)};`;
        return { contents: prologue + source, loader: 'ts' };
      });
    },
  };
}

/** What every bundle (or leaf `self`) starts with: the package's dist/ folder and the record of evaluated modules. */
const banner = (self) => {
  const up = self ? posix(relative(dirname(`/${self}`), '/')) : '';
  const dist = up ? `require('node:path').join(__dirname, ${JSON.stringify(up)})` : '__dirname';
  return `var __dbeeDist = ${dist}, __dbeeModules = (globalThis[Symbol.for('dbee.bundledModules')] ??= []);`;
};

const options = (dir, leaves, self, entries = []) => ({
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  banner: { js: banner(self) },
  // Not the repository's tsconfig: its `paths` map @dbee/* to the sources, which would bundle every package into each.
  tsconfigRaw: { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, esModuleInterop: true } },
  write: false,
  plugins: [dbeeModules(dir, leaves, self, entries)],
});

/**
 * Write esbuild's output with no `import(` in the code: core's compile cache (compile-cache.ts) leaves a file that has
 * one to Node's own compiler (no dynamic import in a `vm.Script` on Node 20), and the bundle is the file it is for.
 * esbuild names a module's init function after its file (`init_import` for import.ts), and keeps `import()` of an
 * external module (a leaf): renamed, and a `require` (the same module object). Columns move on those lines only.
 */
function writeOutput(result) {
  for (const file of result.outputFiles) {
    let text = file.text;
    if (file.path.endsWith('.js')) {
      text = text
        .replace(/\b(init_\w*import)\b/g, '$1_')
        .replace(/(?<![\w$.])import\(("[^"\n]+")\)/g, 'Promise.resolve().then(() => require($1))');
      const left = /(?<![\w$.])import\(.*/.exec(text.replace(/"(?:[^"\\\n]|\\.)*"/g, '""'));
      if (left) throw new Error(`${file.path}: a dynamic import() is left in the bundle (writeOutput): ${left[0]}`);
    }
    writeFileSync(file.path, text);
  }
}

/**
 * Whether the package's bundle is older than its sources, its package.json or this script, or tsc has since written
 * an entry or a leaf of it again (`tsc -b` writes only what changed, and a stub is never what it writes).
 */
function isStale(dir, bundle, entries, leaves) {
  if (!existsSync(bundle)) return true;
  const inputs = Math.max(
    newest(join(dir, 'src')),
    statSync(join(dir, 'package.json')).mtimeMs,
    statSync(__filename).mtimeMs,
  );
  const starts = (file, text) => existsSync(file) && readFileSync(file, 'utf8').startsWith(text);
  return (
    inputs > statSync(bundle).mtimeMs ||
    entries.some((e) => !starts(join(dir, 'dist', `${e}.js`), STUB)) ||
    leaves.some((l) => !starts(join(dir, 'dist', `${l}.js`), 'var __dbeeDist'))
  );
}

/** Each entry's dist/ file becomes a stub that takes its module from the bundle (after a `FIRST` leaf, if any). */
function writeStubs(dir, bundle, entries) {
  const first = Object.entries(FIRST[posix(relative(REPO, dir))] ?? {});
  for (const e of entries) {
    const from = (file) => {
      const to = posix(relative(dirname(join(dir, 'dist', e)), file));
      return JSON.stringify(to.startsWith('.') ? to : `./${to}`);
    };
    const leaf = first.find(([folder]) => e.startsWith(folder))?.[1];
    const before = leaf ? `require(${from(join(dir, 'dist', `${leaf}.js`))});\n` : '';
    writeFileSync(
      join(dir, 'dist', `${e}.js`),
      `${STUB}${posix(relative(join(dir, 'dist'), bundle))}\n'use strict';\n${before}` +
        `module.exports = require(${from(bundle)})(${JSON.stringify(`${e}.js`)});\n`,
    );
  }
}

/** Bundle the package in folder `dir` (absolute); returns what it wrote, or null when it was up to date. */
async function bundlePackage(dir, { force = false } = {}) {
  const esbuild = require('esbuild');
  const name = posix(relative(REPO, dir)).split('/').pop();
  const leaves = LEAVES[posix(relative(REPO, dir))] ?? [];
  const bundle = join(dir, 'dist', `${name}.bundle.js`);
  const entries = entryPoints(dir).filter((e) => !leaves.includes(e));
  if (!force && !isStale(dir, bundle, entries, leaves)) return null;
  for (const leaf of leaves)
    writeOutput(
      await esbuild.build({
        ...options(dir, leaves, leaf, entries),
        entryPoints: [join(dir, 'src', `${leaf}.ts`)],
        outfile: join(dir, 'dist', `${leaf}.js`),
      }),
    );
  const table = entries.map(
    (e) => `  ${JSON.stringify(`${e}.js`)}: () => require(${JSON.stringify(`./src/${e}.ts`)}),`,
  );
  writeOutput(
    await esbuild.build({
      ...options(dir, leaves),
      stdin: {
        contents: `const entries = {\n${table.join('\n')}\n};\nmodule.exports = (entry) => entries[entry]();\n`,
        resolveDir: dir,
        sourcefile: `${name}.bundle-entries.js`,
        loader: 'js',
      },
      outfile: bundle,
    }),
  );
  writeStubs(dir, bundle, entries);
  return { bundle, entries, leaves };
}

/** Bundle every package named (folders relative to the repository, or absolute), or all published ones. */
async function bundleAll(folders = PACKAGES, opts = {}) {
  const done = [];
  for (const f of folders) {
    const r = await bundlePackage(resolve(REPO, f), opts);
    if (r) done.push(r);
  }
  return done;
}

module.exports = { bundleAll, bundlePackage, PACKAGES };

if (require.main === module) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const folders = args.filter((a) => a !== '--force').map((a) => resolve(process.cwd(), a));
  bundleAll(folders.length ? folders : PACKAGES, { force }).catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}
