/**
 * Shared machinery of the benchmarks (tools/bench/index.ts, tools/bench-diff.ts): scratch databases on the
 * PostgreSQL server (named `dbee_bench_*`, dropped at the end, also on failure or Ctrl-C), psql runs, a catalog
 * summary that checks results independently of dbee, in-process and whole-process dbee runs, peers installed
 * from npm into a scratch folder outside the repository, medians and tables.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { runDbeeCommand, type CommandName } from '@dbee/cli';
import { OwnCluster } from '../../test/support/own-cluster';

export const REPO = resolve(__dirname, '..', '..');
/** The shared server's URL, whose database part is replaced per scratch database. */
export const SERVER_URL = process.env.DBEE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The server the benchmark runs against now: the shared one, or a cluster of its own (`useOwnCluster`). */
let server = SERVER_URL;

/** The server the scratch databases, psql runs and dbee runs go to now. */
export function serverUrl(): string {
  return server;
}

export function dbUrl(db: string, applicationName?: string): string {
  const u = new URL(server);
  u.pathname = '/' + db;
  if (applicationName) u.searchParams.set('application_name', applicationName);
  return u.toString();
}

function connParams(): { host: string; port: string; user: string } {
  const u = new URL(server);
  return { host: u.hostname, port: u.port || '5432', user: decodeURIComponent(u.username || 'postgres') };
}

// ---------------------------------------------------------------------------------------------------------
// Scratch databases

const created = new Set<string>();
const RUN_TAG = randomBytes(3).toString('hex');

async function admin<T>(f: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: server });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** Create `dbee_bench_<tag>_<label>` (optionally from a template database) and remember it for `dropAll`. */
export async function createDb(label: string, template?: string): Promise<string> {
  const name = `dbee_bench_${RUN_TAG}_${label}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    created.add(name);
    // A template must have no other session: retry briefly while the last one goes away.
    for (let i = 0; ; i++) {
      try {
        await c.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
        return;
      } catch (e) {
        if (!template || i >= 20 || !/being accessed by other users/.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  return name;
}

export async function dropDb(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  created.delete(name);
}

/** Drop every database this process created (and nothing else). */
export async function dropAll(): Promise<void> {
  for (const name of [...created]) await dropDb(name).catch((e) => console.error(`could not drop ${name}: ${e}`));
}

const clusters: OwnCluster[] = [];

/**
 * From now on, run against a cluster of the benchmark's own (initdb in a temporary folder, a free port, the server
 * binaries of the installed PostgreSQL) started with `settings` (e.g. `max_locks_per_transaction`), never the shared
 * server's settings. `useSharedServer` goes back; `runMain` stops every cluster at the end, also on failure. The
 * cluster has fsync off (test/support/own-cluster.ts): its floors and dbee's runs pay no disk flush alike.
 */
export async function useOwnCluster(settings: Record<string, string>): Promise<OwnCluster> {
  const c = await OwnCluster.start(settings);
  clusters.push(c);
  server = c.url();
  return c;
}

/** Back to the shared server, after dropping this process's databases on the cluster and stopping it. */
export async function useSharedServer(): Promise<void> {
  await dropAll();
  server = SERVER_URL;
  for (const c of clusters.splice(0)) await c.stop().catch((e) => console.error(`could not stop a cluster: ${e}`));
}

let cleanupInstalled = false;
/** Run `main`, dropping the scratch databases at the end, on failure and on SIGINT/SIGTERM. */
export function runMain(main: () => Promise<void>): void {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        console.error(`\n${sig}: dropping scratch databases...`);
        void dropAll()
          .then(useSharedServer)
          .finally(() => process.exit(130));
      });
    }
  }
  main()
    .catch((e) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exitCode = 1;
    })
    .finally(async () => {
      await dropAll();
      await useSharedServer();
    });
}

// ---------------------------------------------------------------------------------------------------------
// Processes

export interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a process asynchronously; wall time from spawn to exit. */
export function timeProcess(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Timed> {
  return new Promise((resolvePromise, reject) => {
    const t = performance.now();
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ ms: performance.now() - t, code, stdout, stderr }));
  });
}

/** Whether a failure is the server's shared lock table being full (other sessions hold many locks), not the script's. */
export function lockTableFull(e: unknown): boolean {
  return /out of shared memory|max_locks_per_transaction/.test(String(e));
}

/**
 * Run `attempt` again (up to 5 times, waiting longer each time) while it fails because the server's shared lock table
 * is full: on the shared server other sessions' transactions fill it, and a floor of one transaction over thousands of
 * objects then fails through no fault of its own. The failed transaction was rolled back (ON_ERROR_STOP with `-1`,
 * or dbee's own transaction), so the database is as it was. Says so on stderr each time.
 */
export async function retryingLocks<T>(label: string, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (i >= 5 || !lockTableFull(e)) throw e;
      process.stderr.write(`  ${label}: the server's lock table was full (other sessions); measured again\n`);
      await new Promise((r) => setTimeout(r, 3000 * i));
    }
  }
}

