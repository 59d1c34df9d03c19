/**
 * Paired A/B of the smoke baseline's view-dependency query (issue #40): the query before it looked up each node's edges
 * by index (test/smoke/view-dependencies-before.ts) against today's (`VIEW_DEPENDENCIES`), on the generated project
 * deployed to a scratch database (`dbee_bench_*`, dropped at the end), with the views an incremental deploy of the
 * change set and its rollback ask about (captured from them). Alternated in each round, the order swapped every round;
 * medians and the median of the paired ratios after / before:
 *
 * - the query alone, in a new session each time (as each CLI run: parsed and planned afresh) and in one warm session
 *   per side (prepared once, as a batch reuses it): its wall time, and the CPU time of the server process that ran it
 *   (`/proc/<pid>/schedstat`, when the server runs on this machine), steadier than wall time on a busy machine;
 * - the incremental deploy and its rollback in-process, one side sending the old text instead of today's (the
 *   connection's `queryPrepared` swaps it), with the query's own time inside each.
 *
 * Both texts' rows are compared on the views captured first (they must be equal).
 *
 *   node tools/run.js tools/bench/smoke-deps-pair.ts [objects=5000] [--rounds 20] [--deploys 6]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { catalogQuery, PgConnection } from '../../packages/postgres/src/connection/postgres-connection';
import { VIEW_DEPENDENCIES } from '../../packages/postgres/src/smoke/postgres-smoke';
import { VIEW_DEPENDENCIES_BEFORE } from '../../test/smoke/view-dependencies-before';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 5000);
const ROUNDS = Number(option('rounds') ?? 20);
const DEPLOYS = Number(option('deploys') ?? 6);
const TEXT = { before: VIEW_DEPENDENCIES_BEFORE, after: VIEW_DEPENDENCIES } as const;
type Side = keyof typeof TEXT;

/** Figures by name and side, in milliseconds. */
const fig: Record<string, Record<Side, number[]>> = {};
const put = (k: string, side: Side, ms: number) => {
  fig[k] ??= { before: [], after: [] };
  fig[k][side].push(ms);
};
const orderOf = (round: number): Side[] => (round % 2 ? ['after', 'before'] : ['before', 'after']);

type Prepared = (sql: string, params: unknown[], settings?: Record<string, string>) => Promise<unknown>;
const proto = PgConnection.prototype as unknown as { queryPrepared: Prepared };
const original = proto.queryPrepared;

/**
 * Run `f` with the view-dependency query sent as `side`'s text; the views it asks about and its time are recorded
 * (the query's time under `label`).
 */
async function withQueryOf<T>(side: Side, label: string, views: unknown[][], f: () => Promise<T>): Promise<T> {
  proto.queryPrepared = async function (this: PgConnection, sql, params, settings) {
    if (sql !== VIEW_DEPENDENCIES) return original.call(this, sql, params, settings);
    views.push(params[0] as unknown[]);
    const t = performance.now();
    const r = await original.call(this, TEXT[side], params, settings);
    put(label, side, performance.now() - t);
    return r;
  };
  try {
    return await f();
  } finally {
    proto.queryPrepared = original;
  }
}

/** Rows of a query, comparable: sorted, sets sorted. */
async function rowsOf(conn: PgConnection, sql: string, params: unknown[]): Promise<string[]> {
  const r = await catalogQuery<{ deps: string[]; opaque: string[] | null }>(conn, sql, params);
  return r.rows.map((row) => JSON.stringify({ ...row, deps: row.deps.sort(), opaque: row.opaque?.sort() })).sort();
}

/** The CPU time the server process `pid` has used, in ms (its `/proc/<pid>/schedstat`); NaN where unreadable. */
function serverCpuMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Run `side`'s text on `conn` (server process `pid`): its wall time and the server's CPU time, under `label`. */
async function timed(conn: PgConnection, pid: number, side: Side, label: string, params: unknown[]): Promise<void> {
  const cpu = serverCpuMs(pid);
  const t = performance.now();
  await catalogQuery(conn, TEXT[side], params);
  put(`${label}`, side, performance.now() - t);
  put(`${label}, server CPU`, side, serverCpuMs(pid) - cpu);
}

async function queryAlone(url: string, params: unknown[]): Promise<void> {
  const warm = { before: await open(url), after: await open(url) };
  try {
    for (const side of ['before', 'after'] as Side[]) await catalogQuery(warm[side], TEXT[side], params);
    const warmPid = { before: await pidOf(warm.before), after: await pidOf(warm.after) };
    for (let i = 0; i < ROUNDS; i++) {
      for (const side of orderOf(i)) {
        const fresh = await open(url);
        try {
          await timed(fresh, await pidOf(fresh), side, 'query alone, new session', params);
        } finally {
          await fresh.close();
        }
        await timed(warm[side], warmPid[side], side, 'query alone, warm session', params);
      }
    }
  } finally {
    for (const c of Object.values(warm)) await c.close();
  }
}

const pidOf = async (conn: PgConnection) =>
  Number((await conn.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
const ms = (x: number) => `${x.toFixed(x < 100 ? 1 : 0)} ms`;
const open = (url: string) => PgConnection.open({ connectionString: url }, 'bench');

L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-smoke-deps-'));
  try {
    const ws = join(root, 'base');
    const changed = join(root, 'changed');
    L.writeWorkspace(ws, ['d'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    cpSync(ws, changed, { recursive: true });
    applyChangeSet(join(changed, 'gen'), generateChangeSet(gen));
    const d = await L.createDb(`smokedeps_${N}`);
    const env = { [L.envVar('d')]: L.dbUrl(d) };
    await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env);
    await L.dbee(changed, 'diff', { project: 'gen', env: 'd', format: 'json' }, env);
    const asked: unknown[][] = [];
    for (let i = 0; i < DEPLOYS; i++) {
      for (const side of orderOf(i)) {
        const deploy = await withQueryOf(side, 'query inside the deploy', asked, () =>
          L.dbee(changed, 'deploy', { project: 'gen', env: 'd' }, env),
        );
        put('incremental deploy (in-process)', side, deploy.ms);
        const rollback = await withQueryOf(side, 'query inside the rollback', asked, () =>
          L.dbee(changed, 'rollback', { project: 'gen', env: 'd', assumeYes: true }, env),
        );
        put('rollback of it (in-process)', side, rollback.ms);
      }
      console.log(`deploy round ${i + 1}/${DEPLOYS}, load ${L.load()}`);
    }
    if (asked.length === 0) throw new Error('the deploy asked no view dependencies: nothing to measure');
    const check = await open(L.dbUrl(d));
    try {
      const [before, after] = [
        await rowsOf(check, TEXT.before, [asked[0]]),
        await rowsOf(check, TEXT.after, [asked[0]]),
      ];
      if (!isDeepStrictEqual(before, after)) throw new Error('the two texts answer differently');
      console.log(`${asked[0]!.length} views asked about, ${after.length} rows, the same from both texts`);
    } finally {
      await check.close();
    }
    await queryAlone(L.dbUrl(d), [asked[0]]);
    const rows = Object.entries(fig).map(([k, v]) => {
      const ratios = v.after.map((a, i) => a / v.before[i]!);
      return [k, `${v.before.length}`, ms(L.median(v.before)), ms(L.median(v.after)), L.fmtRatio(L.median(ratios))];
    });
    console.log(`\n${N} objects; load ${L.load()}\n`);
    console.log(L.table(['figure', 'pairs', 'before', 'after', 'after / before (median of pairs)'], rows));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
