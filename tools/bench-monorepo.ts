/**
 * A generated monorepo of database projects, and what Nx costs on it with the dbee plugin against Nx's own
 * baseline (the same projects and edges declared in project.json files, no plugin), in the same run.
 *
 *   node tools/run.js tools/bench-monorepo.ts [--layers 10] [--width 20] [--runs 3] [--keep] [--dir <folder>] [--targets] [--noop-deploy]
 *                                             [--compiled] [--no-show] [--db-prefix dbee_bench] [--write-docs]
 *
 * The goals of issue #61 are printed at the end with their verdicts on the median of the paired ratios of `--runs`
 * runs (3 at least; fewer give no verdict), their range and the load average; `--write-docs` (with `--targets`)
 * rewrites the benchmark's table in docs/performance.md.
 *
 * Projects: `layers` layers of `width` projects; each project of layer n > 0 depends on 1-3 projects of layer
 * n-1 (seeded, so every run generates the same monorepo), and owns a schema with a table, a view and a function.
 * Figures: `nx show projects` cold (no .nx/workspace-data: the plugin's own cache is empty too) and warm (the
 * plugin answers from its cache in Nx's workspace data directory), median of `runs`, daemon off, with the load
 * average; the warm run's CPU time too, every Nx process summed (a `--require` hook), which moves less than wall time
 * on a loaded machine; and the size of Nx's graph cache in each workspace (what every command writes).
 * With `--targets`, also the targets, on the embedded `local` environment and on a scratch database of the
 * PostgreSQL server (DBEE_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres):
 * - `nx run-many -t diff` cold (no Nx cache, no dbee cache: 200 builds and 200 diffs) and fully cached (one run each:
 *   their goals are absolute);
 * - the first `nx run-many -t deploy` of every object to a fresh database, against a floor written independently of
 *   dbee's requests (`independentFloor`: psql per project applying the same DDL, a row per step, the same compiles, one
 *   project after the other as dbee's batch runs them) plus Nx's overhead for 200 tasks (`nx:noop` targets with the
 *   same dependencies, in the baseline workspace); goal: <= Nx's overhead + 1.5x that floor;
 * - a no-op `nx run-many -t deploy` against the same command in the `batch` workspace, whose deploy batch does
 *   nothing (Nx's own part of the no-op, with dbee's targets and inputs; goal: <= 1.25x it, issue 90's decision 6),
 *   and beside it Nx's overhead for 200 no-op tasks; each `--runs` times, alternating, with the median of the paired
 *   ratios;
 * - planning cost against depth: a no-op deploy of one project (Nx's way: its dependencies are not deployed with
 *   it) in the last layer against one in the first, in-process, alternating, with the dependencies read from their
 *   exports (what dbee does) and from their sources (exports removed before each run: the whole closure parsed).
 * With `--noop-deploy` (and no `--targets`), only the no-op `nx run-many -t deploy` of the list above, after one untimed
 * first deploy: the figure that says what the deploy target's inputs (hashed for every task, cached or not) cost;
 * in wall time and in CPU time of every Nx process, with the no-op batch beside it.
 * `--compiled` builds the packages first (`npm run build`) and runs Nx on the compiled dbee, as installed; without
 * it, Nx and its processes run dbee's TypeScript sources through tools/dev-register.js (slower to start).
 * The workspace links this repository's node_modules, so the plugin runs from its TypeScript sources
 * (hence a tsconfig.base.json for Nx's transpiler; an installed, compiled dbee needs none).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as G from './bench/goals';
import { noopBatchPluginFiles } from './bench/noop-batch-plugin';

const REPO = resolve(__dirname, '..');
const NX = require.resolve('nx/bin/nx.js', { paths: [REPO] });
/** Nx and the processes it starts run dbee's sources, no build (tools/dev-register.js); `--compiled`: dist/. */
const DEV_SOURCES = `--require ${join(REPO, 'tools', 'dev-register.js')}`;
let nodeOptions = DEV_SOURCES;
/**
 * Set for every Nx run. DBEE_FINGERPRINT_TIMEOUT_MS: on a loaded machine the diff target's fingerprint (which opens
 * the embedded database) can take longer than its 30 s default, and then prints a nonce: every diff would be a cache
 * miss, and the "fully cached" figure would measure 200 uncached diffs. `--compiled` adds DBEE_USE_DIST=1.
 */
const fixedEnv: Record<string, string> = { DBEE_FINGERPRINT_TIMEOUT_MS: '300000' };

