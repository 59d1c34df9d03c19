'use strict';
/**
 * The process side of tools/bench/first-deploy.ts: loads a checkout's compiled package (no compile cache) and deploys
 * project `gen` of a workspace in-process `n` times, each into a new database on the server `<url prefix>`; prints
 * the CPU (user + system, `process.cpuUsage`) of loading dbee and of each deploy.
 *
 *   node tools/bench/first-deploy.js <checkout> <workspace> <server url without database> <environment variable> <n>
 */
const { join } = require('node:path');
const { PassThrough } = require('node:stream');
const { Client } = require('pg');
const [checkout, ws, prefix, envVar, n] = process.argv.slice(2);
const t0 = process.cpuUsage();
const { runDbeeCommand } = require(join(checkout, 'packages/cli/dist/index.js'));
const loaded = process.cpuUsage(t0);
async function main() {
  const admin = new Client({ connectionString: `${prefix}/postgres` });
  await admin.connect();
  const out = [`load ${((loaded.user + loaded.system) / 1000).toFixed(0)}`];
  for (let i = 0; i < Number(n); i++) {
    const db = `dbee_bench_first_${process.pid}_${i}`;
    await admin.query(`CREATE DATABASE ${db}`);
    const env = { ...process.env, [envVar]: `${prefix}/${db}` };
    try {
      const c0 = process.cpuUsage();
      const code = await runDbeeCommand(
        'deploy',
        { project: 'gen', env: 'd' },
        {
          workspaceRoot: ws,
          stdout: new PassThrough().resume(),
          stderr: new PassThrough().resume(),
          env,
          interactive: false,
        },
      );
      const c = process.cpuUsage(c0);
      if (code !== 0) throw new Error(`exit ${code}`);
      out.push(`run${i} ${((c.user + c.system) / 1000).toFixed(0)}`);
    } finally {
      // A failed run leaves no database behind either.
      await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
    }
  }
  await admin.end();
  console.log(out.join(' '));
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
