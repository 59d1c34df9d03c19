/**
 * Release package benchmark (issue #12): an incremental package built from git (`dbee plan --base --head --out`) and
 * deployed to a database at the base state, against the psql floor of the same change set, in one run.
 *
 *   node tools/run.js tools/bench-release.ts                 # 1,000 objects, 2 % change set, 5 runs
 *   node tools/run.js tools/bench-release.ts 2000 --runs 3
 *
 * Setup (not timed): a git repository with the generated project (tools/bench/generate.ts) committed as `base`, the
 * change set (generateChangeSet: ~2 % of the objects: view and function bodies, columns added in table sources,
 * added tables) committed as `head`; a template database deployed from `base` by dbee (so its ledger is at base);
 * one warm-up plan and deploy in this process.
 * Timed, per run, in alternating order (odd runs psql first, even runs dbee first), each deploy on a fresh copy of the
 * template:
 *   floor   psql -X -1 -f of the change set's statements alone (as a DBA would apply them by hand)
 *   plan    `dbee plan gen --base base --head head --out ...` in-process, its model cache emptied first: both refs read
 *           from git objects, two desired models built in embedded shadow databases, diffed, preconditions, package
 *   deploy  `dbee deploy gen --package ...` in-process: verify the package, lock, ledger, preconditions, steps, sync
 *           of the ledger's object state, smoke checks (the baseline), summary
 * Checked: after each deploy the schemas equal the floor's (catalog summary: counts and an MD5 of every definition),
 * and a second deploy of the package has nothing to do. A fast wrong answer does not count.
 * Printed: each run's times, the median of the paired ratios (plan / floor, deploy / floor) and the load average.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChangeSet, generateChangeSet, generateProject } from './bench/generate';
import * as L from './bench/lib';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(flag('runs', '5'));
const LIKE = 'gen\\_s%';

async function main(): Promise<void> {
  console.log(`dbee release package benchmark: ${N} objects, 2 % change set, ${RUNS} runs`);
  console.log(`machine: ${L.machine()}`);
  console.log(`load average at start: ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-release-'));
  try {
    L.writeWorkspace(root, ['d']);
    writeFileSync(join(root, '.gitignore'), '.dbee/\ndist/\n');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
    git('init', '-q', '-b', 'main');
    git('config', 'user.email', 'bench@example.com');
    git('config', 'user.name', 'bench');
    git('config', 'commit.gpgsign', 'false');
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: N });
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    git('tag', 'base');
    const envFor = (db: string) => ({ [L.envVar('d')]: L.dbUrl(db) });

    // The template: the base sources deployed by dbee (its ledger at base), as test and prod would be.
    const template = await L.createDb('rel_template');
    await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, envFor(template));

    const cs = generateChangeSet(gen);
    applyChangeSet(join(root, 'gen'), cs);
    git('add', '-A');
    git('commit', '-q', '-m', 'head');
    git('tag', 'head');
    const changesFile = join(root, 'changes.sql');
    writeFileSync(changesFile, cs.script);
    console.log(
      `project: ${gen.objects} objects in ${gen.files} files; change set: ${cs.changes.length} changes, ${L.splitScript(cs.script).length} statements`,
    );

    const plan = async () => {
      rmSync(join(root, '.dbee', 'cache'), { recursive: true, force: true });
      // No database is read; the environment's URL must still be set, as its variables come with it.
      return L.dbee(
        root,
        'plan',
        { project: 'gen', base: 'base', head: 'head', out: 'dist/release' },
        envFor(template),
      );
    };
    // Warm-up (not recorded): modules, the parser, PGlite and the engine loaded once in this process.
    {
      await plan();
      const w = await L.createDb('rel_warmup', template);
      await L.dbee(root, 'deploy', { project: 'gen', env: 'd', package: 'dist/release' }, envFor(w));
      await L.dropDb(w);
    }

    const rows: { run: number; floor: number; plan: number; deploy: number; steps: number }[] = [];
    const failures: string[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const p = await plan();
      const steps = Number(/: (\d+) steps/.exec(p.stdout)?.[1] ?? 0);
      const floorDb = await L.createDb(`rel_floor_${run}`, template);
      const dbeeDb = await L.createDb(`rel_dbee_${run}`, template);
      let floor = 0;
      let deploy = 0;
      const runFloor = async () => (floor = (await L.psqlFile(floorDb, changesFile)).ms);
      const runDbee = async () =>
        (deploy = (await L.dbee(root, 'deploy', { project: 'gen', env: 'd', package: 'dist/release' }, envFor(dbeeDb)))
          .ms);
      if (run % 2) {
        await runFloor();
        await runDbee();
      } else {
        await runDbee();
        await runFloor();
      }
      const [expected, actual] = [await L.catalogSummary(floorDb, LIKE), await L.catalogSummary(dbeeDb, LIKE)];
      const difference = L.compareSummaries(expected, actual);
      if (difference) failures.push(`run ${run}: the package left another schema than the floor: ${difference}`);
      const again = await L.dbee(root, 'deploy', { project: 'gen', env: 'd', package: 'dist/release' }, envFor(dbeeDb));
      if (!again.stdout.includes('nothing to deploy'))
        failures.push(`run ${run}: the second deploy of the package did something`);
      rows.push({ run, floor, plan: p.ms, deploy, steps });
      await L.dropDb(floorDb);
      await L.dropDb(dbeeDb);
    }

    console.log('');
    console.log(
      L.table(
        ['run', 'steps', 'psql floor', 'plan', 'plan / floor', 'deploy', 'deploy / floor'],
        rows.map((r) => [
          String(r.run),
          String(r.steps),
          L.fmtMs(r.floor),
          L.fmtMs(r.plan),
          L.fmtRatio(r.plan / r.floor),
          L.fmtMs(r.deploy),
          L.fmtRatio(r.deploy / r.floor),
        ]),
      ),
    );
    console.log('');
    console.log(
      `median: psql floor ${L.fmtMs(L.median(rows.map((r) => r.floor)))}, plan ${L.fmtMs(L.median(rows.map((r) => r.plan)))} ` +
        `(median of paired ratios ${L.fmtRatio(L.median(rows.map((r) => r.plan / r.floor)))}), deploy ${L.fmtMs(L.median(rows.map((r) => r.deploy)))} ` +
        `(median of paired ratios ${L.fmtRatio(L.median(rows.map((r) => r.deploy / r.floor)))})`,
    );
    if (failures.length) {
      console.log('\nFAILED checks (the timings above do not count):');
      for (const f of failures) console.log(`  - ${f}`);
      process.exitCode = 1;
    }
    console.log(`load average at end: ${L.load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

L.runMain(main);
