/**
 * Paired A/B of `--liftoff-only` in Nx's task processes (plugins/nx/src/executors/compile-cache.ts): the first
 * `nx run db-gen:deploy` of a generated project (tools/bench/generate.ts, `objects`) into a new database of the server,
 * run by the real Nx on this checkout's compiled dist/, with the executors' compile-cache leaf as built (the batch
 * worker sets the flag) and with that leaf setting none (`before`: the executors as they were, every other file the
 * same). Each side has a workspace of its own holding a copy of @dbee/nx's package (the rest of node_modules linked
 * to this checkout's), its own compile-cache folder, and one untimed deploy first. The sides alternate, the order
 * swapped every round. Per side the medians of the CPU time of the deploy's batch worker (its `process.cpuUsage()`
 * when it last reports to Nx, from a `--require` hook), of every process of the Nx run (`/usr/bin/time`), and wall
 * time; per figure the median of the paired ratios after / before; the load average.
 * `--shadow server`: the desired side is built on a scratch database of the server instead of an embedded PGlite.
 *
 *   node tools/run.js tools/bench/nx-liftoff-pair.ts [objects=1000] [--runs 5] [--shadow embedded|server]
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(option('runs') ?? 5);
const SHADOW = (option('shadow') ?? 'embedded') as 'embedded' | 'server';
const NX = require.resolve('nx/bin/nx.js', { paths: [L.REPO] });
type Side = 'before' | 'after';

/** Records, in each process Nx starts, its CPU time whenever it sends Nx a message (the batch worker's results). */
const PROBE = `'use strict';
const { appendFileSync } = require('node:fs');
const send = process.send;
if (send && /run-batch\\.js$/.test(process.argv[1] ?? '')) {
  process.send = function (...args) {
    const u = process.cpuUsage();
    appendFileSync(process.env.NX_LIFTOFF_PAIR_LOG, JSON.stringify({ cpu: (u.user + u.system) / 1e6, tag: require('node:v8').cachedDataVersionTag() }) + '\\n');
    return send.apply(this, args);
  };
}
`;

/** A workspace whose @dbee/nx is a copy of this checkout's plugin (its executors' compile-cache leaf `leaf`). */
function workspace(root: string, leaf: (built: string) => string): void {
  mkdirSync(join(root, 'node_modules', '@dbee'), { recursive: true });
  const modules = join(L.REPO, 'node_modules');
  for (const name of readdirSync(modules))
    if (name !== '@dbee') symlinkSync(realpathSync(join(modules, name)), join(root, 'node_modules', name));
  for (const name of readdirSync(join(modules, '@dbee')))
    if (name !== 'nx')
      symlinkSync(realpathSync(join(modules, '@dbee', name)), join(root, 'node_modules', '@dbee', name));
  const plugin = join(L.REPO, 'plugins', 'nx');
  const copy = join(root, 'node_modules', '@dbee', 'nx');
  for (const part of ['package.json', 'executors.json', 'generators.json', 'dist', 'bin', 'src'])
    cpSync(join(plugin, part), join(copy, part), { recursive: true, filter: (f) => !f.endsWith('.test.ts') });
  const file = join(copy, 'dist', 'executors', 'compile-cache.js');
  writeFileSync(file, leaf(readFileSync(file, 'utf8')));
  writeFileSync(join(root, 'package.json'), '{ "name": "nx-liftoff-pair", "private": true }\n');
  writeFileSync(
    join(root, 'nx.json'),
    JSON.stringify({ analytics: false, neverConnectToCloud: true, plugins: ['@dbee/nx'] }),
  );
  L.writeWorkspace(root, ['d'], SHADOW);
  generateProject(join(root, 'gen'), { name: 'gen', objects: N });
}

