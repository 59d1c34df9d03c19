/**
 * Experiment: where the fingerprint query's server CPU goes on a new target's working session (after the project's DDL
 * ran on it): parse, plan (generic, cold caches), execute, and the same again warm.
 *
 *   node tools/run.js tools/bench/fingerprint-phases.ts [--runs 10] [--objects 50] [--sql file.sql ...variants]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { PgConnection } from '@dbee/postgres';
import { FINGERPRINT_SQL } from '../../packages/postgres/src/introspect/fingerprint';
import { generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const RUNS = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 10);
const OBJECTS = Number(argv.includes('--objects') ? argv[argv.indexOf('--objects') + 1] : 50);
const cpuMs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const variants: [string, string][] = [['current', FINGERPRINT_SQL]];
for (let i = 0; i < argv.length; i++)
  if (argv[i] === '--sql') variants.push([argv[i + 1]!, readFileSync(argv[++i]!, 'utf8')]);

async function one(label: string, sql: string, script: string, schemas: string[]) {
  const db = await L.createDb(label);
  const conn = await PgConnection.open({ connectionString: L.dbUrl(db) }, 'postgres:bench');
  try {
    const pid = Number((await conn.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p);
    await conn.query(`BEGIN;\n${script}\nCOMMIT`);
    await conn.query(
      `SET search_path = pg_catalog; SET join_collapse_limit = 1; SET from_collapse_limit = 1; SET plan_cache_mode = force_generic_plan; SET jit = off`,
    );
    const params = `'{${schemas.join(',')}}'::text[], NULL::text[], true, true, '${JSON.stringify([{ schemas, ignore: [] }])}'::jsonb`;
    const t: number[] = [cpuMs(pid)];
    await conn.query(`PREPARE fp(text[], text[], boolean, boolean, jsonb) AS ${sql}`);
    t.push(cpuMs(pid));
    await conn.query(`EXPLAIN EXECUTE fp(${params})`);
    t.push(cpuMs(pid));
    const r = await conn.query(`EXECUTE fp(${params})`);
    t.push(cpuMs(pid));
    await conn.query(`DEALLOCATE fp`);
    await conn.query(`PREPARE fp(text[], text[], boolean, boolean, jsonb) AS ${sql}`);
    t.push(cpuMs(pid));
    await conn.query(`EXPLAIN EXECUTE fp(${params})`);
    t.push(cpuMs(pid));
    await conn.query(`EXECUTE fp(${params})`);
    t.push(cpuMs(pid));
    const d = t.slice(1).map((x, i) => x - t[i]!);
    return {
      d,
      hash: String((r.rows[0] as { hash: string }).hash) + ':' + String((r.rows[0] as { lines: string }).lines),
    };
  } finally {
    await conn.close();
    await L.dropDb(db);
  }
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'fp-phases-'));
  const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: OBJECTS });
  console.log(`fingerprint phases: ${RUNS} rounds; load ${L.load()}`);
  const out = new Map<string, number[][]>(variants.map(([k]) => [k, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const [k, sql] of r % 2 ? [...variants].reverse() : variants) {
      const x = await one(`fpph_${r}_${variants.findIndex(([n]) => n === k)}`, sql, gen.script, gen.schemas);
      out.get(k)!.push(x.d);
      if (r === 0) console.log(k, x.hash);
    }
  }
  const names = ['parse cold', 'plan cold', 'exec cold', 'parse warm', 'plan warm', 'exec warm', 'cold total'];
  for (const [k, rows] of out) {
    const cols = names.map((_, i) =>
      i < 6 ? L.median(rows.map((d) => d[i]!)) : L.median(rows.map((d) => d[0]! + d[1]! + d[2]!)),
    );
    console.log(k.padEnd(30), names.map((n, i) => `${n} ${cols[i]!.toFixed(2)}`).join('  '));
  }
  console.log(`load at end ${L.load()}`);
}
L.runMain(main);
