/**
 * The CPU a real `deploy --strategy expand-contract` of tools/bench-expand.ts takes on a 2-CPU machine that also runs
 * the application: dbee's own process (`process.cpuUsage`, in-process as the benchmark runs it) and the server's
 * backends of the database (`/proc/<pid>/stat`, polled every 50 ms, the last value of each backend), against the
 * backfill's wall time from the ledger. CPU time, not wall: the machine may be shared.
 *
 *   node tools/run.js tools/bench/expand-cpu.ts [rows=300000] [runs=2]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { closeIdleEmbeddedShadow } from '@dbee/postgres';
import { createDb, dbee, dbUrl, dropDb, envVar, load, runMain, writeWorkspace } from './lib';

const TICK_MS = 10; // USER_HZ 100

function backendCpuMs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 300_000);
  const runs = Number(process.argv[3] ?? 2);
  console.log(`load average at start: ${load()}`);
  for (let r = 0; r < runs; r++) {
    const root = mkdtempSync(join(tmpdir(), 'dbee-expand-cpu-'));
    const db = await createDb(`cpu${r}`);
    const write = (files: Record<string, string>) => {
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        writeFileSync(join(root, rel), text);
      }
    };
    writeWorkspace(root, ['bench']);
    const vars = { [envVar('bench')]: dbUrl(db) };
    const c = new Client({ connectionString: dbUrl(db, 'bench') });
    try {
      write({
        's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
        's/schema.sql': 'CREATE SCHEMA s;',
        's/t.sql': 'CREATE TABLE s.t (id bigint PRIMARY KEY, a integer NOT NULL, b text NOT NULL, c integer);',
      });
      await dbee(root, 'deploy', { project: 's', env: 'bench' }, vars);
      await c.connect();
      await c.query(`INSERT INTO s.t SELECT g, g % 100000, md5(g::text), g % 7 FROM generate_series(1, ${rows}) g`);
      await c.query('VACUUM (ANALYZE) s.t');
      write({ 's/t.sql': 'CREATE TABLE s.t (id bigint PRIMARY KEY, a bigint NOT NULL, b text NOT NULL, c integer);' });
      await dbee(root, 'deploy', { project: 's', env: 'bench', strategy: 'expand-contract', dryRun: true }, vars);
      await closeIdleEmbeddedShadow();
      const own = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
      const first = new Map<number, number>();
      const last = new Map<number, number>();
      let polling = true;
      const poll = (async () => {
        const p = new Client({ connectionString: dbUrl(db, 'poller') });
        await p.connect();
        const me = (await p.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
        while (polling) {
          const q = await p.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
          for (const { pid } of q.rows as { pid: number }[]) {
            if (pid === own || pid === me) continue;
            const ms = backendCpuMs(pid);
            if (ms === undefined) continue;
            if (!first.has(pid)) first.set(pid, ms);
            last.set(pid, ms);
          }
          await new Promise((res) => setTimeout(res, 50));
        }
        await p.end();
      })();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await dbee(root, 'deploy', { project: 's', env: 'bench', strategy: 'expand-contract' }, vars);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      polling = false;
      await poll;
      const server = [...last].reduce((n, [pid, ms]) => n + ms - (first.get(pid) ?? ms), 0);
      const bf = await c.query(
        `SELECT batches, extract(epoch FROM finished_at - started_at) * 1000 AS ms FROM dbee.backfills`,
      );
      const b = bf.rows[0] as { batches: number; ms: number };
      console.log(
        `run ${r + 1}: ${rows.toLocaleString('en-US')} rows, expand ${wall.toFixed(0)} ms (backfill ${Number(b.ms).toFixed(0)} ms, ${b.batches} batches): ` +
          `dbee process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (user ${(cpu.user / 1000).toFixed(0)}), ` +
          `server backends CPU ${server} ms (of which polled from their first sighting; ${last.size} backends); ` +
          `per batch: dbee ${((cpu.user + cpu.system) / 1000 / b.batches).toFixed(2)} ms, server ${(server / b.batches).toFixed(2)} ms`,
      );
    } finally {
      await c.end();
      await dropDb(db);
      rmSync(root, { recursive: true, force: true });
    }
  }
  console.log(`load average at end: ${load()}`);
}

runMain(main);
