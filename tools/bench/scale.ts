/**
 * How dbee's figures grow with the project (issue #40, item 5): the generated project at several sizes (default
 * 1,000 and 5,000 objects; add 10,000 when asked), each figure measured in-process on the same server in one run per
 * size, printed with its growth factor from the smallest size next to the growth of the objects and of the psql floor.
 * A figure that grows faster than the floor grows faster than the work. The goals at 5,000 objects get a verdict.
 *
 *   npm run bench -- --scale                 # 1,000 and 5,000 objects
 *   npm run bench -- --scale 1000,5000,10000 # and 10,000 (minutes; run it once)
 *
 * Per size, each database fresh (dbee_bench_*, dropped at the end): the psql floor (`psql -X -1 -f`, after an untimed
 * run) and right after it dbee's full deploy to an empty database (paired ratio); the no-op deploy; the change set's
 * floor (`psql -1 -f` of its statements on a copy of the floor's database) and dbee's incremental deploy of it with
 * the desired model cached (built by an uncached `diff` of the same sources first, which is measured too), then its
 * rollback; the cached diff. Each step's schema is checked against the floor's, as `npm run bench` does.
 * Then, as whole CLI processes of the compiled dist/ (as installed) under /usr/bin/time for their peak memory: the
 * floor again and right after it the full deploy to another empty database (paired ratio), and `plan --out` of the
 * sources with no cache (a package folder; no database change).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';

const LIKE = 'gen\\_s%';

/** The figures of one size, in milliseconds (the full deploy also as its paired ratio to the floor). */
interface Figures {
  objects: number;
  floor: number;
  full: number;
  fullRatio: number;
  noop: number;
  changeFloor: number;
  steps: string;
  incrCached: number;
  rollback: number;
  diffUncached: number;
  diffCached: number;
  load: string;
  /** Requests sent to the server (round trips) by the incremental deploy and by its rollback; DROP VIEW statements. */
  incrRequests: number;
  rollbackRequests: number;
  rollbackDropViews: number;
  /** Views the smoke baseline compiled after the incremental deploy and after its rollback (what they can have broken). */
  incrCompiled: number;
  rollbackCompiled: number;
  /** The same compiles as the incremental deploy's smoke baseline, by psql in a new session: the guarantee's own floor. */
  incrCompileFloor: number;
  /** Whether the floor ran as one transaction (`-1`); false where that ran out of the server's lock table. */
  floorSingle: boolean;
  /** Whole CLI processes (dist/): the floor right before, the full deploy, its paired ratio, `plan --out`; peak MB. */
  cliFloor: number;
  cliFull: number;
  cliFullRatio: number;
  cliFullMb: number;
  cliPlan: number;
  cliPlanMb: number;
}

/**
 * `f`'s requests to the server through pg (every round trip of this process while it runs: dbee's, as nothing else
 * runs), and the DROP VIEW statements among them: figures that do not depend on the machine's load.
 */
async function counted<T>(f: () => Promise<T>): Promise<{ value: T; requests: number; dropViews: number }> {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const query = proto.query;
  let requests = 0;
  let dropViews = 0;
  proto.query = function (this: unknown, ...a: unknown[]) {
    requests++;
    const text = typeof a[0] === 'string' ? a[0] : (a[0] as { text?: unknown } | null)?.text;
    if (typeof text === 'string') dropViews += text.match(/\bDROP VIEW\b/gi)?.length ?? 0;
    return query.apply(this, a);
  };
  try {
    return { value: await f(), requests, dropViews };
  } finally {
    proto.query = query;
  }
}

/**
 * The floor: `psql -X -1 -f` of the script, or where one transaction runs out of the server's shared lock table (10,000
 * objects at the default max_locks_per_transaction) `psql -X -f`, one transaction per statement, as dbee's default.
 */
async function floorRun(db: string, script: string): Promise<L.Timed & { single: boolean }> {
  try {
    return { ...(await L.psqlFile(db, script)), single: true };
  } catch (e) {
    // The failed transaction left the database empty (ON_ERROR_STOP, rolled back).
    if (!/out of shared memory/.test(String(e))) throw e;
    return { ...(await L.psqlFile(db, script, false)), single: false };
  }
}