/**
 * `psql -X -q -v ON_ERROR_STOP=1 [-1] -f <file>` against a database: the floor. Measured again when the server's
 * shared lock table was full (`retryingLocks`). `env` adds variables, e.g. `PGOPTIONS` for a session setting.
 */
export async function psqlFile(
  db: string,
  file: string,
  single = true,
  env: Record<string, string> = {},
): Promise<Timed> {
  const p = connParams();
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...(single ? ['-1'] : []), '-h', p.host, '-p', p.port];
  return retryingLocks(`psql -f ${file}`, async () => {
    const r = await timeProcess('psql', [...args, '-U', p.user, '-d', db, '-f', file], {
      env: { ...process.env, ...env },
    });
    if (r.code !== 0) throw new Error(`psql -f ${file} on ${db} failed (${r.code}): ${r.stderr.slice(0, 2000)}`);
    return r;
  });
}

export interface CpuTimed extends Timed {
  /** The process's CPU time (user + system, its threads and the children it waited for), in milliseconds. */
  cpuMs: number;
  peakMb: number;
}

/** A process under `/usr/bin/time`: wall time, CPU time and peak resident memory (its line removed from stderr). */
export async function timeCpu(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CpuTimed> {
  const r = await timeProcess('/usr/bin/time', ['-f', 'dbee-bench-time %U %S %M', cmd, ...args], options);
  const m = /dbee-bench-time ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`/usr/bin/time printed no figures for ${cmd} ${args.join(' ')}: ${r.stderr.slice(-500)}`);
  return {
    ...r,
    stderr: r.stderr.slice(0, m.index),
    cpuMs: (Number(m[1]) + Number(m[2])) * 1000,
    peakMb: Number(m[3]) / 1024,
  };
}

