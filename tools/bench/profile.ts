/**
 * Where dbee's time goes (issue #7 findings), without touching dbee's code: the PostgreSQL connection's `query`,
 * `execute`, `queryPrepared` and `executeBatch` are wrapped in this process to time every round trip by kind (user
 * DDL, BEGIN/COMMIT, ledger, catalog reads, session settings); the wall time with no request in flight is JavaScript
 * in this process (parsing, planning, checksums, introspection post-processing; what runs while a request is in flight
 * is not in it). Also: the psql floor with one transaction per statement (what
 * dbee's default `transaction: object` costs at the server), dbee with `transaction: plan`, and the cost of
 * starting the CLI process.
 *
 *   node tools/run.js tools/bench/profile.ts [objects=1000] [--runs 3] [--requests FILE]
 *   node tools/run.js tools/bench/profile.ts [objects=1000] --incremental [--runs 5] [--requests FILE] [--cpu-profile]
 *
 * `--incremental`: only the incremental deploy with the desired model cached (issue #61's goal), paired per run with
 * its floor (the change set's `psql -1`, then the views its smoke baseline compiled, compiled again by psql, as
 * `npm run bench` does): its round trips by kind, its JavaScript, and the ratio. With `--cpu-profile`, two more
 * deploys after the timed ones are profiled in-process (node:inspector) and summarised.
 *
 * It ends with V8 CPU profiles (`node --cpu-prof`) of whole CLI processes (full deploy, no-op deploy, uncached
 * diff), summarised as self time by package/file and by function; the raw .cpuprofile files are kept in
 * $TMPDIR/dbee-bench-cpuprof (open them in Chrome DevTools).
 */
import { Session } from 'node:inspector';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspace, loadProjectModel, planFromSources, desiredModel } from '@dbee/core';
import { PgConnection, createPostgresEngine, loadPostgresParser } from '@dbee/postgres';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';
import { printProfile } from './cpu-profile';
import { compileFloor } from './scale';

const argv = process.argv.slice(2);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(argv[argv.indexOf('--runs') + 1] && argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 3);

type Kind =
  | 'CREATE/DROP DATABASE (shadow)'
  | 'user DDL'
  | 'BEGIN/COMMIT/ROLLBACK'
  | 'ledger (dbee.*)'
  | 'catalog reads'
  | 'session SET'
  | 'other'
  | 'batched requests (steps with their ledger rows, smoke baseline)';
const kindOf = (sql: string): Kind => {
  const s = sql.trimStart().slice(0, 400);
  if (/^(CREATE|DROP) DATABASE\b/i.test(s)) return 'CREATE/DROP DATABASE (shadow)';
  if (/^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)\b/i.test(s)) return 'BEGIN/COMMIT/ROLLBACK';
  if (/^SET\b|^RESET\b|set_config/i.test(s)) return 'session SET';
  if (/\bdbee\.|dbee_|pg_try_advisory|pg_advisory/i.test(s)) return 'ledger (dbee.*)';
  if (/^(CREATE|ALTER|DROP|COMMENT|GRANT|REVOKE)\b/i.test(s)) return 'user DDL';
  if (/\bpg_[a-z_]+|information_schema/i.test(s)) return 'catalog reads';
  return 'other';
};

