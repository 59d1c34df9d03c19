/**
 * Rollback benchmark (issue #6): deploy a generated release to a fresh server database, then roll it back, and
 * compare the two wall times in one run.
 *
 *   node tools/run.js tools/bench-rollback.ts                # 1,000 objects, 3 runs
 *   node tools/run.js tools/bench-rollback.ts 2000 --runs 5
 *
 * Setup (not timed): generate a project of N objects (tools/bench/generate.ts: tables with foreign keys and
 * indexes, views over views, SQL and PL/pgSQL functions, triggers, procedures); one warm-up deploy + rollback so
 * that both timed operations run in a warm process.
 * Timed, per run, each on a new database (dbee_bench_*, dropped at the end, also on failure):
 *   deploy     `dbee deploy gen` in-process: parse, plan, lock, ledger, one transaction per object, smoke checks
 *              (baseline: every object exists, every view compiles), summary
 *   rollback   `dbee rollback gen` in-process right after it: read the ledger, undo every step from its recorded
 *              reverse (newest first, one transaction per step with its ledger changes), restore the ledger state,
 *              smoke checks (baseline), summary
 * Checked: after the deploy the schemas hold the generator's objects; after the rollback they are gone and the
 * ledger's object state is empty. A fast wrong answer does not count.
 * Goal: rollback under 1.5x the deployment time, and under 10 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProject } from './bench/generate';
import * as L from './bench/lib';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(flag('runs', '3'));
const LIKE = 'gen\\_s%';
const GOAL_RATIO = 1.5;
const GOAL_MS = 10_000;

async function main(): Promise<void> {
  console.log(`dbee rollback benchmark: ${N} objects, ${RUNS} runs`);
  console.log(`machine: ${L.machine()}`);
  console.log(`load average at start: ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-rollback-'));
  try {
    L.writeWorkspace(root, ['d']);
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: N });
    console.log(`project: ${gen.objects} objects in ${gen.files} files (${gen.schemas.length} schemas)`);
    const envFor = (db: string) => ({ [L.envVar('d')]: L.dbUrl(db) });
    const objectsInLedger = async (db: string) =>
      Number((await L.sql(db, 'SELECT count(*) AS n FROM dbee.objects')).rows[0].n);

    // Warm-up (not recorded): modules, the parser and the engine loaded once in this process.
    {
      const w = await L.createDb('rb_warmup');
      await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, envFor(w));
      await L.dbee(root, 'rollback', { project: 'gen', env: 'd' }, envFor(w));
      await L.dropDb(w);
    }

    const rows: { run: number; deploy: number; rollback: number; steps: number }[] = [];
    const failures: string[] = [];
    let deployed: L.CatalogSummary | null = null;
    for (let run = 1; run <= RUNS; run++) {
      const db = await L.createDb(`rb_${run}`);
      const d = await L.dbee(root, 'deploy', { project: 'gen', env: 'd' }, envFor(db));
      const afterDeploy = await L.catalogSummary(db, LIKE);
      deployed ??= afterDeploy;
      const counts = L.totals(afterDeploy);
      if ((counts.tables ?? 0) === 0 || L.compareSummaries(deployed, afterDeploy))
        failures.push(
          `run ${run}: the deployment did not build the generated schema (${L.describeSummary(afterDeploy)})`,
        );
      const steps = Number(/deployed (\d+) steps/.exec(d.stdout)?.[1] ?? 0);
      const r = await L.dbee(root, 'rollback', { project: 'gen', env: 'd' }, envFor(db));
      const afterRollback = await L.catalogSummary(db, LIKE);
      const left = Object.keys(afterRollback.counts).length;
      const ledgerLeft = await objectsInLedger(db);
      if (left || ledgerLeft)
        failures.push(
          `run ${run}: after the rollback ${left} schema(s) and ${ledgerLeft} ledger object(s) are left (${L.describeSummary(afterRollback)})`,
        );
      if (!/rolled back: \d+ steps undone/.test(r.stdout))
        failures.push(`run ${run}: the rollback did not report its steps`);
      rows.push({ run, deploy: d.ms, rollback: r.ms, steps });
      await L.dropDb(db);
    }

    console.log('');
    console.log(
      L.table(
        ['run', 'steps', 'deploy', 'rollback', 'rollback / deploy'],
        rows.map((r) => [
          String(r.run),
          String(r.steps),
          L.fmtMs(r.deploy),
          L.fmtMs(r.rollback),
          L.fmtRatio(r.rollback / r.deploy),
        ]),
      ),
    );
    const deploy = L.median(rows.map((r) => r.deploy));
    const rollback = L.median(rows.map((r) => r.rollback));
    const ratio = rollback / deploy;
    console.log('');
    console.log(
      `median: deploy ${L.fmtMs(deploy)}, rollback ${L.fmtMs(rollback)}, rollback / deploy ${L.fmtRatio(ratio)}`,
    );
    if (failures.length) {
      console.log('\nFAILED checks (the timings above do not count):');
      for (const f of failures) console.log(`  - ${f}`);
      console.log(
        `\ngoal: rollback under ${GOAL_RATIO}x the deployment and under ${GOAL_MS / 1000} s: NOT MET (wrong results)`,
      );
      process.exitCode = 1;
      return;
    }
    const met = ratio < GOAL_RATIO && rollback < GOAL_MS;
    console.log(
      `goal: rollback under ${GOAL_RATIO}x the deployment (${L.fmtRatio(ratio)}: ${ratio < GOAL_RATIO ? 'yes' : 'no'}) and under ${GOAL_MS / 1000} s (${L.fmtMs(rollback)}: ${rollback < GOAL_MS ? 'yes' : 'no'}): ${met ? 'MET' : 'NOT MET'}`,
    );
    console.log(`load average at end: ${L.load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

L.runMain(main);