export async function sql(db: string, text: string): Promise<import('pg').QueryResult> {
  const c = new Client({ connectionString: dbUrl(db) });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/**
 * Untimed, before a measurement: the server as quiet as the benchmark can make it. First no other client session at
 * work (up to 60 s): dbee leaves a scratch database's `DROP DATABASE` running on the server when it has its answer, and
 * a measurement started meanwhile shares the machine with it (the floor right after an uncached deploy took about
 * 250 ms more than the run's others); then a checkpoint of the pages the set-up dirtied, and `sync`.
 */
export async function quietServer(): Promise<void> {
  // DBEE_BENCH_QUIET_MS: how long to wait (default 60 s); a paired comparison on a server other work keeps busy may
  // set it low, its two sides meeting the same load.
  const deadline = Date.now() + Number(process.env.DBEE_BENCH_QUIET_MS ?? 60_000);
  for (;;) {
    const busy = await sql(
      'postgres',
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()",
    );
    if (busy.rows[0].n === 0) break;
    if (Date.now() > deadline) {
      // Another user's long query on a shared server: measured anyway, and said.
      process.stderr.write(`the server still had ${busy.rows[0].n} session(s) at work: measuring anyway\n`);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await sql('postgres', 'CHECKPOINT');
  spawnSync('sync');
}

// ---------------------------------------------------------------------------------------------------------
// Checks independent of dbee

export interface CatalogSummary {
  /** Per schema: counts of tables, views, functions, procedures, triggers, indexes, constraints, columns. */
  counts: Record<string, Record<string, number>>;
  /** MD5 of every definition (columns with types/defaults, views, routines, indexes, constraints, triggers). */
  hash: string;
}

/** A summary of the schemas matching `like` (e.g. `gen\_s%`), from the catalogs, to compare two databases. */
export async function catalogSummary(db: string, like: string): Promise<CatalogSummary> {
  const c = new Client({ connectionString: dbUrl(db) });
  await c.connect();
  try {
    const counts = await c.query(
      `SELECT n.nspname AS schema,
         (SELECT count(*) FROM pg_class x WHERE x.relnamespace = n.oid AND x.relkind IN ('r','p'))::int AS tables,
         (SELECT count(*) FROM pg_class x WHERE x.relnamespace = n.oid AND x.relkind IN ('v','m'))::int AS views,
         (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid AND p.prokind = 'f')::int AS functions,
         (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid AND p.prokind = 'p')::int AS procedures,
         (SELECT count(*) FROM pg_trigger t JOIN pg_class x ON x.oid = t.tgrelid WHERE x.relnamespace = n.oid AND NOT t.tgisinternal)::int AS triggers,
         (SELECT count(*) FROM pg_class x WHERE x.relnamespace = n.oid AND x.relkind = 'i')::int AS indexes,
         (SELECT count(*) FROM pg_constraint k WHERE k.connamespace = n.oid)::int AS constraints,
         (SELECT count(*) FROM pg_attribute a JOIN pg_class x ON x.oid = a.attrelid
           WHERE x.relnamespace = n.oid AND x.relkind IN ('r','p','v') AND a.attnum > 0 AND NOT a.attisdropped)::int AS columns
       FROM pg_namespace n WHERE n.nspname LIKE $1 ORDER BY 1`,
      [like],
    );
    const hash = await c.query(
      `WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname LIKE $1)
       SELECT md5(coalesce(string_agg(d, E'\\n' ORDER BY d), '')) AS h FROM (
         SELECT 'col ' || x.oid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
                || ' ' || a.attidentity::text || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '') AS d
           FROM pg_attribute a JOIN pg_class x ON x.oid = a.attrelid LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
          WHERE x.relnamespace IN (SELECT oid FROM ns) AND x.relkind IN ('r','p','v') AND a.attnum > 0 AND NOT a.attisdropped
         UNION ALL SELECT 'view ' || x.oid::regclass::text || ' ' || pg_get_viewdef(x.oid) FROM pg_class x WHERE x.relnamespace IN (SELECT oid FROM ns) AND x.relkind IN ('v','m')
         UNION ALL SELECT 'routine ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)
         UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE x.relnamespace IN (SELECT oid FROM ns)
         UNION ALL SELECT 'constraint ' || k.conrelid::regclass::text || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.connamespace IN (SELECT oid FROM ns)
         UNION ALL SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class x ON x.oid = t.tgrelid WHERE x.relnamespace IN (SELECT oid FROM ns) AND NOT t.tgisinternal
       ) defs`,
      [like],
    );
    const out: CatalogSummary = { counts: {}, hash: hash.rows[0].h };
    for (const r of counts.rows) {
      const { schema, ...rest } = r as Record<string, number> & { schema: string };
      out.counts[schema] = rest;
    }
    return out;
  } finally {
    await c.end();
  }
}

export function totals(s: CatalogSummary): Record<string, number> {
  const t: Record<string, number> = {};
  for (const per of Object.values(s.counts)) for (const [k, v] of Object.entries(per)) t[k] = (t[k] ?? 0) + v;
  return t;
}

export function describeSummary(s: CatalogSummary): string {
  return Object.entries(totals(s))
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

/** Empty when equal; otherwise what differs. */
export function compareSummaries(expected: CatalogSummary, actual: CatalogSummary): string {
  if (expected.hash === actual.hash && JSON.stringify(expected.counts) === JSON.stringify(actual.counts)) return '';
  const e = totals(expected);
  const a = totals(actual);
  const diffs = Object.keys({ ...e, ...a })
    .filter((k) => e[k] !== a[k])
    .map((k) => `${k} ${a[k] ?? 0} (expected ${e[k] ?? 0})`);
  return diffs.length
    ? diffs.join(', ')
    : `same counts, different definitions (hash ${actual.hash} vs ${expected.hash})`;
}

// ---------------------------------------------------------------------------------------------------------
// dbee

/** A workspace folder with a dbee.yaml whose environments read their URL from variables. */
export function writeWorkspace(root: string, envs: string[], shadow: 'embedded' | 'server' = 'embedded'): void {
  mkdirSync(root, { recursive: true });
  const lines = ['version: 1', `defaultEnvironment: ${envs[0]}`, `shadow: ${shadow}`, 'environments:'];
  for (const e of envs) lines.push(`  ${e}:`, '    engine: postgres', '    connection:', `      url: \${${envVar(e)}}`);
  writeFileSync(join(root, 'dbee.yaml'), lines.join('\n') + '\n');
}

/** The variable holding an environment's URL in `writeWorkspace`'s dbee.yaml. */
export function envVar(env: string): string {
  return `DBEE_BENCH_${env.toUpperCase()}_URL`;
}

export interface DbeeRun {
  ms: number;
  /** This process's CPU time during the run (user + system, all its threads), in milliseconds. */
  cpuMs: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** `runDbeeCommand` in this process, output captured; fails unless the exit code is 0. */
export async function dbee(
  workspaceRoot: string,
  command: CommandName,
  options: Record<string, unknown> & { project: string },
  env: Record<string, string>,
): Promise<DbeeRun> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const t = performance.now();
  const cpu = process.cpuUsage();
  const code = await runDbeeCommand(command, options, {
    workspaceRoot,
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: { ...process.env, ...env },
    interactive: false,
  });
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  if (code !== 0)
    throw new Error(
      `dbee ${command} ${JSON.stringify(options)} exited ${code}:\n${stderr.slice(0, 3000)}\n${stdout.slice(-2000)}`,
    );
  return { ms, cpuMs: (used.user + used.system) / 1000, code, stdout, stderr };
}

/** `npm run build` (incremental): the compiled dist/ the CLI rows run (DBEE_USE_DIST=1). False when it failed. */
export function buildDist(): boolean {
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, encoding: 'utf8' });
  const main = join(REPO, 'packages/cli/dist/main.js');
  // tsc -b still emits when a type error is reported (another change in progress in a shared tree): say so.
  if (r.status !== 0)
    process.stderr.write(
      `npm run build reported errors (dist/ is used as emitted):\n${(r.stdout + r.stderr).slice(0, 1500)}\n`,
    );
  return existsSync(main);
}

/** `node packages/cli/bin/dbee.js <args>` as a whole process, under `/usr/bin/time` for its CPU time. */
export function dbeeProcess(args: string[], env: Record<string, string>): Promise<CpuTimed> {
  return timeCpu(process.execPath, [join(REPO, 'packages/cli/bin/dbee.js'), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
  });
}

/** Whether `dbee rollback` is implemented: its help must not say "not implemented". */
export function rollbackImplemented(): { implemented: boolean; why: string } {
  const r = spawnSync(process.execPath, [join(REPO, 'packages/cli/bin/dbee.js'), 'rollback', '--help'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  const text = `${r.stdout}${r.stderr}`;
  if (/not implemented/i.test(text))
    return {
      implemented: false,
      why:
        text
          .split('\n')
          .find((l) => /not implemented/i.test(l))
          ?.trim() ?? 'not implemented',
    };
  return { implemented: r.status === 0, why: r.status === 0 ? '' : `rollback --help exited ${r.status}` };
}

// ---------------------------------------------------------------------------------------------------------
// Peers, installed from npm into a scratch folder outside the repository (reused when present)

export const PEERS_DIR = process.env.DBEE_BENCH_PEERS ?? join(tmpdir(), 'dbee-bench-peers');
/** The npm `liquibase` package's `latest` is a peer-dependency build without the CLI; 4.28.1 bundles Liquibase 4.28.0. */
export const PEER_SPECS = {
  liquibase: 'liquibase@4.28.1',
  migra: '@pgkit/migra@0.6.1',
  nodePgMigrate: 'node-pg-migrate@9.0.0',
  /** node-pg-migrate's driver (a peer dependency of it). */
  pg: 'pg@8.23.1',
} as const;

/** Install a peer if it is missing; returns null on success, else why not. */
export function ensurePeer(name: keyof typeof PEER_SPECS, probe: string): string | null {
  if (existsSync(join(PEERS_DIR, probe))) return null;
  mkdirSync(PEERS_DIR, { recursive: true });
  if (!existsSync(join(PEERS_DIR, 'package.json')))
    writeFileSync(join(PEERS_DIR, 'package.json'), '{"name":"dbee-bench-peers","private":true}\n');
  // Install both at once: `npm install --no-save` prunes what is not named.
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', ...Object.values(PEER_SPECS)], {
    cwd: PEERS_DIR,
    encoding: 'utf8',
  });
  if (r.status !== 0 || !existsSync(join(PEERS_DIR, probe)))
    return `npm install ${PEER_SPECS[name]} in ${PEERS_DIR} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' / ')}`;
  return null;
}

export interface MigraModule {
  run(
    from: string,
    to: string,
    args?: { unsafe?: boolean; schema?: string; excludeSchema?: string },
  ): Promise<{ sql: string; statements: string[]; s_from: unknown; s_target: unknown }>;
}

/** @pgkit/migra from the scratch folder, or why it is not available. */
export function loadMigra(): { migra: MigraModule; version: string } | { error: string } {
  const why = ensurePeer('migra', 'node_modules/@pgkit/migra/package.json');
  if (why) return { error: why };
  try {
    const dir = join(PEERS_DIR, 'node_modules/@pgkit/migra');
    const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { migra: require(dir) as MigraModule, version };
  } catch (e) {
    return { error: `cannot load @pgkit/migra: ${e}` };
  }
}

/** `migra.run` with pg-promise's "duplicate database object" warnings (about its own pools) silenced. */
export async function runMigra(
  migra: MigraModule,
  from: string,
  to: string,
): Promise<{ sql: string; statements: string[]; close(): Promise<void> }> {
  const { log, warn } = console;
  const filter =
    (f: (...a: unknown[]) => void) =>
    (...a: unknown[]) => {
      if (!/duplicate database object/.test(String(a[0]))) f(...a);
    };
  console.log = filter(log);
  console.warn = filter(warn);
  try {
    const m = await migra.run(from, to, { unsafe: true });
    const sqlText = m.sql;
    return { sql: sqlText, statements: [...m.statements], close: () => closeMigra(m) };
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/** Close the clients migra opened (it takes URLs and opens a pool per side). */
export async function closeMigra(m: { s_from: unknown; s_target: unknown }): Promise<void> {
  for (const side of [m.s_from, m.s_target]) {
    const c = side as { end?: () => Promise<void>; pgp?: { end?: () => void } } | null;
    await c?.end?.().catch(() => {});
  }
}

/** The Liquibase launcher bundled in the npm package, or why it cannot run (Java, install). */
export function liquibaseCli(): { bin: string; version: string } | { error: string } {
  const why = ensurePeer('liquibase', 'node_modules/liquibase/dist/liquibase/liquibase');
  if (why) return { error: why };
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.status !== 0)
    return { error: `Liquibase needs Java, and \`java -version\` failed: ${java.error ?? java.stderr}` };
  const bin = join(PEERS_DIR, 'node_modules/liquibase/dist/liquibase/liquibase');
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, JAVA_OPTS: '' } });
  const version = /Liquibase Version: (\S+)/.exec(v.stdout ?? '')?.[1];
  if (v.status !== 0 || !version)
    return { error: `liquibase --version failed (${v.status}): ${(v.stderr || v.stdout || '').slice(0, 500)}` };
  return { bin, version: `${version} (java ${/version "([^"]+)"/.exec(java.stderr)?.[1] ?? '?'})` };
}

