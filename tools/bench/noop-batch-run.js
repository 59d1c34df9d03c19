'use strict';
/**
 * One checkout's compiled `@dbee/nx:deploy` batch implementation (plugins/nx/dist/executors/deploy/deploy.batch.js),
 * called as Nx's batch worker calls it, on every task of `<workspace>/graph.json` (a task graph of `db-<p>:deploy`
 * tasks with their dependencies), from this process's start: what dbee adds to Nx's batch worker. Prints one JSON line:
 * wall time and this process's CPU time from its start (s; the modules' loading included), the tasks that succeeded,
 * the requests sent (node-postgres `Client.query`: one round trip each, both sessions) and the modules loaded.
 * tools/bench/noop-batch-pair.ts starts it once per side and round.
 *
 *   node tools/bench/noop-batch-run.js <checkout> <workspace>   (DBEE_ENV and the environment's URL variable set)
 */
const { join } = require('node:path');
const { readFileSync } = require('node:fs');

const [checkout, root] = process.argv.slice(2);
require('./other-build').checkOtherBuild(checkout);
const pg = require(join(checkout, 'node_modules/pg'));
let requests = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  requests++;
  return query.apply(this, args);
};

async function main() {
  const graph = JSON.parse(readFileSync(join(root, 'graph.json'), 'utf8'));
  const inputs = Object.fromEntries(
    Object.keys(graph.tasks).map((id) => [id, { project: id.slice(3, -':deploy'.length) }]),
  );
  const batch = require(join(checkout, 'plugins/nx/dist/executors/deploy/deploy.batch.js')).default;
  let ok = 0;
  for await (const r of await batch(graph, inputs, {}, { root, taskGraph: graph })) {
    if (r.result.success) ok++;
    else process.stderr.write(`${r.task}:\n${r.result.terminalOutput}`);
  }
  const used = process.cpuUsage();
  console.log(
    JSON.stringify({
      wall: performance.now() / 1000,
      cpu: (used.user + used.system) / 1e6,
      ok,
      requests,
      modules: Object.keys(require.cache).length,
    }),
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
