/**
 * Where a fleet deployment's process spends its CPU and memory (issue 90, decision 5): the generated ~50-object
 * project of tools/bench-fleet.ts deployed to N new databases at concurrency P by the compiled CLI (`npm run build`
 * first), once under `node --cpu-prof` and with its memory sampled every 20 ms (`process.memoryUsage()`). Prints the
 * profile's inclusive time of the parts a target's deployment is made of (a function counts once per sample when it
 * is anywhere on the stack), its self time by area, and the memory's peak. The .cpuprofile is kept.
 *
 *   node tools/run.js tools/bench/fleet-profile.ts [databases=200] [--concurrency 8] [--bin <other checkout>/packages/cli/bin/dbee.js]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProject } from './generate';
import * as L from './lib';
import { printProfile } from './cpu-profile';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Inclusive time of every function name (once per sample however deep it recurs). */
function inclusive(file: string): { total: number; byName: Map<string, number> } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byName = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const name = f.functionName || '(anonymous)';
      if (!seen.has(name)) {
        seen.add(name);
        byName.set(name, (byName.get(name) ?? 0) + dt);
      }
    }
  });
  return { total, byName };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith('--')) ?? 200);
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const concurrency = Number(at('--concurrency') ?? 8);
  const bin = at('--bin') ?? join(L.REPO, 'packages/cli/bin/dbee.js');
  const names = (at('--names') ?? '').split(',').filter(Boolean);
  if (!at('--bin') && !L.buildDist()) throw new Error('npm run build did not produce packages/cli/dist');
  const root = mkdtempSync(join(tmpdir(), 'dbee-fleet-profile-'));
  const prof = mkdtempSync(join(tmpdir(), 'dbee-fleet-cpuprof-'));
  try {
    const gen = generateProject(join(root, 'gen'), { name: 'gen', objects: 50 });
    const dbs: string[] = [];
    for (let i = 0; i < count; i++) dbs.push(await L.createDb(`fprof_${String(i).padStart(3, '0')}`));
    L.writeFleetConfig(root, dbs, (i) => `t${String(i).padStart(3, '0')}`);

    // A first run, not profiled, fills the workspace's caches (the sources' model, PGlite's template), as the runs of
    // tools/bench-fleet.ts after its first find them; then the databases are emptied again.
    const warm = await L.timeProcess(
      process.execPath,
      [bin, 'deploy', 'gen', '--env', 'fleet', '--concurrency', String(concurrency), '--cwd', root],
      {
        env: { ...process.env, DBEE_USE_DIST: '1' },
      },
    );
    if (warm.code !== 0) throw new Error(`the first fleet deploy exited ${warm.code}:\n${warm.stderr.slice(-3000)}`);
    for (const db of dbs) await L.sql(db, `DROP SCHEMA IF EXISTS ${[...gen.schemas, 'dbee'].join(', ')} CASCADE`);
    const mem = join(prof, 'mem.json');
    const r = await L.timeProcess(
      '/usr/bin/time',
      [
        '-f',
        'peak-kb %M cpu %U %S',
        process.execPath,
        '--cpu-prof',
        '--cpu-prof-dir',
        prof,
        '-r',
        join(__dirname, 'fleet-profile-memory.js'),
        bin,
        'deploy',
        'gen',
        '--env',
        'fleet',
        '--concurrency',
        String(concurrency),
        '--cwd',
        root,
      ],
      { env: { ...process.env, DBEE_USE_DIST: '1', DBEE_FLEET_PROFILE_MEMORY: mem } },
    );
    if (r.code !== 0) throw new Error(`the fleet deploy exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    console.log(
      `fleet of ${count} at concurrency ${concurrency}: ${L.fmtMs(r.ms)}; ${r.stderr.trim().split('\n').at(-1)}`,
    );
    const m = JSON.parse(readFileSync(mem, 'utf8')) as { peak: Record<string, number> };
    console.log(`memory peaks (MB): ${JSON.stringify(m.peak)}`);
    const file = join(prof, readdirSync(prof).find((f) => f.endsWith('.cpuprofile'))!);
    const inc = inclusive(file);
    const wanted = [
      'fleetDeploy',
      'convergence',
      'convergeCheck',
      'againstSources',
      'introspect',
      'modelChanges',
      'narrowModel',
      'desiredModelFor',
      'sourcesOf',
      'smokeChecks',
      'recordFingerprint',
      'planFromSources',
      ...names,
    ];
    console.log(
      L.table(
        ['inclusive time', 'ms', 'share'],
        wanted
          .filter((n) => inc.byName.has(n))
          .map((n) => [n, inc.byName.get(n)!.toFixed(0), `${((100 * inc.byName.get(n)!) / inc.total).toFixed(1)}%`]),
      ),
    );
    printProfile(`fleet of ${count}`, file, 30);
    console.log(`profile kept: ${file}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    await L.dropAll();
  }
}

L.runMain(main);
