/**
 * Paired figure of issue #90's decision 1 (a deployment's step transactions commit asynchronously, its closing row
 * durably): the in-process full deploy of a generated project into an empty database, as shipped and with its commits
 * synchronous (the PostgreSQL ledger dialect's `inline.asyncCommit` and `asyncSession` removed for that run, as before
 * the cut), each against the floor (`psql -X -1 -f` of the same statements) measured in the same round. Each round:
 * the floor, then both sides in an order swapped every round, each on a fresh database after `quietServer`. Per figure
 * the medians, the median of the paired ratios to the round's floor, and synchronous / asynchronous; the server's WAL
 * flushes (`pg_stat_wal.wal_sync`, the whole server's) during each side, which says which side waited for the disk.
 *
 *   node tools/run.js tools/bench/async-commit-pair.ts [objects=1005] [--runs 5]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresLedger } from '@dbee/postgres';
import { generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1005);
const RUNS = Number(option('runs') ?? 5);
type Side = 'asynchronous' | 'synchronous';
const inline = postgresLedger.inline!;
const shipped = { asyncCommit: inline.asyncCommit, asyncSession: inline.asyncSession };

function commits(side: Side): void {
  inline.asyncCommit = side === 'asynchronous' ? shipped.asyncCommit : undefined;
  inline.asyncSession = side === 'asynchronous' ? shipped.asyncSession : undefined;
}

async function walSyncs(): Promise<number> {
  return Number((await L.sql('postgres', 'SELECT wal_sync::bigint AS n FROM pg_stat_wal')).rows[0].n);
}

L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-async-pair-'));
  try {
    const ws = join(root, 'ws');
    L.writeWorkspace(ws, ['d'], 'embedded');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const script = join(root, 'floor.sql');
    writeFileSync(script, gen.script);
    const LIKE = 'gen\\_s%';
    console.log(`async-commit pair: ${gen.objects} objects, ${RUNS} rounds, load ${L.load()}`);
    let n = 0;
    const fresh = async () => L.createDb(`async_${n++}`);
    // Untimed: the workspace's caches filled and the process warmed, as the bench's in-process rows.
    for (const side of ['asynchronous', 'synchronous'] as Side[]) {
      commits(side);
      await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(await fresh()) });
    }
    for (let i = 0; i < 2; i++) await L.psqlFile(await fresh(), script, true);
    const expected = await L.catalogSummary(await fresh().then(async (f) => (await L.psqlFile(f, script), f)), LIKE);
    const ms: Record<Side | 'floor', number[]> = { asynchronous: [], synchronous: [], floor: [] };
    const syncs: Record<Side, number[]> = { asynchronous: [], synchronous: [] };
    for (let run = 0; run < RUNS; run++) {
      const f = await fresh();
      await L.quietServer();
      ms.floor.push((await L.psqlFile(f, script, true)).ms);
      const order: Side[] = run % 2 ? ['synchronous', 'asynchronous'] : ['asynchronous', 'synchronous'];
      for (const side of order) {
        const d = await fresh();
        commits(side);
        await L.quietServer();
        const w0 = await walSyncs();
        const r = await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, { [L.envVar('d')]: L.dbUrl(d) });
        syncs[side].push((await walSyncs()) - w0);
        const diff = L.compareSummaries(expected, await L.catalogSummary(d, LIKE));
        if (diff) throw new Error(`${side}: the deployed schema differs from the floor's: ${diff}`);
        ms[side].push(r.ms);
      }
      console.log(`round ${run + 1}/${RUNS}: load ${L.load()}`);
    }
    commits('asynchronous');
    const ratios = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
    const row = (label: string, xs: number[], rs: number[], w: number[] | null) => [
      label,
      L.fmtMs(L.median(xs)),
      L.fmtRatio(L.median(rs)),
      rs.map((r) => r.toFixed(2)).join(' '),
      w ? String(L.median(w)) : '',
    ];
    console.log(
      L.table(
        ['row', 'time (median)', 'ratio to the floor (median of paired)', 'paired ratios', 'WAL flushes (median)'],
        [
          row(
            'floor: psql -X -1 -f',
            ms.floor,
            ms.floor.map(() => 1),
            null,
          ),
          row(
            'dbee full deploy, in-process, commits synchronous (before)',
            ms.synchronous,
            ratios(ms.synchronous, ms.floor),
            syncs.synchronous,
          ),
          row(
            'dbee full deploy, in-process, as shipped (after)',
            ms.asynchronous,
            ratios(ms.asynchronous, ms.floor),
            syncs.asynchronous,
          ),
        ],
      ),
    );
    const ab = ratios(ms.asynchronous, ms.synchronous);
    console.log(
      `after / before (median of paired ratios): ${L.fmtRatio(L.median(ab))} (${ab.map((r) => r.toFixed(2)).join(' ')}); load at end ${L.load()}`,
    );
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