/** `dbee <args>` as a whole process of the compiled dist/ under /usr/bin/time: wall time and peak resident MB. */
async function cliTimed(args: string[], env: Record<string, string>): Promise<L.Timed & { peakMb: number }> {
  const bin = join(L.REPO, 'packages/cli/bin/dbee.js');
  const r = await L.timeProcess('/usr/bin/time', ['-f', 'peak-kb %M', process.execPath, bin, ...args], {
    cwd: L.REPO,
    env: { ...process.env, DBEE_USE_DIST: '1', ...env },
  });
  if (r.code !== 0) throw new Error(`dbee ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return { ...r, peakMb: Number(/peak-kb (\d+)/.exec(r.stderr)?.[1] ?? Number.NaN) / 1024 };
}

/** The CLI rows of one size: floor then full deploy (paired), and `plan --out` with no cache. */
async function cliFigures(
  n: number,
  ws: string,
  script: string,
  quiet: () => Promise<unknown>,
): Promise<Pick<Figures, 'cliFloor' | 'cliFull' | 'cliFullRatio' | 'cliFullMb' | 'cliPlan' | 'cliPlanMb'>> {
  const floorDb = await L.createDb(`cf_${n}`);
  const cliFloor = (await quiet(), await floorRun(floorDb, script)).ms;
  const db = await L.createDb(`c_${n}`);
  const env = { [L.envVar('d')]: L.dbUrl(db) };
  const full = (await quiet(), await cliTimed(['deploy', 'gen', '--env', 'd', '--cwd', ws], env));
  rmSync(join(ws, '.dbee', 'cache'), { recursive: true, force: true });
  const out = join(ws, 'dist', 'package');
  const plan = (await quiet(), await cliTimed(['plan', 'gen', '--env', 'd', '--out', out, '--cwd', ws], env));
  if (!existsSync(join(out, 'manifest.json'))) throw new Error(`plan --out wrote no manifest.json in ${out}`);
  return {
    cliFloor,
    cliFull: full.ms,
    cliFullRatio: full.ms / cliFloor,
    cliFullMb: full.peakMb,
    cliPlan: plan.ms,
    cliPlanMb: plan.peakMb,
  };
}

/**
 * What the smoke baseline of the last deployment of `db` compiled, compiled again by psql in a new session, one
 * transaction (`SELECT * FROM v LIMIT 0` for each view, as the baseline does): the cost of the guarantee itself,
 * with no dbee around it. The generated project's names need no quoting beyond their parts.
 */
async function compileFloor(db: string, dir: string): Promise<number> {
  const r = await L.sql(
    db,
    `SELECT substring(check_name from '^baseline: [a-z-]*view (.*) compiles$') AS name FROM dbee.smoke_results
      WHERE deployment_id = (SELECT max(id) FROM dbee.deployments) AND check_name LIKE 'baseline: %view % compiles'`,
  );
  const file = join(dir, 'compiles.sql');
  const quoted = (name: string) =>
    name
      .split('.')
      .map((part) => `"${part}"`)
      .join('.');
  writeFileSync(file, r.rows.map((row: { name: string }) => `SELECT * FROM ${quoted(row.name)} LIMIT 0;\n`).join(''));
  return (await L.psqlFile(db, file)).ms;
}

/** The views (and materialized views) the smoke baseline of the last deployment of `db` compiled. */
async function compiledViews(db: string): Promise<number> {
  const r = await L.sql(
    db,
    `SELECT count(*)::int AS n FROM dbee.smoke_results WHERE deployment_id = (SELECT max(id) FROM dbee.deployments)
        AND check_name LIKE 'baseline: %view % compiles'`,
  );
  return Number(r.rows[0].n);
}

async function measure(n: number, failures: string[]): Promise<Figures> {
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-scale-'));
  try {
    const ws = join(root, 'base');
    const wsChanged = join(root, 'changed');
    L.writeWorkspace(ws, ['d'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: n });
    cpSync(ws, wsChanged, { recursive: true });
    const cs = generateChangeSet(gen);
    applyChangeSet(join(wsChanged, 'gen'), cs);
    const script = join(root, 'script.sql');
    const changes = join(root, 'changes.sql');
    writeFileSync(script, gen.script);
    writeFileSync(changes, cs.script);
    const quiet = async () => (await L.sql('postgres', 'CHECKPOINT'), spawnSync('sync'));
    const check = async (what: string, db: string, expected: L.CatalogSummary) => {
      const d = L.compareSummaries(expected, await L.catalogSummary(db, LIKE));
      if (d) failures.push(`${n} objects: ${what}: schema differs from the floor's: ${d}`);
    };
    // Warm-up (untimed): this process loads dbee and parses the sources, as `npm run bench`'s in-process rows.
    await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(await L.createDb(`w${n}`)) });
    await floorRun(await L.createDb(`warm${n}`), script);
    const f0 = await L.createDb(`f0_${n}`);
    const floorTimed = (await quiet(), await floorRun(f0, script));
    const floor = floorTimed.ms;
    const base = await L.catalogSummary(f0, LIKE);
    const d = await L.createDb(`d_${n}`);
    const env = { [L.envVar('d')]: L.dbUrl(d) };
    const full = (await quiet(), await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env)).ms;
    await check('full deploy', d, base);
    const noop = (await quiet(), await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env));
    if (!/nothing to deploy/.test(noop.stdout + noop.stderr))
      failures.push(`${n} objects: the no-op deploy did something`);
    const f1 = await L.createDb(`f1_${n}`, f0);
    const changeFloor = (await quiet(), await L.psqlFile(f1, changes)).ms;
    const changed = await L.catalogSummary(f1, LIKE);
    rmSync(join(wsChanged, '.dbee', 'cache'), { recursive: true, force: true });
    const diffUncached = (await quiet(),
    await L.dbee(wsChanged, 'diff', { project: 'gen', env: 'd', format: 'json' }, env)).ms;
    const diffCached = (await L.dbee(wsChanged, 'diff', { project: 'gen', env: 'd', format: 'json' }, env)).ms;
    const incrCounted =
      (await quiet(), await counted(() => L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, env)));
    const incr = incrCounted.value;
    const incrCompiled = await compiledViews(d);
    const incrCompileFloor = (await quiet(), await compileFloor(d, root));
    await check('incremental deploy', d, changed);
    const rolledBack =
      (await quiet(),
      await counted(() => L.dbee(wsChanged, 'rollback', { project: 'gen', env: 'd', assumeYes: true }, env)));
    const rollback = rolledBack.value.ms;
    const rollbackCompiled = await compiledViews(d);
    await check('rollback', d, base);
    const cli = await cliFigures(n, ws, script, quiet);
    return {
      ...cli,
      objects: gen.objects,
      floor,
      full,
      fullRatio: full / floor,
      noop: noop.ms,
      changeFloor,
      steps: /deployed (\d+) step/.exec(incr.stdout + incr.stderr)?.[1] ?? '?',
      incrCached: incr.ms,
      rollback,
      diffUncached,
      diffCached,
      load: L.load(),
      floorSingle: floorTimed.single,
      incrRequests: incrCounted.requests,
      rollbackRequests: rolledBack.requests,
      rollbackDropViews: rolledBack.dropViews,
      incrCompiled,
      rollbackCompiled,
      incrCompileFloor,
    };
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
}

