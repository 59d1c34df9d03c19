#!/usr/bin/env node
'use strict';
// The dbee command: runs the compiled dist/ of @dbee/cli (dist/main.js, a stub of the package's bundle, see
// tools/bundle.js). No TypeScript loader is involved in an installed package.
//
// Inside the dbee repository (src/ sits beside this file and tools/dev-register.js two levels up; neither is part
// of the published package) it runs the TypeScript sources instead, so `npx dbee` and the tests never need a build.
// DBEE_USE_DIST=1 forces dist/ there too (tools/bench-start.js measures what users run).
const { existsSync } = require('node:fs');

// A reader that went away (`dbee log | head`) is not an error of the command: what it would have read is dropped, and
// the command finishes as it would have (a deployment is never cut short because its output is no longer read).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}
const { join } = require('node:path');

const devRegister = join(__dirname, '..', '..', '..', 'tools', 'dev-register.js');
const inRepository =
  process.env.DBEE_USE_DIST !== '1' && existsSync(join(__dirname, '..', 'src', 'main.ts')) && existsSync(devRegister);
if (inRepository) require(devRegister);
// The compiled code of dbee's modules is kept between runs (a faster start): Node >= 22.1's own compile cache, or
// on Node 20 @dbee/core's (compile-cache.ts). Installed once the command line is parsed, before the command's code
// loads: `--help` and a usage error load a few small files only and do not pay for reading the cache.
// With it, V8's top tier is its baseline compiler for all but one function (`--turbo-filter`): a dbee command is a
// process of a few seconds whose code mostly runs a few times, and the optimising compiler's work (TurboFan, on threads
// of its own) did not pay back in it: a full deploy's process used about 230 ms less CPU at 1,000 objects and 430 ms
// less at 5,000 without it (`--max-opt=1`), its wall time no longer (paired runs). The one function TurboFan compiles is
// Emscripten's `findStringEnd` (libpg-query's, and PGlite's), a byte loop that reads every parse tree's text out of
// WebAssembly: 12 % of `plan --out`'s samples at the baseline tier (docs/performance.md, Decision 7). V8 takes one
// name there, and no other function is optimised; `--no-maglev` keeps the tier between them off where a later Node
// turns it on by default (Node 22's V8), as Node 20's is (`--max-opt=1` held both). This process only: the Nx
// executors run in Nx's processes, tests and tools in theirs.
// WebAssembly runs at V8's baseline compiler only, Liftoff (`--liftoff-only`): by default V8 compiles a hot
// WebAssembly function again with TurboFan, and libpg-query's (the parser) are among the largest functions there are:
// a full deploy of 1,000 objects to a server used 0.6-0.7x the CPU without that. PGlite's module too: with TurboFan
// for it, an embedded deploy of 1,000 objects took 1.43x the wall time and 1.42x the CPU (docs/performance.md,
// "WebAssembly at its baseline compiler").
const beforeCommand = inRepository
  ? undefined
  : () =>
      require('@dbee/core/compile-cache').enableCompileCache({
        v8Flags: ['--turbo-filter=findStringEnd', '--no-maglev', '--liftoff-only'],
      });

// `dbee lsp` runs as long as the editor does: its code is cached, but V8 keeps its optimising compiler.
const beforeServer = inRepository ? undefined : () => require('@dbee/core/compile-cache').enableCompileCache();

require(inRepository ? '../src/main' : '../dist/main.js')
  .main(process.argv.slice(2), { beforeCommand, beforeServer })
  .then((code) => {
    process.exitCode = code;
    // The command is done: end the process now, once what was written has been handed over, instead of waiting for
    // whatever still holds the event loop. An embedded shadow kept for reuse (@dbee/postgres embedded-shadow.ts) is
    // a PGlite instance whose PostgreSQL timers (the 10 s statistics flush) are Node timers: the process waited for them.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