/** `liquibase update` of a formatted SQL changelog against a database, as a whole process. */
export function liquibaseUpdate(bin: string, changelogDir: string, changelog: string, db: string): Promise<Timed> {
  const p = connParams();
  return timeProcess(
    bin,
    [
      `--url=jdbc:postgresql://${p.host}:${p.port}/${db}`,
      `--username=${p.user}`,
      '--password=',
      `--changelog-file=${changelog}`,
      '--show-banner=false',
      '--log-level=severe',
      'update',
    ],
    {
      cwd: changelogDir,
      env: { ...process.env, LIQUIBASE_ANALYTICS_ENABLED: 'false', LIQUIBASE_SHOW_BANNER: 'false' },
    },
  );
}

/** node-pg-migrate's command (run with this Node), or why it cannot run. */
export function nodePgMigrateCli(): { bin: string; version: string } | { error: string } {
  const why = ensurePeer('nodePgMigrate', 'node_modules/node-pg-migrate/bin/node-pg-migrate.js');
  if (why) return { error: why };
  const dir = join(PEERS_DIR, 'node_modules/node-pg-migrate');
  const bin = join(dir, 'bin/node-pg-migrate.js');
  const v = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  if (v.status !== 0)
    return { error: `node-pg-migrate --help failed (${v.status}): ${(v.stderr || v.stdout || '').slice(0, 500)}` };
  return { bin, version: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string };
}

