/**
 * How dbee's figures grow with the project (issue #40, item 5; goals of issue #61): the generated project at several
 * sizes (default 1,000 and 5,000 objects; add 10,000 when asked), each figure measured in-process, printed with its
 * growth factor from the smallest size next to the growth of the objects and of the psql floor. A figure that grows
 * faster than the floor grows faster than the work. The goals (full deploy <= 1.2x the floor at 1,005 and 5,000
 * objects; the incremental deploy <= 2x its change set's floor + the smoke baseline's compiles at 5,000) get a verdict
 * on the median of `--runs` paired runs (5 by default), with their range and the load average.
 *
 *   npm run bench -- --scale                          # 1,000 and 5,000 objects
 *   npm run bench -- --scale 1000,5000,10000 --runs 5 # and 10,000 (many minutes)
 *   npm run bench -- --scale --write-docs             # and rewrite its table in docs/performance.md
 *   npm run bench -- --scale --own-cluster            # every size on a cluster of its own
 *
 * Where: sizes up to 5,000 on the shared server; above, on a cluster of the benchmark's own (initdb in a temporary
 * folder, a free port, `max_locks_per_transaction` raised so that the floor runs as ONE transaction, `psql -1`, like
 * every other floor: the shared server's lock table holds too few for 10,000 objects, and its settings are not ours
 * to change). Every floor is measured again when another session filled the shared lock table (`L.psqlFile`).
 *
 * Per size, each database fresh (dbee_bench_*, dropped at the end): `runs` pairs of the psql floor (`psql -X -1 -f`,
 * after an untimed run) and right after it dbee's full deploy to an empty database (paired ratio); the no-op deploy;
 * the uncached and the cached diff; then `runs` times: the change set's floor (`psql -1 -f` of its statements on a
 * copy of the floor's database), dbee's incremental deploy of it with the desired model cached, the views its smoke
 * baseline compiled compiled again by psql (the guarantee's own floor), and its rollback. Each step's schema is checked
 * against the floor's, as `npm run bench` does. Then, as whole CLI processes of the compiled dist/ (as installed)
 * under /usr/bin/time for their peak memory: the floor again and right after it the full deploy to another empty
 * database (paired ratio), and `plan --out` of the sources with no cache (a package folder; no database change).
 */
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as G from './goals';
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
  /** Where it ran: the shared server, or a cluster of its own (sizes above OWN_CLUSTER_ABOVE). */
  server: 'shared server' | 'own cluster';
  /** Per run, paired: full deploy / floor; incremental deploy / (2 x (change-set floor + compiles)). */
  fullRatios: number[];
  incrBudgets: number[];
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
 * The floor: `psql -X -1 -f` of the script, one transaction, always (measured again when the shared server's lock table
 * was full: `L.psqlFile`). The sizes above `OWN_CLUSTER_ABOVE` objects run on a cluster of the benchmark's own whose
 * `max_locks_per_transaction` holds one transaction over all their objects.
 */
async function floorRun(db: string, script: string): Promise<L.Timed> {
  return L.psqlFile(db, script);
}

