import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProject } from '../../tools/bench/generate';
import { run } from '../support/run';
import { launchChromium, openGraphPage, type HeadlessChromium } from './browser';
import { dependenciesOf, dependentsOf, plannerGraph } from './planner-graph';

/**
 * `dbee graph` pages opened in Debian's headless Chromium with every request but the file itself refused: the page
 * shows the planner's objects and edges, clicking a table highlights what depends on it, and an environment's pending
 * change is coloured. Screenshots go to a temporary folder (printed). Without Chromium these tests fail (see
 * browser.ts), they never skip.
 */

const REPO = join(__dirname, '..', '..');
let chromium: HeadlessChromium;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'dbee-graph-test-'));
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  console.log(`graph test screenshots and pages were in ${tmp} (removed)`);
  rmSync(tmp, { recursive: true, force: true });
  rmSync(join(REPO, '.dbee', `graph-test-${process.pid}`), { recursive: true, force: true });
});

interface PageGraph {
  objects: string[];
  edges: { from: string; to: string }[];
}

type Cy = {
  nodes(sel: string): { map<T>(f: (n: { id(): string; data(k: string): unknown }) => T): T[]; length: number };
  edges(sel: string): { map<T>(f: (e: { data(k: string): unknown }) => T): T[]; length: number };
  $id(id: string): { renderedPosition(): { x: number; y: number }; classes(): string[] };
  container(): { getBoundingClientRect(): { left: number; top: number } };
  zoom(): number;
  width(): number;
  height(): number;
  center(eles: unknown): void;
};

/** What the page has drawn: its object nodes and its dependency edges, as (dependent, dependency) pairs. */
function drawn(page: Page): Promise<PageGraph> {
  return page.evaluate(() => {
    const g = (globalThis as unknown as { dbeeGraph: { cy: Cy; view: { edges: { from: string; to: string }[] } } })
      .dbeeGraph;
    return {
      objects: g.cy.nodes('.object').map((n) => n.id()),
      edges: g.cy.edges('.dep').map((e) => g.view.edges[e.data('index') as number]!),
    };
  });
}

/** Click an object where it is drawn, like a user (who first brings it into view when the page opened elsewhere). */
async function clickObject(page: Page, key: string): Promise<void> {
  const at = await page.evaluate((k) => {
    const cy = (globalThis as unknown as { dbeeGraph: { cy: Cy } }).dbeeGraph.cy;
    let p = cy.$id(k).renderedPosition();
    if (p.x < 0 || p.y < 0 || p.x > cy.width() || p.y > cy.height()) {
      cy.center(cy.$id(k));
      p = cy.$id(k).renderedPosition();
    }
    const box = cy.container().getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  }, key);
  await page.mouse.click(at.x, at.y);
}

function highlighted(page: Page, cls: 'downstream' | 'upstream' | 'focus'): Promise<string[]> {
  return page.evaluate((c) => {
    const cy = (globalThis as unknown as { dbeeGraph: { cy: Cy } }).dbeeGraph.cy;
    return cy
      .nodes(`.object.${c}`)
      .map((n) => n.id())
      .sort();
  }, cls);
}

const sortEdges = (edges: { from: string; to: string }[]) => edges.map((e) => `${e.from} -> ${e.to}`).sort();

