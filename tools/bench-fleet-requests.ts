/**
 * Where the server's CPU goes, request by request, when a fleet deploys the generated ~50-object project of
 * tools/bench-fleet.ts to N new databases (docs/fleets.md): the fleet runs in this process, at concurrency 1, and
 * every request a session sends is timed by its backend's own CPU time (`/proc/<pid>/schedstat`, in nanoseconds: the
 * server runs on this machine), read before and after it; a session's start is the CPU its backend had spent when
 * the connection opened. Requests are grouped by what they are (the lock, the ledger's creation, the steps, the
 * fingerprint...), each group's CPU per target the median over the targets. The `psql -1 -f` floor of the same
 * statements is measured the same way (its backend's CPU once its script ran, start-up included).
 *
 *   node tools/run.js tools/bench-fleet-requests.ts [databases=20]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgConnection } from '@dbee/postgres';
import * as L from './bench/lib';
import { generateProject } from './bench/generate';

/** A backend's CPU time so far, in milliseconds. */
const cpuMs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;

/** What a request is, by its text: the first pattern that matches names its group. */
const KINDS: [string, RegExp][] = [
  ['lock: take', /pg_try_advisory_lock/],
  ['lock: give back', /pg_advisory_unlock/],
  ['lock: session alive', /^SELECT 1$/],
  ['session set-up', /^SELECT set_config\('application_name'/],
  ['ledger: version read', /FROM dbee\.ledger_version$/],
  ['live state: schemas', /from pg_catalog\.pg_namespace where nspname = any/],
  ['conflict check: existence', /WITH ORDINALITY AS k\(category/],
  ['ledger: created', /CREATE TABLE dbee\.deployments/],
  ['deployment row opened', /INSERT INTO dbee\.deployments/],
  ['ledger row statement prepared', /^PREPARE dbee_ledger/],
  ['steps with their ledger rows', /EXECUTE dbee_ledger/],
  ['smoke: existence', /WITH k AS MATERIALIZED/],
  ['smoke: view dependencies', /WITH RECURSIVE node/],
  ['smoke: views compiled', /LIMIT 0/],
  ['fingerprint', /^\s*with ns as/],
  ['deployment closed (smoke results)', /INSERT INTO dbee\.smoke_results|UPDATE dbee\.deployments/],
];
const kindOf = (sql: string) => KINDS.find(([, re]) => re.test(sql))?.[0] ?? `other: ${sql.trim().slice(0, 40)}`;

/** CPU per group of requests, by target database. */
const spent = new Map<string, Map<string, number>>();
function add(conn: unknown, kind: string, ms: number): void {
  const db = (conn as { client: { database: string } }).client.database;
  let m = spent.get(db);
  if (!m) spent.set(db, (m = new Map()));
  m.set(kind, (m.get(kind) ?? 0) + ms);
}

/** Time every request of every `PgConnection` by its backend's CPU, and each session's start. */
function instrument(): void {
  const proto = PgConnection.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const pidOf = (c: unknown) => (c as { client: { processID: number } }).client.processID;
  for (const method of ['query', 'queryPrepared', 'execute', 'executeBatch', 'leave']) {
    const original = proto[method]!;
    proto[method] = async function (this: unknown, ...a: unknown[]) {
      const pid = pidOf(this);
      const sql = Array.isArray(a[0]) ? (a[0] as string[]).join(';\n') : String(a[0]);
      const before = cpuMs(pid);
      try {
        return await original.apply(this, a);
      } finally {
        add(this, kindOf(sql), cpuMs(pid) - before);
      }
    };
  }
  const open = PgConnection.open.bind(PgConnection);
  PgConnection.open = async (...a: Parameters<typeof PgConnection.open>) => {
    const conn = await open(...a);
    add(conn, 'sessions started', cpuMs(pidOf(conn)));
    return conn;
  };
}

/** `psql -1 -f` of the script into `db`: its backend's CPU, start-up included (the script reports its pid). */
function psqlFloor(db: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // One session: its pid printed first, the script in one transaction, then a line once it committed.
    const p = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', L.dbUrl(db)], { stdio: 'pipe' });
    let out = '';
    let cpu = 0;
    p.stdout.on('data', (d: Buffer) => {
      out += String(d);
      const lines = out.split('\n').filter(Boolean);
      if (lines.length === 2 && !cpu) {
        cpu = cpuMs(Number(lines[0]));
        p.stdin.end();
      }
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(cpu) : reject(new Error(`psql exited ${code}`))));
    p.stdin.write(`SELECT pg_backend_pid();\nBEGIN;\n\\i ${file}\nCOMMIT;\nSELECT 1;\n`);
  });
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-fleet-requests-'));
  try {
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: 50 });
    writeFileSync(join(root, 'floor.sql'), gen.script);
    console.log(`dbee fleet requests: ${L.machine()}; ${count} databases, ${gen.objects} objects; load ${L.load()}`);
    const dbs: string[] = [];
    for (let i = 0; i < count; i++) dbs.push(await L.createDb(`req_${i}`));
    const floors: string[] = [];
    for (let i = 0; i < count; i++) floors.push(await L.createDb(`req_${i}_floor`));
    const env: Record<string, string> = {};
    const targets = dbs.map((db, i) => {
      env[`URL_${i}`] = L.dbUrl(db);
      return `        - { name: t${i}, connection: { url: "\${URL_${i}}" } }`;
    });
    const yaml = ['version: 1', 'defaultEnvironment: fleet', 'shadow: embedded', 'environments:', '  fleet:'];
    yaml.push('    engine: postgres', '    connection: {}', '    fleet:', '      targets:', ...targets);
    writeFileSync(join(root, 'dbee.yaml'), yaml.join('\n') + '\n');
    instrument();
    // One fleet deployment, a target at a time (the plan is built in an embedded shadow, not on the server).
    await L.dbee(root, 'deploy', { project: 'gen', env: 'fleet', concurrency: 1 }, env);
    const per = dbs.map((db) => spent.get(db) ?? new Map<string, number>());
    const floor: number[] = [];
    for (const db of floors) floor.push(await psqlFloor(db, join(root, 'floor.sql')));
    const kinds = [...new Set(per.flatMap((m) => [...m.keys()]))];
    const rows = kinds.map((k) => [k, L.median(per.map((m) => m.get(k) ?? 0))] as const).sort((a, b) => b[1] - a[1]);
    const total = L.median(per.map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
    console.log(
      L.table(
        ['requests of a new target (server CPU, its backends)', 'ms per target (median)'],
        [
          ...rows.map(([k, v]) => [k, v.toFixed(2)]),
          ['all of them (median of the sums)', total.toFixed(1)],
          ['psql -1 -f of the same statements (floor)', L.median(floor).toFixed(1)],
        ],
      ),
    );
    console.log(`load average at the end: ${L.load()}`);
    await L.dropAll();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

L.runMain(main);
