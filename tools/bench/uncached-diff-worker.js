'use strict';
/**
 * One checkout's compiled dist/ kept running for tools/bench/uncached-diff-pair.ts: loads
 * `<checkout>/packages/cli/dist`, then answers the driver's messages (node IPC): `release` lets go of what the engines
 * keep between commands (the server shadow: each diff then makes its own, as a CLI process does), `diff` runs the
 * uncached diff in-process and answers its wall time, its CPU time (this process's) and its stdout.
 *
 *   forked by uncached-diff-pair.ts: uncached-diff-worker.js <checkout> <workspace> '<options JSON>'
 */
const { join } = require('node:path');
const { PassThrough } = require('node:stream');

const [checkout, workspaceRoot, optionsJson] = process.argv.slice(2);
const { runDbeeCommand, engineByName } = require(join(checkout, 'packages/cli/dist/index.js'));
const options = JSON.parse(optionsJson);

async function diff() {
  const out = { stdout: [], stderr: [] };
  const stream = (name) => new PassThrough().on('data', (chunk) => out[name].push(chunk));
  const cpu = process.cpuUsage();
  const t = performance.now();
  const code = await runDbeeCommand('diff', options, {
    workspaceRoot,
    stdout: stream('stdout'),
    stderr: stream('stderr'),
    env: process.env,
    interactive: false,
  });
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  await new Promise((resolve) => setImmediate(resolve));
  const text = (name) => Buffer.concat(out[name]).toString('utf8');
  if (code !== 0) throw new Error(`dbee diff exited ${code}: ${text('stderr').slice(0, 2000)}`);
  return { ms, cpuMs: (used.user + used.system) / 1000, stdout: text('stdout') };
}

process.on('message', (m) => {
  const work =
    m === 'release'
      ? Promise.resolve(engineByName('postgres').release?.()).then(() => ({}))
      : m === 'diff'
        ? diff()
        : Promise.reject(new Error(`unknown message ${m}`));
  work.then(
    (r) => process.send({ ok: true, ...r }),
    (e) => process.send({ ok: false, error: String(e?.stack ? e.stack : e) }),
  );
});
// The shadow the last diff kept is dropped before the process ends (as the dbee command does).
process.on('disconnect', () => {
  Promise.resolve(engineByName('postgres').release?.()).finally(() => process.exit(0));
});
