'use strict';
/**
 * One checkout's compiled dist/ run in-process (tools/bench/diff-pair.ts starts it once per side and round): loads
 * `<checkout>/packages/cli/dist`, runs the command once untimed (the process warmed, as `npm run bench`'s in-process
 * rows), then `runs` times timed, and prints one JSON line: the times in ms and the last run's stdout (to compare the
 * two sides' output). With `--cpu-profile <file>`, the timed runs are profiled (node:inspector) into that file.
 *
 *   node tools/bench/in-process.js <checkout> <workspace> <runs> '<command>' '<options JSON>' [--cpu-profile <file>]
 */
const { join } = require('node:path');
const { PassThrough } = require('node:stream');
const { writeFileSync } = require('node:fs');
const inspector = require('node:inspector');

const [checkout, workspaceRoot, runs, command, optionsJson, flag, profileFile] = process.argv.slice(2);
const { runDbeeCommand } = require(join(checkout, 'packages/cli/dist/index.js'));
const options = JSON.parse(optionsJson);

async function once() {
  const out = { stdout: [], stderr: [] };
  const stream = (name) => new PassThrough().on('data', (chunk) => out[name].push(chunk));
  const t = performance.now();
  const code = await runDbeeCommand(command, options, {
    workspaceRoot,
    stdout: stream('stdout'),
    stderr: stream('stderr'),
    env: process.env,
    interactive: false,
  });
  const ms = performance.now() - t;
  // What was written is handed over to 'data' listeners by the next turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  const text = (name) => Buffer.concat(out[name]).toString('utf8');
  if (code !== 0) throw new Error(`dbee ${command} exited ${code}: ${text('stderr').slice(0, 2000)}`);
  return { ms, stdout: text('stdout') };
}

function post(session, method, params) {
  return new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

async function main() {
  await once();
  const session = flag === '--cpu-profile' ? new inspector.Session() : null;
  if (session) {
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: 200 });
    await post(session, 'Profiler.start');
  }
  const times = [];
  let last = null;
  for (let i = 0; i < Number(runs); i++) {
    last = await once();
    times.push(last.ms);
  }
  if (session) {
    const { profile } = await post(session, 'Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
  process.stdout.write(`${JSON.stringify({ times, stdout: last ? last.stdout : '' })}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