/** A row of the scaling table: its label, value, unit and, for some, a goal (at most `limit`) judged at one size. */
interface Row {
  label: string;
  get: (f: Figures) => number;
  kind: 'ms' | 'ratio' | 'count' | 'mb';
  goal?: { at: number; text: string; limit: (f: Figures) => number };
}

const row = (label: string, get: Row['get'], kind: Row['kind'], goal?: [number, string, number | Row['get']]): Row => ({
  label,
  get,
  kind,
  ...(goal && {
    goal: { at: goal[0], text: goal[1], limit: typeof goal[2] === 'number' ? () => goal[2] as number : goal[2] },
  }),
});

const ROWS: Row[] = [
  row('objects', (f) => f.objects, 'count'),
  row('psql -1 -f floor', (f) => f.floor, 'ms'),
  row('full deploy, in-process', (f) => f.full, 'ms'),
  row('full deploy / floor (paired)', (f) => f.fullRatio, 'ratio', [5000, '<= 1.5x', 1.5]),
  row('no-op deploy, in-process', (f) => f.noop, 'ms', [5000, '<= 0.3 s', 300]),
  row('change-set floor (psql -1 -f)', (f) => f.changeFloor, 'ms'),
  row('incremental deploy, model cached', (f) => f.incrCached, 'ms', [
    5000,
    '<= 2x change-set floor + 0.5 s',
    (f) => 2 * f.changeFloor + 500,
  ]),
  row('incremental deploy: requests to the server', (f) => f.incrRequests, 'count'),
  row('incremental deploy: views the smoke baseline compiled', (f) => f.incrCompiled, 'count'),
  row('incremental deploy: those compiles alone (psql)', (f) => f.incrCompileFloor, 'ms'),
  row('change-set floor + those compiles', (f) => f.changeFloor + f.incrCompileFloor, 'ms'),
  row('rollback of it', (f) => f.rollback, 'ms', [5000, '<= 1 s', 1000]),
  row('rollback: requests to the server', (f) => f.rollbackRequests, 'count'),
  row('rollback: DROP VIEW statements', (f) => f.rollbackDropViews, 'count'),
  row('rollback: views the smoke baseline compiled', (f) => f.rollbackCompiled, 'count'),
  row('diff, uncached (builds the model)', (f) => f.diffUncached, 'ms', [5000, '<= 3 s', 3000]),
  row('diff, cached', (f) => f.diffCached, 'ms', [5000, '<= 0.3 s', 300]),
  row('CLI: psql floor before it', (f) => f.cliFloor, 'ms'),
  row('CLI: full deploy', (f) => f.cliFull, 'ms'),
  row('CLI: full deploy / floor (paired)', (f) => f.cliFullRatio, 'ratio', [10000, '<= 1.5x', 1.5]),
  row('CLI: full deploy, peak memory', (f) => f.cliFullMb, 'mb'),
  row('CLI: plan --out, no cache', (f) => f.cliPlan, 'ms', [10000, '<= 2 s', 2000]),
  row('CLI: plan --out, peak memory', (f) => f.cliPlanMb, 'mb', [10000, '<= 500 MB', 500]),
];

