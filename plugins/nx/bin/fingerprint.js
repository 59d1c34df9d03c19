#!/usr/bin/env node
'use strict';
/**
 * Prints a fingerprint of the live database of one dbee project: the `runtime` input of the Nx `diff` target.
 *
 *   node node_modules/@dbee/nx/bin/fingerprint.js --environment
 *   node node_modules/@dbee/nx/bin/fingerprint.js <projectRoot>
 *   node node_modules/@dbee/nx/bin/fingerprint.js --versions
 *
 * `--environment` fingerprints every project of the workspace at once (the plugin's default): all diff targets then
 * share one identical runtime input, which Nx runs once per invocation instead of once per project. `<projectRoot>`
 * fingerprints one project (plugin option `fingerprintScope: "project"`).
 *
 * `--versions` prints the versions of the installed dbee packages: the runtime input that stands for dbee itself
 * where Nx has no external node for them (installed without a lock file).
 *
 * Nx runs it from the workspace root with the full environment, hashes everything it prints (stdout and stderr)
 * and ignores its exit code. The environment is DBEE_ENV, else dbee.yaml's `defaultEnvironment`; the target cannot
 * pass `--env`, because Nx interpolates neither options nor tokens into runtime inputs.
 *
 * Whenever no fingerprint can be taken (database unreachable, broken configuration, timeout, or no fingerprint
 * function yet) it prints a nonce instead (`unreachable <time> <random>`). A failure must never print the same
 * text twice: Nx would hash it to the same key and replay a stale diff from its cache.
 *
 * Contract with @dbee/cli:
 *
 *   fingerprint({ workspaceRoot, projectRoot?, env, waitMs }): Promise<string>
 *
 * `env` is DBEE_ENV or undefined (the default environment). The string changes whenever the project's live schema
 * or ledger changes, is cheap to compute (catalog checksums, last ledger row), and never contains secrets.
 *
 * Nx evaluates the runtime input of several tasks at once, so identical invocations overlap, and on an embedded
 * database only one process at a time may open it: the others waited, timed out and printed nonces (cache misses
 * that never converged). Identical invocations therefore take turns through a lock file in Nx's workspace data
 * directory, and one that waited reuses the value of a turn that began after it started: that value was read
 * from the database at a moment after this invocation began, so it is as fresh as one it would take itself.
 */
