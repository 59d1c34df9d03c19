/**
 * `dbee docs` benchmark (issue 94, item 4: "the site of the largest real schema of the corpus in under 5 s on this
 * machine, incremental rebuild of one changed file under 1 s"), in-process, against a baseline run in the same rounds:
 * `dbee build` of the same project, which builds the same desired model in the same shadow database (what the site's
 * data starts from) and writes nothing else. Per figure the median of each side, and the median of the paired ratios
 * docs / build, with the load average of each round; the sides alternate in order every round.
 *
 *   node tools/run.js tools/bench-docs.ts [--runs 5]
 *
 * Workspace: Pagila (test/selection/pagila.ts: 70 tables with its partitions, the corpus's largest by tables) as
 * project `pl`, and a small project `core` (one table).
 * Figures:
 *   cold      `.dbee/cache` removed before each run: parse, shadow build, judge, pages
 *   warm      caches kept (what a second run, or a run after `dbee build`, does): the pages alone, mostly
 *   one file  a comment of `core`'s one file changed before each run, then `dbee docs core`: what `nx run
 *             db-core:docs` runs when that file changed (Nx serves the other projects' sites from its cache)
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pagilaSources } from '../test/selection/pagila';
import * as L from './bench/lib';

const argv = process.argv.slice(2);
const RUNS = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 5);
const SIDES = ['build', 'docs'] as const;
type Side = (typeof SIDES)[number];

const core = (n: number) =>
  `CREATE SCHEMA core;\nCREATE TABLE core.customers (id bigint PRIMARY KEY, email text NOT NULL);\nCOMMENT ON TABLE core.customers IS 'version ${n}';\n`;

L.runMain(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-docs-'));
  try {
    const files: Record<string, string> = {
      'dbee.yaml':
        'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: memory }\n',
      ...pagilaSources(),
      'core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n',
      'core/customers.sql': core(0),
    };
    for (const [k, v] of Object.entries(files)) {
      mkdirSync(dirname(join(root, k)), { recursive: true });
      writeFileSync(join(root, k), v);
    }
    const run = async (side: Side, project: string) =>
      side === 'docs'
        ? (await L.dbee(root, 'docs', { project, out: join(root, 'site', project) }, {})).ms
        : (await L.dbee(root, 'build', { project }, {})).ms;
    // Warm-up: modules loaded, PGlite's files read once.
    for (const side of SIDES) await run(side, 'core');
    const figures = {
      cold: [] as Record<Side, number>[],
      warm: [] as Record<Side, number>[],
      'one file': [] as Record<Side, number>[],
    };
    const loads: string[] = [];
    let version = 1;
    for (let round = 0; round < RUNS; round++) {
      const order: Side[] = round % 2 ? ['docs', 'build'] : ['build', 'docs'];
      const cold = {} as Record<Side, number>;
      const warm = {} as Record<Side, number>;
      const one = {} as Record<Side, number>;
      for (const side of order) {
        rmSync(join(root, '.dbee', 'cache'), { recursive: true, force: true });
        cold[side] = await run(side, 'pl');
      }
      for (const side of order) warm[side] = await run(side, 'pl');
      for (const side of order) {
        writeFileSync(join(root, 'core/customers.sql'), core(version++));
        one[side] = await run(side, 'core');
      }
      figures.cold.push(cold);
      figures.warm.push(warm);
      figures['one file'].push(one);
      loads.push(L.load().split(' ')[0]!);
      console.error(
        `round ${round + 1}/${RUNS}: cold docs ${L.fmtMs(cold.docs)}, warm ${L.fmtMs(warm.docs)}, one file ${L.fmtMs(one.docs)}`,
      );
    }
    const rows = Object.entries(figures).map(([name, pairs]) => [
      name,
      L.fmtMs(L.median(pairs.map((p) => p.build))),
      L.fmtMs(L.median(pairs.map((p) => p.docs))),
      L.fmtRatio(L.median(pairs.map((p) => p.docs / p.build))),
      pairs.map((p) => L.fmtRatio(p.docs / p.build)).join(' '),
    ]);
    console.log(`\ndbee docs of Pagila (70 tables) and of a one-table project, in-process, ${RUNS} rounds alternated`);
    console.log(L.table(['figure', 'build (median)', 'docs (median)', 'docs / build', 'ratios'], rows));
    console.log(`load average (1 min) per round: ${loads.join(' ')}; ${L.machine()}`);
    const med = (k: keyof typeof figures) => L.median(figures[k].map((p) => p.docs));
    console.log(
      `goal: Pagila's site under 5 s: cold ${med('cold') < 5000 ? 'met' : 'NOT MET'} (${L.fmtMs(med('cold'))}), warm ${med('warm') < 5000 ? 'met' : 'NOT MET'} (${L.fmtMs(med('warm'))})`,
    );
    console.log(
      `goal: one changed file under 1 s: ${med('one file') < 1000 ? 'met' : 'NOT MET'} (${L.fmtMs(med('one file'))})`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
