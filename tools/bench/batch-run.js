'use strict';
/**
 * One checkout's compiled dist/ running the first deploy of every project of a workspace as Nx's batch worker does
 * (tools/bench/batch-pair.ts starts it once per side and round): one process, one `SessionPool`, the projects in the
 * order of `<workspace>/order.txt`. Prints one JSON line: wall time and this process's CPU time (s), the requests sent
 * (node-postgres `Client.query`: one round trip each, both sessions) and the server's CPU time of the working session
 * (ms, from its backend's /proc schedstat, read at the batch's end after the work it leaves for then).
 *
 *   node tools/bench/batch-run.js <checkout> <workspace> <database URL>
 */
const { join } = require('node:path');
const { readFileSync } = require('node:fs');
const { Writable } = require('node:stream');

const [checkout, workspaceRoot, url] = process.argv.slice(2);
const pg = require(join(checkout, 'node_modules/pg'));
const { runDbeeCommand } = require(join(checkout, 'packages/cli/dist/index.js'));
const { SessionPool } = require(join(checkout, 'packages/core/dist/index.js'));

let requests = 0;
const backends = new Set();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  requests++;
  if (this.processID && this.connectionParameters.application_name !== 'dbee-lock') backends.add(this.processID);
  return query.apply(this, args);
};
const serverCpu = () =>
  [...backends].reduce((ms, pid) => ms + Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6, 0);

async function main() {
  const projects = readFileSync(join(workspaceRoot, 'order.txt'), 'utf8').split('\n').filter(Boolean);
  const pool = new SessionPool();
  const io = new Writable({ write: (_c, _e, done) => done() });
  const env = { ...process.env, DBEE_BATCH_URL: url };
  let server = 0;
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (const project of projects) {
    const context = { workspaceRoot, stdout: io, stderr: io, env, interactive: false, fromNx: true, sessions: pool };
    const code = await runDbeeCommand('deploy', { project }, context);
    if (code !== 0) throw new Error(`${project}: exit ${code}`);
  }
  // Last in the pool's work at its end: after the fingerprints and summaries left for then.
  pool.atClose(async () => {
    server = serverCpu();
  });
  await pool.close();
  const used = process.cpuUsage(cpu);
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(JSON.stringify({ wall, cpu: (used.user + used.system) / 1e6, requests, serverCpuMs: server }));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