describe('dbee graph page in headless Chromium', () => {
  it('the examples: the planner’s objects and edges, a click on a table highlights its dependents, no network', async () => {
    // --out must stay inside the workspace: the page goes to the repository's git-ignored .dbee folder.
    const file = join(REPO, '.dbee', `graph-test-${process.pid}`, 'examples.html');
    const r = await run(REPO, 'graph', { project: 'sales', withDeps: true, out: file });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const planner = await plannerGraph(REPO, 'sales');

    const { page, blocked, errors } = await openGraphPage(chromium.context, file);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    const shown = await drawn(page);
    expect(shown.objects).toHaveLength(planner.objects.length);
    expect(shown.edges).toHaveLength(planner.edges.length);
    expect(shown.objects.sort()).toEqual([...planner.objects].sort());
    expect(sortEdges(shown.edges)).toEqual(sortEdges(planner.edges));
    expect(await page.textContent('#count-nodes')).toBe(String(planner.objects.length));
    expect(await page.textContent('#count-edges')).toBe(String(planner.edges.length));

    // core.customers is used across projects: sales' orders (foreign key), views and functions over them.
    const table = 'table:core.customers';
    await clickObject(page, table);
    expect(await page.textContent('#panel-title')).toBe('customers');
    expect(await page.textContent('#panel-source')).toContain('CREATE TABLE core.customers');
    const expected = dependentsOf(table, planner.edges);
    expect(expected).toContain('table:sales.orders');
    expect(expected).toContain('view:sales.customer_revenue');
    expect(await highlighted(page, 'focus')).toEqual([table]);
    expect(await highlighted(page, 'downstream')).toEqual(expected);
    expect(await page.textContent('#count-downstream')).toBe(String(expected.length));
    expect(await highlighted(page, 'upstream')).toEqual(dependenciesOf(table, planner.edges));

    // Search finds by name; the kind filter hides.
    await page.fill('#search', 'ORDER_TOT');
    await page.press('#search', 'Enter');
    const first = await page.textContent('#panel-title');
    await page.press('#search', 'Enter');
    expect([first, await page.textContent('#panel-title')].sort()).toEqual(['order_total', 'order_totals']);
    expect(await page.textContent('#search-result')).toBe('2 of 2 matches');
    await page.click('#filter-kind summary');
    await page.uncheck('#filter-kind input[data-value="index"]');
    const hidden = await page.evaluate(() =>
      (globalThis as unknown as { dbeeGraph: { cy: Cy } }).dbeeGraph.cy
        .nodes('.object.hidden')
        .map((n) => n.data('kind')),
    );
    expect(hidden.length).toBeGreaterThan(0);
    expect(new Set(hidden)).toEqual(new Set(['index']));
    await page.click('#filter-kind summary');

    await clickObject(page, table);
    const shot = join(tmp, 'examples.png');
    await page.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    await page.close();
  });

  it('the generated 1,000-object project: same counts as the planner, dependents highlighted on click', async () => {
    const root = join(tmp, 'bench1000');
    mkdirSync(root, { recursive: true });
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: .dbee/local\n',
    );
    generateProject(join(root, 'bench'), { name: 'bench', objects: 1000 });
    const file = join(root, 'bench1000.html');
    const r = await run(root, 'graph', { project: 'bench', out: file });
    expect(r.code).toBe(0);
    const planner = await plannerGraph(root, 'bench');
    expect(planner.objects.length).toBeGreaterThanOrEqual(1000);

    const { page, blocked, errors, interactiveMs } = await openGraphPage(chromium.context, file);
    console.log(
      `1,000-object page (${planner.objects.length} objects, ${planner.edges.length} edges): interactive after ${Math.round(interactiveMs)} ms`,
    );
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    const shown = await drawn(page);
    expect(shown.objects).toHaveLength(planner.objects.length);
    expect(shown.edges).toHaveLength(planner.edges.length);
    expect(sortEdges(shown.edges)).toEqual(sortEdges(planner.edges));
    // It opens readable (#58): fitting 1,000 objects into the window made every label too small to draw.
    expect(
      await page.evaluate(() => (globalThis as unknown as { dbeeGraph: { cy: Cy } }).dbeeGraph.cy.zoom()),
    ).toBeGreaterThanOrEqual(0.8);

    const table = 'table:bench_s2.child_10';
    await clickObject(page, table);
    expect(await page.textContent('#panel-title')).toBe('child_10');
    const expected = dependentsOf(table, planner.edges);
    expect(expected.length).toBeGreaterThan(2);
    expect(await highlighted(page, 'downstream')).toEqual(expected);
    await page.screenshot({ path: join(tmp, 'bench1000.png') });
    await page.close();
  });

  it('above 2,500 objects: opens collapsed per schema, a double-click expands one, a click inside marks the schemas its dependents are in', async () => {
    const root = join(tmp, 'bench2600');
    mkdirSync(root, { recursive: true });
    writeFileSync(
      join(root, 'dbee.yaml'),
      'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: .dbee/local\n',
    );
    generateProject(join(root, 'bench'), { name: 'bench', objects: 2600 });
    const file = join(root, 'bench2600.html');
    expect((await run(root, 'graph', { project: 'bench', out: file })).code).toBe(0);
    const planner = await plannerGraph(root, 'bench');
    expect(planner.objects.length).toBeGreaterThan(2500);

    const { page, blocked, errors } = await openGraphPage(chromium.context, file);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    type Api = { cy: Cy; collapsedGroups(): string[] };
    const state = () =>
      page.evaluate(() => {
        const g = (globalThis as unknown as { dbeeGraph: Api }).dbeeGraph;
        return {
          collapsed: g.collapsedGroups().sort(),
          boxes: g.cy.nodes('.collapsed').length,
          objects: g.cy.nodes('.object').map((n) => n.id()),
          meta: g.cy.edges('.meta').length,
        };
      });
    const before = await state();
    expect(before.collapsed).toEqual(['S:bench:bench_s0', 'S:bench:bench_s1', 'S:bench:bench_s2', 'S:bench:bench_s3']);
    expect(before.boxes).toBe(4);
    expect(before.objects).toEqual([]);
    expect(before.meta).toBeGreaterThan(0);
    expect(await page.textContent('#count-nodes')).toBe(planner.objects.length.toLocaleString('en-US'));

    // Double-click the collapsed bench_s1 where it is drawn.
    const at = await page.evaluate(() => {
      const cy = (globalThis as unknown as { dbeeGraph: Api }).dbeeGraph.cy;
      const p = cy.$id('C:bench:bench_s1').renderedPosition();
      const box = cy.container().getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    });
    await page.mouse.dblclick(at.x, at.y);
    await page.waitForFunction(
      () => (globalThis as unknown as { dbeeGraph: Api }).dbeeGraph.collapsedGroups().length === 3,
      undefined,
      { timeout: 60_000 },
    );
    const after = await state();
    const inS1 = planner.objects.filter((k) => /^[a-z-]+:bench_s1\./.test(k) || k === 'schema:bench_s1');
    expect(after.objects.sort()).toEqual(inS1.sort());

    // parent_5 is in bench_s1; the chain of views over views reaches every schema.
    const table = 'table:bench_s1.parent_5';
    await clickObject(page, table);
    expect(await page.textContent('#panel-title')).toBe('parent_5');
    const expected = dependentsOf(table, planner.edges);
    expect(await highlighted(page, 'downstream')).toEqual(expected.filter((k) => inS1.includes(k)));
    expect(await page.textContent('#count-downstream')).toBe(String(expected.length));
    const marked = await page.evaluate(() =>
      (globalThis as unknown as { dbeeGraph: Api }).dbeeGraph.cy
        .nodes('.collapsed.has-downstream')
        .map((n) => n.id())
        .sort(),
    );
    const schemasOfDependents = [
      ...new Set(expected.filter((k) => !inS1.includes(k)).map((k) => `C:bench:${/:(bench_s\d)\./.exec(k)![1]}`)),
    ].sort();
    expect(schemasOfDependents.length).toBeGreaterThan(0);
    expect(marked).toEqual(schemasOfDependents);
    await page.screenshot({ path: join(tmp, 'bench2600.png') });
    await page.close();
  });

  it('--env: what the pending change creates, replaces or alters is coloured, the rest greyed; diff markdown links to it', async () => {
    const root = join(tmp, 'impact');
    cpSync(join(REPO, 'examples', 'core'), join(root, 'examples', 'core'), { recursive: true });
    cpSync(join(REPO, 'examples', 'sales'), join(root, 'examples', 'sales'), { recursive: true });
    cpSync(join(REPO, 'dbee.yaml'), join(root, 'dbee.yaml'));
    const deployed = await run(root, 'deploy', { project: 'sales', env: 'local', assumeYes: true });
    expect(deployed.stderr).not.toContain('error');
    expect(deployed.code).toBe(0);
    // A view changes, a function is new.
    const view = join(root, 'examples/sales/schema/sales/views/order_totals.sql');
    writeFileSync(view, readFileSync(view, 'utf8').replace(/SELECT/i, 'SELECT 1 AS version,'));
    writeFileSync(
      join(root, 'examples/sales/schema/sales/functions/answer.sql'),
      'CREATE FUNCTION sales.answer() RETURNS integer LANGUAGE sql AS $$ SELECT 42 $$;\n',
    );

    const file = join(root, 'impact.html');
    const r = await run(root, 'graph', { project: 'sales', env: 'local', out: file });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // order_totals changes the order of its columns: dropped and created again, with customer_revenue over it.
    expect(r.stdout).toContain('local (pglite:.dbee/local) -> sources: 1 created, 2 replaced');

    const { page, blocked, errors } = await openGraphPage(chromium.context, file);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    const impact = await page.evaluate(() => {
      const cy = (globalThis as unknown as { dbeeGraph: { cy: Cy } }).dbeeGraph.cy;
      const out: Record<string, string> = {};
      for (const [id, cls] of cy.nodes('.object').map((n) => [
        n.id(),
        cy
          .$id(n.id())
          .classes()
          .find((c) => c.startsWith('impact-')) ?? '',
      ]))
        out[id] = cls;
      return out;
    });
    expect(impact['function:sales.answer()']).toBe('impact-created');
    expect(impact['view:sales.order_totals']).toBe('impact-replaced');
    expect(impact['view:sales.customer_revenue']).toBe('impact-replaced');
    expect(impact['table:sales.orders']).toBe('impact-unchanged');
    expect(Object.values(impact).filter((c) => c === 'impact-unchanged').length).toBeGreaterThan(5);
    expect(await page.textContent('#impact-bar')).toContain('created: 1');
    await page.screenshot({ path: join(tmp, 'impact.png') });
    await page.close();

    const diff = await run(root, 'diff', { project: 'sales', env: 'local', format: 'markdown' });
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('npx dbee graph sales --env local');
  });
});