/** Sizes above this run on a cluster of their own (see `floorRun`); the shared server's lock table is too small. */
const OWN_CLUSTER_ABOVE = 5000;
/** Enough for one transaction creating 10,000 objects with their indexes, constraints and triggers. */
const OWN_CLUSTER_SETTINGS = { max_locks_per_transaction: '2048', max_connections: '40' };

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
export async function compileFloor(db: string, dir: string): Promise<number> {
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

async function measure(n: number, runs: number, failures: string[]): Promise<Figures> {
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-scale-'));
  const own = n > OWN_CLUSTER_ABOVE || process.argv.includes('--own-cluster');
  if (own) await L.useOwnCluster(OWN_CLUSTER_SETTINGS);
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
    const quiet = () => L.quietServer();
    const check = async (what: string, db: string, expected: L.CatalogSummary) => {
      const d = L.compareSummaries(expected, await L.catalogSummary(db, LIKE));
      if (d) failures.push(`${n} objects: ${what}: schema differs from the floor's: ${d}`);
    };
    // Warm-up (untimed): this process loads dbee and parses the sources, as `npm run bench`'s in-process rows.
    const w = await L.createDb(`w${n}`);
    await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(w) });
    await L.dropDb(w);
    const warm = await L.createDb(`warm${n}`);
    await floorRun(warm, script);
    await L.dropDb(warm);
    // The full deploy against the floor, `runs` pairs (each on fresh databases); the first pair's databases are kept.
    const floors: number[] = [];
    const fulls: number[] = [];
    let f0 = '';
    let d = '';
    let base: L.CatalogSummary | null = null;
    for (let r = 0; r < runs; r++) {
      const fdb = await L.createDb(`f0_${n}_${r}`);
      floors.push((await quiet(), await floorRun(fdb, script)).ms);
      base ??= await L.catalogSummary(fdb, LIKE);
      const ddb = await L.createDb(`d_${n}_${r}`);
      const env = { [L.envVar('d')]: L.dbUrl(ddb) };
      fulls.push((await quiet(), await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env)).ms);
      await check('full deploy', ddb, base);
      if (r === 0) (f0 = fdb), (d = ddb);
      else for (const x of [fdb, ddb]) await L.dropDb(x);
    }
    const baseSummary = base!;
    const env = { [L.envVar('d')]: L.dbUrl(d) };
    const noop = (await quiet(), await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env));
    if (!/nothing to deploy/.test(noop.stdout + noop.stderr))
      failures.push(`${n} objects: the no-op deploy did something`);
    rmSync(join(wsChanged, '.dbee', 'cache'), { recursive: true, force: true });
    const diffUncached = (await quiet(),
    await L.dbee(wsChanged, 'diff', { project: 'gen', env: 'd', format: 'json' }, env)).ms;
    const diffCached = (await L.dbee(wsChanged, 'diff', { project: 'gen', env: 'd', format: 'json' }, env)).ms;
    // The incremental deploy (model cached) against its change set's floor and the smoke baseline's compiles by psql,
    // `runs` times: each change-set floor on a fresh copy of the floor's database, each deploy rolled back after.
    const inc: {
      changeFloor: number;
      ms: number;
      compiles: number;
      compiled: number;
      requests: number;
      rollback: number;
      rollbackRequests: number;
      rollbackDropViews: number;
      rollbackCompiled: number;
      steps: string;
    }[] = [];
    let changed: L.CatalogSummary | null = null;
    for (let r = 0; r < runs; r++) {
      const f1 = await L.createDb(`f1_${n}_${r}`, f0);
      const changeFloor = (await quiet(), await L.psqlFile(f1, changes)).ms;
      changed ??= await L.catalogSummary(f1, LIKE);
      await L.dropDb(f1);
      const counted1 =
        (await quiet(), await counted(() => L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, env)));
      const compiled = await compiledViews(d);
      const compiles = (await quiet(), await compileFloor(d, root));
      await check('incremental deploy', d, changed);
      const rolledBack =
        (await quiet(),
        await counted(() => L.dbee(wsChanged, 'rollback', { project: 'gen', env: 'd', assumeYes: true }, env)));
      const rollbackCompiled = await compiledViews(d);
      await check('rollback', d, baseSummary);
      inc.push({
        changeFloor,
        ms: counted1.value.ms,
        compiles,
        compiled,
        requests: counted1.requests,
        rollback: rolledBack.value.ms,
        rollbackRequests: rolledBack.requests,
        rollbackDropViews: rolledBack.dropViews,
        rollbackCompiled,
        steps: /deployed (\d+) step/.exec(counted1.value.stdout + counted1.value.stderr)?.[1] ?? '?',
      });
    }
    const mid = (f: (x: (typeof inc)[number]) => number) => L.median(inc.map(f));
    const cli = await cliFigures(n, ws, script, quiet);
    const fullRatios = fulls.map((x, i) => x / floors[i]!);
    return {
      ...cli,
      objects: gen.objects,
      floor: L.median(floors),
      full: L.median(fulls),
      fullRatio: L.median(fullRatios),
      noop: noop.ms,
      changeFloor: mid((x) => x.changeFloor),
      steps: inc[0]!.steps,
      incrCached: mid((x) => x.ms),
      rollback: mid((x) => x.rollback),
      diffUncached,
      diffCached,
      load: L.load(),
      server: own ? 'own cluster' : 'shared server',
      fullRatios,
      incrBudgets: inc.map((x) => x.ms / (2 * (x.changeFloor + x.compiles))),
      incrRequests: mid((x) => x.requests),
      rollbackRequests: mid((x) => x.rollbackRequests),
      rollbackDropViews: mid((x) => x.rollbackDropViews),
      incrCompiled: mid((x) => x.compiled),
      rollbackCompiled: mid((x) => x.rollbackCompiled),
      incrCompileFloor: mid((x) => x.compiles),
    };
  } finally {
    await L.dropAll();
    if (own) await L.useSharedServer();
    rmSync(root, { recursive: true, force: true });
  }
}

