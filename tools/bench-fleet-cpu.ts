/**
 * What a new fleet target costs in CPU time, the server's and the client's, where wall time is too noisy to tell two
 * builds apart (docs/fleets.md): a cluster of its own (test/support/own-cluster.ts: fsync and autovacuum off, nothing
 * else on it), N databases, the generated ~50-object project of tools/bench-fleet.ts.
 *
 *   - the server's CPU: the postmaster's reaped children's CPU time (`cutime` + `cstime` of /proc/<postmaster>/stat)
 *     before and after a run, per target (every backend of the run has exited and been reaped by then);
 *   - the client's: `/usr/bin/time` of the dbee process (its start-up included), or of each psql process;
 *   - rows: `dbee deploy gen --env fleet --concurrency 8` with this build's dist/ (`npm run build` first), with the
 *     build of `--against DIR` if given (alternating order, after one uncounted run of each that fills dbee's caches),
 *     and `psql -1 -f` of the same statements (the floor); with `--against`, the medians of the paired differences.
 *
 *   node tools/run.js tools/bench-fleet-cpu.ts [databases=40] [--pairs 4] [--against /tmp/main]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnCluster } from '../test/support/own-cluster';
import { checkOtherBuild } from './bench/other-build';

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`). */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Cost {
  server: number;
  client: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 40);
  const pairsAt = args.indexOf('--pairs');
  const pairs = pairsAt >= 0 ? Number(args[pairsAt + 1]) : 4;
  const againstAt = args.indexOf('--against');
  const against = againstAt >= 0 ? checkOtherBuild(args[againstAt + 1]!) : null;
  const cluster = await OwnCluster.start({ autovacuum: 'off' });
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-fleet-cpu-'));
  try {
    // The benchmark library reads its server from the environment when it is loaded: load it after the cluster starts.
    process.env.DBEE_BENCH_PG_URL = cluster.url();
    const lib = await import('./bench/lib');
    const { generateProject } = await import('./bench/generate');
    if (!lib.buildDist()) throw new Error('npm run build did not produce packages/cli/dist');
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: 50 });
    writeFileSync(join(root, 'floor.sql'), gen.script);
    const dbs: string[] = [];
    for (let i = 0; i < count; i++) dbs.push(await lib.createDb(`cpu_${String(i).padStart(3, '0')}`));
    writeFleet(root, cluster.port, dbs);
    const pm = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const run = new Runner(pm, dbs, gen.schemas, lib.dbUrl);
    console.log(`dbee fleet CPU benchmark: ${lib.machine()}; ${count} databases, ${gen.objects} objects`);
    const builds = against ? [lib.REPO, against] : [lib.REPO];
    const per: Record<string, Cost[]> = {};
    // One run of each build first, not counted: the first run of a workspace fills dbee's caches (about 0.2 s of CPU,
    // 5 ms per target at 40 databases), which would count against whichever build goes first.
    for (const b of builds) await run.deploy(b, root);
    for (let i = 0; i < pairs; i++) {
      for (const b of i % 2 ? [...builds].reverse() : builds) (per[b] ??= []).push(await run.deploy(b, root));
      (per.floor ??= []).push(await run.floor(join(root, 'floor.sql')));
      const line = Object.entries(per).map(([k, v]) => `${label(k, lib.REPO)} ${fmt(v[i]!)}`);
      console.log(`  pair ${i + 1}, CPU ms per target (server / client): ${line.join('; ')}`);
    }
    const mid = (v: Cost[], k: keyof Cost) => lib.median(v.map((c) => c[k])).toFixed(1);
    const rows = Object.entries(per).map(([k, v]) => [label(k, lib.REPO), mid(v, 'server'), mid(v, 'client')]);
    if (against) {
      const d = (k: keyof Cost) => lib.median(per[lib.REPO]!.map((c, i) => c[k] - per[against]![i]![k])).toFixed(1);
      rows.push([`this build - ${against} (median of paired differences)`, d('server'), d('client')]);
    }
    console.log(lib.table(['row', 'server CPU per target, ms (median)', 'client CPU per target, ms (median)'], rows));
    await lib.dropAll();
  } finally {
    rmSync(root, { recursive: true, force: true });
    await cluster.stop();
  }
}

/** The runs: each from empty databases, the server's CPU read from the postmaster's reaped children. */
class Runner {
  constructor(
    private readonly postmaster: number,
    private readonly dbs: readonly string[],
    private readonly schemas: readonly string[],
    private readonly url: (db: string) => string,
  ) {}

  /** `dbee deploy` of the fleet with the build in `repo`. */
  async deploy(repo: string, root: string): Promise<Cost> {
    return this.measure(() => {
      const bin = join(repo, 'packages/cli/bin/dbee.js');
      const args = [process.execPath, bin, 'deploy', 'gen', '--env', 'fleet', '--concurrency', '8', '--cwd', root];
      return [timed(args, { ...process.env, DBEE_USE_DIST: '1' })];
    });
  }

  /** `psql -1 -f` into every database, one after the other. */
  async floor(file: string): Promise<Cost> {
    return this.measure(() =>
      this.dbs.map((db) => timed(['psql', '-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', file, this.url(db)])),
    );
  }

  private async measure(work: () => number[]): Promise<Cost> {
    await this.empty();
    const before = this.reaped();
    const client = work().reduce((a, b) => a + b, 0);
    await settle();
    return { server: (this.reaped() - before) / this.dbs.length, client: client / this.dbs.length };
  }

  /** CPU milliseconds of the postmaster's children that have exited (the backends). */
  private reaped(): number {
    const fields = readFileSync(`/proc/${this.postmaster}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS;
  }

  private async empty(): Promise<void> {
    const drop = `DROP SCHEMA IF EXISTS ${[...this.schemas, 'dbee'].join(', ')} CASCADE`;
    for (const db of this.dbs) timed(['psql', '-X', '-q', '-c', drop, this.url(db)]);
    await settle();
  }
}

/** Run a command to its end under `/usr/bin/time`; its CPU milliseconds (user + system). Throws when it fails. */
function timed(command: string[], env: NodeJS.ProcessEnv = process.env): number {
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', ...command], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${command.slice(0, 3).join(' ')} exited ${r.status}:\n${r.stderr.slice(-2000)}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN;
}

/** Long enough for the postmaster to reap the backends of what just ended. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 500));
}

function writeFleet(root: string, port: number, dbs: readonly string[]): void {
  const targets = dbs.map((db, i) => `        - { name: t${i}, connection: { database: ${db} } }`);
  const lines = ['version: 1', 'defaultEnvironment: fleet', 'shadow: embedded', 'environments:', '  fleet:'];
  lines.push('    engine: postgres', `    connection: { host: "127.0.0.1", port: ${port}, user: "postgres" }`);
  writeFileSync(join(root, 'dbee.yaml'), [...lines, '    fleet:', '      targets:', ...targets].join('\n') + '\n');
}

function label(key: string, repo: string): string {
  return key === 'floor' ? 'psql -1 -f (floor)' : key === repo ? 'fleet deploy, this build' : `fleet deploy, ${key}`;
}

function fmt(c: Cost): string {
  return `${c.server.toFixed(1)} / ${c.client.toFixed(1)}`;
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
