/**
 * A generated monorepo of database projects, and what Nx costs on it with the dbee plugin against Nx's own
 * baseline (the same projects and edges declared in project.json files, no plugin), in the same run.
 *
 *   node tools/run.js tools/bench-monorepo.ts [--layers 10] [--width 20] [--runs 3] [--keep] [--dir <folder>]
 *
 * Projects: `layers` layers of `width` projects; each project of layer n > 0 depends on 1-3 projects of layer
 * n-1 (seeded, so every run generates the same monorepo), and owns a schema with a table, a view and a function.
 * Figures: `nx show projects` cold (no .nx/workspace-data: the plugin's own cache is empty too) and warm (the
 * plugin answers from its cache in Nx's workspace data directory), median of `runs`, daemon off, with the load
 * average. The workspace links this repository's node_modules, so the plugin runs from its TypeScript sources
 * (hence a tsconfig.base.json for Nx's transpiler; an installed, compiled dbee needs none).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..');
const NX = require.resolve('nx/bin/nx.js', { paths: [REPO] });

interface Options {
  layers: number;
  width: number;
  runs: number;
  keep: boolean;
  dir?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { layers: 10, width: 20, runs: 3, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--layers') o.layers = Number(argv[++i]);
    else if (a === '--width') o.width = Number(argv[++i]);
    else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--keep') o.keep = true;
    else if (a === '--dir') o.dir = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** mulberry32: the same monorepo on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedProject {
  name: string;
  root: string;
  dependsOn: string[];
}

/** The projects of the monorepo: p<layer>_<index>, each depending on 1-3 projects of the layer below. */
export function monorepoProjects(layers: number, width: number): GeneratedProject[] {
  const next = random(42);
  const out: GeneratedProject[] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      const deps = new Set<string>();
      if (l > 0) {
        const n = 1 + Math.floor(next() * 3);
        for (let k = 0; k < n; k++) deps.add(`p${l - 1}_${Math.floor(next() * width)}`);
      }
      out.push({ name: `p${l}_${i}`, root: `databases/layer${l}/p${l}_${i}`, dependsOn: [...deps].sort() });
    }
  }
  return out;
}

/** Writes the database projects (db.yaml and sources) and dbee.yaml into `root`. */
/**
 * `dbee`: db.yaml files and the @dbee/nx plugin. `baseline`: the same projects and edges as project.json files, no
 * plugin (Nx's own cost). `floor`: the baseline plus a plugin that infers nothing, i.e. what any plugin costs in
 * its worker process before doing any work.
 */
export type Variant = 'dbee' | 'baseline' | 'floor';