const { createHash, randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const TIMEOUT_MS = Number(process.env.DBEE_FINGERPRINT_TIMEOUT_MS) || 30_000;

function nonce(reason) {
  return `${reason} ${new Date().toISOString()} ${randomBytes(8).toString('hex')}`;
}

let finished = false;
/** The turn lock this process holds (see inTurn), released however the process ends. */
let heldLock = null;
function finish(line) {
  if (finished) return;
  finished = true;
  if (heldLock) {
    try {
      unlinkSync(heldLock);
    } catch {
      // already gone
    }
  }
  // Exit explicitly: an open connection pool must not keep Nx's hashing waiting.
  process.stdout.write(`${line}\n`, () => process.exit(0));
}

/** Resolve from the workspace first (the copy of dbee the workspace uses), then beside this script. */
function resolveFrom(id) {
  return require.resolve(id, { paths: [process.cwd(), __dirname] });
}

/**
 * @dbee/cli, or undefined. Installed, it is compiled JavaScript. Inside the dbee repository (its sources beside it and
 * tools/dev-register.js, neither published) the sources run through that development loader instead: no build;
 * DBEE_USE_DIST=1 keeps the compiled packages there too (as packages/cli/bin/dbee.js does; tools/bench-monorepo.ts
 * --compiled measures what users run).
 */
function loadCli() {
  let dir;
  try {
    dir = dirname(resolveFrom('@dbee/cli/package.json'));
  } catch {
    return undefined;
  }
  const devRegister = join(dir, '..', '..', 'tools', 'dev-register.js');
  if (process.env.DBEE_USE_DIST !== '1' && existsSync(join(dir, 'src', 'index.ts')) && existsSync(devRegister))
    require(devRegister);
  return require(resolveFrom('@dbee/cli'));
}

const STARTED = Date.now();

async function fingerprint(arg) {
  if (!arg) return nonce('unreachable (usage: fingerprint.js --environment | <projectRoot>)');
  const projectRoot = arg === '--environment' ? undefined : arg;
  const cli = loadCli();
  if (!cli || typeof cli.fingerprint !== 'function') return nonce('unavailable');
  const env = process.env.DBEE_ENV || undefined;
  return inTurn(`${env ?? ''}\0${arg}`, async () => {
    // Wait for the database's own lock almost as long as this script may run (a diff may hold it).
    const waitMs = Math.max(1_000, STARTED + TIMEOUT_MS - Date.now() - 2_000);
    const value = await cli.fingerprint({ workspaceRoot: process.cwd(), projectRoot, env, waitMs });
    if (typeof value !== 'string' || value.trim() === '') return null;
    return `live ${value.replace(/\s+/g, ' ').trim()}`;
  });
}

/** Nx's workspace data directory (NX_WORKSPACE_DATA_DIRECTORY, else .nx/workspace-data), as the plugin's cache finds it. */
function dataDirectory() {
  const configured = process.env.NX_WORKSPACE_DATA_DIRECTORY || process.env.NX_PROJECT_GRAPH_CACHE_DIRECTORY;
  return configured ? resolve(process.cwd(), configured) : join(process.cwd(), '.nx', 'workspace-data');
}

/**
 * Run `take` for invocation `key` when no identical invocation is taking its turn, or reuse the value of a turn that
 * began after this process started (see the header). `take` returns null when no fingerprint could be taken: a
 * nonce, never shared. A lock left by a process that died is taken over after TIMEOUT_MS.
 */
async function inTurn(key, take) {
  const dir = join(dataDirectory(), 'dbee-fingerprint');
  const base = join(dir, createHash('sha256').update(key).digest('hex').slice(0, 16));
  const lock = `${base}.lock`;
  const result = `${base}.json`;
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    const value = await take();
    return value ?? nonce('unreachable');
  }
  for (;;) {
    try {
      const memo = JSON.parse(readFileSync(result, 'utf8'));
      if (memo.key === key && memo.began > STARTED && typeof memo.value === 'string') return memo.value;
    } catch {
      // no value yet
    }
    let mine = false;
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      mine = true;
      heldLock = lock;
    } catch {
      try {
        if (!alive(Number(readFileSync(lock, 'utf8'))) || Date.now() - statSync(lock).mtimeMs > TIMEOUT_MS)
          unlinkSync(lock);
      } catch {
        // gone meanwhile
      }
    }
    if (!mine) {
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    try {
      const began = Date.now();
      const value = await take();
      if (value === null) return nonce('unreachable');
      const tmp = `${result}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ key, began, value }));
      renameSync(tmp, result);
      return value;
    } finally {
      heldLock = null;
      try {
        unlinkSync(lock);
      } catch {
        // already gone
      }
    }
  }
}

/** Whether process `pid` runs (a lock file whose writer died is free). An unreadable pid counts as alive. */
function alive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** `@dbee/core@0.1.0 @dbee/nx@0.1.0 ...` for the dbee packages the workspace resolves. */
function versions() {
  const found = [];
  for (const name of ['@dbee/nx', '@dbee/cli', '@dbee/core', '@dbee/postgres', '@dbee/teradata']) {
    try {
      found.push(`${name}@${require(resolveFrom(`${name}/package.json`)).version}`);
    } catch {
      // not installed
    }
  }
  return `dbee ${found.join(' ') || 'none'}`;
}

if (process.argv[2] === '--versions') {
  finish(versions());
} else {
  setTimeout(() => finish(nonce('unreachable (timeout)')), TIMEOUT_MS);
  fingerprint(process.argv[2]).then(finish, () => finish(nonce('unreachable')));
}