interface Options {
  layers: number;
  width: number;
  runs: number;
  keep: boolean;
  dir?: string;
  targets: boolean;
  /** `--noop-deploy`: only the no-op deploy figure (see the header). */
  noopDeploy: boolean;
  compiled: boolean;
  /** False with `--no-show`: only the targets. */
  show: boolean;
  /** `--db-prefix`: the prefix of the scratch databases on the server (default dbee_bench). */
  dbPrefix?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    layers: 10,
    width: 20,
    runs: 3,
    keep: false,
    targets: false,
    noopDeploy: false,
    compiled: false,
    show: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--layers') o.layers = Number(argv[++i]);
    else if (a === '--width') o.width = Number(argv[++i]);
    else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--keep') o.keep = true;
    else if (a === '--dir') o.dir = argv[++i];
    else if (a === '--targets') o.targets = true;
    else if (a === '--noop-deploy') o.noopDeploy = true;
    else if (a === '--compiled') o.compiled = true;
    else if (a === '--no-show') o.show = false;
    else if (a === '--db-prefix') o.dbPrefix = argv[++i];
    else if (a === '--write-docs')
      continue; // read by writeDocs (tools/bench/goals.ts)
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
 * its worker process before doing any work. `batch`: dbee's projects and plugin, with the `deploy` target's executor
 * swapped for a batch implementation that does nothing (tools/bench/noop-batch-plugin.ts): Nx's own part of a
 * no-op `nx run-many -t deploy`.
 */
export type Variant = 'dbee' | 'baseline' | 'floor' | 'batch';

export function writeMonorepo(root: string, projects: readonly GeneratedProject[], variant: Variant): void {
  const withPlugin = variant === 'dbee' || variant === 'batch';
  const plugins: Record<Variant, string[]> = {
    dbee: ['@dbee/nx'],
    baseline: [],
    floor: [join(root, 'empty-plugin.js')],
    batch: [join(root, 'noop-batch', 'plugin.js')],
  };
  const files: Record<string, string> = {
    'package.json': '{ "name": "dbee-bench-monorepo", "private": true }\n',
    'nx.json': JSON.stringify(
      {
        analytics: false,
        neverConnectToCloud: true,
        cacheDirectory: '.nx/cache',
        // The empty plugin by its absolute path: Nx resolves a relative one as a possible workspace plugin, which
        // reads every project.json and starts one more plugin worker first (about 0.3 s here), a cost dbee's
        // plugin, resolved from node_modules, does not have.
        plugins: plugins[variant],
      },
      null,
      2,
    ),
    'empty-plugin.js': "exports.name = 'empty';\nexports.createNodes = ['**/db.yaml', () => []];\n",
    'tsconfig.base.json':
      '{ "compilerOptions": { "target": "ES2022", "module": "commonjs", "esModuleInterop": true } }\n',
    '.gitignore': 'node_modules\n.nx/\n.dbee/\ndist/\n',
    'dbee.yaml':
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n' +
      "  server:\n    engine: postgres\n    connection: { url: '${DBEE_BENCH_URL}' }\n",
  };
  if (variant === 'batch') Object.assign(files, noopBatchPluginFiles(root));
  for (const p of projects) {
    const schema = p.name;
    if (withPlugin) {
      files[`${p.root}/db.yaml`] =
        `version: 1\nname: ${p.name}\nengine: postgres\nschemas: [${schema}]\n${p.dependsOn.length ? `dependsOn: [${p.dependsOn.join(', ')}]\n` : ''}`;
    } else {
      files[`${p.root}/project.json`] = JSON.stringify({
        name: `db-${p.name}`,
        implicitDependencies: p.dependsOn.map((d) => `db-${d}`),
        targets: { deploy: { executor: 'nx:noop', dependsOn: ['^deploy'], cache: false } },
      });
    }
    files[`${p.root}/schema/${schema}/schema.sql`] = `CREATE SCHEMA ${schema};\n`;
    files[`${p.root}/schema/${schema}/tables/items.sql`] =
      `CREATE TABLE ${schema}.items (id bigint PRIMARY KEY, label text NOT NULL);\n`;
    files[`${p.root}/schema/${schema}/views/labels.sql`] =
      `CREATE VIEW ${schema}.labels AS SELECT id, label FROM ${schema}.items;\n`;
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

function nx(root: string, args: string[], extraEnv: Record<string, string> = {}): number {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') && !k.startsWith('DBEE_')),
  );
  const start = process.hrtime.bigint();
  try {
    execFileSync(process.execPath, [NX, ...args], {
      cwd: root,
      env: {
        ...env,
        NODE_OPTIONS: nodeOptions,
        NX_DAEMON: 'false',
        NX_NO_CLOUD: 'true',
        CI: 'true',
        ...fixedEnv,
        ...extraEnv,
      },
      stdio: 'pipe',
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer; status?: number };
    // The whole output, for a look at the failed task (the message keeps its start only).
    writeFileSync(join(root, '..', 'nx-failure.log'), `${String(err.stdout ?? '')}${String(err.stderr ?? '')}`);
    throw new Error(
      `nx ${args.join(' ')} in ${root} exited with ${err.status} (whole output: ${join(root, '..', 'nx-failure.log')}):\n${String(err.stdout ?? '')}${String(err.stderr ?? '')}`.slice(
        0,
        4000,
      ),
    );
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const SERVER = process.env.DBEE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The prefix of the scratch databases on the server (`--db-prefix`). */
let dbPrefix = 'dbee_bench';
/** The name of the scratch database `name` (`dbee_bench_server`). */
const db = (name: string) => `${dbPrefix}_${name}`;

/** The three generated workspaces (see `Variant`). */
interface Workspaces {
  dbee: string;
  baseline: string;
  floor: string;
  batch: string;
}

/** A URL for database `name` on the server, created empty (dropped first if it exists). */
function freshDatabase(name: string): string {
  execFileSync(
    'psql',
    [
      SERVER,
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`,
      '-c',
      `CREATE DATABASE ${name}`,
    ],
    { stdio: 'pipe' },
  );
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

function dropDatabase(name: string): void {
  execFileSync('psql', [SERVER, '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'pipe' });
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** A verdict for a goal: `met` or `not met`. */
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET');

/** The rows of the Markdown table printed at the end (docs/performance.md takes it as printed). */
const table: string[] = [];
/** One row of that table: figure, dbee, what it is compared with, the ratio and the goal with its verdict. */
function tableRow(figure: string, dbee: string, against: string, ratio: string, goal: string): void {
  table.push(`| ${figure} | ${dbee} | ${against} | ${ratio} | ${goal} |`);
}

/** One paired measurement: dbee's figure and what it is compared with, taken right before it. */
interface Pair {
  dbee: number;
  /** The goal's bound for this pair (e.g. Nx's overhead + 3 x the psql floor). */
  bound: number;
}

/** The goals of issue #61 this benchmark judges (printed with their verdicts at the end, and written to the docs). */
const goals: G.Goal[] = [];

/**
 * Median of dbee / bound over the pairs, with the goal's verdict (ratio <= 1); `goal`: also one of issue #61's goals.
 * `per`: a goal written as a multiple of a base (`<= 1.5x Nx's overhead`, bound = 1.5 x overhead) is printed as
 * dbee / base against that multiple, so that the figure reads as the goal does (1.40x against 1.5x, not 0.93 against 1).
 */
function goalRow(
  what: string,
  pairs: readonly Pair[],
  bound: string,
  goal?: string,
  per?: { limit: number; base: string },
): void {
  const ratio = median(pairs.map((p) => p.dbee / p.bound));
  const scale = per?.limit ?? 1;
  if (goal)
    goals.push({
      label: goal,
      samples: pairs.map((p) => (p.dbee / p.bound) * scale),
      bound: 'max',
      limit: scale,
      minRuns: 3,
      detail: `dbee ${median(pairs.map((p) => p.dbee)).toFixed(2)} s, ${bound} ${median(pairs.map((p) => p.bound)).toFixed(2)} s (medians); figure = dbee / ${per ? per.base : 'that'}`,
    });
  tableRow(
    what,
    `${median(pairs.map((p) => p.dbee)).toFixed(2)} s`,
    `${bound}: ${median(pairs.map((p) => p.bound)).toFixed(2)} s`,
    ratio.toFixed(2),
    `<= 1: **${verdict(ratio <= 1)}**`,
  );
  console.log(
    `  ${what.padEnd(44)} dbee ${median(pairs.map((p) => p.dbee)).toFixed(2)} s   goal ${bound} = ${median(pairs.map((p) => p.bound)).toFixed(2)} s   ` +
      `dbee / goal ${ratio.toFixed(2)} (median of ${pairs.length} paired ratios): ${verdict(ratio <= 1)}   (load ${load()})`,
  );
}

/** The targets' figures on the generated monorepo, each against its baseline (see the header). */
async function targets(w: Workspaces, projects: readonly GeneratedProject[], runs: number): Promise<void> {
  const local = { DBEE_ENV: 'local' };
  const pluginRoot = w.dbee;
  for (const dir of ['.nx/cache', '.dbee', 'dist']) rmSync(join(pluginRoot, dir), { recursive: true, force: true });
  const diffCold = nx(pluginRoot, ['run-many', '-t', 'diff'], local);
  const diffCached = nx(pluginRoot, ['run-many', '-t', 'diff'], local);
  tableRow(
    `\`run-many -t diff\`, cold (${projects.length} builds + ${projects.length} diffs, embedded)`,
    `${diffCold.toFixed(1)} s`,
    '-',
    '-',
    `<= 90 s: **${verdict(diffCold <= 90)}**`,
  );
  tableRow(
    '`run-many -t diff`, fully cached',
    `${diffCached.toFixed(1)} s`,
    '-',
    '-',
    `<= 15 s: **${verdict(diffCached <= 15)}**`,
  );
  console.log(
    `nx run-many -t diff, ${projects.length} projects, embedded local: cold ${diffCold.toFixed(1)} s (goal <= 90 s: ${verdict(diffCold <= 90)}), ` +
      `fully cached ${diffCached.toFixed(1)} s (goal <= 15 s: ${verdict(diffCached <= 15)})   (load ${load()})`,
  );
  const first: (Pair & { floor: number; overhead: number })[] = [];
  const noop: (Pair & { overhead: number; batch: number })[] = [];
  const changed = changedProject(projects);
  const affected: (Pair & { overhead: number; own: number })[] = [];
  noopBatch(w); // untimed: fills the no-op batch workspace's plugin cache, as the diffs above did dbee's
  try {
    for (let i = 0; i < runs; i++) {
      // Baseline and dbee alternate, so that a change in the machine's load hits both.
      const floor = independentFloor(pluginRoot, projects);
      const overhead = nx(w.baseline, ['run-many', '-t', 'deploy', '--skip-nx-cache']);
      const url = freshDatabase(db('server'));
      const server = { DBEE_ENV: 'server', DBEE_BENCH_URL: url };
      rmSync(join(pluginRoot, '.dbee'), { recursive: true, force: true });
      // The same server state as the floor's: dirty pages written out first (untimed).
      execFileSync('psql', [SERVER, '-q', '-c', 'CHECKPOINT'], { stdio: 'pipe' });
      const dbee = nx(pluginRoot, ['run-many', '-t', 'deploy', '--env=server'], server);
      first.push({ dbee, bound: overhead + 1.5 * floor, floor, overhead });
      const overhead2 = nx(w.baseline, ['run-many', '-t', 'deploy', '--skip-nx-cache']);
      const batch = noopBatch(w);
      const again = nx(pluginRoot, ['run-many', '-t', 'deploy', '--env=server'], server);
      noop.push({ dbee: again, bound: 1.25 * batch, overhead: overhead2, batch });
      const a = affectedRun(w, changed, i, server);
      affected.push(a);
      console.log(
        `  run ${i + 1}: first deploy ${dbee.toFixed(2)} s (independent floor ${floor.toFixed(2)} s, Nx overhead ${overhead.toFixed(2)} s); ` +
          `no-op ${again.toFixed(2)} s (Nx overhead ${overhead2.toFixed(2)} s, no-op batch ${batch.toFixed(2)} s); affected ${a.dbee.toFixed(2)} s ` +
          `(Nx overhead ${a.overhead.toFixed(2)} s, ${changed.name}'s own deploy ${a.own.toFixed(2)} s)   (load ${load()})`,
      );
    }
  } finally {
    dropDatabase(db('server'));
    dropDatabase(db('own'));
  }
  const m = (xs: number[]) => median(xs).toFixed(2);
  console.log(
    `nx -t deploy, ${projects.length} projects (${projects.length * 4} objects), PostgreSQL server, ${runs} runs; ` +
      `independent floor ${m(first.map((r) => r.floor))} s (psql per project, one after the other as dbee's batch runs them), Nx overhead for ${projects.length} no-op tasks ${m(first.map((r) => r.overhead))} s:`,
  );
  goalRow(
    'first run-many -t deploy of every object',
    first,
    'Nx overhead + 1.5 x the independent floor',
    `first \`nx run-many -t deploy\` of ${projects.length} projects: <= Nx's overhead + 1.5x a floor written independently (psql per project: the same DDL, a row per step, the same compiles)`,
  );
  goalRow(
    'no-op run-many -t deploy',
    noop,
    "1.25 x Nx's own no-op batch",
    `no-op \`nx run-many -t deploy\` of ${projects.length} projects: <= 1.25x Nx's own no-op batch (dbee's plugin, a deploy batch that does nothing), in the same run`,
    { limit: 1.25, base: "Nx's own no-op batch" },
  );
  noopBatchRow(noop);
  goalRow(
    `affected -t deploy after a change to ${changed.name} (${affectedCount(w)} projects affected)`,
    affected,
    `Nx overhead ${m(affected.map((r) => r.overhead))} s + ${changed.name}'s own deploy ${m(affected.map((r) => r.own))} s`,
  );
  await depth(pluginRoot, projects, runs);
}

/** The source files of a generated project, in the order its steps run (schema, table, view, function). */
const SOURCES = ['schema.sql', 'tables/items.sql', 'views/labels.sql', 'functions/count_items.sql'];

/**
 * The floor of the first deployment, written independently of dbee's requests (issue #61): per project one `psql`
 * process applying the same DDL, each statement in a transaction of its own with one row for it in a ledger table of
 * the floor's (created before the timing, as a database dbee has deployed to before has its ledger), committed as
 * dbee's steps commit (`synchronous_commit` off), then the same compiles as dbee's smoke baseline of a first deployment
 * in plain SQL (`SELECT * FROM <view> LIMIT 0`, rolled back) and one durable commit (dbee's closing row); the projects
 * one after the other, dependencies first: the parallelism of dbee's Nx batch, which runs its deploy tasks in one
 * process, one after the other. In seconds, after an untimed run on another database (the server's state after drops).
 */
function independentFloor(root: string, projects: readonly GeneratedProject[]): number {
  const dir = join(root, '..', 'floor-sql');
  mkdirSync(dir, { recursive: true });
  const files = projects.map((p) => {
    const lines = ['SET synchronous_commit = off;'];
    SOURCES.forEach((f, i) => {
      const ddl = readFileSync(join(root, p.root, 'schema', p.name, f), 'utf8').trim();
      lines.push(`BEGIN;\n${ddl}\nINSERT INTO floor_ledger.steps VALUES ('${p.name}', ${i + 1}, '${f}');\nCOMMIT;`);
    });
    lines.push(`BEGIN;\nSELECT * FROM ${p.name}.labels LIMIT 0;\nROLLBACK;`);
    lines.push(`SET synchronous_commit = on;\nINSERT INTO floor_ledger.deployments VALUES ('${p.name}');`);
    const file = join(dir, `${p.name}.sql`);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  });
  const run = (name: string) => {
    const url = freshDatabase(db(name));
    execFileSync('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', FLOOR_LEDGER], { stdio: 'pipe' });
    execFileSync('psql', [SERVER, '-q', '-c', 'CHECKPOINT'], { stdio: 'pipe' });
    const start = process.hrtime.bigint();
    for (const f of files) execFileSync('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', f], { stdio: 'pipe' });
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  // Untimed first: right after a DROP DATABASE (the previous run's) the next heavy runs on this server took about
  // twice as long, which would inflate the floor and flatter dbee's ratio.
  run('floor_warm');
  const t = retryingLocks(() => run('floor'));
  dropDatabase(db('floor'));
  dropDatabase(db('floor_warm'));
  return t;
}

/**
 * `f` again (on the fresh database it creates) while it fails because the server's shared lock table is full (other
 * sessions of the shared server), up to 5 times; each time said on stderr.
 */
function retryingLocks<T>(f: () => T): T {
  for (let i = 1; ; i++) {
    try {
      return f();
    } catch (e) {
      const text = `${String(e)}${String((e as { stderr?: Buffer }).stderr ?? '')}`;
      if (i >= 5 || !/out of shared memory|max_locks_per_transaction/.test(text)) throw e;
      process.stderr.write("  the floor: the server's lock table was full (other sessions); measured again\n");
      execFileSync('sleep', [String(3 * i)]);
    }
  }
}

/** The floor's own ledger: a row per step, a row per deployment. */
const FLOOR_LEDGER =
  'CREATE SCHEMA floor_ledger; CREATE TABLE floor_ledger.steps (project text, step int, source text, at timestamptz DEFAULT now(), PRIMARY KEY (project, step)); CREATE TABLE floor_ledger.deployments (project text PRIMARY KEY, at timestamptz DEFAULT now())';

/** The project changed for `nx affected`: the first of the middle layer (it has dependents and dependencies). */
function changedProject(projects: readonly GeneratedProject[]): GeneratedProject {
  const layers = [...new Set(projects.map((p) => p.root.split('/')[1]))];
  const middle = layers[Math.floor(layers.length / 2)];
  return projects.find((p) => p.root.split('/')[1] === middle)!;
}

/** A new column `c<run>` on the changed project's table, committed in a workspace (the baseline too: same files). */
function commitChange(root: string, p: GeneratedProject, run: number): void {
  const file = join(root, p.root, 'schema', p.name, 'tables', 'items.sql');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/\);\n$/, `, c${run} text);\n`));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  git('add', '-A');
  git('-c', 'user.email=bench@example.com', '-c', 'user.name=bench', 'commit', '-qm', `c${run}`);
}

const AFFECTED = ['affected', '-t', 'deploy', '--base=HEAD~1', '--head=HEAD'];

/** How many deploy tasks `nx affected` runs in the baseline (the same for dbee: same projects and edges). */
function affectedCount(w: Workspaces): number {
  const out = execFileSync(process.execPath, [NX, 'show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD'], {
    cwd: w.baseline,
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  return String(out).trim().split('\n').length;
}

/**
 * After the first deploy: one column added to one project and committed in both workspaces; Nx's overhead for
 * `nx affected -t deploy` in the baseline, the project's own deploy of that change (`dbee deploy <p>` as one CLI
 * process without its dependencies, on a database of its own holding it and its dependencies), then `nx affected -t deploy` with dbee.
 */
function affectedRun(
  w: Workspaces,
  p: GeneratedProject,
  run: number,
  server: Record<string, string>,
): Pair & { overhead: number; own: number } {
  const ownEnv = { DBEE_ENV: 'server', DBEE_BENCH_URL: freshDatabase(db('own')) };
  dbeeCli(w.dbee, ['deploy', p.name], ownEnv); // untimed: the project as it was, with its dependencies
  commitChange(w.baseline, p, run);
  commitChange(w.dbee, p, run);
  const overhead = nx(w.baseline, [...AFFECTED, '--skip-nx-cache']);
  const own = dbeeCli(w.dbee, ['deploy', p.name, '--no-deps'], ownEnv);
  const dbee = nx(w.dbee, [...AFFECTED, '--env=server'], server);
  return { dbee, bound: overhead + own, overhead, own };
}

/** `dbee <args>` as one process in `root` (compiled with `--compiled`), in seconds. */
function dbeeCli(root: string, args: string[], extraEnv: Record<string, string>): number {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, [join(REPO, 'packages', 'cli', 'bin', 'dbee.js'), ...args], {
    cwd: root,
    env: { ...process.env, ...fixedEnv, ...extraEnv },
    stdio: 'pipe',
  });
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Only the no-op `nx run-many -t deploy` (after one untimed first deploy) against Nx's overhead, alternating. */
function noopDeploy(w: Workspaces, projects: readonly GeneratedProject[], runs: number): void {
  const pluginRoot = w.dbee;
  const url = freshDatabase(db('server'));
  const server = { DBEE_ENV: 'server', DBEE_BENCH_URL: url };
  const noop: { dbee: number; overhead: number; batch: number }[] = [];
  const cpu: { dbee: number; overhead: number; batch: number }[] = [];
  try {
    rmSync(join(pluginRoot, '.dbee'), { recursive: true, force: true });
    nx(pluginRoot, ['run-many', '-t', 'deploy', '--env=server'], server);
    noopBatch(w); // untimed: fills the batch workspace's plugin cache, as the first deploy does dbee's
    for (let i = 0; i < runs; i++) {
      // Wall time and the CPU time of every Nx process (the server's is not counted), which moves less with the load.
      const o = nxCpu(w.baseline, ['run-many', '-t', 'deploy', '--skip-nx-cache']);
      const b = nxCpu(w.batch, ['run-many', '-t', 'deploy', '--env=server']);
      const d = nxCpu(pluginRoot, ['run-many', '-t', 'deploy', '--env=server'], server);
      noop.push({ dbee: d.wall, overhead: o.wall, batch: b.wall });
      cpu.push({ dbee: d.cpu, overhead: o.cpu, batch: b.cpu });
      console.log(
        `  run ${i + 1}: no-op ${d.wall.toFixed(2)} s (Nx overhead ${o.wall.toFixed(2)} s, no-op batch ${b.wall.toFixed(2)} s); ` +
          `CPU of the Nx processes: no-op ${d.cpu.toFixed(2)} s, Nx overhead ${o.cpu.toFixed(2)} s, no-op batch ${b.cpu.toFixed(2)} s   (load ${load()})`,
      );
    }
  } finally {
    dropDatabase(db('server'));
  }
  const ratio = (r: { dbee: number; overhead: number }) => r.dbee / r.overhead;
  const perBatch = (r: { dbee: number; batch: number }) => r.dbee / r.batch;
  console.log(
    `nx run-many -t deploy, no-op, ${projects.length} projects, PostgreSQL server, median of ${runs}: ${median(noop.map((r) => r.dbee)).toFixed(2)} s; ` +
      `Nx overhead for ${projects.length} no-op tasks ${median(noop.map((r) => r.overhead)).toFixed(2)} s; ` +
      `dbee / overhead = ${median(noop.map(ratio)).toFixed(2)} (median of ratios); dbee / no-op batch = ${median(noop.map(perBatch)).toFixed(2)} (goal <= 1.25: ${verdict(median(noop.map(perBatch)) <= 1.25)}); ` +
      `in CPU time of the Nx processes ${median(cpu.map(ratio)).toFixed(2)}   (load ${load()})`,
  );
  noopBatchRow(noop);
  noopBatchRow(cpu, 'CPU time of the Nx processes');
}

/**
 * The no-op `nx run-many -t deploy` of the `batch` workspace (dbee's plugin, the deploy target's batch doing nothing):
 * Nx's own cost of a batch of as many deploy tasks, in seconds: the no-op goal's base (issue 90, decision 6).
 */
function noopBatch(w: Workspaces): number {
  return nx(w.batch, ['run-many', '-t', 'deploy', '--env=server']);
}

/** The no-op batch's figures: it against Nx's overhead, and dbee against it (medians of the paired ratios). */
function noopBatchRow(noop: readonly { dbee: number; overhead: number; batch: number }[], what = 'wall time'): void {
  const m = (xs: number[]) => median(xs).toFixed(2);
  const perOverhead = m(noop.map((r) => r.batch / r.overhead));
  const dbeePerBatch = m(noop.map((r) => r.dbee / r.batch));
  tableRow(
    `no-op run-many -t deploy, against Nx's own part (dbee's plugin, a batch that does nothing), ${what}`,
    `${m(noop.map((r) => r.dbee))} s`,
    `no-op batch ${m(noop.map((r) => r.batch))} s (${perOverhead}x Nx overhead ${m(noop.map((r) => r.overhead))} s)`,
    dbeePerBatch,
    '- (information)',
  );
  console.log(
    `  ${what}: no-op batch (dbee's plugin, a batch implementation that does nothing): ${m(noop.map((r) => r.batch))} s = ${perOverhead}x Nx's overhead; ` +
      `dbee / no-op batch ${dbeePerBatch}; dbee's excess over Nx's overhead: ${m(noop.map((r) => r.dbee - r.overhead))} s, ` +
      `of it Nx's (no-op batch - overhead) ${m(noop.map((r) => r.batch - r.overhead))} s, dbee's batch (dbee - no-op batch) ${m(noop.map((r) => r.dbee - r.batch))} s ` +
      `(medians of paired differences)   (load ${load()})`,
  );
}

/**
 * Planning cost against depth (issue #19 point 4): a no-op deploy of one project as Nx runs it (fromNx: its
 * dependencies are not deployed with it), in this process, for projects of the first and of the last layer,
 * alternating; with the dependencies from their exports, and with the exports removed before each run (the whole
 * closure parsed from its sources). On a database of its own, deployed first.
 */
async function depth(pluginRoot: string, projects: readonly GeneratedProject[], runs: number): Promise<void> {
  const { runDbeeCommand } = await import('@dbee/cli');
  const { Writable } = await import('node:stream');
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const url = freshDatabase(db('depth'));
  const env = { ...process.env, DBEE_BENCH_URL: url };
  const deploy = async (project: string, fromNx: boolean) => {
    const t = process.hrtime.bigint();
    const code = await runDbeeCommand(
      'deploy',
      { project, env: 'server' },
      { workspaceRoot: pluginRoot, fromNx, stdout: sink, stderr: sink, env, interactive: false },
    );
    if (code !== 0) throw new Error(`dbee deploy ${project} exited with ${code}`);
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  try {
    const layerOf = (p: GeneratedProject) => p.root.split('/')[1];
    const layers = [...new Set(projects.map(layerOf))];
    const firstLayer = projects.filter((p) => layerOf(p) === layers[0]);
    const lastLayer = projects.filter((p) => layerOf(p) === layers[layers.length - 1]);
    for (const p of lastLayer) await deploy(p.name, false); // with their dependencies: every project exported
    for (const p of firstLayer) await deploy(p.name, false);
    const bottom: number[] = [];
    const top: number[] = [];
    const closure: number[] = [];
    const n = Math.max(runs * 3, 5);
    for (let i = 0; i < n; i++) {
      bottom.push(await deploy(firstLayer[i % firstLayer.length]!.name, true));
      top.push(await deploy(lastLayer[i % lastLayer.length]!.name, true));
      rmSync(join(pluginRoot, '.dbee', 'cache', 'exports'), { recursive: true, force: true });
      closure.push(await deploy(lastLayer[i % lastLayer.length]!.name, true));
    }
    const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / b[i]!));
    console.log(
      `one project's no-op deploy as Nx runs it (no dependencies deployed), in-process, median of ${n}:   (load ${load()})`,
    );
    console.log(
      `  layer 1 ${median(bottom).toFixed(2)} s   layer ${layers.length} ${median(top).toFixed(2)} s   ratio ${ratio(top, bottom).toFixed(2)} (goal: independent of depth)`,
    );
    console.log(
      `  layer ${layers.length} with its dependencies parsed from their sources (no exports): ${median(closure).toFixed(2)} s   ratio to layer 1 ${ratio(closure, bottom).toFixed(2)}`,
    );
  } finally {
    dropDatabase(db('depth'));
  }
}

/** The median: the middle one of an odd count, the mean of the two middle ones of an even count. */
export const median = G.median;

/**
 * A `--require` hook for every Node process of an Nx run (Nx's own and its plugin workers): each appends its CPU time
 * (user + system, ms) to $DBEE_CPU_FILE when it ends. CPU time moves less than wall time when other work shares the
 * machine.
 */
const CPU_HOOK = `const fs = require('node:fs');
let done = false;
function write() {
  if (done || !process.env.DBEE_CPU_FILE) return;
  done = true;
  const c = process.cpuUsage();
  fs.appendFileSync(process.env.DBEE_CPU_FILE, ((c.user + c.system) / 1000).toFixed(1) + '\\n');
}
process.on('exit', write);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { write(); process.exit(0); });
`;

/** `nx` with the CPU hook: its wall time (s) and the CPU time of all its processes (s). */
function nxCpu(root: string, args: string[], extraEnv: Record<string, string> = {}): { wall: number; cpu: number } {
  const dir = mkdtempSync(join(tmpdir(), 'dbee-bench-cpu-'));
  try {
    const hook = join(dir, 'cpu-hook.js');
    const file = join(dir, 'cpu.txt');
    writeFileSync(hook, CPU_HOOK);
    const wall = nx(root, args, {
      ...extraEnv,
      NODE_OPTIONS: `${nodeOptions} --require ${hook}`.trim(),
      DBEE_CPU_FILE: file,
    });
    const cpu = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .reduce((n, l) => n + Number(l), 0);
    return { wall, cpu: cpu / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `nx show projects` in one workspace: cold (workspace data removed first), then warm (kept), in seconds; and the
 * warm run's CPU time, every Nx process summed.
 */
function showOnce(root: string): { cold: number; warm: number; warmCpu: number } {
  rmSync(join(root, '.nx'), { recursive: true, force: true });
  const cold = nx(root, ['show', 'projects']);
  const warm = nxCpu(root, ['show', 'projects']);
  return { cold, warm: warm.wall, warmCpu: warm.cpu };
}

/** How many projects `nx show projects` lists in `root`. */
function listedProjects(root: string): number {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
  return execFileSync(process.execPath, [NX, 'show', 'projects'], {
    cwd: root,
    env: { ...env, NODE_OPTIONS: nodeOptions, ...fixedEnv, NX_DAEMON: 'false' },
  })
    .toString()
    .trim()
    .split('\n').length;
}

/**
 * `nx show projects` cold and warm, the three workspaces alternating in each run (baseline, empty plugin, dbee), with
 * the medians and the median of the paired ratios; the warm goal: <= 1.1x the workspace with a plugin that infers
 * nothing. Then the size of the configuration dbee's plugin infers per project.
 */
function showProjects(w: Workspaces, expected: number, runs: number): void {
  for (const root of [w.baseline, w.dbee]) {
    const listed = listedProjects(root);
    if (listed !== expected) throw new Error(`expected ${expected} projects, nx listed ${listed} in ${root}`);
  }
  type Show = ReturnType<typeof showOnce>;
  const rows: { baseline: Show; floor: Show; dbee: Show }[] = [];
  for (let i = 0; i < runs; i++)
    rows.push({ baseline: showOnce(w.baseline), floor: showOnce(w.floor), dbee: showOnce(w.dbee) });
  const m = (xs: number[]) => median(xs).toFixed(2);
  goals.push({
    label: '`nx show projects`, warm: <= 1.1x the same workspace with a plugin that infers nothing',
    samples: rows.map((r) => r.dbee.warm / r.floor.warm),
    bound: 'max',
    limit: 1.1,
    minRuns: 3,
    detail: `dbee ${m(rows.map((r) => r.dbee.warm))} s, that plugin ${m(rows.map((r) => r.floor.warm))} s, Nx without a plugin ${m(rows.map((r) => r.baseline.warm))} s (medians)`,
  });
  const row = (what: string, kind: 'cold' | 'warm', goal?: number) => {
    const ratio = median(rows.map((r) => r.dbee[kind] / r.baseline[kind]));
    const floor = median(rows.map((r) => r.floor[kind] / r.baseline[kind]));
    tableRow(
      `\`nx show projects\`, ${what}`,
      `${m(rows.map((r) => r.dbee[kind]))} s`,
      `Nx baseline ${m(rows.map((r) => r.baseline[kind]))} s (a plugin that infers nothing: ${m(rows.map((r) => r.floor[kind]))} s, ${floor.toFixed(2)})`,
      ratio.toFixed(2),
      goal ? `<= ${goal}: **${verdict(ratio <= goal)}**` : '-',
    );
    console.log(
      `  ${what.padEnd(30)} baseline ${m(rows.map((r) => r.baseline[kind]))} s   dbee ${m(rows.map((r) => r.dbee[kind]))} s   ` +
        `dbee / baseline ${ratio.toFixed(2)}${goal ? ` (goal <= ${goal}: ${verdict(ratio <= goal)})` : ''}   ` +
        `empty plugin ${m(rows.map((r) => r.floor[kind]))} s (${floor.toFixed(2)})`,
    );
  };
  console.log(`nx show projects, ${runs} runs, daemon off, medians and median of paired ratios:   (load ${load()})`);
  row('cold (no workspace data)', 'cold');
  row('warm (plugin cache filled)', 'warm');
  const cpu = (k: 'baseline' | 'floor' | 'dbee') => median(rows.map((r) => r[k].warmCpu));
  console.log(
    `  warm, CPU time of every Nx process: baseline ${cpu('baseline').toFixed(2)} s   empty plugin ${cpu('floor').toFixed(2)} s   dbee ${cpu('dbee').toFixed(2)} s   ` +
      `dbee / empty plugin ${median(rows.map((r) => r.dbee.warmCpu / r.floor.warmCpu)).toFixed(3)} (median of paired ratios; range ${Math.min(...rows.map((r) => r.dbee.warmCpu / r.floor.warmCpu)).toFixed(3)}-${Math.max(...rows.map((r) => r.dbee.warmCpu / r.floor.warmCpu)).toFixed(3)})   (load ${load()})`,
  );
  configurationSize(w.dbee);
  graphCacheSize(w);
}

/**
 * What Nx writes to its workspace data on every command that computes the project graph (daemon off: every command),
 * in each workspace: the project graph and the source maps (one entry per property and array item of each
 * inferred project), in bytes and entries. Unlike the times, these do not move with the machine's load: they say how
 * much of the configuration Nx merges, sends between its processes and writes.
 */
function graphCacheSize(w: Workspaces): void {
  const data = (root: string) => join(root, '.nx', 'workspace-data');
  const size = (root: string) => {
    const graph = readFileSync(join(data(root), 'project-graph.json'));
    const maps = readFileSync(join(data(root), 'source-maps.json'));
    const entries = Object.values(JSON.parse(maps.toString()) as Record<string, object>).reduce(
      (n, m) => n + Object.keys(m).length,
      0,
    );
    return `${(graph.length / 1024).toFixed(0)} KB graph, ${(maps.length / 1024).toFixed(0)} KB source maps (${entries} entries)`;
  };
  console.log(
    `  Nx's graph cache, written by every command: dbee ${size(w.dbee)}; Nx without a plugin ${size(w.baseline)}; the empty plugin ${size(w.floor)}`,
  );
}

/** The bound on the configuration dbee's plugin infers per project (JSON of its targets and the rest), in bytes. */
const CONFIG_BYTES_PER_PROJECT = 8 * 1024;

/**
 * What dbee's plugin infers per project, as Nx holds it (`nx graph --file`): the JSON size of each project's
 * configuration, median and largest, against `CONFIG_BYTES_PER_PROJECT`. Nx hashes, copies and sends this between its
 * processes for every command, so it is part of what a warm `nx show projects` costs.
 */
function configurationSize(root: string): void {
  const file = join(root, '..', 'graph.json');
  nx(root, ['graph', `--file=${file}`]);
  const graph = JSON.parse(readFileSync(file, 'utf8')) as { graph: { nodes: Record<string, { data: unknown }> } };
  const sizes = Object.values(graph.graph.nodes).map((n) => Buffer.byteLength(JSON.stringify(n.data)));
  const targets = Object.values(graph.graph.nodes).map(
    (n) => Object.keys((n.data as { targets?: object }).targets ?? {}).length,
  );
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  console.log(
    `  inferred configuration per project: median ${kb(median(sizes))}, largest ${kb(Math.max(...sizes))}, ${median(targets)} targets (bound ${kb(CONFIG_BYTES_PER_PROJECT)})`,
  );
  goals.push({
    label: `inferred configuration per project (JSON, as \`nx graph --file\` holds it): <= ${kb(CONFIG_BYTES_PER_PROJECT)}, the largest`,
    samples: sizes,
    bound: 'max',
    limit: CONFIG_BYTES_PER_PROJECT,
    judge: 'worst',
    minRuns: 1,
    sample: 'project',
    format: kb,
    detail: `median ${kb(median(sizes))}, ${median(targets)} targets (${sizes.length} projects)`,
  });
}

/** The figures' Markdown table and the goals with their verdicts (the console has the load; the docs do not). */
function printTable(o: Options, projects: number, loadAtStart: string): void {
  if (!table.length && !goals.length) return;
  const figures = [
    '| figure | dbee | against, in the same run | dbee / against (median of paired ratios) | goal |',
    '| --- | --- | --- | --- | --- |',
    ...table,
  ].join('\n');
  console.log(`\n${figures}\n`);
  const judged = G.printGoals(goals, loadAtStart);
  G.writeDocs(
    'monorepo',
    `\`node tools/run.js tools/bench-monorepo.ts${o.targets ? ' --targets' : ''}${o.noopDeploy ? ' --noop-deploy' : ''}${o.show ? '' : ' --no-show'}${o.compiled ? ' --compiled' : ''} --runs ${o.runs}\`: ${projects} projects (${o.layers} layers of ${o.width}), Nx daemon off.${o.targets ? '' : ' Without `--targets`: the deploy goals were not measured in this run.'}\n\n${G.goalsTable(judged)}\n\n${figures}`,
  );
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.dbPrefix) dbPrefix = o.dbPrefix;
  if (o.compiled) {
    // tsc -b emits what compiles even when another file of the tree has a type error: say so, and go on.
    try {
      execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'pipe' });
    } catch (e) {
      console.log(
        `npm run build reported errors (the emitted JavaScript is used): ${String((e as { stdout?: Buffer }).stdout ?? '').split('\n')[0]}`,
      );
    }
    nodeOptions = '';
    fixedEnv.DBEE_USE_DIST = '1';
  }
  const base = o.dir ? resolve(o.dir) : mkdtempSync(join(tmpdir(), 'dbee-bench-monorepo-'));
  const projects = monorepoProjects(o.layers, o.width);
  const w: Workspaces = {
    dbee: join(base, 'dbee'),
    baseline: join(base, 'baseline'),
    floor: join(base, 'floor'),
    batch: join(base, 'batch'),
  };
  for (const v of ['dbee', 'baseline', 'floor', 'batch'] as const) writeMonorepo(w[v], projects, v);
  const edges = projects.reduce((n, p) => n + p.dependsOn.length, 0);
  console.log(
    `monorepo: ${projects.length} projects (${o.layers} layers of ${o.width}), ${edges} edges, ${projects.length * 4} source files`,
  );
  const loadAtStart = G.loadNow();
  console.log(`load average before: ${loadAtStart}`);
  if (o.runs < 3) console.log(`--runs ${o.runs}: the goals need 3 paired runs, and are printed without a verdict`);
  try {
    if (o.show) showProjects(w, projects.length, o.runs);
    if (o.targets) await targets(w, projects, o.runs);
    else if (o.noopDeploy) noopDeploy(w, projects, o.runs);
    printTable(o, projects.length, loadAtStart);
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    if (o.keep || o.dir) console.log(`workspaces kept in ${base}`);
    else rmSync(base, { recursive: true, force: true });
  }
}

if (/bench-monorepo\.ts$/.test(process.argv[1] ?? '')) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
