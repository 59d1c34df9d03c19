import { enableCompileCache } from '@dbee/core/compile-cache';

// Imported first by the executors' modules: the compiled code of what they load next (@dbee/core, @dbee/cli, the
// engines and their drivers) is kept between Nx processes (Node 22's compile cache, or @dbee/core's on Node 20).
// libpg-query's WebAssembly stays at V8's baseline compiler in the task's process, as in the dbee command's
// (packages/cli/bin/dbee.js; the first PGlite turns the optimising compiler back on): Nx runs a task in a process of
// its own, which loads no WebAssembly before this.
enableCompileCache({ v8Flags: ['--liftoff-only'] });
