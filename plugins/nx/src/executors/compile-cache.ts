import { enableCompileCache } from '@dbee/core/compile-cache';

// Imported first by the executors' modules: the compiled code of what they load next (@dbee/core, @dbee/cli, the
// engines and their drivers) is kept between Nx processes (Node 22's compile cache, or @dbee/core's on Node 20).
// No V8 flags here (the dbee command's `--liftoff-only` is not set): this module also loads where the executors run
// in another program's process (a test worker, a script), and a flag set here would hold for that whole process.
enableCompileCache();