interface Tally {
  ms: Map<Kind, number>;
  calls: Map<Kind, number>;
  /** Time with at least one request in flight: requests on two sessions at once overlap, and their sum would not. */
  busy: number;
}
let tally: Tally | null = null;
let inFlight = 0;
let busySince = 0;
/** `--requests FILE`: every request of the measured runs, one line each (label, kind, ms, start in ms since the run began, session, the statement's start). */
const requestsFile = argv.includes('--requests') ? argv[argv.indexOf('--requests') + 1] : undefined;
let requestLabel = '';
/** Each connection's number in the request log, in the order they first sent something. */
const sessions = new WeakMap<object, number>();
let sessionCount = 0;
function logRequest(kind: string, ms: number, sql: string, start: number, session: unknown): void {
  if (!requestsFile || !tally) return;
  const head = sql.replace(/\s+/g, ' ').trim().slice(0, 160);
  if (typeof session === 'object' && session !== null && !sessions.has(session)) sessions.set(session, sessionCount++);
  const id = typeof session === 'object' && session !== null ? sessions.get(session) : '-';
  const at = (start - tallyStart).toFixed(1);
  appendFileSync(requestsFile, `${requestLabel}\t${kind}\t${ms.toFixed(1)}\t${at}\ts${id}\t${head}\n`);
}
/** One request timed into the tally under `kind`. */
async function timed<T>(
  kind: Kind,
  logKind: string,
  text: () => string,
  send: () => Promise<T>,
  session?: unknown,
): Promise<T> {
  const t = performance.now();
  if (inFlight++ === 0) busySince = t;
  try {
    return await send();
  } finally {
    const now = performance.now();
    if (--inFlight === 0 && tally) tally.busy += now - Math.max(busySince, tallyStart);
    if (tally) {
      tally.ms.set(kind, (tally.ms.get(kind) ?? 0) + now - t);
      tally.calls.set(kind, (tally.calls.get(kind) ?? 0) + 1);
      logRequest(logKind, now - t, text(), t, session);
    }
  }
}
function instrument(): void {
  // queryPrepared: the catalog queries run as named prepared statements (fingerprint, catalog version, lookups).
  const proto = PgConnection.prototype as unknown as Record<
    'query' | 'execute' | 'queryPrepared',
    (this: unknown, sql: string, ...rest: unknown[]) => Promise<unknown>
  >;
  // executeBatch: one request of many statements (runner/batch.ts), counted as one round trip.
  const batch = (
    PgConnection.prototype as unknown as { executeBatch: (this: unknown, statements: string[]) => Promise<unknown> }
  ).executeBatch;
  (PgConnection.prototype as unknown as { executeBatch: unknown }).executeBatch = function (
    this: unknown,
    statements: string[],
  ) {
    return timed(
      'batched requests (steps with their ledger rows, smoke baseline)',
      'batch',
      () => `[${statements.length} statements] ${statements.join('; ')}`,
      () => batch.call(this, statements),
      this,
    );
  };
  // queryMany: several catalog queries in one request (the live schema's), counted as one round trip.
  const many = (
    PgConnection.prototype as unknown as {
      queryMany: (this: unknown, queries: { sql: string }[], ...rest: unknown[]) => Promise<unknown>;
    }
  ).queryMany;
  (PgConnection.prototype as unknown as { queryMany: unknown }).queryMany = function (
    this: unknown,
    queries: { sql: string }[],
    ...rest: unknown[]
  ) {
    return timed(
      'catalog reads',
      'catalog reads',
      () => `[${queries.length} queries] ${queries.map((q) => q.sql).join('; ')}`,
      () => many.call(this, queries, ...rest),
      this,
    );
  };
  for (const m of ['query', 'execute', 'queryPrepared'] as const) {
    const orig = proto[m];
    proto[m] = function (this: unknown, sql: string, ...rest: unknown[]) {
      const k = kindOf(sql);
      return timed(
        k,
        k,
        () => sql,
        () => orig.call(this, sql, ...rest),
        this,
      );
    };
  }
}

let tallyStart = 0;
async function measured<T>(f: () => Promise<T>, label = ''): Promise<{ wall: number; tally: Tally; value: T }> {
  requestLabel = label;
  tally = { ms: new Map(), calls: new Map(), busy: 0 };
  const t = performance.now();
  tallyStart = t;
  const value = await f();
  const wall = performance.now() - t;
  const out = tally;
  tally = null;
  return { wall, tally: out, value };
}

function report(label: string, runs: { wall: number; tally: Tally }[]): void {
  const wall = L.median(runs.map((r) => r.wall));
  const kinds = new Set(runs.flatMap((r) => [...r.tally.ms.keys()]));
  const rows: string[][] = [];
  for (const k of kinds) {
    const ms = L.median(runs.map((r) => r.tally.ms.get(k) ?? 0));
    rows.push([
      k,
      L.fmtMs(ms),
      `${((100 * ms) / wall).toFixed(0)}%`,
      String(L.median(runs.map((r) => r.tally.calls.get(k) ?? 0))),
    ]);
  }
  rows.sort((a, b) => parseFloat(b[2]!) - parseFloat(a[2]!));
  // Requests of two sessions at once overlap: the time with none in flight, not the wall less their sum.
  const idle = L.median(runs.map((r) => r.wall - r.tally.busy));
  rows.push([
    'JavaScript in-process (wall - time with a request in flight)',
    L.fmtMs(idle),
    `${((100 * idle) / wall).toFixed(0)}%`,
    '',
  ]);
  console.log(`\n${label}: median wall ${L.fmtMs(wall)} over ${runs.length} runs`);
  console.log(L.table(['where', 'median time', 'share', 'round trips'], rows));
}