/**
 * A node-pg-migrate migrations folder with one SQL migration per statement (per object) of `script`, numbered in
 * order (`00001_s1.sql`...), each `-- Up Migration` with its statement and an empty `-- Down Migration`.
 */
export function nodePgMigrations(script: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  splitScript(script).forEach((stmt, i) =>
    writeFileSync(
      join(dir, `${String(i + 1).padStart(5, '0')}_s${i + 1}.sql`),
      `-- Up Migration\n${stmt}\n-- Down Migration\n`,
    ),
  );
}

/**
 * `node-pg-migrate up` of a migrations folder against a database, as a whole process, with its defaults: every
 * pending migration in one transaction, one row per migration in `public.pgmigrations`, an advisory lock.
 */
export function nodePgMigrateUp(bin: string, dir: string, db: string): Promise<Timed> {
  return timeProcess(process.execPath, [bin, 'up', '--migrations-dir', dir, '--verbose', 'false'], {
    env: { ...process.env, DATABASE_URL: dbUrl(db) },
  });
}

/**
 * Split a script into statements: a statement ends with `;` at the end of a line outside a `$$` body (the
 * generator's scripts are written that way).
 */
export function splitScript(script: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let inBody = false;
  for (const line of script.split('\n')) {
    if (!cur.length && !line.trim()) continue;
    cur.push(line);
    inBody = (line.match(/\$\$/g)?.length ?? 0) % 2 === 1 ? !inBody : inBody;
    if (!inBody && /;\s*$/.test(line)) {
      out.push(cur.join('\n').trim());
      cur = [];
    }
  }
  if (cur.join('').trim()) out.push(cur.join('\n').trim());
  return out;
}

