/**
 * Where a warm `nx show projects` goes on the 200-project monorepo of tools/bench-monorepo.ts, in CPU time as well as
 * wall time (CPU time moves less when other work shares the machine): the CPU of every process of the run (Nx's main
 * process and each plugin worker, summed by a `--require` hook in each), daemon off, plugin caches warm. Workspaces,
 * alternated in each round (the order reversed every other round), each against Nx's baseline of the same round:
 *
 * - `baseline`: the projects and edges as project.json files, no plugin (Nx's own cost);
 * - `floor`: the baseline plus a plugin that infers nothing (what having a plugin costs: its worker process);
 * - `replay-small`: a plugin that answers the same 200 projects and edges as dbee with one bare target each;
 * - `replay`: a plugin that answers dbee's inferred configuration, recorded from dbee's createNodes, byte for byte
 *   (checked: both workspaces' `nx graph --file` are identical), doing nothing else: Nx's cost of that configuration;
 * - `dbee`: the @dbee/nx plugin of this checkout, compiled (run `npm run build` first);
 * - `against`: with `--against <checkout>` (built), the plugin of that checkout, run by that checkout's Nx.
 *
 * `dbee / replay` is what dbee's own code costs (module load, cache key, reading its cache); `replay / replay-small`
 * what the size of the inferred configuration costs in Nx (merging it, sending it between processes, writing the
 * graph cache); `floor / baseline` Nx's plugin worker.
 *
 *   node tools/run.js tools/bench/nx-show-pair.ts [--runs 9] [--against /work/wt/base] [--keep]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monorepoProjects, writeMonorepo } from '../bench-monorepo';

const REPO = resolve(__dirname, '..', '..');
const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const RUNS = Number(option('runs') ?? 9);
const AGAINST = option('against');
const nxOf = (checkout: string) => require.resolve('nx/bin/nx.js', { paths: [checkout] });

/** Written beside the workspaces: appends "<cpu ms>" of the process to $DBEE_CPU_FILE when it ends. */
const CPU_HOOK = `const fs = require('node:fs');
let done = false;
function write() {
  if (done) return;
  done = true;
  const c = process.cpuUsage();
  fs.appendFileSync(process.env.DBEE_CPU_FILE, ((c.user + c.system) / 1000).toFixed(1) + '\\n');
}
process.on('exit', write);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { write(); process.exit(0); });
`;

/** The replay plugin: answers the recorded createNodes results (`small`: one bare target each) and their edges. */
function replayPlugin(recorded: string, small: boolean): string {
  return `const fs = require('node:fs');
exports.name = 'replay';
exports.createNodes = ['**/db.yaml', () => {
  const results = JSON.parse(fs.readFileSync(${JSON.stringify(recorded)}, 'utf8'));
  if (!${small}) return results;
  return results.map(([f, r]) => [f, { projects: Object.fromEntries(Object.entries(r.projects).map(([root, p]) =>
    [root, { name: p.name, root: p.root, metadata: { dbee: p.metadata.dbee }, targets: { deploy: { executor: 'nx:noop', cache: false } } }])) }]);
}];
exports.createDependencies = (_o, context) => {
  const byName = new Map();
  for (const [nx, p] of Object.entries(context.projects)) if (p.metadata && p.metadata.dbee) byName.set(p.metadata.dbee.name, { nx, p });
  const edges = [];
  for (const { nx, p } of byName.values())
    for (const d of p.metadata.dbee.dependsOn) edges.push({ source: nx, target: byName.get(d).nx, type: 'static', sourceFile: p.root + '/db.yaml' });
  return edges;
};
`;
}

interface Workspace {
  name: string;
  root: string;
  nx: string;
}

/** The workspaces of the header, generated in `base`. */
async function workspaces(base: string): Promise<Workspace[]> {
  const projects = monorepoProjects(10, 20);
  const out: Workspace[] = [];
  const add = (name: string, variant: 'dbee' | 'baseline' | 'floor', nx = nxOf(REPO)) => {
    const root = join(base, name);
    writeMonorepo(root, projects, variant);
    out.push({ name, root, nx });
    return root;
  };
  add('baseline', 'baseline');
  add('floor', 'floor');
  const dbee = add('dbee', 'dbee');
  const files = projects.map((p) => `${p.root}/db.yaml`);
  const { createNodes } = await import('../../plugins/nx/src/index');
  const nxJson = JSON.parse(readFileSync(join(dbee, 'nx.json'), 'utf8'));
  process.env.DBEE_NX_PLUGIN_CACHE = 'false';
  const recorded = await createNodes[1](files, undefined, {
    workspaceRoot: dbee,
    nxJsonConfiguration: nxJson,
  } as never);
  delete process.env.DBEE_NX_PLUGIN_CACHE;
  writeFileSync(join(base, 'recorded.json'), JSON.stringify(recorded));
  for (const small of [false, true]) {
    const root = add(small ? 'replay-small' : 'replay', 'dbee');
    writeFileSync(join(root, 'replay-plugin.js'), replayPlugin(join(base, 'recorded.json'), small));
    writeFileSync(join(root, 'nx.json'), JSON.stringify({ ...nxJson, plugins: [join(root, 'replay-plugin.js')] }));
  }
  if (AGAINST) {
    const root = add('against', 'dbee', nxOf(AGAINST));
    unlinkSync(join(root, 'node_modules'));
    symlinkSync(join(resolve(AGAINST), 'node_modules'), join(root, 'node_modules'), 'dir');
  }
  return out;
}

