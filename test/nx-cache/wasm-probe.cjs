'use strict';
// Loaded by `--require` in every Node process of an Nx run (test/nx-cache/task-process-flags.test.ts): appends to
// $WASM_PROBE_LOG one JSON line when the process starts, when it compiles a WebAssembly module (with the module's size)
// and when it exits, each with V8's `cachedDataVersionTag()`, which V8 derives from its flags: what the flags were when
// that module compiled. Nx ends its batch workers with a signal (no exit event): the compile's line is the one read.
const { appendFileSync } = require('node:fs');
const { cachedDataVersionTag } = require('node:v8');

const log = process.env.WASM_PROBE_LOG;
function record(event, bytes) {
  const line = { pid: process.pid, main: process.argv[1], event, bytes, tag: cachedDataVersionTag() };
  appendFileSync(log, `${JSON.stringify(line)}\n`);
}
record('start');
for (const name of ['compile', 'instantiate']) {
  const real = WebAssembly[name];
  WebAssembly[name] = function (source, ...rest) {
    if (!(source instanceof WebAssembly.Module)) record('wasm', source.byteLength);
    return real.call(this, source, ...rest);
  };
}
process.on('exit', () => record('exit'));