/**
 * A Liquibase formatted SQL changelog with one changeset per statement (per object) of `script`, each with
 * `splitStatements:false` so that `$$` bodies reach the server whole (Liquibase would otherwise split them at
 * their inner semicolons) and `stripComments:false`.
 */
export function liquibaseChangelog(script: string, author = 'bench'): string {
  const out = ['--liquibase formatted sql', ''];
  splitScript(script).forEach((stmt, i) =>
    out.push(`--changeset ${author}:${i + 1} splitStatements:false stripComments:false`, stmt, ''),
  );
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Numbers and tables

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(0)} ms`;
}

export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : '-';
}

/** A plain-text table (also valid Markdown). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |', ...rows.map(line)].join('\n');
}

/** Load average now (the machine is shared: medians, and say how busy it was). */
export function load(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

export function machine(): string {
  const pg = spawnSync(
    'psql',
    [
      '-X',
      '-At',
      '-h',
      connParams().host,
      '-p',
      connParams().port,
      '-U',
      connParams().user,
      '-d',
      'postgres',
      '-c',
      'SHOW server_version',
    ],
    { encoding: 'utf8' },
  );
  return `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM, Node ${process.version}, PostgreSQL ${(pg.stdout || '?').trim()}`;
}

/** The workspace's dbee.yaml: one fleet environment whose targets are `dbs` on the benchmark's server. */
export function writeFleetConfig(root: string, dbs: readonly string[], target: (i: number) => string): void {
  const u = new URL(SERVER_URL);
  writeFileSync(
    join(root, 'dbee.yaml'),
    [
      'version: 1',
      'defaultEnvironment: fleet',
      'shadow: embedded',
      'environments:',
      '  fleet:',
      '    engine: postgres',
      `    connection: { host: "${u.hostname}", port: ${u.port || 5432}, user: "${decodeURIComponent(u.username || 'postgres')}" }`,
      '    fleet:',
      '      targets:',
      ...dbs.map((db, i) => `        - { name: ${target(i)}, connection: { database: ${db} } }`),
    ].join('\n') + '\n',
  );
}
