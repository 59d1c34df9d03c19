/**
 * Graph page benchmark (issue #18): how long `dbee graph` takes to write the page of a generated project, and how
 * long the page takes to become interactive in Debian's headless Chromium.
 *
 *   npm run bench:graph                                          # 1,000 and 10,000 objects, 5 runs each
 *   node tools/run.js tools/bench-graph.ts --sizes 1000 --runs 9
 *
 * Setup (not timed): generate a project of N objects (tools/bench/generate.ts) in a temporary workspace.
 * Timed:
 *   write        `dbee graph bench --out <file>` in-process, once: parse, planner graph, ELK layout, page
 *   interactive  per run, a new page in one headless Chromium (fresh profile, every request but the file refused):
 *                from navigation start until the page has drawn every object (or, above 2,500 objects, every
 *                collapsed schema) and answers clicks (window.dbeeGraph.interactiveAt); median over the runs
 *   click        per run: selecting a table (blast radius computed and highlighted, panel filled) until the next frame
 *   expand       10,000 only: expanding one collapsed schema until the next frame
 * Checked: the page draws as many objects and edges as the planner found (a fast empty page does not count).
 * Goal: interactive under 2 s at 1,000 objects; usable (opens collapsed, expands) at 10,000.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, openGraphPage } from '../test/graph/browser';
import { plannerGraph } from '../test/graph/planner-graph';
import { generateProject } from './bench/generate';
import * as L from './bench/lib';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const sizes = flag('sizes', '1000,10000').split(',').map(Number);
const runs = Number(flag('runs', '5'));

interface PageRun {
  interactive: number;
  click: number;
  expand: number | null;
  objects: number;
  edges: number;
  collapsed: number;
}

type Api = {
  cy: { nodes(s: string): { length: number; [i: number]: { id(): string } }; edges(s: string): { length: number } };
  view: { nodes: unknown[]; edges: unknown[] };
  select(key: string): void;
  expand(group: string): void;
  collapsedGroups(): string[];
};

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'dbee-bench-graph-'));
  const chromium = await launchChromium();
  const rows: string[][] = [];
  try {
    console.log(`# dbee graph: page written, then opened in headless Chromium (${runs} runs per size)\n`);
    console.log(`machine: ${L.machine()}\n`);
    for (const size of sizes) {
      const ws = join(root, `ws${size}`);
      mkdirSync(ws, { recursive: true });
      writeFileSync(
        join(ws, 'dbee.yaml'),
        'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: .dbee/local\n',
      );
      generateProject(join(ws, 'bench'), { name: 'bench', objects: size });
      const file = join(root, `graph-${size}.html`);
      const loadBefore = L.load();
      const written = await L.dbee(ws, 'graph', { project: 'bench', out: file }, {});
      const planner = await plannerGraph(ws, 'bench');
      const results: PageRun[] = [];
      for (let i = 0; i < runs; i++) {
        const { page, blocked, errors, interactiveMs } = await openGraphPage(chromium.context, file);
        if (blocked.length || errors.length)
          throw new Error(`page of ${size}: blocked ${blocked.join(', ')}; errors ${errors.join('; ')}`);
        const measured = await page.evaluate(async () => {
          const g = (globalThis as unknown as { dbeeGraph: Api }).dbeeGraph;
          const frame = () =>
            new Promise((r) =>
              (globalThis as unknown as { requestAnimationFrame(f: () => void): void }).requestAnimationFrame(() =>
                r(null),
              ),
            );
          const collapsed = g.collapsedGroups().length;
          let expand: number | null = null;
          if (collapsed) {
            const t = performance.now();
            g.expand(g.collapsedGroups()[0]!);
            await frame();
            expand = performance.now() - t;
          }
          const table = g.cy.nodes('.object.k-table')[0]!.id();
          const t = performance.now();
          g.select(table);
          await frame();
          return {
            click: performance.now() - t,
            expand,
            collapsed,
            objects: g.cy.nodes('.object').length,
            edges: g.cy.edges('.dep').length,
            total: [g.view.nodes.length, g.view.edges.length],
          };
        });
        if (measured.total[0] !== planner.objects.length || measured.total[1] !== planner.edges.length) {
          throw new Error(
            `page of ${size}: ${measured.total[0]} objects / ${measured.total[1]} edges, the planner has ${planner.objects.length} / ${planner.edges.length}`,
          );
        }
        if (
          !measured.collapsed &&
          (measured.objects !== planner.objects.length || measured.edges !== planner.edges.length)
        ) {
          throw new Error(
            `page of ${size} draws ${measured.objects} objects / ${measured.edges} edges, the planner has ${planner.objects.length} / ${planner.edges.length}`,
          );
        }
        results.push({ interactive: interactiveMs, ...measured });
        await page.close();
      }
      const med = (f: (r: PageRun) => number | null) => L.median(results.map(f).filter((x): x is number => x !== null));
      const r0 = results[0]!;
      rows.push([
        `${planner.objects.length.toLocaleString('en-US')} objects, ${planner.edges.length.toLocaleString('en-US')} edges`,
        `${(statSync(file).size / 1e6).toFixed(1)} MB`,
        L.fmtMs(written.ms),
        r0.collapsed ? `collapsed (${r0.collapsed} schemas)` : 'all drawn',
        `${L.fmtMs(med((r) => r.interactive))} (${results.map((r) => Math.round(r.interactive)).join(', ')})`,
        L.fmtMs(med((r) => r.click)),
        r0.expand === null ? '-' : L.fmtMs(med((r) => r.expand)),
        `${loadBefore} / ${L.load()}`,
      ]);
      console.log(`${size}: done`);
    }
    console.log(
      '\n' +
        L.table(
          [
            'project',
            'page',
            'write',
            'opens',
            'interactive, median (runs)',
            'click a table',
            'expand a schema',
            'load avg before / after',
          ],
          rows,
        ),
    );
    console.log('\nGoal: interactive under 2 s at 1,000 objects; opens collapsed per schema and expands at 10,000.');
  } finally {
    await chromium.close();
    rmSync(root, { recursive: true, force: true });
  }
}

L.runMain(main);