/** A row of the scaling table: its label, value and unit. */
interface Row {
  label: string;
  get: (f: Figures) => number;
  kind: 'ms' | 'ratio' | 'count' | 'mb';
}

const row = (label: string, get: Row['get'], kind: Row['kind']): Row => ({ label, get, kind });

const ROWS: Row[] = [
  row('objects', (f) => f.objects, 'count'),
  row('psql -1 -f floor', (f) => f.floor, 'ms'),
  row('full deploy, in-process', (f) => f.full, 'ms'),
  row('full deploy / floor (median of paired)', (f) => f.fullRatio, 'ratio'),
  row('no-op deploy, in-process', (f) => f.noop, 'ms'),
  row('change-set floor (psql -1 -f)', (f) => f.changeFloor, 'ms'),
  row('incremental deploy, model cached', (f) => f.incrCached, 'ms'),
  row('incremental deploy: requests to the server', (f) => f.incrRequests, 'count'),
  row('incremental deploy: views the smoke baseline compiled', (f) => f.incrCompiled, 'count'),
  row('incremental deploy: those compiles alone (psql)', (f) => f.incrCompileFloor, 'ms'),
  row('change-set floor + those compiles', (f) => f.changeFloor + f.incrCompileFloor, 'ms'),
  row('rollback of it', (f) => f.rollback, 'ms'),
  row('rollback: requests to the server', (f) => f.rollbackRequests, 'count'),
  row('rollback: DROP VIEW statements', (f) => f.rollbackDropViews, 'count'),
  row('rollback: views the smoke baseline compiled', (f) => f.rollbackCompiled, 'count'),
  row('diff, uncached (builds the model)', (f) => f.diffUncached, 'ms'),
  row('diff, cached', (f) => f.diffCached, 'ms'),
  row('CLI: psql floor before it', (f) => f.cliFloor, 'ms'),
  row('CLI: full deploy', (f) => f.cliFull, 'ms'),
  row('CLI: full deploy / floor (paired)', (f) => f.cliFullRatio, 'ratio'),
  row('CLI: full deploy, peak memory', (f) => f.cliFullMb, 'mb'),
  row('CLI: plan --out, no cache', (f) => f.cliPlan, 'ms'),
  row('CLI: plan --out, peak memory', (f) => f.cliPlanMb, 'mb'),
];

function fmt(v: number, kind: Row['kind']): string {
  if (kind === 'ms') return L.fmtMs(v);
  if (kind === 'mb') return `${v.toFixed(0)} MB`;
  if (kind === 'count') return v.toLocaleString('en-US');
  return L.fmtRatio(v);
}

/** The measured size within 2 % of `at` (1,000 generates 1,005 objects). */
const near = (all: Figures[], at: number) => all.find((f) => Math.abs(f.objects - at) <= at * 0.02);

