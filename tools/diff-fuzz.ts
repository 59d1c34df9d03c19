/**
 * Diff fuzzing (issue #15): many seeded schema pairs through dbee's diff, on PGlite and/or the server.
 *
 *   node tools/run.js tools/diff-fuzz.ts                          # seeds 1000..1999 on both engines
 *   node tools/run.js tools/diff-fuzz.ts --from 5000 --count 3000 --engine postgres
 *   node tools/run.js tools/diff-fuzz.ts --count 200 --full           # each pair also B to A, and from sources
 *
 * Each pair (test/diff-property/generator.ts): schema A deployed with rows, dbee's plan from A to B's schema
 * applied, then: the second diff is empty, the catalogs (and on the server pg_dump -s) of the result and of B built
 * directly are equal, and every table of B that accepts an INSERT of a default row does so after the deploy too.
 * With --full (about three times the work), each pair also converges from B to A, and A and B built from sources by
 * dbee's planner (one file per object, desired state) equal A and B built directly.
 * Prints pairs run, failures (seed, stage, message) and the seed range; exits 1 on any failure.
 *
 * Edit fuzzing over the real corpus (issue 88; test/diff-property/real-edits.ts, on the server):
 *
 *   node tools/run.js tools/diff-fuzz.ts --real                                # seeds 1..20, 8 edits, every schema
 *   node tools/run.js tools/diff-fuzz.ts --real --schemas adventureworks,safecast --from 100 --count 50 --edits 4
 *
 * Each round types its seed's edits into database A by hand and carries them to B through dbee (extract, dry run,
 * deploy); a failed round is printed (seed, edits, stage, message) and its databases made again.
 */
import { loadavg } from 'node:os';
import { PropertyBench, seedRange } from '../test/diff-property/harness';
import { RealEditBench, REAL_SEEDS } from '../test/diff-property/real-edits';

/** `--real`: rounds of edits on the corpus's schemas; prints each failure and the totals, exits 1 on any. */
async function real(): Promise<void> {
  const from = Number(option('from', '1'));
  const count = Number(option('count', '20'));
  const edits = Number(option('edits', '8'));
  const names = option('schemas', REAL_SEEDS.map((s) => s.name).join(',')).split(',');
  const unknown = names.filter((n) => !REAL_SEEDS.some((s) => s.name === n));
  if (!Number.isInteger(from) || !Number.isInteger(count) || count < 1 || !Number.isInteger(edits) || unknown.length) {
    console.error(
      `usage: diff-fuzz --real [--schemas ${REAL_SEEDS.map((s) => s.name).join(',')}] [--from <seed>] [--count <rounds>] [--edits <per round>]${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`,
    );
    process.exitCode = 1;
    return;
  }
  let rounds = 0;
  let failed = 0;
  let made = 0;
  const started = Date.now();
  for (const name of names) {
    const schema = REAL_SEEDS.find((s) => s.name === name)!;
    let bench = await RealEditBench.open(schema);
    if (bench.settled.length) console.log(`${name}: a second extract, unedited, plans: ${bench.settled.join('; ')}`);
    try {
      for (let seed = from; seed < from + count; seed++) {
        const r = await bench.round(seed, edits);
        rounds++;
        made += r.edits.length;
        if (!r.failure) continue;
        failed++;
        console.log(
          `FAIL ${name} seed ${seed} [${r.failure.stage}]: edits ${r.edits.map((e) => e.kind).join(', ')}
${r.failure.message.slice(0, 1500)}`,
        );
        await bench.close();
        bench = await RealEditBench.open(schema);
      }
    } finally {
      await bench.close();
    }
    console.log(`${name}: seeds ${from}..${from + count - 1} done (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  console.log(
    `rounds run: ${rounds} (${made} edits by hand), failures: ${failed}, seeds ${from}..${from + count - 1}, schemas ${names.join(', ')}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  process.exitCode = failed ? 1 : 0;
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  if (process.argv.includes('--real')) return real();
  const from = Number(option('from', '1000'));
  const count = Number(option('count', '1000'));
  const engineOption = option('engine', 'both');
  // A typo must not run zero pairs and report no failure.
  const known = new Set(['--from', '--count', '--engine', '--full']);
  const unknown = process.argv.slice(2).filter((a) => a.startsWith('--') && !known.has(a));
  if (
    !Number.isInteger(from) ||
    from < 0 ||
    !Number.isInteger(count) ||
    count < 1 ||
    !['both', 'pglite', 'postgres'].includes(engineOption) ||
    unknown.length
  ) {
    console.error(
      `usage: diff-fuzz [--from <seed>] [--count <pairs per engine, >= 1>] [--engine both|pglite|postgres] [--full]${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`,
    );
    process.exitCode = 1;
    return;
  }
  const full = process.argv.includes('--full');
  const engines =
    engineOption === 'both' ? (['pglite', 'postgres'] as const) : ([engineOption] as ('pglite' | 'postgres')[]);
  let pairs = 0;
  let failed = 0;
  const started = Date.now();
  for (const engine of engines) {
    let bench = await PropertyBench.open(engine);
    const t0 = Date.now();
    try {
      // In chunks, so a long run reports progress.
      for (let start = from; start < from + count; start += 50) {
        // Fresh databases every 500 pairs (150 in full mode, which makes about three times the schemas): each pair
        // creates and drops schemas, and where autovacuum does not clean the catalogs (it is off on the test server)
        // they bloat until one introspection takes seconds (a run slowed sevenfold over 1,000 pairs).
        if (start > from && (start - from) % (full ? 150 : 500) === 0) {
          await bench.close();
          bench = await PropertyBench.open(engine);
        }
        const seeds = seedRange(start, Math.min(50, from + count - start));
        const run = await bench.run(seeds, { full });
        pairs += run.pairs;
        failed += run.failures.length;
        for (const f of run.failures)
          console.log(`FAIL ${engine} seed ${f.seed} [${f.stage}]: ${f.message.slice(0, 1200)}`);
        console.log(
          `${engine}: seeds ${seeds[0]}..${seeds[seeds.length - 1]}: ${run.pairs} pairs, ${run.failures.length} failures (${((Date.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0]!.toFixed(1)})`,
        );
      }
    } finally {
      await bench.close();
    }
  }
  console.log(
    `pairs run: ${pairs}${full ? ' (both ways and from sources)' : ''}, failures: ${failed}, seeds ${from}..${from + count - 1} on ${engines.join(' and ')}, ${((Date.now() - started) / 1000).toFixed(1)} s, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  process.exitCode = failed ? 1 : 0;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 2;
});