L.runMain(async () => {
  if (!L.buildDist()) throw new Error('npm run build failed: Nx runs the compiled dist/');
  const root = mkdtempSync(join(tmpdir(), 'dbee-nx-liftoff-pair-'));
  console.log(
    `nx run db-gen:deploy pair: ${N} objects, ${RUNS} rounds, shadow ${SHADOW}; ${L.machine()}; load ${L.load()}`,
  );
  try {
    const flagged = /enableCompileCache\)\(isNxTaskProcess\(\) \? \{ v8Flags: \["--liftoff-only"\] \} : \{\}\)/;
    const ws = { before: join(root, 'before'), after: join(root, 'after') };
    workspace(ws.after, (built) => built);
    workspace(ws.before, (built) => {
      if (!flagged.test(built)) throw new Error('the built compile-cache leaf does not set the flag as expected');
      return built.replace(flagged, 'enableCompileCache)({})');
    });
    const probe = join(root, 'probe.cjs');
    writeFileSync(probe, PROBE);
    const log = join(root, 'probe.jsonl');
    const run = async (side: Side) => {
      const db = await L.createDb(`nxl_${side}`);
      await L.quietServer();
      writeFileSync(log, '');
      const r = await L.timeCpu(process.execPath, [NX, 'run', 'db-gen:deploy', '--skip-nx-cache'], {
        cwd: ws[side],
        env: {
          ...process.env,
          [L.envVar('d')]: L.dbUrl(db),
          DBEE_USE_DIST: '1',
          NX_DAEMON: 'false',
          NX_TUI: 'false',
          NX_NO_CLOUD: 'true',
          CI: 'true',
          NODE_COMPILE_CACHE: join(root, `compile-cache-${side}`),
          NODE_OPTIONS: `--require ${probe}`,
          NX_LIFTOFF_PAIR_LOG: log,
        },
      });
      if (r.code !== 0) throw new Error(`${side}: nx exited ${r.code}: ${(r.stdout + r.stderr).slice(-3000)}`);
      await L.dropDb(db);
      const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
      if (lines.length === 0) throw new Error(`${side}: no batch worker reported`);
      const last = JSON.parse(lines[lines.length - 1]!) as { cpu: number; tag: number };
      return { worker: last.cpu, tag: last.tag, total: r.cpuMs / 1000, wall: r.ms / 1000 };
    };
    // Untimed: compile caches, Nx's workspace data. V8 derives cachedDataVersionTag from its flags: the sides' batch
    // workers must differ there, or this pair would compare a build with itself.
    const tags = { before: (await run('before')).tag, after: (await run('after')).tag };
    console.log(`batch workers' V8 flag tags: before ${tags.before}, after ${tags.after}`);
    if (tags.before === tags.after) throw new Error('both sides ran with the same V8 flags');
    const got: Record<Side, { worker: number; total: number; wall: number }[]> = { before: [], after: [] };
    for (let i = 0; i < RUNS; i++) {
      const order: Side[] = i % 2 ? ['after', 'before'] : ['before', 'after'];
      for (const side of order) got[side].push(await run(side));
      const b = got.before[i]!;
      const a = got.after[i]!;
      console.log(
        `round ${i + 1}: worker CPU ${b.worker.toFixed(2)} -> ${a.worker.toFixed(2)} s, all of Nx's processes ${b.total.toFixed(2)} -> ${a.total.toFixed(2)} s, wall ${b.wall.toFixed(2)} -> ${a.wall.toFixed(2)} s; load ${L.load()}`,
      );
    }
    for (const key of ['worker', 'total', 'wall'] as const) {
      const ratios = got.after.map((a, i) => a[key] / got.before[i]![key]);
      console.log(
        `${key}: before ${L.median(got.before.map((r) => r[key])).toFixed(2)} s, after ${L.median(got.after.map((r) => r[key])).toFixed(2)} s, after/before ${L.fmtRatio(L.median(ratios))} (${ratios.map((x) => x.toFixed(2)).join(' ')})`,
      );
    }
    console.log(`load ${L.load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
