import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { FINGERPRINT_SCRIPT, TestWorkspace } from './testing/workspace';

/**
 * bin/fingerprint.js is the runtime input of the diff target: Nx hashes whatever it prints. It must print the same
 * line while the live database is unchanged, and a different line every time no fingerprint can be taken.
 */

const run = promisify(execFile);
let workspace: TestWorkspace | undefined;
afterEach(() => workspace?.remove());

/** A workspace whose node_modules holds a stand-in @dbee/cli with the given `fingerprint` export. */
function workspaceWithCli(fingerprintSource: string | undefined): TestWorkspace {
  workspace = new TestWorkspace({
    'node_modules/@dbee/cli/package.json': '{ "name": "@dbee/cli", "main": "index.js" }',
    'node_modules/@dbee/cli/index.js':
      fingerprintSource === undefined
        ? 'exports.runDbeeCommand = () => 0;'
        : `exports.fingerprint = ${fingerprintSource};`,
  });
  return workspace;
}

async function fingerprint(
  ws: TestWorkspace,
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [FINGERPRINT_SCRIPT, 'db/sales'], {
    cwd: ws.root,
    env: { ...process.env, DBEE_ENV: '', ...env },
  });
  return { stdout, stderr };
}

describe('fingerprint.js', () => {
  it('prints what @dbee/cli fingerprint() returns for the project root and DBEE_ENV, the same on every run', async () => {
    const ws = workspaceWithCli(
      'async ({ workspaceRoot, projectRoot, env }) => `${projectRoot} ${env} ${workspaceRoot === process.cwd()} a1b2`',
    );

    const first = await fingerprint(ws, { DBEE_ENV: 'test' });
    expect(first).toEqual({ stdout: 'live db/sales test true a1b2\n', stderr: '' });
    expect(await fingerprint(ws, { DBEE_ENV: 'test' })).toEqual(first);
  });

  it('--environment asks for the whole environment (no project root), the same line for every project', async () => {
    const ws = workspaceWithCli('async ({ projectRoot, env }) => `${projectRoot} ${env}`');

    const { stdout } = await run(process.execPath, [FINGERPRINT_SCRIPT, '--environment'], {
      cwd: ws.root,
      env: { ...process.env, DBEE_ENV: 'test' },
    });
    expect(stdout).toBe('live undefined test\n');
  });

  it('passes no environment when DBEE_ENV is unset, meaning the default environment', async () => {
    const ws = workspaceWithCli('async ({ env }) => String(env)');

    expect((await fingerprint(ws)).stdout).toBe('live undefined\n');
  });

  it.each([
    ['@dbee/cli has no fingerprint yet', undefined, /^unavailable \S+Z [0-9a-f]{16}\n$/],
    [
      'the database cannot be reached',
      'async () => { throw new Error("ECONNREFUSED 10.0.0.1:5432") }',
      /^unreachable \S+Z [0-9a-f]{16}\n$/,
    ],
    ['the fingerprint is empty', 'async () => ""', /^unreachable \S+Z [0-9a-f]{16}\n$/],
    [
      'the database does not answer in time',
      '() => new Promise(() => setInterval(() => {}, 1000))',
      /^unreachable \(timeout\) \S+Z [0-9a-f]{16}\n$/,
    ],
  ])('prints a different nonce on every run when %s', async (_case, source, pattern) => {
    const ws = workspaceWithCli(source);
    const env = { DBEE_FINGERPRINT_TIMEOUT_MS: '300' };

    const [a, b] = [await fingerprint(ws, env), await fingerprint(ws, env)];
    expect(a.stdout).toMatch(pattern);
    expect(b.stdout).toMatch(pattern);
    expect(a.stdout).not.toBe(b.stdout);
    // Nothing else is printed: in particular not the error, which could name a host.
    expect(a.stderr).toBe('');
  });

  it('identical invocations at once take turns and all print the live value (an embedded database opens in one process at a time)', async () => {
    // The stand-in refuses to overlap, as the embedded database's lock would, and counts its calls.
    const ws = workspaceWithCli(
      'async () => { const fs = require("fs"); fs.writeFileSync("busy", "", { flag: "wx" }); await new Promise((r) => setTimeout(r, 300)); fs.unlinkSync("busy"); fs.appendFileSync("calls", "x"); return "same" }',
    );
    const outputs = await Promise.all([1, 2, 3, 4].map(() => fingerprint(ws)));
    expect(outputs.map((o) => o.stdout)).toEqual(Array(4).fill('live same\n'));
    const calls = readFileSync(join(ws.root, 'calls'), 'utf8').length;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(4);
  });

  it('never reuses a value taken before it started: one run after another reads the database again', async () => {
    const ws = workspaceWithCli(
      'async () => { const fs = require("fs"); fs.appendFileSync("calls", "x"); return "call " + fs.readFileSync("calls", "utf8").length }',
    );
    expect((await fingerprint(ws)).stdout).toBe('live call 1\n');
    expect((await fingerprint(ws)).stdout).toBe('live call 2\n');
  });

  it('--versions prints the installed dbee packages and their versions, the same on every run (no database)', async () => {
    const ws = workspaceWithCli('async () => { throw new Error("must not connect") }');
    ws.write({
      'node_modules/@dbee/cli/package.json': '{ "name": "@dbee/cli", "version": "1.2.3", "main": "index.js" }',
    });

    const { stdout } = await run(process.execPath, [FINGERPRINT_SCRIPT, '--versions'], { cwd: ws.root });
    // The other dbee packages resolve beside the script (this repository's copies) or not at all.
    expect(stdout).toMatch(/^dbee (\S+@\S+ )*@dbee\/cli@1\.2\.3( \S+@\S+)*\n$/);
  });
});
