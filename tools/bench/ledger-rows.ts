/**
 * What a step's ledger rows cost the server, alone (issue #40): deployments of 1,000 steps, each step a transaction of
 * its own in a request of its own (BEGIN, the clock mark, its rows as the session's named statement, COMMIT), in
 * four variants rotated round by round on one session of a scratch database: no rows, the least row a step could write
 * (two integers under a primary key: what any row per step costs at the least), the `steps` row with one fold
 * of the deployment's steps into `objects` at its end (what a deployment writes now), and a `steps` plus an `objects`
 * row per step (before the fold). No DDL: its cost swamps the rows' on a shared machine. The server's CPU time for
 * each deployment is read from the backend's /proc schedstat; paired differences, medians, load averages printed.
 *
 *   node tools/run.js tools/bench/ledger-rows.ts [rounds=30]
 */
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { openLedger, type Ledger, checksumStatements } from '@dbee/core';
import { PgConnection, postgresLedger } from '@dbee/postgres';
const STEPS = 1000;
const ROUNDS = Number(process.argv[2] ?? 30);
const DB = 'dbee_rows_cost';
const cpu = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
type Variant = 'none' | 'min' | 'steps' | 'both';
/** One deployment of `STEPS` steps' ledger rows in `variant`, with its server CPU and wall time. */
function deployer(conn: PgConnection, ledger: Ledger, pid: number) {
  let id = 0;
  return async (variant: Variant) => {
    const withObjects = variant === 'both';
    id++;
    await conn.execute(
      `INSERT INTO dbee.deployments (id, project, environment, kind, plan_checksum, tool_version, status, steps_total) VALUES (${id}, 'gen', 'd', 'deploy', 'x', '0', 'running', ${STEPS})`,
    );
    const c0 = cpu(pid);
    const t0 = performance.now();
    for (let i = 1; i <= STEPS; i++) {
      const statements = [
        `CREATE TABLE gen.t${i} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now())`,
      ];
      const key = `table:gen.t${i}_${id}`;
      const checksum = checksumStatements(statements, {});
      const rows = ledger.steps.stepWrites(id, {
        order: i,
        objectKey: key,
        action: 'create',
        checksum,
        statements,
        reverse: [`DROP TABLE gen.t${i}`],
        previousDefinition: null,
        transactional: true,
        startedAt: new Date(0),
        durationMs: 0,
        serverClock: true,
        status: 'applied',
        error: null,
        hazards: [],
        previousChecksum: null,
      });
      if (withObjects) rows.push(...ledger.objects.objectStateWrites('gen', key, checksum, id));
      // `min`: the least row a step could write (its deployment and order, a primary key): the floor of any row per step.
      const sql =
        variant === 'none'
          ? []
          : variant === 'min'
            ? [`EXECUTE min_row(${id}, ${i})`]
            : await ledger.batch.inlineNamed(rows, conn);
      const r = await conn.executeBatch!([
        'BEGIN',
        `SELECT set_config('dbee.step_started', clock_timestamp()::text, true)`,
        ...sql,
        'COMMIT',
      ]);
      if (r.error) throw r.error;
    }
    if (variant === 'steps') await ledger.objects.fold(id);
    await conn.execute(`UPDATE dbee.deployments SET status = 'succeeded' WHERE id = ${id}`);
    return { cpu: cpu(pid) - c0, ms: performance.now() - t0 };
  };
}

async function main() {
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const conn = await PgConnection.open({ connectionString: `postgres://postgres@127.0.0.1:5432/${DB}` }, 'cost');
  const ledger = openLedger(conn, postgresLedger);
  await ledger.tables.ensure();
  const pid = Number((await conn.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p);
  await conn.execute('SET synchronous_commit = off');
  await conn.execute(
    'CREATE TABLE dbee.min_rows (deployment_id bigint, step_order integer, PRIMARY KEY (deployment_id, step_order))',
  );
  await conn.execute('PREPARE min_row(bigint, integer) AS INSERT INTO dbee.min_rows VALUES ($1, $2)');
  const deployment = deployer(conn, ledger, pid);
  const variants = ['none', 'min', 'steps', 'both'] as const;
  for (const v of variants) await deployment(v);
  const res = { none: [] as number[], min: [] as number[], steps: [] as number[], both: [] as number[] };
  const wall = { none: [] as number[], min: [] as number[], steps: [] as number[], both: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    const rot = [...variants.slice(r % variants.length), ...variants.slice(0, r % variants.length)];
    for (const v of rot) {
      const m = await deployment(v);
      res[v].push(m.cpu);
      wall[v].push(m.ms);
    }
    console.log(
      `round ${r + 1}: CPU none ${res.none.at(-1)!.toFixed(0)}, least row ${res.min.at(-1)!.toFixed(0)}, steps+fold ${res.steps.at(-1)!.toFixed(0)}, steps+objects ${res.both.at(-1)!.toFixed(0)} ms; load ${load()}`,
    );
  }
  const d = (x: number[], y: number[]) => median(x.map((v, i) => v - y[i]!));
  console.log(
    `server CPU per ${STEPS} steps (no DDL), median of ${ROUNDS}: no ledger rows ${median(res.none).toFixed(0)} ms, the least row ${median(res.min).toFixed(0)} ms, steps row + one fold ${median(res.steps).toFixed(0)} ms, steps + objects rows ${median(res.both).toFixed(0)} ms`,
  );
  console.log(
    `paired: the least row per step (two integers, a primary key) ${d(res.min, res.none).toFixed(0)} ms, ledger rows now (steps + fold) ${d(res.steps, res.none).toFixed(0)} ms, before (steps + objects) ${d(res.both, res.none).toFixed(0)} ms, objects rows over the fold ${d(res.both, res.steps).toFixed(0)} ms`,
  );
  console.log(
    `wall medians: none ${median(wall.none).toFixed(0)} ms, least row ${median(wall.min).toFixed(0)} ms, steps+fold ${median(wall.steps).toFixed(0)} ms, steps+objects ${median(wall.both).toFixed(0)} ms; load ${load()}`,
  );
  await conn.close();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