function fmt(v: number, kind: Row['kind']): string {
  if (kind === 'ms') return L.fmtMs(v);
  if (kind === 'mb') return `${v.toFixed(0)} MB`;
  if (kind === 'count') return v.toLocaleString('en-US');
  return L.fmtRatio(v);
}

/** The size a goal stated at `at` objects is judged at: the measured size within 2 % of it. */
const near = (all: Figures[], at: number) => all.find((f) => Math.abs(f.objects - at) <= at * 0.02);

/** The verdict of a row's goal: met / NOT MET with the figure, or why it is not judged. */
function verdict(row: Row, all: Figures[]): string {
  if (!row.goal) return '';
  const f = near(all, row.goal.at);
  if (!f) return `not measured (no ${row.goal.at.toLocaleString('en-US')}-object run)`;
  return `${row.get(f) <= row.goal.limit(f) ? 'met' : 'NOT MET'} (${fmt(row.get(f), row.kind)})`;
}

export async function scaleMain(sizes: number[]): Promise<void> {
  console.log(`dbee scaling benchmark: ${sizes.join(', ')} objects, one run each`);
  console.log(`machine: ${L.machine()}`);
  console.log(`load average at start: ${L.load()}`);
  const built = L.buildDist();
  if (!built) throw new Error('npm run build failed: the CLI rows need the compiled dist/');
  const failures: string[] = [];
  const all: Figures[] = [];
  for (const n of sizes) {
    all.push(await measure(n, failures));
    console.log(`  ${n} objects done, load average ${L.load()}`);
  }
  const first = all[0]!;
  console.log('');
  console.log(
    L.table(
      [
        'figure',
        ...all.map((f) => `${f.objects.toLocaleString('en-US')} objects`),
        ...all.slice(1).map((f) => `growth to ${f.objects.toLocaleString('en-US')}`),
        'goal',
        'verdict',
      ],
      ROWS.map((row) => [
        row.label,
        ...all.map((f) => fmt(row.get(f), row.kind)),
        ...all.slice(1).map((f) => (row.get(first) ? L.fmtRatio(row.get(f) / row.get(first)) : '-')),
        row.goal ? `${row.goal.text} at ${row.goal.at.toLocaleString('en-US')}` : '',
        verdict(row, all),
      ]),
    ),
  );
  console.log(`incremental steps: ${all.map((f) => `${f.steps} at ${f.objects}`).join(', ')}`);
  const perStatement = all.filter((f) => !f.floorSingle).map((f) => f.objects.toLocaleString('en-US'));
  if (perStatement.length)
    console.log(
      `floor at ${perStatement.join(', ')} objects: psql -X -f, one transaction per statement (with -1 the server ran out of its lock table: max_locks_per_transaction)`,
    );
  console.log(`load average after each size: ${all.map((f) => `${f.load} at ${f.objects}`).join('; ')}`);
  console.log('checks:');
  console.log(
    `  schema after every deploy and the rollback compared with the floor's: ${failures.length ? `${failures.length} FAILURES` : 'all equal'}`,
  );
  for (const f of failures) console.log(`  FAILED ${f}`);
  console.log(`date ${new Date().toISOString().slice(0, 10)}; load average at the end: ${L.load()}`);
  if (failures.length) process.exitCode = 1;
}
