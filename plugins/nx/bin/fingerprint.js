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
 * Contract with @dbee/cli, wired when the diff engine lands (until then this prints a nonce, so diffs are never
 * served from the cache):
 *
 *   fingerprint({ workspaceRoot, projectRoot?, env }): Promise<string>
 *
 * `env` is DBEE_ENV or undefined (the default environment). The string changes whenever the project's live schema
 * or ledger changes, is cheap to compute (catalog checksums, last ledger row), and never contains secrets.
 */
const { randomBytes } = require('node:crypto');
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const TIMEOUT_MS = Number(process.env.DBEE_FINGERPRINT_TIMEOUT_MS) || 30_000;

function nonce(reason) {
  return `${reason} ${new Date().toISOString()} ${randomBytes(8).toString('hex')}`;
}

let finished = false;
function finish(line) {
  if (finished) return;
  finished = true;
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
  if (process.env.DBEE_USE_DIST !== '1' && existsSync(join(dir, 'src', 'index.ts')) && existsSync(devRegister)) require(devRegister);
  return require(resolveFrom('@dbee/cli'));
}

async function fingerprint(arg) {
  if (!arg) return nonce('unreachable (usage: fingerprint.js --environment | <projectRoot>)');
  const projectRoot = arg === '--environment' ? undefined : arg;
  const cli = loadCli();
  if (!cli || typeof cli.fingerprint !== 'function') return nonce('unavailable');
  const value = await cli.fingerprint({ workspaceRoot: process.cwd(), projectRoot, env: process.env.DBEE_ENV || undefined });
  if (typeof value !== 'string' || value.trim() === '') return nonce('unreachable');
  return `live ${value.replace(/\s+/g, ' ').trim()}`;
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
