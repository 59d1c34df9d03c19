/**
 * Paired A/B of dbee's part of a no-op `nx run-many -t deploy` (issue 75 item 5), without Nx: the monorepo of
 * tools/bench-monorepo.ts (`layers` x `width` projects), deployed once (untimed, by this checkout), then in each round
 * the no-op deploy of every project as Nx's batch worker runs it (tools/bench/noop-batch-run.js: one process, the
 * compiled batch implementation, from the process's start) by another checkout (`--against`, its own `npm ci` and
 * `npm run build`) and by this one, alternated, the order swapped every round. Per side the medians of wall time, the
 * process's CPU time and the requests sent; per figure the median of the paired differences and ratios; the load.
 *
 *   node tools/run.js tools/bench/noop-batch-pair.ts --against /work/other-checkout [--pairs 7] [--layers 10] [--width 20]
 *                                                    [--db <scratch database name, default dbee_bench_noop_batch>]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monorepoProjects, writeMonorepo } from '../bench-monorepo';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const PAIRS = Number(option('pairs') ?? 7);
const LAYERS = Number(option('layers') ?? 10);
const WIDTH = Number(option('width') ?? 20);
const AGAINST = option('against');
if (!AGAINST) throw new Error('usage: noop-batch-pair.ts --against <another checkout, built> [--pairs n]');
// noop-batch-run.js refuses a checkout that does not run its own packages (other-build.js; checked there, in plain
// Node: this process resolves @dbee/* to this checkout's sources).
const SIDES = { before: AGAINST, after: L.REPO } as const;
type Side = keyof typeof SIDES;
interface Run {
  wall: number;
  cpu: number;
  requests: number;
}

function run(side: Side, root: string, url: string): Run {
  const out = execFileSync(process.execPath, [join(__dirname, 'noop-batch-run.js'), SIDES[side], root], {
    cwd: root,
    env: { ...process.env, DBEE_ENV: 'server', DBEE_BENCH_URL: url, DBEE_USE_DIST: '1' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as Run & { ok: number };
  if (r.ok !== LAYERS * WIDTH) throw new Error(`${side}: ${r.ok} of ${LAYERS * WIDTH} tasks succeeded`);
  return r;
}

L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-noop-batch-'));
  const projects = monorepoProjects(LAYERS, WIDTH);
  writeMonorepo(root, projects, 'dbee');
  const tasks = Object.fromEntries(
    projects.map((p) => [`db-${p.name}:deploy`, { id: `db-${p.name}:deploy`, target: { project: `db-${p.name}` } }]),
  );
  const dependencies = Object.fromEntries(
    projects.map((p) => [`db-${p.name}:deploy`, p.dependsOn.map((d) => `db-${d}:deploy`)]),
  );
  writeFileSync(join(root, 'graph.json'), JSON.stringify({ roots: [], tasks, dependencies }));
  const db = option('db') ?? 'dbee_bench_noop_batch';
  const psql = (sql: string) => execFileSync('psql', [L.serverUrl(), '-qc', sql], { stdio: 'pipe' });
  psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  psql(`CREATE DATABASE ${db}`);
  const url = L.dbUrl(db);
  console.log(`${projects.length} projects; before = ${SIDES.before}, after = ${SIDES.after}; load ${L.load()}`);
  try {
    run('after', root, url); // the first deploy, untimed
    run('before', root, url); // each side once, untimed: its compile cache and its parse cache filled
    run('after', root, url);
    const rows: Record<Side, Run>[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const order: Side[] = i % 2 ? ['after', 'before'] : ['before', 'after'];
      const row = {} as Record<Side, Run>;
      for (const side of order) row[side] = run(side, root, url);
      rows.push(row);
      const f = (r: Run) => `${r.wall.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s, ${r.requests} requests`;
      console.log(`  round ${i + 1}: before ${f(row.before)}; after ${f(row.after)}   (load ${L.load()})`);
    }
    for (const k of ['wall', 'cpu', 'requests'] as const) {
      const m = (xs: number[]) => L.median(xs);
      console.log(
        `${k.padEnd(8)} before ${m(rows.map((r) => r.before[k])).toFixed(2)}  after ${m(rows.map((r) => r.after[k])).toFixed(2)}  ` +
          `after - before ${m(rows.map((r) => r.after[k] - r.before[k])).toFixed(3)}  after / before ${m(rows.map((r) => r.after[k] / r.before[k])).toFixed(3)} (medians of ${rows.length} pairs)`,
      );
    }
    console.log(`load ${L.load()}`);
  } finally {
    psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    rmSync(root, { recursive: true, force: true });
  }
});
