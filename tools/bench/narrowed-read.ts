/**
 * What a diff's narrowed live read costs against the whole read (issue 75, item 3): the generated project's schema
 * (`psql -1 -f` of its script), then, on one warm session, `DiffRole.introspect` of the whole schemas and of the names
 * the change set's objects and what depends on them give (`namesToRead` over the whole read's dependencies, as a
 * deployment's diff checks them), alternated, the order swapped every round. Prints the server backend's CPU time
 * (/proc/<pid>/schedstat: the server runs on this machine) and the wall time of each read, medians and the median of
 * the paired ratios, with the load at the start and the end.
 *
 *   node tools/run.js tools/bench/narrowed-read.ts [objects=1000] [--runs 15]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SchemaScope } from '@dbee/core/schema';
import { PgConnection, createPostgresEngine } from '@dbee/postgres';
import { modelNeeds, namesToRead } from '../../packages/core/src/diffing/narrow';
import { generateChangeSet, generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 15);

const cpuMs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;

/** The ledger key of a change set's object, as the deployment's narrowing gets it. */
const KINDS = { 'view-body': 'view', 'sql-function-body': 'function', 'plpgsql-function-body': 'function' } as const;

L.runMain(async () => {
  console.log(`narrowed live read against the whole: ${N} objects, ${RUNS} rounds; ${L.machine()}; load ${L.load()}`);
  const root = mkdtempSync(join(tmpdir(), 'dbee-narrow-'));
  const db = await L.createDb(`narrow_${N}`);
  try {
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: N });
    writeFileSync(join(root, 'floor.sql'), gen.script);
    await L.psqlFile(db, join(root, 'floor.sql'));
    const conn = await PgConnection.open({ connectionString: L.dbUrl(db) }, 'postgres:bench');
    try {
      const diff = createPostgresEngine().diff!;
      const pid = Number((await conn.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p);
      const whole: SchemaScope = { schemas: gen.schemas };
      const model = await diff.introspect(conn, whole); // untimed: the session's caches warm
      const changed = generateChangeSet(gen).changes.map(
        (c) => `${c.kind in KINDS ? KINDS[c.kind as keyof typeof KINDS] : 'table'}:${c.object}`,
      );
      const names = namesToRead({ changed, removed: [] }, modelNeeds(model))!;
      const narrowed: SchemaScope = { ...whole, names: [...names] };
      const read = async (scope: SchemaScope) => {
        const c0 = cpuMs(pid);
        const t0 = performance.now();
        await diff.introspect(conn, scope);
        return { ms: performance.now() - t0, cpu: cpuMs(pid) - c0 };
      };
      const out = {
        whole: { cpu: [] as number[], ms: [] as number[] },
        narrowed: { cpu: [] as number[], ms: [] as number[] },
      };
      for (let r = 0; r < RUNS; r++) {
        for (const k of r % 2 ? (['narrowed', 'whole'] as const) : (['whole', 'narrowed'] as const)) {
          const t = await read(k === 'whole' ? whole : narrowed);
          out[k].cpu.push(t.cpu);
          out[k].ms.push(t.ms);
        }
      }
      const paired = (f: 'cpu' | 'ms') => L.median(out.narrowed[f].map((x, i) => x / out.whole[f][i]!));
      console.log(
        `${changed.length} changed objects; ${names.size} names read of the ${model.tables.length + model.views.length + model.routines.length + model.types.length + model.sequences.length} relations, routines and types`,
      );
      console.log(
        L.table(
          ['live read', 'server CPU (median)', 'wall (median)'],
          (['whole', 'narrowed'] as const).map((k) => [
            k === 'whole' ? 'whole schemas' : 'narrowed to the change set',
            `${L.median(out[k].cpu).toFixed(1)} ms`,
            `${L.median(out[k].ms).toFixed(1)} ms`,
          ]),
        ),
      );
      console.log(
        `narrowed / whole, median of ${RUNS} paired rounds: server CPU ${L.fmtRatio(paired('cpu'))}, wall ${L.fmtRatio(paired('ms'))}`,
      );
    } finally {
      await conn.close();
    }
  } finally {
    await L.dropDb(db);
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`date ${new Date().toISOString().slice(0, 10)}; load average at the end: ${L.load()}`);
});
