/**
 * What a command that needs the desired models of a project and of its dependency (`deploy b` where b depends on a:
 * the policies and the convergence check read both) would save if the two were built in one shadow (issue 90,
 * decision 4): today each model is built on its own, b's with a's objects applied again; shared, a's objects are
 * applied once and b's added on top (what an Nx batch's kept shadow does: `SessionPool`, `applyIncrementally` in
 * diffing/desired.ts). In this process, alternated per round, the sources' models not cached: `separate` builds a's
 * model then b's in shadows of their own, `shared` builds them in one kept shadow. An untimed round first (PGlite
 * started, code compiled).
 *
 *   node tools/run.js tools/bench/closure-share.ts [objects=1000] [--runs 5] [--shadow embedded|server]
 *
 * `objects` is the two projects' total, half each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  desiredModel,
  loadProjectModel,
  type ProjectModel,
  SessionPool,
  settleBackground,
  Workspace,
} from '@dbee/core';
import { createPostgresEngine, loadPostgresParser } from '@dbee/postgres';
import { generateProject } from './generate';
import * as L from './lib';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 1000);
const RUNS = Number(option('runs') ?? 5);
const SHADOW = (option('shadow') ?? 'embedded') as 'embedded' | 'server';

L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-closure-share-'));
  console.log(`two projects of ${N / 2} objects, b depends on a; shadow: ${SHADOW}; ${L.machine()}; load ${L.load()}`);
  try {
    L.writeWorkspace(root, ['d'], SHADOW);
    generateProject(join(root, 'a'), { name: 'a', objects: N / 2 });
    generateProject(join(root, 'b'), { name: 'b', objects: N / 2, dependsOn: ['a'] });
    const db = await L.createDb('closure_share');
    await loadPostgresParser();
    const raw = createPostgresEngine();
    const workspace = Workspace.load(root);
    const environment = workspace.environment('d', { ...process.env, [L.envVar('d')]: L.dbUrl(db) });
    const models: ProjectModel[] = [];
    for (const name of ['a', 'b']) {
      const project = workspace.project(name);
      const variables = workspace.settings(project, environment).variables;
      models.push(await loadProjectModel(workspace.root, project, variables, raw.parser, workspace.projects));
    }
    const owners = new Map(models.flatMap((m) => m.graph.schemas.map((s) => [s, m.project.name] as const)));
    const both = async (pool?: SessionPool) => {
      const engine = pool ? pool.wrap(raw) : raw;
      const t = performance.now();
      for (const [target, closure] of [
        ['a', models.slice(0, 1)],
        ['b', models],
      ] as const) {
        const built = await desiredModel({
          engine,
          environment,
          workspaceRoot: root,
          models: [...closure],
          target,
          schemaOwners: owners,
          shadow: SHADOW,
          toolVersion: '0',
          useCache: false,
          ...(pool ? { sessions: pool } : {}),
        });
        // What each way is: b's build applies both projects alone, one (b's) in the kept shadow.
        const expected = target === 'a' ? 1 : pool ? 1 : 2;
        if (built.applied?.projects !== expected)
          throw new Error(`${target}: ${built.applied?.projects} projects applied, expected ${expected}`);
      }
      const ms = performance.now() - t;
      await pool?.close();
      await settleBackground();
      return ms;
    };
    await both();
    await both(new SessionPool());
    const times = { separate: [] as number[], shared: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 ? (['shared', 'separate'] as const) : (['separate', 'shared'] as const);
      for (const side of order) times[side].push(await both(side === 'shared' ? new SessionPool() : undefined));
      console.log(
        `  round ${i + 1}/${RUNS}: separate ${L.fmtMs(times.separate.at(-1)!)}, shared ${L.fmtMs(times.shared.at(-1)!)}, load ${L.load()}`,
      );
    }
    const ratios = times.shared.map((s, i) => s / times.separate[i]!);
    console.log(
      L.table(
        [
          "a's model then b's",
          'separate (median)',
          'shared (median)',
          'shared / separate (median of paired ratios)',
          'paired ratios',
        ],
        [
          [
            `${N} objects, shadow: ${SHADOW}`,
            L.fmtMs(L.median(times.separate)),
            L.fmtMs(L.median(times.shared)),
            L.fmtRatio(L.median(ratios)),
            ratios.map((r) => r.toFixed(2)).join(' '),
          ],
        ],
      ),
    );
    console.log(`load at end ${L.load()}`);
  } finally {
    await L.dropAll();
    rmSync(root, { recursive: true, force: true });
  }
});