async function cpuProfiles(ws: string, wsChanged: string, dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const d = await L.createDb('prof_cpu');
  const env = { [L.envVar('d')]: L.dbUrl(d), [L.envVar('base')]: L.dbUrl(d) };
  const runs: [string, string[]][] = [
    ['full deploy (CLI process)', ['deploy', 'gen', '--env', 'd', '--cwd', ws]],
    ['no-op deploy (CLI process)', ['deploy', 'gen', '--env', 'd', '--cwd', ws]],
    [
      'diff env vs sources, uncached (CLI process)',
      ['diff', 'gen', '--env', 'base', '--no-cache', '--format', 'json', '--cwd', wsChanged],
    ],
    // The diff above wrote the changed sources' desired model to the cache.
    ['incremental deploy, desired model cached (CLI process)', ['deploy', 'gen', '--env', 'd', '--cwd', wsChanged]],
  ];
  for (const [label, args] of runs) {
    const sub = join(dir, label.replace(/[^a-z]+/gi, '-'));
    const r = await L.timeProcess(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-dir', sub, join(L.REPO, 'packages/cli/bin/dbee.js'), ...args],
      { cwd: L.REPO, env: { ...process.env, ...env } },
    );
    if (r.code !== 0) throw new Error(`${label}: exited ${r.code}: ${r.stderr.slice(0, 500)}`);
    const file = readdirSync(sub).find((f) => f.endsWith('.cpuprofile'))!;
    printProfile(`${label}: wall ${L.fmtMs(r.ms)}`, join(sub, file));
  }
  await L.dropDb(d);
}

/** `--incremental`: the cached incremental deploy alone, paired with its floor (see the header). */
async function incrementalOnly(ws: string, wsChanged: string, root: string, changes: string): Promise<void> {
  const base = await L.createDb('prof_incr_base');
  const env = { [L.envVar('d')]: L.dbUrl(base) };
  await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env);
  // The changed sources' desired model into the cache (a dry run plans by the same diff), then one warm deploy.
  await L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd', dryRun: true, verify: false }, env);
  const deployCopy = async (label: string) => {
    const db = await L.createDb(label, base);
    const r = await measured(
      () => L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(db) }),
      label,
    );
    return { ...r, db };
  };
  await L.dropDb((await deployCopy('prof_incr_warm')).db);
  const runs: { wall: number; tally: Tally }[] = [];
  const ratios: number[] = [];
  const floors: number[] = [];
  const cpus: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const f = await L.createDb(`prof_incr_f_${run}`, base);
    const floor = (await L.psqlFile(f, changes)).ms;
    await L.dropDb(f);
    const r = await deployCopy(`incremental-cached-${run}`);
    const compiles = await compileFloor(r.db, root);
    await L.dropDb(r.db);
    runs.push(r);
    cpus.push(r.value.cpuMs);
    floors.push(floor + compiles);
    ratios.push(r.wall / (floor + compiles));
    console.log(
      `  run ${run}/${RUNS}: deploy ${L.fmtMs(r.wall)}, floor ${L.fmtMs(floor)} + compiles ${L.fmtMs(compiles)}: ${L.fmtRatio(r.wall / (floor + compiles))}; load ${L.load()}`,
    );
  }
  report('dbee incremental deploy (in-process, desired model cached)', runs);
  // This process's CPU during each deploy (user + system, all its threads): what the machine's load moves least.
  console.log(`deploy CPU median ${L.fmtMs(L.median(cpus))} (${cpus.map(L.fmtMs).join(', ')})`);
  console.log(
    `paired ratio deploy / (change-set floor + compiles): median ${L.fmtRatio(L.median(ratios))} (range ${L.fmtRatio(Math.min(...ratios))}-${L.fmtRatio(Math.max(...ratios))}); floor + compiles median ${L.fmtMs(L.median(floors))}`,
  );
  if (argv.includes('--cpu-profile')) {
    const session = new Session();
    session.connect();
    const post = (method: string, params?: object) =>
      new Promise<unknown>((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    const dbs: string[] = [];
    for (let i = 1; i <= 2; i++) dbs.push(await L.createDb(`prof_incr_cpu_${i}`, base));
    await post('Profiler.start');
    for (const db of dbs)
      await L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(db) });
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    session.disconnect();
    const file = join(tmpdir(), 'dbee-bench-incremental.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    printProfile('2 incremental deploys, desired model cached (in-process)', file, 30);
    for (const db of dbs) await L.dropDb(db);
  }
  await L.dropDb(base);
  console.log(`load at end ${L.load()}`);
}