export function writeMonorepo(root: string, projects: readonly GeneratedProject[], variant: Variant): void {
  const withPlugin = variant === 'dbee';
  const files: Record<string, string> = {
    'package.json': '{ "name": "dbee-bench-monorepo", "private": true }\n',
    'nx.json': JSON.stringify({ analytics: false, neverConnectToCloud: true, cacheDirectory: '.nx/cache', plugins: withPlugin ? ['@dbee/nx'] : variant === 'floor' ? ['./empty-plugin.js'] : [] }, null, 2),
    'empty-plugin.js': "exports.name = 'empty';\nexports.createNodes = ['**/db.yaml', () => []];\n",
    'tsconfig.base.json': '{ "compilerOptions": { "target": "ES2022", "module": "commonjs", "esModuleInterop": true } }\n',
    '.gitignore': 'node_modules\n.nx/\n.dbee/\ndist/\n',
    'dbee.yaml': 'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n',
  };
  for (const p of projects) {
    const schema = p.name;
    if (withPlugin) {
      files[`${p.root}/db.yaml`] = `version: 1\nname: ${p.name}\nengine: postgres\nschemas: [${schema}]\n${p.dependsOn.length ? `dependsOn: [${p.dependsOn.join(', ')}]\n` : ''}`;
    } else {
      files[`${p.root}/project.json`] = JSON.stringify({ name: `db-${p.name}`, implicitDependencies: p.dependsOn.map((d) => `db-${d}`), targets: {} });
    }
    files[`${p.root}/schema/${schema}/schema.sql`] = `CREATE SCHEMA ${schema};\n`;
    files[`${p.root}/schema/${schema}/tables/items.sql`] = `CREATE TABLE ${schema}.items (id bigint PRIMARY KEY, label text NOT NULL);\n`;
    files[`${p.root}/schema/${schema}/views/labels.sql`] = `CREATE VIEW ${schema}.labels AS SELECT id, label FROM ${schema}.items;\n`;
    files[`${p.root}/schema/${schema}/functions/count_items.sql`] =
      `CREATE FUNCTION ${schema}.count_items() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM ${schema}.items $$;\n`;
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.email=bench@example.com', '-c', 'user.name=bench', 'commit', '-qm', 'generated');
}

function nx(root: string, args: string[]): number {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, [NX, ...args], { cwd: root, env: { ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', CI: 'true' }, stdio: 'pipe' });
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** `nx show projects`: cold (workspace data removed before each run) and warm (kept), medians in seconds. */
function showProjects(root: string, runs: number): { cold: number; warm: number; projects: number } {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    rmSync(join(root, '.nx'), { recursive: true, force: true });
    cold.push(nx(root, ['show', 'projects']));
    warm.push(nx(root, ['show', 'projects']));
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
  const listed = execFileSync(process.execPath, [NX, 'show', 'projects'], { cwd: root, env: { ...env, NX_DAEMON: 'false' } }).toString().trim().split('\n');
  return { cold: median(cold), warm: median(warm), projects: listed.length };
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const base = o.dir ? resolve(o.dir) : mkdtempSync(join(tmpdir(), 'dbee-bench-monorepo-'));
  const projects = monorepoProjects(o.layers, o.width);
  const pluginRoot = join(base, 'dbee');
  const baselineRoot = join(base, 'baseline');
  const floorRoot = join(base, 'floor');
  writeMonorepo(pluginRoot, projects, 'dbee');
  writeMonorepo(baselineRoot, projects, 'baseline');
  writeMonorepo(floorRoot, projects, 'floor');
  const edges = projects.reduce((n, p) => n + p.dependsOn.length, 0);
  console.log(`monorepo: ${projects.length} projects (${o.layers} layers of ${o.width}), ${edges} edges, ${projects.length * 4} source files`);
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    const baseline = showProjects(baselineRoot, o.runs);
    const floor = showProjects(floorRoot, o.runs);
    const dbee = showProjects(pluginRoot, o.runs);
    if (dbee.projects !== projects.length || baseline.projects !== projects.length) {
      throw new Error(`expected ${projects.length} projects, nx listed ${dbee.projects} (dbee) and ${baseline.projects} (baseline)`);
    }
    const row = (what: string, b: number, d: number) => console.log(`${what.padEnd(32)} baseline ${b.toFixed(2)} s   dbee ${d.toFixed(2)} s   ${(d / b).toFixed(2)}x`);
    console.log(`nx show projects, median of ${o.runs}, daemon off:`);
    row('  cold (no workspace data)', baseline.cold, dbee.cold);
    row('  warm (plugin cache filled)', baseline.warm, dbee.warm);
    console.log(`  floor (a plugin that infers nothing): cold ${floor.cold.toFixed(2)} s (${(floor.cold / baseline.cold).toFixed(2)}x), warm ${floor.warm.toFixed(2)} s (${(floor.warm / baseline.warm).toFixed(2)}x)`);
    console.log(`  dbee warm against that floor: ${(dbee.warm / floor.warm).toFixed(2)}x`);
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    if (o.keep || o.dir) console.log(`workspaces kept in ${base}`);
    else rmSync(base, { recursive: true, force: true });
  }
}

if (/bench-monorepo\.ts$/.test(process.argv[1] ?? "")) main();