/** The goals judged at these sizes: the full deploy at 1,005 and 5,000 objects, the incremental deploy at 5,000. */
function scaleGoals(all: Figures[]): G.Goal[] {
  const at = (size: number, f: (x: Figures) => number[]) => {
    const x = near(all, size);
    return x ? f(x) : [];
  };
  const why = (size: number) => `not measured (no ${size.toLocaleString('en-US')}-object size in this run)`;
  return [
    ...[1000, 5000].map(
      (size): G.Goal => ({
        label: `full deploy, in-process, ${near(all, size)?.objects.toLocaleString('en-US') ?? size} objects: <= 1.2x the psql -1 floor`,
        samples: at(size, (x) => x.fullRatios),
        bound: 'max',
        limit: 1.2,
        why: why(size),
      }),
    ),
    {
      label:
        "incremental deploy (model cached), 5,000 objects: <= 2x (its change set's floor + the smoke baseline's compiles)",
      // incrBudgets are deploy / (2 x both): printed as deploy / both against 2, as the goal reads (and as
      // `npm run bench` prints it at 1,005 objects).
      samples: at(5000, (x) => x.incrBudgets.map((r) => 2 * r)),
      bound: 'max' as const,
      limit: 2,
      why: why(5000),
      detail: 'figure = deploy / both',
    },
  ];
}

export async function scaleMain(sizes: number[], runs = 5): Promise<void> {
  const startLoad = L.load();
  console.log(`dbee scaling benchmark: ${sizes.join(', ')} objects, ${runs} paired runs per size`);
  console.log(`machine: ${L.machine()}`);
  console.log(`load average at start: ${startLoad}`);
  const built = L.buildDist();
  if (!built) throw new Error('npm run build failed: the CLI rows need the compiled dist/');
  const failures: string[] = [];
  const all: Figures[] = [];
  for (const n of sizes) {
    all.push(await measure(n, runs, failures));
    console.log(`  ${n} objects done (${all.at(-1)!.server}), load average ${L.load()}`);
  }
  const first = all[0]!;
  console.log('');
  const growth = L.table(
    [
      'figure',
      ...all.map((f) => `${f.objects.toLocaleString('en-US')} objects`),
      ...all.slice(1).map((f) => `growth to ${f.objects.toLocaleString('en-US')}`),
    ],
    ROWS.map((row) => [
      row.label,
      ...all.map((f) => fmt(row.get(f), row.kind)),
      ...all.slice(1).map((f) => (row.get(first) ? L.fmtRatio(row.get(f) / row.get(first)) : '-')),
    ]),
  );
  console.log(growth);
  console.log(`incremental steps: ${all.map((f) => `${f.steps} at ${f.objects}`).join(', ')}`);
  const own = all.filter((f) => f.server === 'own cluster').map((f) => f.objects.toLocaleString('en-US'));
  const ownNote = own.length
    ? `The ${own.join(', ')}-object figures ran on a cluster of the benchmark's own (max_locks_per_transaction ${OWN_CLUSTER_SETTINGS.max_locks_per_transaction}, fsync off), the floor as one transaction as everywhere; the others on the shared server.`
    : '';
  if (ownNote) console.log(ownNote);
  console.log(`load average after each size: ${all.map((f) => `${f.load} at ${f.objects}`).join('; ')}`);
  console.log('checks:');
  console.log(
    `  schema after every deploy and rollback compared with the floor's: ${failures.length ? `${failures.length} FAILURES` : 'all equal'}`,
  );
  for (const f of failures) console.log(`  FAILED ${f}`);
  const judged = G.printGoals(scaleGoals(all), startLoad);
  G.writeDocs(
    'scale',
    `\`npm run bench -- --scale ${sizes.join(',')}\`: ${runs} paired runs per size. ${ownNote}\n\n${G.goalsTable(judged)}\n\n${growth}`,
  );
  if (failures.length) process.exitCode = 1;
}
