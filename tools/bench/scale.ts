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
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    await L.psqlFile(await L.createDb(`warm${n}`), script);
    const f0 = await L.createDb(`f0_${n}`);
    const floor = (await quiet(), await L.psqlFile(f0, script)).ms;
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
    const incr = (await quiet(), await L.dbee(wsChanged, 'deploy', { project: 'gen', env: 'd' }, env));
    await check('incremental deploy', d, changed);
    const rollback = (await quiet(),
    await L.dbee(wsChanged, 'rollback', { project: 'gen', env: 'd', assumeYes: true }, env)).ms;
    await check('rollback', d, base);
    return {
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
    };
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function scaleMain(sizes: number[]): Promise<void> {
  console.log(`dbee scaling benchmark: ${sizes.join(', ')} objects, one run each`);
  console.log(`machine: ${L.machine()}`);
  console.log(`load average at start: ${L.load()}`);
  const failures: string[] = [];
  const all: Figures[] = [];
  for (const n of sizes) {
    all.push(await measure(n, failures));
    console.log(`  ${n} objects done, load average ${L.load()}`);
  }
  const first = all[0]!;
  const rows: [string, (f: Figures) => number, 'ms' | 'ratio'][] = [
    ['objects', (f) => f.objects, 'ratio'],
    ['psql -1 -f floor', (f) => f.floor, 'ms'],
    ['full deploy, in-process', (f) => f.full, 'ms'],
    ['full deploy / floor', (f) => f.fullRatio, 'ratio'],
    ['no-op deploy, in-process', (f) => f.noop, 'ms'],
    ['change-set floor (psql -1 -f)', (f) => f.changeFloor, 'ms'],
    ['incremental deploy, model cached', (f) => f.incrCached, 'ms'],
    ['rollback of it', (f) => f.rollback, 'ms'],
    ['diff, uncached (builds the model)', (f) => f.diffUncached, 'ms'],
    ['diff, cached', (f) => f.diffCached, 'ms'],
  ];
  const fmt = (v: number, kind: 'ms' | 'ratio') =>
    kind === 'ms' ? L.fmtMs(v) : kind === 'ratio' && v > 100 ? String(v) : L.fmtRatio(v);
  console.log('');
  console.log(
    L.table(
      ['figure', ...all.map((f) => `${f.objects} objects`), ...all.slice(1).map((f) => `growth to ${f.objects}`)],
      rows.map(([label, get, kind]) => [
        label,
        ...all.map((f) => fmt(get(f), kind)),
        ...all.slice(1).map((f) => L.fmtRatio(get(f) / get(first))),
      ]),
    ),
  );
  console.log(`incremental steps: ${all.map((f) => `${f.steps} at ${f.objects}`).join(', ')}`);
  const at5k = all.find((f) => f.objects >= 4900 && f.objects <= 5100);
  if (at5k) {
    const goals: [string, boolean, string][] = [
      ['full deploy <= 1.5x the floor', at5k.fullRatio <= 1.5, L.fmtRatio(at5k.fullRatio)],
      [
        'incremental deploy (model cached) <= 2x its change-set floor + 0.5 s',
        at5k.incrCached <= 2 * at5k.changeFloor + 500,
        `${L.fmtMs(at5k.incrCached)} against ${L.fmtMs(2 * at5k.changeFloor + 500)}`,
      ],
      ['rollback of it <= 1 s', at5k.rollback <= 1000, L.fmtMs(at5k.rollback)],
      ['no-op deploy <= 0.3 s in-process', at5k.noop <= 300, L.fmtMs(at5k.noop)],
      ['diff uncached <= 3 s', at5k.diffUncached <= 3000, L.fmtMs(at5k.diffUncached)],
      ['diff cached <= 0.3 s', at5k.diffCached <= 300, L.fmtMs(at5k.diffCached)],
    ];
    console.log(`goals at ${at5k.objects} objects (one run; load average ${at5k.load} after it):`);
    for (const [label, ok, detail] of goals) console.log(`  ${ok ? 'MET    ' : 'NOT MET'}  ${label}: ${detail}`);
  }
  console.log('checks:');
  console.log(
    `  schema after every deploy and the rollback compared with the floor's: ${failures.length ? `${failures.length} FAILURES` : 'all equal'}`,
  );
  for (const f of failures) console.log(`  FAILED ${f}`);
  console.log(`date ${new Date().toISOString().slice(0, 10)}; load average at the end: ${L.load()}`);
  if (failures.length) process.exitCode = 1;
}
