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

const REPO = resolve(__dirname, '..');
const BIN = join(REPO, 'packages', 'cli', 'bin', 'dbee.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RUNS = Number(arg('--runs', 15));
const BASELINE = arg('--baseline', null) && join(resolve(arg('--baseline')), 'packages', 'cli', 'bin', 'dbee.js');
const SERVER = process.env.DBEE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Its own database per run: two runs at once (another checkout's) do not drop each other's.
const DB = `dbee_bench_start_${process.pid}`;
const dbUrl = SERVER.replace(/\/[^/]*$/, `/${DB}`);
const env = { ...process.env, DBEE_USE_DIST: '1', DBEE_TEST_URL: dbUrl, FORCE_COLOR: '0' };
delete env.NODE_OPTIONS;

function psql(sql) {
  execFileSync('psql', [SERVER, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: 'pipe' });
}
function timed(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: REPO, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return { ms, out: r.stdout + r.stderr };
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
    const load = [];
    const rows = [];
    for (const c of COMMANDS) {
      const base = [];
      const dbee = [];
      const before = [];
      const run = (bin) => {
        const r = timed([bin, ...c.args]);
        if (c.expect && !c.expect.test(r.out)) throw new Error(`${c.name}: unexpected output\n${r.out}`);
        return r.ms;
      };
      timed([BIN, ...c.args]); // warm the file system cache (and the compile cache)
      if (BASELINE) timed([BASELINE, ...c.args]);
      for (let i = 0; i < RUNS; i++) {
        load.push(loadavg()[0]);
        base.push(timed(['-e', '0']).ms);
        // With a baseline, the two alternate which goes first.
        if (BASELINE && i % 2) before.push(run(BASELINE));
        dbee.push(run(BIN));
        if (BASELINE && !(i % 2)) before.push(run(BASELINE));
      }
      const ratio = BASELINE ? median(dbee.map((d, i) => d / before[i])) : null;
      rows.push({ ...c, base: median(base), dbee: median(dbee), before: BASELINE ? median(before) : null, ratio });
    }
    process.stdout.write(
      `\nstart-up of the compiled dbee, median of ${RUNS} paired runs (node -e 0 and dbee alternating)\n`,
    );
    process.stdout.write(
      `load average (1 min) during the runs: median ${median(load).toFixed(2)}, max ${Math.max(...load).toFixed(2)}; ${require('node:os').cpus().length} CPUs; node ${process.version}\n\n`,
    );
    const w = Math.max(...rows.map((r) => r.name.length));
    process.stdout.write(`${'command'.padEnd(w)}  node -e 0     dbee  dbee - node  target\n`);
    for (const r of rows) {
      const ok = r.dbee <= r.target ? 'met' : 'NOT met';
      process.stdout.write(
        `${r.name.padEnd(w)}  ${(r.base / 1000).toFixed(3)} s  ${(r.dbee / 1000).toFixed(3)} s  ${((r.dbee - r.base) / 1000).toFixed(3)} s    <= ${(r.target / 1000).toFixed(2)} s ${ok}\n`,
      );
    }
    if (BASELINE) {
      process.stdout.write(`\nagainst the baseline ${BASELINE} (same runs, alternating)\n`);
      process.stdout.write(`${'command'.padEnd(w)}  baseline     dbee  median of paired ratios (dbee / baseline)\n`);
      for (const r of rows)
        process.stdout.write(
          `${r.name.padEnd(w)}  ${(r.before / 1000).toFixed(3)} s  ${(r.dbee / 1000).toFixed(3)} s  ${r.ratio.toFixed(3)}\n`,
        );
    }
  }
} finally {
  psql(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
}
