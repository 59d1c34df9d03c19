/**
 * Accuracy benchmarks of `dbee advise`, each on a server of its own (pg_stat_statements preloaded, HypoPG; Debian:
 * postgresql-15-hypopg), printing precision and recall of the missing indexes and the run time of the advice (not of
 * loading the data):
 *
 * - `shop` (issue #60, the default): the seeded shop of `test/advise/seed.ts` at benchmark size (default 200,000
 *   customers: 1,000,000 orders, 200,000 addresses, 20,000 products), the application's queries run through
 *   pg_stat_statements, against the known good indexes written with the workload; and the redundant indexes.
 * - `pagila` (issue #71): a workload the project did not write (`test/advise/pagila.ts`): Pagila's published schema,
 *   rows in its shape (default 20,000 customers, 1,000,000 rentals and payments in 55 monthly partitions), the 38
 *   queries of xtdb/sakila-playground as a file; the answer key made by creating every index the queries could use for
 *   real, one at a time, and timing each query without and with it (median of 3 runs; `cost` instead: the planner's
 *   cost of the generic plan with the real index). An index that makes a query at least twice as fast is true.
 *
 * Goal: precision >= 0.9 and recall >= 0.8 (issue #71: >= 0.9 for both on the second workload).
 *
 *   node tools/run.js tools/bench-advise.ts [shop] [customers=200000]
 *   node tools/run.js tools/bench-advise.ts pagila [customers=20000] [rentals=1000000] [time|cost]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { adviseCluster, seedShop } from '../test/advise/advise-cluster';
import { adviseReport, answerKey, keyCandidates, loadPagila, readWorkload, score } from '../test/advise/pagila';
import { run } from '../test/support/run';
import { indexKey, KNOWN_GOOD, REDUNDANT, shopSources } from '../test/advise/seed';

const args = process.argv.slice(2);
const which = args[0] === 'pagila' || args[0] === 'shop' ? args.shift()! : 'shop';

async function main(): Promise<void> {
  if (which === 'pagila')
    return pagila(Number(args[0] ?? 20_000), Number(args[1] ?? 1_000_000), args[2] === 'cost' ? 'cost' : 'time');
  return shop(Number(args[0] ?? 200_000));
}

/** The second workload: Pagila, the playground's queries, a key made with real indexes. */
async function pagila(customers: number, rentals: number, measure: 'time' | 'cost'): Promise<void> {
  const cluster = await adviseCluster();
  const c = new Client({ connectionString: cluster.url('shop') });
  await c.connect();
  try {
    let t = performance.now();
    await loadPagila(c, customers, rentals);
    const loadS = (performance.now() - t) / 1000;
    t = performance.now();
    const report = await adviseReport(cluster.url('shop'));
    const adviseS = (performance.now() - t) / 1000;
    const workload = await readWorkload();
    const advised = report.missingIndexes.map((m) => m.index);
    const candidates = await keyCandidates(c, workload, advised);
    t = performance.now();
    const key = await answerKey(c, workload, candidates, measure);
    const keyS = (performance.now() - t) / 1000;
    const keys = advised.map((a) => indexKey(a.table, a.columns));
    const s = score(keys, key);
    const unit = measure === 'time' ? 'ms' : '';
    console.log(`rows: ${customers} customers, ${rentals} rentals and payments; data loaded in ${loadS.toFixed(1)} s`);
    console.log(
      `workload: ${workload.length} queries; ${candidates.length} indexes tried for real (${measure}) in ${keyS.toFixed(0)} s`,
    );
    for (const [k, v] of key)
      if (v.length)
        console.log(
          `true: ${k}: ${v.map((x) => `${x.origin} ${x.before.toFixed(1)}${unit} -> ${x.after.toFixed(1)}${unit}`).join(', ')}`,
        );
    for (const k of keys) console.log(`advised: ${k}${s.right.includes(k) ? '' : ' (no query twice as fast)'}`);
    for (const o of s.needy) if (!s.served.includes(o)) console.log(`not served: ${o}`);
    const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(2));
    console.log(
      `missing indexes: precision ${ratio(s.right.length, keys.length)} (${s.right.length}/${keys.length}), recall ${ratio(s.served.length, s.needy.length)} (${s.served.length}/${s.needy.length} queries an index makes twice as fast)`,
    );
    console.log(`dbee advise: ${adviseS.toFixed(1)} s`);
  } finally {
    await c.end();
    await cluster.stop();
  }
}

async function shop(customers: number): Promise<void> {
  const cluster = await adviseCluster();
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-advise-'));
  try {
    const files: Record<string, string> = {
      'dbee.yaml':
        'version: 1\ndefaultEnvironment: server\nenvironments:\n  server:\n    engine: postgres\n    connection:\n      url: ${DBEE_ADVISE_URL}\n',
      ...shopSources(),
    };
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    const env = { DBEE_ADVISE_URL: cluster.url('shop') };
    const deployed = await run(root, 'deploy', { project: 'shop', env: 'server', assumeYes: true }, env);
    if (deployed.code !== 0) throw new Error(deployed.stderr);
    let t = performance.now();
    await seedShop(cluster.url('shop'), customers);
    const loadS = (performance.now() - t) / 1000;
    t = performance.now();
    const advised = await run(
      root,
      'advise',
      { project: 'shop', env: 'server', queries: 'pg_stat_statements', format: 'json' },
      env,
    );
    const adviseS = (performance.now() - t) / 1000;
    if (advised.code !== 0) throw new Error(advised.stderr || advised.stdout);
    const report = JSON.parse(advised.stdout) as {
      missingIndexes: { index: { table: string; columns: string[] }; queries: { before: number; after: number }[] }[];
      redundantIndexes: { index: { name: string } }[];
    };
    const got = report.missingIndexes.map((m) => indexKey(m.index.table, m.index.columns));
    const hits = got.filter((g) => KNOWN_GOOD.includes(g));
    const redundant = report.redundantIndexes.map((r) => r.index.name);
    const redundantHits = redundant.filter((r) => REDUNDANT.includes(r));
    const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(2));
    console.log(`rows: ${customers} customers, ${customers * 5} orders; data loaded in ${loadS.toFixed(1)} s`);
    console.log(`known good indexes: ${KNOWN_GOOD.join(' ')}`);
    for (const m of report.missingIndexes)
      console.log(
        `advised: ${indexKey(m.index.table, m.index.columns)}${KNOWN_GOOD.includes(indexKey(m.index.table, m.index.columns)) ? '' : ' (not known good)'}: ${m.queries.map((q) => `${q.before.toFixed(0)} -> ${q.after.toFixed(0)}`).join(', ')}`,
      );
    console.log(
      `missing indexes: precision ${ratio(hits.length, got.length)} (${hits.length}/${got.length}), recall ${ratio(hits.length, KNOWN_GOOD.length)} (${hits.length}/${KNOWN_GOOD.length})`,
    );
    console.log(
      `redundant indexes: precision ${ratio(redundantHits.length, redundant.length)} (${redundantHits.length}/${redundant.length}), recall ${ratio(redundantHits.length, REDUNDANT.length)} (${redundantHits.length}/${REDUNDANT.length})`,
    );
    console.log(`dbee advise: ${adviseS.toFixed(1)} s`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    await cluster.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