/** One warm `nx show projects`: wall and summed CPU time in ms, and how many projects it listed. */
function showOnce(w: Workspace, hook: string, cpuFile: string): { wall: number; cpu: number; listed: number } {
  rmSync(cpuFile, { force: true });
  const start = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [w.nx, 'show', 'projects'], {
    cwd: w.root,
    env: nxEnv(hook, cpuFile),
    stdio: 'pipe',
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = readFileSync(cpuFile, 'utf8')
    .trim()
    .split('\n')
    .reduce((n, l) => n + Number(l), 0);
  return { wall, cpu, listed: String(out).trim().split('\n').length };
}

/** Nx's environment: daemon off, the compiled dbee, and the CPU hook in every process. */
function nxEnv(hook: string, cpuFile: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') && !k.startsWith('DBEE_') && k !== 'NODE_OPTIONS'),
  );
  return {
    ...env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    CI: 'true',
    DBEE_USE_DIST: '1',
    NODE_OPTIONS: `--require ${hook}`,
    DBEE_CPU_FILE: cpuFile,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'dbee-nx-show-pair-'));
  try {
    const all = await workspaces(base);
    const hook = join(base, 'cpu-hook.js');
    const cpuFile = join(base, 'cpu.txt');
    writeFileSync(hook, CPU_HOOK);
    const graph = (w: Workspace) => {
      execFileSync(process.execPath, [w.nx, 'graph', `--file=${join(base, `${w.name}-graph.json`)}`], {
        cwd: w.root,
        env: nxEnv(hook, cpuFile),
        stdio: 'pipe',
      });
      return readFileSync(join(base, `${w.name}-graph.json`), 'utf8');
    };
    const byName = new Map(all.map((w) => [w.name, w]));
    if (graph(byName.get('dbee')!) !== graph(byName.get('replay')!))
      throw new Error('the replay plugin does not answer the same project graph as dbee');
    for (const w of all) {
      const { listed } = showOnce(w, hook, cpuFile); // warm: Nx's graph cache and dbee's inference cache
      if (listed !== 200) throw new Error(`${w.name}: nx listed ${listed} projects, not 200`);
    }
    report(all, measure(all, hook, cpuFile));
  } finally {
    if (argv.includes('--keep')) console.log(`workspaces kept in ${base}`);
    else rmSync(base, { recursive: true, force: true });
  }
}

type Round = Record<string, { wall: number; cpu: number }>;

function measure(all: Workspace[], hook: string, cpuFile: string): Round[] {
  console.log(`warm nx show projects, ${RUNS} rounds, CPU ms / wall ms per workspace   (load ${load()})`);
  const rounds: Round[] = [];
  for (let i = 0; i < RUNS; i++) {
    const round: Round = {};
    for (const w of i % 2 ? [...all].reverse() : all) round[w.name] = showOnce(w, hook, cpuFile);
    rounds.push(round);
    console.log(
      `  ${all.map((w) => `${w.name} ${round[w.name]!.cpu.toFixed(0)}/${round[w.name]!.wall.toFixed(0)}`).join('  ')}   (load ${load()})`,
    );
  }
  return rounds;
}

function report(all: Workspace[], rounds: Round[]): void {
  const ratio = (a: string, b: string, k: 'cpu' | 'wall') => median(rounds.map((r) => r[a]![k] / r[b]![k])).toFixed(3);
  console.log(`medians, and medians of the paired ratios   (load ${load()})`);
  for (const w of all)
    console.log(
      `  ${w.name.padEnd(13)} CPU ${median(rounds.map((r) => r[w.name]!.cpu)).toFixed(0)} ms (${ratio(w.name, 'baseline', 'cpu')} x baseline)   ` +
        `wall ${median(rounds.map((r) => r[w.name]!.wall)).toFixed(0)} ms (${ratio(w.name, 'baseline', 'wall')} x baseline)`,
    );
  const pairs: Array<[string, string]> = [
    ['dbee', 'replay'],
    ['replay', 'replay-small'],
    ['replay-small', 'floor'],
    ['floor', 'baseline'],
  ];
  if (AGAINST) pairs.unshift(['dbee', 'against']);
  for (const [a, b] of pairs)
    console.log(`  ${`${a} / ${b}`.padEnd(28)} CPU ${ratio(a, b, 'cpu')}   wall ${ratio(a, b, 'wall')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
