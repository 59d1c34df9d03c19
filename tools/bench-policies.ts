/**
 * The schema review policies' cost on a plan (issue #77, item 5: "the policies on the 5,000-object workspace within
 * 10 % of the plan's time"): `dbee plan gen --out <folder>` as whole CLI processes on a generated project
 * (tools/bench/generate.ts), without `policies:` (nothing judged) and with `policies: {}` (the documented default set,
 * judged over the plan's change: every object of a first plan), alternated in each round (the order swapped every
 * round), each run with the parse cache removed. Per figure the medians of each side and the median of the paired
 * ratios with / without, with the load average of each round.
 *
 *   node tools/run.js tools/bench-policies.ts [objects=5000] [--runs 5]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProject } from './bench/generate';
import * as L from './bench/lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 5000);
const RUNS = Number(option('runs') ?? 5);
const SIDES = ['without', 'with'] as const;
type Side = (typeof SIDES)[number];

/** One `plan --out` under /usr/bin/time, with or without `policies:` in the project's db.yaml: wall and CPU (ms). */
async function planOut(side: Side, ws: string, dbYaml: string, out: string, env: Record<string, string>) {
  rmSync(join(ws, '.dbee', 'cache'), { recursive: true, force: true });
  writeFileSync(join(ws, 'gen', 'db.yaml'), side === 'with' ? `${dbYaml}policies: {}\n` : dbYaml);
  const dbee = join(L.REPO, 'packages/cli/bin/dbee.js');
  const r = await L.timeProcess(
    '/usr/bin/time',
    ['-f', 'dbee-time %e %U %S', process.execPath, dbee, 'plan', 'gen', '--env', 'd', '--out', out, '--cwd', ws],
    { cwd: ws, env: { ...process.env, DBEE_USE_DIST: '1', NODE_COMPILE_CACHE: join(ws, '..', 'cc'), ...env } },
  );
  const t = /dbee-time ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  // An `error` finding would refuse (exit 1): the default set has none at that level on the generated project.
  if (r.code !== 0 || !t) throw new Error(`${side}: plan --out exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const [wall, user, sys] = t.slice(1).map(Number) as [number, number, number];
  return { wall: wall * 1000, cpu: (user + sys) * 1000 };
}

L.runMain(async () => {
  if (!L.buildDist()) throw new Error('npm run build failed: the CLI processes run the compiled dist/');
  const root = mkdtempSync(join(tmpdir(), 'dbee-policies-'));
  try {
    const ws = join(root, 'ws');
    L.writeWorkspace(ws, ['d'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const dbYaml = `version: 1\nname: gen\nengine: postgres\nschemas: [${gen.schemas.join(', ')}]\n`;
    const env = { [L.envVar('d')]: L.dbUrl(await L.createDb(`policies_${N}`)) };
    const pairs = { wall: [] as { without: number; with: number }[], cpu: [] as { without: number; with: number }[] };
    const loads: string[] = [];
    for (const side of SIDES) await planOut(side, ws, dbYaml, join(root, `${side}-warm-up`), env);
    for (let round = 0; round < RUNS; round++) {
      const order: Side[] = round % 2 ? ['with', 'without'] : ['without', 'with'];
      const got = {} as Record<Side, { wall: number; cpu: number }>;
      for (const side of order) got[side] = await planOut(side, ws, dbYaml, join(root, `${side}-${round}`), env);
      for (const f of ['wall', 'cpu'] as const) pairs[f].push({ without: got.without[f], with: got.with[f] });
      loads.push(L.load().split(' ')[0]!);
      console.error(`round ${round + 1}/${RUNS}: ${order.map((s) => `${s} ${L.fmtMs(got[s].wall)}`).join(', ')}`);
    }
    const rows = (['wall', 'cpu'] as const).map((f) => {
      const p = pairs[f];
      return [
        f === 'wall' ? 'wall' : 'user + system CPU',
        L.fmtMs(L.median(p.map((x) => x.without))),
        L.fmtMs(L.median(p.map((x) => x.with))),
        L.fmtRatio(L.median(p.map((x) => x.with / x.without))),
        p.map((x) => L.fmtRatio(x.with / x.without)).join(' '),
      ];
    });
    console.log(`\nplan gen --out, ${gen.objects} objects, parse cache removed, ${RUNS} rounds alternated`);
    console.log(L.table(['figure', 'no policies (median)', 'policies: {} (median)', 'with / without', 'ratios'], rows));
    console.log(`load average (1 min) per round: ${loads.join(' ')}; ${L.machine()}`);
    const ratio = L.median(pairs.wall.map((x) => x.with / x.without));
    console.log(
      `goal: policies within 10 % of the plan's time: ${ratio <= 1.1 ? 'met' : 'NOT MET'} (${L.fmtRatio(ratio)})`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
