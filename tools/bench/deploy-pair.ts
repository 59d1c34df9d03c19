/**
 * Paired A/B of the full deploy as a whole CLI process (issue 90): the generated project into an empty database, by the
 * compiled `dist/` of another checkout (`--against`, built with `npm run build` there, its own packages: see
 * other-build.js) and of this one, alternated in each round (the order swapped every round), each right after its own
 * floor (`psql -X -1 -f` of the same statements into another empty database). Per side: wall time against the floor
 * (median of the paired ratios), the process's CPU time (user + system, `/usr/bin/time`), and the two sides against
 * each other (median of the paired ratios this / other). Both sides' compile caches are filled by an untimed deploy
 * first, as `npm run bench`'s CLI rows; each side has a copy of the workspace of its own (its own `.dbee` caches).
 * `--uncached`: the sources' model is removed from the cache before each deploy (sources no deploy has seen, as in CI
 * after a commit: a convergence check builds it); by default it stays cached from the untimed deploy. `--policies`:
 * the workspace configures review policies (`policies: {}`, the default set: deploy judges them over the sources'
 * model). `--dry-run`: `deploy --dry-run` instead (the plan verified on a copy; nothing applied), still beside the floor.
 * `--embedded`: the environment is embedded PGlite (`connection: embedded:`), each deploy into a new data folder, as a
 * new workspace's `local` environment; the floor (`psql` into the server) is still measured beside it, for the load.
 *
 *   node tools/run.js tools/bench/deploy-pair.ts --against /tmp/dbee-before [objects=1000] [--runs 5] [--uncached]
 *     [--policies] [--dry-run] [--embedded]
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProject } from './generate';
import * as L from './lib';
import { checkOtherBuild } from './other-build';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(option('runs') ?? 5);
const AGAINST = option('against');
const UNCACHED = argv.includes('--uncached');
const POLICIES = argv.includes('--policies');
const DRY_RUN = argv.includes('--dry-run');
const EMBEDDED = argv.includes('--embedded');
const WHAT = DRY_RUN ? 'deploy --dry-run' : 'full deploy';
if (!AGAINST) throw new Error('usage: deploy-pair.ts --against <another checkout, built> [objects] [--runs n]');
const SIDES = { before: checkOtherBuild(AGAINST), after: L.REPO } as const;
type Side = keyof typeof SIDES;

L.runMain(async () => {
  if (!L.buildDist()) throw new Error('npm run build failed: the CLI processes run the compiled dist/');
  const root = mkdtempSync(join(tmpdir(), 'dbee-deploy-pair-'));
  console.log(
    `${WHAT} pair: ${N} objects, ${RUNS} rounds, sources' model ${UNCACHED ? 'not cached' : 'cached'}${POLICIES ? ', policies: {}' : ''}${EMBEDDED ? ', into embedded PGlite' : ''}; ${L.machine()}; load ${L.load()}`,
  );
  try {
    const ws = join(root, 'ws');
    L.writeWorkspace(ws, ['d']);
    if (EMBEDDED)
      writeFileSync(
        join(ws, 'dbee.yaml'),
        'version: 1\ndefaultEnvironment: d\nshadow: embedded\nenvironments:\n  d:\n    engine: postgres\n    connection:\n      embedded: .dbee/d\n',
      );
    if (POLICIES) appendFileSync(join(ws, 'dbee.yaml'), 'policies: {}\n');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const script = join(root, 'floor.sql');
    writeFileSync(script, gen.script);
    const wsOf = { before: join(root, 'before'), after: join(root, 'after') };
    for (const side of ['before', 'after'] as Side[]) cpSync(ws, wsOf[side], { recursive: true });
    const deploy = async (side: Side, untimed = false) => {
      const db = await L.createDb(`dpair_${side}`);
      if (UNCACHED && !untimed) rmSync(join(wsOf[side], '.dbee/cache/models'), { recursive: true, force: true });
      if (EMBEDDED) rmSync(join(wsOf[side], '.dbee/d'), { recursive: true, force: true });
      await L.quietServer();
      const r = await L.timeCpu(
        process.execPath,
        [
          join(SIDES[side], 'packages/cli/bin/dbee.js'),
          'deploy',
          'gen',
          '--env',
          'd',
          '--cwd',
          wsOf[side],
          ...(DRY_RUN ? ['--dry-run'] : []),
        ],
        { cwd: SIDES[side], env: { ...process.env, DBEE_USE_DIST: '1', [L.envVar('d')]: L.dbUrl(db) } },
      );
      if (r.code !== 0) throw new Error(`${side}: dbee deploy exited ${r.code}: ${r.stderr.slice(-2000)}`);
      await L.dropDb(db);
      return r;
    };
    const floor = async () => {
      const db = await L.createDb('dpair_floor');
      await L.quietServer();
      const r = await L.psqlFile(db, script);
      await L.dropDb(db);
      return r.ms;
    };
    for (const side of ['before', 'after'] as Side[]) await deploy(side, true); // compile caches filled, untimed
    const wall: Record<Side, number[]> = { before: [], after: [] };
    const cpu: Record<Side, number[]> = { before: [], after: [] };
    const toFloor: Record<Side, number[]> = { before: [], after: [] };
    for (let i = 0; i < RUNS; i++) {
      const order: Side[] = i % 2 ? ['after', 'before'] : ['before', 'after'];
      for (const side of order) {
        const f = await floor();
        const r = await deploy(side);
        wall[side].push(r.ms);
        cpu[side].push(r.cpuMs);
        toFloor[side].push(r.ms / f);
      }
      console.log(`  round ${i + 1}/${RUNS} done, load ${L.load()}`);
    }
    const ratios = (k: Record<Side, number[]>) => k.after.map((a, i) => a / k.before[i]!);
    const row = (label: string, k: Record<Side, number[]>, fmt: (x: number) => string) => [
      label,
      fmt(L.median(k.before)),
      fmt(L.median(k.after)),
      L.fmtRatio(L.median(ratios(k))),
      ratios(k)
        .map((r) => r.toFixed(2))
        .join(' '),
    ];
    console.log(
      L.table(
        ['figure', 'before (median)', 'after (median)', 'after / before (median of paired ratios)', 'paired ratios'],
        [
          row(`${WHAT}, CLI process, wall`, wall, L.fmtMs),
          row(`${WHAT}, CLI process, CPU (user + system)`, cpu, L.fmtMs),
          row(`${WHAT} / its floor (psql -1)`, toFloor, L.fmtRatio),
        ],
      ),
    );
    console.log(`load at end ${L.load()}`);
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