async function main(): Promise<void> {
  instrument();
  console.log(`dbee profile: ${N} objects, ${RUNS} runs; ${L.machine()}; load ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-profile-'));
  try {
    const envs = ['d', 'base'];
    const ws = join(root, 'base');
    L.writeWorkspace(ws, envs, 'server');
    // A second workspace whose environment `plan` deploys with one transaction for the whole plan.
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const wsPlan = join(root, 'plan');
    cpSync(ws, wsPlan, { recursive: true });
    writeFileSync(
      join(wsPlan, 'dbee.yaml'),
      `version: 1\ndefaultEnvironment: d\nshadow: server\ndeploy:\n  transaction: plan\nenvironments:\n  d:\n    engine: postgres\n    connection:\n      url: \${${L.envVar('d')}}\n`,
    );
    const wsChanged = join(root, 'changed');
    cpSync(ws, wsChanged, { recursive: true });
    applyChangeSet(join(wsChanged, 'gen'), generateChangeSet(gen));
    const script = join(root, 'script.sql');
    writeFileSync(script, gen.script);
    if (argv.includes('--incremental')) {
      const changes = join(root, 'changes.sql');
      writeFileSync(changes, generateChangeSet(gen).script);
      await incrementalOnly(ws, wsChanged, root, changes);
      return;
    }

    if (argv.includes('--cpu-only')) {
      await cpuProfiles(ws, wsChanged, join(tmpdir(), 'dbee-bench-cpuprof'));
      return;
    }
    // Warm the process.
    const w = await L.createDb('prof_warm');
    await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(w) });
    await L.dropDb(w);

    const full: { wall: number; tally: Tally }[] = [];
    const noop: { wall: number; tally: Tally }[] = [];
    const incr: { wall: number; tally: Tally }[] = [];
    const incrCached: { wall: number; tally: Tally }[] = [];
    const rollback: { wall: number; tally: Tally }[] = [];
    const diff: { wall: number; tally: Tally }[] = [];
    const diffEnv: { wall: number; tally: Tally }[] = [];
    const shadow: { wall: number; tally: Tally }[] = [];
    const floor1: number[] = [];
    const floorEach: number[] = [];
    const planTx: number[] = [];
    const phases = { parse: [] as number[], plan: [] as number[] };
    for (let run = 1; run <= RUNS; run++) {
      const d = await L.createDb(`prof_d_${run}`);
      const env = { [L.envVar('d')]: L.dbUrl(d), [L.envVar('base')]: L.dbUrl(d) };
      full.push(await measured(() => L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env)));
      noop.push(await measured(() => L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env)));
      const d2 = await L.createDb(`prof_d2_${run}`, d);
      rmSync(join(wsChanged, '.dbee', 'cache'), { recursive: true, force: true });
      incr.push(await measured(() => L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, env)));
      incrCached.push(
        await measured(
          () => L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, { ...env, [L.envVar('d')]: L.dbUrl(d2) }),
          'incremental-cached',
        ),
      );
      rollback.push(
        await measured(
          () =>
            L.dbee(
              wsChanged,
              'rollback',
              { project: 'gen', env: 'd', assumeYes: true },
              { ...env, [L.envVar('d')]: L.dbUrl(d2) },
            ),
          'rollback',
        ),
      );
      await L.dropDb(d2);
      // The database is now at the changed state; diff it against the base sources (20 differences).
      diff.push(
        await measured(() => L.dbee(ws, 'diff', { project: 'gen', env: 'base', cache: false, format: 'json' }, env)),
      );
      diffEnv.push(
        await measured(() =>
          L.dbee(ws, 'diff', { project: 'gen', env: 'base', againstEnv: 'd', cache: false, format: 'json' }, env),
        ),
      );

      // Floors: one transaction (psql -1) and one transaction per statement (psql, autocommit).
      const f = await L.createDb(`prof_f_${run}`);
      floor1.push((await L.psqlFile(f, script, true)).ms);
      const g = await L.createDb(`prof_g_${run}`);
      floorEach.push((await L.psqlFile(g, script, false)).ms);
      const p = await L.createDb(`prof_p_${run}`);
      planTx.push((await L.dbee(wsPlan, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(p) })).ms);

      // Planner phases alone (no database).
      await loadPostgresParser();
      const engine = createPostgresEngine();
      const workspace = Workspace.load(ws);
      const environment = workspace.environment('d', { ...process.env, ...env });
      const project = workspace.project('gen');
      let t = performance.now();
      const model = await loadProjectModel(
        workspace.root,
        project,
        workspace.settings(project, environment).variables,
        engine.parser,
        workspace.projects,
      );
      phases.parse.push(performance.now() - t);
      t = performance.now();
      planFromSources({
        engine,
        models: [model],
        planned: ['gen'],
        schemaOwners: new Map(model.graph.schemas.map((s) => [s, 'gen'])),
      });
      phases.plan.push(performance.now() - t);
      shadow.push(
        await measured(() =>
          desiredModel({
            engine,
            environment,
            workspaceRoot: ws,
            models: [model],
            target: 'gen',
            schemaOwners: new Map(model.graph.schemas.map((s) => [s, 'gen'])),
            shadow: 'server',
            toolVersion: '0',
            useCache: false,
          }),
        ),
      );
      for (const x of [d, f, g, p]) await L.dropDb(x);
      console.log(`  run ${run}/${RUNS} done, load ${L.load()}`);
    }
    console.log(
      `\nfloors: psql -1 (one transaction) ${L.fmtMs(L.median(floor1))}; psql with one transaction per statement ${L.fmtMs(L.median(floorEach))}`,
    );
    console.log(
      `dbee full deploy with deploy.transaction: plan: ${L.fmtMs(L.median(planTx))} (default object scope: ${L.fmtMs(L.median(full.map((r) => r.wall)))})`,
    );
    console.log(
      `planner alone: discover + parse + references ${L.fmtMs(L.median(phases.parse))}, graph + order + plan ${L.fmtMs(L.median(phases.plan))}`,
    );
    report('dbee full deploy (in-process)', full);
    report('dbee no-op deploy (in-process)', noop);
    report('dbee incremental deploy (in-process, desired model not cached)', incr);
    report('dbee incremental deploy (in-process, desired model cached)', incrCached);
    report('dbee rollback of it (in-process)', rollback);
    report('dbee diff env vs sources, uncached (in-process, shadow: server)', diff);
    report('  of which desiredModel() alone (shadow build + introspection)', shadow);
    report('dbee diff env vs env, uncached (in-process)', diffEnv);

    // CLI start-up: node alone, node + @swc-node/register, loading dbee's modules, `dbee --help`.
    const cli: Record<string, number[]> = { node: [], swc: [], modules: [], help: [] };
    const reg = `process.env.SWC_NODE_PROJECT=${JSON.stringify(join(L.REPO, 'tsconfig.base.json'))};require('@swc-node/register');`;
    for (let i = 0; i < RUNS; i++) {
      cli.node!.push((await L.timeProcess(process.execPath, ['-e', '0'], { cwd: L.REPO })).ms);
      cli.swc!.push((await L.timeProcess(process.execPath, ['-e', reg], { cwd: L.REPO })).ms);
      cli.modules!.push(
        (
          await L.timeProcess(
            process.execPath,
            ['-e', `${reg}require('./packages/cli/src/main');require('@dbee/postgres').loadPostgresParser()`],
            { cwd: L.REPO },
          )
        ).ms,
      );
      cli.help!.push((await L.dbeeProcess(['--help'], {})).ms);
    }
    console.log('\nCLI start-up (whole processes, medians):');
    console.log(
      L.table(
        ['process', 'median'],
        [
          ['node -e 0', L.fmtMs(L.median(cli.node!))],
          ['+ require @swc-node/register', L.fmtMs(L.median(cli.swc!))],
          [
            '+ load dbee CLI modules (TypeScript compiled on the fly) + libpg-query WASM',
            L.fmtMs(L.median(cli.modules!)),
          ],
          ['dbee --help', L.fmtMs(L.median(cli.help!))],
        ],
      ),
    );
    await cpuProfiles(ws, wsChanged, join(tmpdir(), 'dbee-bench-cpuprof'));
    console.log(`load at end ${L.load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

L.runMain(main);
