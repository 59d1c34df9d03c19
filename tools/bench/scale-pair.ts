/**
 * Paired A/B of the scale figures that depend on dbee's code (issue #40, item 5): the same generated project and
 * change set on one database, as whole CLI processes of the compiled `dist/` of another checkout (`--against`, built
 * with `npm run build` there) and of this one, alternated in each round (the order swapped every round); per figure
 * the medians and the median of the paired ratios this / other. The uncached diff (server shadow), the incremental
 * deploy with the desired model cached, and its rollback, which puts the database back for the next one.
 *
 *   node tools/run.js tools/bench/scale-pair.ts --against /tmp/dbee-before [objects=5000] [--runs 4] [--without-diff]
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChangeSet, generateChangeSet, generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 5000);
const RUNS = Number(option('runs') ?? 4);
const AGAINST = option('against');
if (!AGAINST) throw new Error('usage: scale-pair.ts --against <another checkout, built> [objects] [--runs n]');
const SIDES = { before: AGAINST, after: L.REPO } as const;
type Side = keyof typeof SIDES;
async function cli(side: Side, args: string[], env: Record<string, string>) {
  const r = await L.timeProcess(process.execPath, [join(SIDES[side], 'packages/cli/bin/dbee.js'), ...args], {
    cwd: SIDES[side],
    env: { ...process.env, DBEE_USE_DIST: '1', ...env },
  });
  if (r.code !== 0) throw new Error(`${side} dbee ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.ms;
}
L.runMain(async () => {
  if (!L.buildDist()) throw new Error('npm run build failed: the CLI processes run the compiled dist/');
  const root = mkdtempSync(join(tmpdir(), 'dbee-pair-'));
  try {
    const ws = join(root, 'base');
    L.writeWorkspace(ws, ['d'], 'server');
    const gen = generateProject(join(ws, 'gen'), { name: 'gen', objects: N });
    const changed: Record<Side, string> = { before: join(root, 'before'), after: join(root, 'after') };
    for (const side of ['before', 'after'] as Side[]) {
      cpSync(ws, changed[side], { recursive: true });
      applyChangeSet(join(changed[side], 'gen'), generateChangeSet(gen));
    }
    const d = await L.createDb(`pair_${N}`);
    const env = { [L.envVar('d')]: L.dbUrl(d) };
    await L.dbee(ws, 'deploy', { project: 'gen', env: 'd' }, env);
    const fig: Record<string, Record<Side, number[]>> = {};
    const put = (k: string, side: Side, ms: number) => {
      fig[k] ??= { before: [], after: [] };
      fig[k][side].push(ms);
    };
    // --without-diff: the uncached diff runs once per side, untimed (it caches the desired model the deploy reads),
    // and the rounds time the deploy and its rollback only (minutes less at 5,000 objects on a loaded machine).
    const diffOnce = argv.includes('--without-diff');
    const uncached = (side: Side) =>
      cli(side, ['diff', 'gen', '--env', 'd', '--no-cache', '--format', 'json', '--cwd', changed[side]], env);
    if (diffOnce) for (const side of ['before', 'after'] as Side[]) await uncached(side);
    for (let i = 0; i < RUNS; i++) {
      const order: Side[] = i % 2 ? ['after', 'before'] : ['before', 'after'];
      for (const side of order) {
        const w = changed[side];
        if (!diffOnce) put('diff, uncached (CLI)', side, await uncached(side));
        put(
          'incremental deploy, model cached (CLI)',
          side,
          await cli(side, ['deploy', 'gen', '--env', 'd', '--cwd', w], env),
        );
        put(
          'rollback of it (CLI)',
          side,
          await cli(side, ['rollback', 'gen', '--env', 'd', '--assume-yes', '--cwd', w], env),
        );
      }
      console.log(`run ${i + 1}/${RUNS} done, load ${L.load()}`);
    }
    const rows = Object.entries(fig).map(([k, v]) => {
      const ratios = v.after.map((a, i) => a / v.before[i]!);
      return [
        k,
        L.fmtMs(L.median(v.before)),
        L.fmtMs(L.median(v.after)),
        L.fmtRatio(L.median(ratios)),
        ratios.map((r) => r.toFixed(2)).join(' '),
      ];
    });
    console.log(
      L.table(
        ['figure', 'before (median)', 'after (median)', 'after/before (median of paired ratios)', 'ratios'],
        rows,
      ),
    );
    console.log(`load at end ${L.load()}`);
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
