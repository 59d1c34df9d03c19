import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { scratchDatabase } from '../support/pg';
import { NxWorkspace } from './workspace';

/**
 * The Nx executors set V8's `--liftoff-only` in the processes Nx starts to run their tasks, and in no other process of
 * an Nx run (plugins/nx/src/executors/compile-cache.ts): observed in each process through wasm-probe.cjs, which records
 * V8's `cachedDataVersionTag()` (derived from V8's flags) when the process compiles a WebAssembly module. Plugin
 * isolation stays on (as users run Nx): its plugin workers are processes of the run too.
 */
const REPO = resolve(__dirname, '..', '..');
const PROBE = join(__dirname, 'wasm-probe.cjs');
const PARSER_BYTES = statSync(require.resolve('libpg-query/wasm/libpg-query.wasm', { paths: [REPO] })).size;

/** The tag of a new Node process after `script`. */
const tagAfter = (script: string) =>
  Number(
    execFileSync(process.execPath, [
      '-e',
      `${script};process.stdout.write(String(require('node:v8').cachedDataVersionTag()))`,
    ]),
  );

interface ProbeLine {
  pid: number;
  main: string;
  event: 'start' | 'wasm' | 'exit';
  bytes?: number;
  tag: number;
}

const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

it('an Nx batch worker and an Nx task process compile the parser at Liftoff only; Nx, its plugin workers and the fingerprint script keep V8`s flags', async () => {
  const db = await scratchDatabase();
  cleanup.push(() => db.drop());
  const ws = NxWorkspace.create({
    'dbee.yaml': `version: 1\ndefaultEnvironment: server\nenvironments:\n  server:\n    engine: postgres\n    connection: { url: '\${URL_TEST}' }\n`,
    'db/x/db.yaml': 'version: 1\nname: x\nengine: postgres\nschemas: [x]\n',
    'db/x/schema/x/schema.sql': 'CREATE SCHEMA x;\n',
    'db/x/schema/x/tables/t.sql': 'CREATE TABLE x.t (id integer PRIMARY KEY);\n',
  });
  cleanup.push(() => ws.remove());
  const dir = mkdtempSync(join(tmpdir(), 'dbee-wasm-probe-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'probe.jsonl');

  // build runs in a batch worker (its executor has a batch implementation that Nx prefers), status in a task process.
  const r = await ws.nx(['run-many', '-t', 'build', 'status', '--skip-nx-cache', '--outputStyle=static'], {
    URL_TEST: db.url,
    WASM_PROBE_LOG: log,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require ${JSON.stringify(PROBE)}`].filter(Boolean).join(' '),
  });
  expect(r.code, r.output).toBe(0);
  const lines = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ProbeLine);

  const plain = tagAfter('');
  const liftoff = tagAfter("require('node:v8').setFlagsFromString('--liftoff-only')");
  expect(liftoff).not.toBe(plain);
  const parserCompiles = (script: RegExp) =>
    lines.filter((l) => script.test(l.main) && l.event === 'wasm' && l.bytes === PARSER_BYTES).map((l) => l.tag);
  expect(parserCompiles(/[\\/]nx[\\/]dist[\\/]src[\\/]tasks-runner[\\/]batch[\\/]run-batch\.js$/)).toEqual([liftoff]);
  expect(parserCompiles(/[\\/]nx[\\/]dist[\\/]bin[\\/]run-executor\.js$/)).toEqual([liftoff]);

  // Every other process, from start to exit: Nx's command, its plugin workers (which load @dbee/nx to infer the
  // targets) and the diff target's fingerprint script, which Nx runs for the tasks' hashes.
  const others = lines.filter((l) => !/(run-batch|run-executor)\.js$/.test(l.main));
  const scripts = new Set(others.map((l) => l.main.replace(/^.*[\\/]node_modules[\\/]/, '').replace(/\\/g, '/')));
  expect([...scripts].sort()).toEqual([
    '@dbee/nx/bin/fingerprint.js',
    'nx/dist/bin/nx.js',
    'nx/dist/src/project-graph/plugins/isolation/plugin-worker.js',
  ]);
  expect(others.filter((l) => l.tag !== plain)).toEqual([]);
});
