/**
 * What the compatibility check costs (docs/compat.md): a verified dry run of a change to a generated 1,000-object
 * project, with and without 1,000 application queries to check (each parsed and analysed on the scratch copy before
 * and after the plan), on a PostgreSQL server database, in this process. The runs alternate (without, with) and the
 * figure is the median of the paired differences, with the median of the paired ratios beside it. Goal: the check
 * adds at most 2 s.
 *
 *   node tools/run.js tools/bench-check.ts                 # 1,000 objects, 1,000 queries, 5 pairs
 *   node tools/run.js tools/bench-check.ts 2000 --runs 3   # another size
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChangeSet, generateChangeSet, generateProject, type GeneratedProject } from './bench/generate';
import {
  createDb,
  dbee,
  dbUrl,
  dropAll,
  envVar,
  fmtMs,
  fmtRatio,
  load,
  machine,
  median,
  runMain,
  writeWorkspace,
} from './bench/lib';

/** About `count` queries over the generated units: reads of tables, views and functions, and writes, with parameters. */
function appQueries(gen: GeneratedProject, count: number): string {
  const out: string[] = [];
  for (let u = 0; out.length < count; u = (u + 1) % gen.units) {
    const s = gen.schemas[u % gen.schemas.length]!;
    out.push(
      `SELECT id, code, amount FROM ${s}.parent_${u} WHERE id = $1;`,
      `SELECT p.code, c.qty FROM ${s}.parent_${u} p JOIN ${s}.child_${u} c ON c.parent_id = p.id WHERE p.code = $1;`,
      `SELECT id, code, weight FROM ${s}.vv_${u} WHERE weight > $1;`,
      `SELECT lines FROM ${s}.v_${u} WHERE id = $1;`,
      `SELECT ${s}.total_${u}($1);`,
      `SELECT ${s}.weight_${u}($1, $2);`,
      `INSERT INTO ${s}.child_${u} (parent_id, qty, note) VALUES ($1, $2, $3);`,
      `UPDATE ${s}.parent_${u} SET amount = $2 WHERE id = $1;`,
      `DELETE FROM ${s}.child_${u} WHERE parent_id = $1;`,
      `SELECT count(*) FROM ${s}.child_${u} WHERE note IS NOT NULL;`,
    );
  }
  return out.slice(0, count).join('\n') + '\n';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
  const queries = 1000;
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-check-'));
  try {
    console.log(`dbee compatibility check benchmark: ${machine()}`);
    console.log(`load average at start: ${load()}`);
    writeWorkspace(root, ['bench']);
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: n });
    writeFileSync(join(root, 'queries.sql'), appQueries(gen, queries));
    const db = await createDb('check');
    const env = { [envVar('bench')]: dbUrl(db) };
    await dbee(root, 'deploy', { project: 'gen', env: 'bench' }, env);
    applyChangeSet(join(root, 'gen'), generateChangeSet(gen, { fraction: 0.05 }));
    const dryRun = (withQueries: boolean) =>
      dbee(
        root,
        'deploy',
        { project: 'gen', env: 'bench', dryRun: true, ...(withQueries ? { queries: 'queries.sql' } : {}) },
        env,
      );
    // One untimed pair: the embedded shadow's first start and the parser's first load are not the check's cost.
    const warm = await dryRun(true);
    const summary = warm.stdout.split('\n').find((l) => l.startsWith('compatibility:')) ?? '(no compatibility line)';
    const without: number[] = [];
    const withQ: number[] = [];
    for (let i = 0; i < runs; i++) {
      without.push((await dryRun(false)).ms);
      withQ.push((await dryRun(true)).ms);
    }
    const added = median(withQ.map((w, i) => w - without[i]!));
    const ratio = median(withQ.map((w, i) => w / without[i]!));
    console.log(`project: ${gen.objects} objects; change set: 5 % of them; ${queries} queries; ${runs} pairs`);
    console.log(`  ${summary}`);
    console.log(`  verified dry run without the check   ${fmtMs(median(without))}`);
    console.log(
      `  verified dry run with the check      ${fmtMs(median(withQ))}   ${fmtRatio(ratio)} (median of paired ratios)`,
    );
    console.log(
      `  added by the check                   ${fmtMs(added)}   goal <= 2 s: ${added <= 2000 ? 'met' : 'NOT MET'}`,
    );
    console.log(`load average at end: ${load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    await dropAll();
  }
}

runMain(main);
