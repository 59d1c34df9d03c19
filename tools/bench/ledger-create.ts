/**
 * What creating the ledger costs a new database (issue #38's fleets: one per target): `Ledger.ensure()` on fresh
 * databases of the server, this version's ledger DDL alternated with another version's (`--against <file>`, a copy of
 * an earlier `packages/postgres/src/ledger/postgres-ledger.ts`), each pair in the same round. Prints the server backend's CPU
 * time (from /proc/<pid>/schedstat: the server runs on this machine) and the wall time of the one request, medians and
 * the median of the paired ratios.
 *
 *   node tools/run.js tools/bench/ledger-create.ts [--runs 15] [--against /tmp/old-postgres-ledger.ts]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openLedger, type LedgerDialect } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
import * as L from './lib';

const argv = process.argv.slice(2);
const RUNS = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 15);
const AGAINST = argv.includes('--against') ? resolve(argv[argv.indexOf('--against') + 1]!) : null;

const cpuMs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;

async function create(label: string, dialect: LedgerDialect): Promise<{ cpu: number; ms: number }> {
  const db = await L.createDb(label);
  const conn = await PgConnection.open({ connectionString: L.dbUrl(db) }, 'postgres:bench');
  try {
    const pid = Number((await conn.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p);
    const ledger = openLedger(conn, dialect);
    await ledger.tables.version(); // as a deployment does before it: the missing ledger found
    const c0 = cpuMs(pid);
    const t0 = performance.now();
    await ledger.tables.ensure();
    return { ms: performance.now() - t0, cpu: cpuMs(pid) - c0 };
  } finally {
    await conn.close();
    await L.dropDb(db);
  }
}

async function main(): Promise<void> {
  console.log(`ledger creation on a new database: ${RUNS} rounds; ${L.machine()}; load ${L.load()}`);
  const variants: [string, LedgerDialect][] = [['this version', postgresLedger]];
  if (AGAINST) variants.push([`${AGAINST}`, (await import(AGAINST)).postgresLedger as LedgerDialect]);
  const out = new Map<string, { cpu: number[]; ms: number[] }>(variants.map(([k]) => [k, { cpu: [], ms: [] }]));
  for (let r = 0; r < RUNS; r++) {
    // Alternated, the order swapped every round.
    for (const [k, d] of r % 2 ? [...variants].reverse() : variants) {
      const t = await create(`ledger_${r}_${k === 'this version' ? 'a' : 'b'}`, d);
      out.get(k)!.cpu.push(t.cpu);
      out.get(k)!.ms.push(t.ms);
    }
  }
  const rows = [...out].map(([k, v]) => [
    k,
    `${L.median(v.cpu).toFixed(2)} ms`,
    `${L.median(v.ms).toFixed(1)} ms`,
    AGAINST && k !== 'this version'
      ? L.fmtRatio(L.median(v.cpu.map((c, i) => out.get('this version')!.cpu[i]! / c)))
      : '',
  ]);
  console.log(L.table(['ledger DDL', 'server CPU (median)', 'wall (median)', 'this version / it, CPU (paired)'], rows));
  console.log(`date ${new Date().toISOString().slice(0, 10)}; load average at the end: ${L.load()}`);
}

L.runMain(main);
