/**
 * Accuracy benchmark of `dbee advise` (issue #60): the seeded shop of `test/advise/seed.ts` at benchmark size (default
 * 200,000 customers: 1,000,000 orders, 200,000 addresses, 20,000 products) on a server of its own (pg_stat_statements
 * preloaded, HypoPG; Debian: postgresql-15-hypopg), the application's queries run through pg_stat_statements, then
 * `dbee advise` once. Printed: the advised indexes against the known good ones (precision, recall), the redundant
 * indexes against the known redundant ones, and the run time of the advice (not of loading the data).
 * Goal: precision >= 0.9 and recall >= 0.8.
 *
 *   node tools/run.js tools/bench-advise.ts [customers=200000]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { adviseCluster, seedShop } from '../test/advise/advise-cluster';
import { run } from '../test/support/run';
import { indexKey, KNOWN_GOOD, REDUNDANT, shopSources } from '../test/advise/seed';

const customers = Number(process.argv[2] ?? 200_000);

async function main(): Promise<void> {
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
