#!/usr/bin/env node
'use strict';
/**
 * Start-up benchmark of the compiled dbee (what users install): `npm run bench:start [-- --runs 15]`.
 *
 * Whole-process wall times, each against `node -e 0` measured in the same run: for every figure the baseline and the
 * dbee command alternate (paired runs), and the median of each is printed with the load average (`os.loadavg()`),
 * since this machine is shared. Figures:
 *
 *   - `dbee --help`                                   target <= 0.25 s
 *   - `dbee status sales --env test` on the server    target <= 0.6 s
 *   - `dbee deploy sales --env test` with nothing to deploy (core and sales), on the server   target <= 0.6 s
 *
 * Then one start-up budget per command: the CPU time of `dbee <command> no-such-project` (the process starts, parses its
 * options, reads the workspace, loads its command's operation, which refuses the unknown project: exit 1 before it
 * connects anywhere) over `node -e 0`'s, paired in the same runs, median against the command's budget. It is what a
 * process pays before its command does any work: the modules it loads. `extract` creates a project, so it runs against
 * the server and loads the engine; the others load none. `--only whole` or `--only commands` runs one half;
 * `--command-runs <n>` (default 5) sets the pairs of the second.
 *
 * It builds first (`npm run build`, incremental), runs packages/cli/bin/dbee.js with DBEE_USE_DIST=1 (dist/, no
 * TypeScript loader, as installed), and deploys the examples once to a fresh database on the PostgreSQL server
 * (DBEE_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres; database dbee_bench_start_<pid>, dropped at the end).
 * `--profile` prints what loads at start (require times over 5 ms) for each command instead.
 * `--baseline <checkout>` runs that checkout's packages/cli/bin/dbee.js too (its dist/ as built there: build it first),
 * alternating with this one in the same runs, and prints its medians and the median of the paired ratios (this /
 * baseline): an A/B of a change's start-up.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const { loadavg } = require('node:os');
const { join, resolve } = require('node:path');
const { checkOtherBuild } = require('./bench/other-build');

const REPO = resolve(__dirname, '..');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'dbee.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RUNS = Number(arg('--runs', 15));
const BASELINE =
  arg('--baseline', null) && join(checkOtherBuild(arg('--baseline')), 'packages', 'cli', 'bin', 'dbee.js');
const SERVER = process.env.DBEE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Its own database per run: two runs at once (another checkout's) do not drop each other's.
const DB = `dbee_bench_start_${process.pid}`;
const dbUrl = SERVER.replace(/\/[^/]*$/, `/${DB}`);
const env = { ...process.env, DBEE_USE_DIST: '1', DBEE_TEST_URL: dbUrl, FORCE_COLOR: '0' };
delete env.NODE_OPTIONS;

function psql(sql) {
  execFileSync('psql', [SERVER, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: 'pipe' });
}
/** Run `node <args>`: wall time, CPU time (user + system, from /usr/bin/time) and output; `status` is the exit code expected. */
function timed(args, status = 0) {
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '\n@cpu %U %S', process.execPath, ...args], {
    cwd: REPO,
    env,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const cpu = /\n@cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  const stderr = r.stderr.replace(/\n@cpu [\d.]+ [\d.]+\s*$/, '');
  if (r.status !== status || !cpu)
    throw new Error(`node ${args.join(' ')} exited ${r.status}, not ${status}:\n${r.stdout}${stderr}`);
  return { ms, cpuMs: (Number(cpu[1]) + Number(cpu[2])) * 1000, out: r.stdout + stderr };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const COMMANDS = [
  { name: 'dbee --help', args: ['--help'], target: 250 },
  { name: 'dbee status sales --env test (server)', args: ['status', 'sales', '--env', 'test'], target: 600 },
  {
    name: 'dbee deploy sales --env test, nothing to deploy (server)',
    args: ['deploy', 'sales', '--env', 'test', '-y'],
    target: 600,
    expect: /sales: nothing to deploy/,
  },
];

/**
 * Each command's start-up budget: the CPU of `dbee <command> no-such-project [its other required arguments]` over
 * `node -e 0`'s, in ms, on the machine of docs/performance.md. What a command loads is its operation's modules, zod and
 * the option schemas, the workspace's configuration (from .dbee/cache: no YAML library), and for `extract` the engine.
 */
const UNKNOWN = /unknown project "no-such-project"|nothing to extract: no-such-project/;
const P = 'no-such-project';
const BUDGETS = {
  build: [[P], 110],
  diff: [[P], 110],
  deploy: [[P], 130],
  'smoke-test': [[P], 110],
  rollback: [[P], 110],
  plan: [[P], 130],
  status: [[P], 110],
  log: [[P], 90],
  disable: [[P, 'x'], 90],
  enable: [[P, 'x'], 90],
  cleanup: [[P], 110],
  extract: [[P, '--env', 'test'], 200],
  adopt: [[P], 110],
  baseline: [[P], 110],
  audit: [[P], 110],
  clone: [[P, '--from', 'test', '--to', 'dev'], 110],
  graph: [[P], 90],
  check: [[P], 130],
  advise: [[P], 130],
  'dbt-sources': [[P, '--out', 'x.yml'], 110],
  complete: [[P], 110],
  abort: [[P], 110],
  version: [[P], 110],
  unlock: [[P], 90],
  config: [[P], 90],
  detag: [[P], 90],
  preview: [[P, 'list'], 130],
};

const only = arg('--only', null);
const COMMAND_RUNS = Number(arg('--command-runs', 5));
const loads = [];
const line = (name, w, cells) => process.stdout.write(`${name.padEnd(w)}  ${cells.join('  ')}\n`);
const sec = (ms) => `${(ms / 1000).toFixed(3)} s`;
const msf = (x) => `${x.toFixed(0).padStart(4)} ms`;

process.stdout.write('building (npm run build)...\n');
execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
psql(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
psql(`CREATE DATABASE ${DB}`);
try {
  timed([BIN, 'deploy', 'sales', '--env', 'test', '-y']);
  if (process.argv.includes('--profile')) {
    for (const c of COMMANDS) {
      process.stdout.write(`\n${c.name}: modules loaded (ms, including what they load)\n`);
      const r = spawnSync(process.execPath, ['-r', join(__dirname, 'require-times.js'), BIN, ...c.args], {
        cwd: REPO,
        env,
        encoding: 'utf8',
      });
      process.stdout.write(r.stderr);
    }
  } else {
    if (only !== 'commands') wholeProcesses();
    if (only !== 'whole') commandStarts();
    process.stdout.write(
      `\nload average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}; ${require('node:os').cpus().length} CPUs; node ${process.version}\n`,
    );
  }
} finally {
  psql(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
}

/** The three whole commands, wall time against their targets, and CPU. */
function wholeProcesses() {
  const rows = [];
  for (const c of COMMANDS) {
    const base = [];
    const dbee = [];
    const before = [];
    const run = (bin) => {
      const r = timed([bin, ...c.args]);
      if (c.expect && !c.expect.test(r.out)) throw new Error(`${c.name}: unexpected output\n${r.out}`);
      return r;
    };
    timed([BIN, ...c.args]); // warm the file system cache (and the compile cache)
    if (BASELINE) timed([BASELINE, ...c.args]);
    for (let i = 0; i < RUNS; i++) {
      loads.push(loadavg()[0]);
      base.push(timed(['-e', '0']));
      // With a baseline, the two alternate which goes first.
      if (BASELINE && i % 2) before.push(run(BASELINE));
      dbee.push(run(BIN));
      if (BASELINE && !(i % 2)) before.push(run(BASELINE));
    }
    const m = (xs, k) => median(xs.map((x) => x[k]));
    rows.push({
      ...c,
      base: m(base, 'ms'),
      dbee: m(dbee, 'ms'),
      cpuOver: median(dbee.map((d, i) => d.cpuMs - base[i].cpuMs)),
      before: BASELINE ? m(before, 'ms') : null,
      beforeCpuOver: BASELINE ? median(before.map((d, i) => d.cpuMs - base[i].cpuMs)) : null,
      ratio: BASELINE ? median(dbee.map((d, i) => d.ms / before[i].ms)) : null,
    });
  }
  process.stdout.write(
    `\nstart-up of the compiled dbee, median of ${RUNS} paired runs (node -e 0 and dbee alternating)\n`,
  );
  const w = Math.max(...rows.map((r) => r.name.length));
  line('command', w, ['node -e 0', '    dbee', 'CPU over node', 'target']);
  for (const r of rows)
    line(r.name, w, [
      sec(r.base),
      sec(r.dbee),
      `     ${msf(r.cpuOver)}`,
      `<= ${(r.target / 1000).toFixed(2)} s ${r.dbee <= r.target ? 'met' : 'NOT met'}`,
    ]);
  if (BASELINE) {
    process.stdout.write(`\nagainst the baseline ${BASELINE} (same runs, alternating)\n`);
    line('command', w, [' baseline', '    dbee', 'paired ratio', 'CPU over node: baseline, dbee']);
    for (const r of rows)
      line(r.name, w, [
        sec(r.before),
        sec(r.dbee),
        `       ${r.ratio.toFixed(3)}`,
        `${msf(r.beforeCpuOver)}, ${msf(r.cpuOver)}`,
      ]);
  }
}

/** Each command's start-up budget: its process refused after its operation loaded, CPU over node -e 0, paired. */
function commandStarts() {
  const rows = [];
  for (const [command, [rest, budget]] of Object.entries(BUDGETS)) {
    const args = [command, ...rest];
    const run = (bin) => {
      const r = timed([bin, ...args], 1);
      if (!UNKNOWN.test(r.out)) throw new Error(`dbee ${args.join(' ')}: unexpected output\n${r.out}`);
      return r;
    };
    run(BIN); // warm the compile cache
    if (BASELINE) run(BASELINE);
    const over = [];
    const beforeOver = [];
    for (let i = 0; i < COMMAND_RUNS; i++) {
      loads.push(loadavg()[0]);
      const node = timed(['-e', '0']);
      if (BASELINE && i % 2) beforeOver.push(run(BASELINE).cpuMs - node.cpuMs);
      over.push(run(BIN).cpuMs - node.cpuMs);
      if (BASELINE && !(i % 2)) beforeOver.push(run(BASELINE).cpuMs - node.cpuMs);
    }
    rows.push({ command, budget, over, beforeOver });
  }
  process.stdout.write(
    `\neach command's start-up: CPU of \`dbee <command> ${P}\` (refused once its operation loaded) over \`node -e 0\`, median of ${COMMAND_RUNS} pairs (range)\n`,
  );
  const w = Math.max(...rows.map((r) => r.command.length));
  line('command', w, [`${'CPU over node'.padEnd(26)}`, 'budget', ...(BASELINE ? ['baseline (same runs)'] : [])]);
  let unmet = 0;
  for (const r of rows) {
    const m = median(r.over);
    if (m > r.budget) unmet++;
    line(r.command, w, [
      `${msf(m)} (${msf(Math.min(...r.over))} - ${msf(Math.max(...r.over))})`.padEnd(26),
      `<= ${r.budget} ms ${m <= r.budget ? 'met' : 'NOT met'}`.padEnd(18),
      ...(BASELINE ? [`${msf(median(r.beforeOver))}`] : []),
    ]);
  }
  process.stdout.write(`${rows.length - unmet} of ${rows.length} budgets met\n`);
}
