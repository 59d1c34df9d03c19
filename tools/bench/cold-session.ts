/**
 * What a new session's cold caches cost dbee's catalog reads (issue 90). Every dbee command opens new sessions, and a
 * new PostgreSQL backend starts with empty catalog caches: its first catalog queries look up, and cache, every
 * catalog relation, function and type they use. The generated project is applied by `psql -1`; then, per round, a
 * copy of that database and, each on a new session, each read twice (cold, then warm):
 *
 * - the catalog version (`DiffRole.catalogVersion`: what the drift check reads first);
 * - the live read of the incremental deploy's change set, narrowed to its names (`DiffRole.introspect` with `names`,
 *   on one session);
 * - the same read after a read of the same queries narrowed to a name that matches nothing (the caches warmed by the
 *   queries alone, no row of the project's).
 *
 * A session opened on the copy before the measured one (`--preconnect`) is a control: it shows whether the database's
 * first session pays more than the next ones (a new database's relation cache file).
 *
 *   node tools/run.js tools/bench/cold-session.ts [objects=1000] [--rounds 5]
 *
 * Run it under the machine's measurement lock (`flock /work/measure.lock ...` on a shared machine): it measures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SchemaScope } from '@dbee/core/schema';
import { PgConnection, createPostgresEngine } from '@dbee/postgres';
import { generateChangeSet, generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const ROUNDS = Number(option('rounds') ?? 5);

const rows = {
  'catalog version, cold': [] as number[],
  'catalog version, warm': [] as number[],
  'narrowed read, cold': [] as number[],
  'narrowed read, warm': [] as number[],
  'the same queries matching nothing, cold': [] as number[],
  'narrowed read after them': [] as number[],
  'narrowed read, cold, the database opened before': [] as number[],
};

async function main(): Promise<void> {
  console.log(`dbee cold-session: ${N} objects, ${ROUNDS} rounds; ${L.machine()}; load ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-cold-'));
  try {
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: N });
    const names = generateChangeSet(gen).changes.map((c) => c.object);
    const script = join(root, 'script.sql');
    writeFileSync(script, gen.script);
    const base = await L.createDb('cold_base');
    await L.psqlFile(base, script);
    const diff = createPostgresEngine().diff!;
    const scope: SchemaScope = { schemas: gen.schemas, names };
    const none: SchemaScope = { ...scope, names: ['gen_s0.no_such_object'] };
    const open = (db: string) => PgConnection.open({ connectionString: L.dbUrl(db, 'dbee-bench-cold') }, db);
    const timed = async (into: number[], f: () => Promise<unknown>) => {
      const t = performance.now();
      await f();
      into.push(performance.now() - t);
    };
    for (let round = 1; round <= ROUNDS; round++) {
      const db = await L.createDb(`cold_${round}`, base);
      await L.quietServer();
      const a = await open(db);
      await timed(rows['catalog version, cold'], () => diff.catalogVersion!(a));
      await timed(rows['catalog version, warm'], () => diff.catalogVersion!(a));
      const b = await open(db);
      await timed(rows['narrowed read, cold'], () => diff.introspect(b, scope));
      await timed(rows['narrowed read, warm'], () => diff.introspect(b, scope));
      const c = await open(db);
      await timed(rows['the same queries matching nothing, cold'], () => diff.introspect(c, none));
      await timed(rows['narrowed read after them'], () => diff.introspect(c, scope));
      for (const s of [a, b, c]) await s.close();
      // The control: a session opened and closed on a new copy first, then the measured one.
      const db2 = await L.createDb(`cold_${round}_pre`, base);
      await (await open(db2)).close();
      const d = await open(db2);
      await timed(rows['narrowed read, cold, the database opened before'], () => diff.introspect(d, scope));
      await d.close();
      await L.dropDb(db);
      await L.dropDb(db2);
      console.log(`  round ${round}/${ROUNDS}; load ${L.load()}`);
    }
    await L.dropDb(base);
    console.log(`\n${N} objects, ${names.length} names read (the change set's), medians of ${ROUNDS} rounds:`);
    console.log(
      L.table(
        ['read', 'median', 'range'],
        Object.entries(rows).map(([k, v]) => [
          k,
          L.fmtMs(L.median(v)),
          `${L.fmtMs(Math.min(...v))}-${L.fmtMs(Math.max(...v))}`,
        ]),
      ),
    );
    console.log(`load at end ${L.load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

L.runMain(main);
