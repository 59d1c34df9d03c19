import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type HeadlessChromium } from '../graph/browser';
import { webhookSink } from '../pipeline/webhooks';
import { logRequests } from '../support/request-log';
import { scratchDatabase } from '../support/pg';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { pagilaSources } from '../selection/pagila';

/**
 * `dbee docs` as a user meets it, in one scenario over one workspace: Pagila (the corpus's largest schema by tables,
 * 70 with its partitions) and two small projects, `core` and `sales` (which reads core), deployed to three
 * environments on the real server (dev, qa, prod: three databases) with a fourth that cannot be reached. The site is
 * opened in Debian's Chromium: every page loads without a console error, every link resolves, Pagila's diagram has
 * no box over another and its text is at least 10 px at fit-to-width, the search finds a table, and the board says
 * what each ledger says. The board only reads: every session it opens is read-only, a database never deployed to
 * (`fresh`) is shown as such and gets no ledger, and the drift it finds on prod notifies no webhook. Screenshots: see
 * SHOTS.
 */

/**
 * Where the screenshots go: docs/ with DBEE_DOCS_SCREENSHOTS=1 (how docs/docs-site-*.png were made), else a temporary
 * folder, so that a run of the suite changes no file of the repository.
 */
const SHOTS = process.env.DBEE_DOCS_SCREENSHOTS
  ? join(__dirname, '..', '..', 'docs')
  : mkdtempSync(join(tmpdir(), 'dbee-docs-shots-'));

const CORE = {
  'core/db.yaml': 'version: 1\nname: core\nengine: postgres\nschemas: [core]\n',
  'core/schema.sql': 'CREATE SCHEMA core;\n',
  'core/customers.sql':
    "CREATE TABLE core.customers (\n  id bigint PRIMARY KEY,\n  email text NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\nCOMMENT ON TABLE core.customers IS 'Who buys';\nCOMMENT ON COLUMN core.customers.email IS 'Where receipts go';\n",
};

/** core's next release renames a column: deployed with expand-contract, it is in flight until `dbee complete`. */
const CORE_RENAME =
  'renames:\n  - { kind: column, schema: core, table: customers, from: created_at, to: created_on }\n';

const SALES_YAML = `version: 1
name: sales
engine: postgres
schemas: [sales]
dependsOn: [core]
docs:
  viewpoints:
    - name: ordering
      description: Orders and who places them.
      tables: [sales.order*, core.customers]
`;

const sales = (extra = '') => ({
  'sales/db.yaml': SALES_YAML,
  'sales/schema.sql': 'CREATE SCHEMA sales;\n',
  'sales/orders.sql': `CREATE TABLE sales.orders (\n  id bigint PRIMARY KEY,\n  customer_id bigint NOT NULL REFERENCES core.customers (id),\n  total numeric(10,2) NOT NULL CHECK (total >= 0)${extra}\n);\nCREATE INDEX orders_customer ON sales.orders (customer_id);\n`,
  'sales/order_totals.sql':
    'CREATE VIEW sales.order_totals AS\n  SELECT c.email, sum(o.total) AS total FROM sales.orders o JOIN core.customers c ON c.id = o.customer_id GROUP BY c.email;\n',
  'sales/smoke/orders.sql': 'SELECT count(*) FROM sales.order_totals;\n',
});

let chromium: HeadlessChromium;
let w: ReturnType<typeof tempWorkspace>;
const drops: (() => Promise<void>)[] = [];
const urls: Record<string, string> = {};
const hooks = webhookSink<{ event: string; environment: string }>();

beforeAll(async () => {
  chromium = await launchChromium();
  await hooks.listen();
  for (const env of ['dev', 'qa', 'prod', 'fresh']) {
    const db = await scratchDatabase(`dbee_docs_${env}`);
    drops.push(db.drop);
    urls[env] = db.url;
  }
  // `gone`: a port nothing listens on, as an environment whose server is down.
  const environments = [
    '  local:\n    engine: postgres\n    connection: { embedded: memory }',
    ...['dev', 'qa', 'prod', 'fresh'].map(
      (e) => `  ${e}:\n    engine: postgres\n    connection: { url: "${urls[e]}" }`,
    ),
    '  gone:\n    engine: postgres\n    connection: { url: "postgres://postgres@127.0.0.1:1/none" }\n    connectTimeout: 2s\n    connectRetries: 0',
  ];
  w = tempWorkspace({
    'dbee.yaml': `version: 1\ndefaultEnvironment: local\nenvironments:\n${environments.join('\n')}\nnotify:\n  - { url: "${hooks.url()}", retries: 0 }\n`,
    ...pagilaSources(),
    ...CORE,
    ...sales(),
  });
});

afterAll(async () => {
  await chromium?.close();
  await hooks.close();
  for (const d of drops) await d();
  w?.remove();
  if (!process.env.DBEE_DOCS_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
});

/** Every file under `dir`, relative, `/`-separated. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name],
  );
}

describe('dbee docs [postgres]', () => {
  it('writes a site of every project that a browser reads whole, a diagram readable at 70 tables, and a board of three ledgers', async () => {
    // The site from the sources alone: no environment is read.
    const site = join(w.root, 'site');
    const built = await run(w.root, 'docs', { out: site });
    expect(built.code, built.stderr).toBe(0);
    const pages = filesUnder(site).filter((f) => f.endsWith('.html'));
    expect(pages).toContain('pl/pl/table.pl.film.html');
    expect(pages).toContain('viewpoints/sales-ordering.html');

    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`${page.url()}: ${m.text()}`));
    // Every page loads without an error, and every link of every page names a file of the site.
    const broken: string[] = [];
    for (const p of pages) {
      await page.goto(pathToFileURL(join(site, p)).href, { waitUntil: 'load' });
      const hrefs = await page.$$eval('a[href], link[href], script[src]', (els) =>
        els.map((e) => e.getAttribute('href') ?? e.getAttribute('src') ?? ''),
      );
      for (const h of hrefs) {
        const target = resolve(dirname(join(site, p)), h.split('#')[0]!);
        if (!existsSync(target)) broken.push(`${p} -> ${h}`);
      }
    }
    expect(errors).toEqual([]);
    expect(broken).toEqual([]);

    // An object page: columns with types, defaults and nullability, keys, its source's file and line, and its readers
    // across projects (a view of sales reads core.customers).
    await page.goto(pathToFileURL(join(site, 'core/core/table.core.customers.html')).href);
    const customers = await page.textContent('main');
    expect(customers).toContain('Where receipts go');
    expect(customers).toContain('timestamp with time zone');
    expect(customers).toContain('now()');
    expect(customers).toContain('core/customers.sql:1');
    expect(customers).toContain('view:sales.order_totals');
    expect(customers).toContain('table:sales.orders');

    // Pagila's diagram at fit-to-width in a 1400-pixel window: no box over another, text at least 10 px, every box a link.
    await page.goto(pathToFileURL(join(site, 'pl/pl/index.html')).href);
    // In the page's own terms (this file is compiled without the DOM's types).
    const diagram = (await page.evaluate(`(() => {
      const svg = document.querySelector('svg.er');
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      const boxes = [...svg.querySelectorAll('g.er-table')].map((g) => {
        const r = g.querySelector('rect').getBoundingClientRect();
        const a = g.closest('a');
        return { key: g.getAttribute('data-key'), x: r.x, y: r.y, w: r.width, h: r.height, link: a ? a.getAttribute('href') : null };
      });
      return { boxes, fontPx: Number(svg.getAttribute('font-size')) * scale, overflow: svg.getBoundingClientRect().right > window.innerWidth };
    })()`)) as {
      boxes: { key: string; x: number; y: number; w: number; h: number; link: string | null }[];
      fontPx: number;
      overflow: boolean;
    };
    expect(diagram.boxes.length).toBe(70);
    expect(diagram.fontPx).toBeGreaterThanOrEqual(10);
    expect(diagram.overflow).toBe(false);
    const overlaps: string[] = [];
    for (const [i, a] of diagram.boxes.entries())
      for (const b of diagram.boxes.slice(i + 1))
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
          overlaps.push(`${a.key} ${b.key}`);
    expect(overlaps).toEqual([]);
    expect(diagram.boxes.filter((b) => !b.link)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'docs-site-diagram.png') });

    // The search finds a table by part of its name, and Enter opens its page.
    await page.fill('#search', 'film_act');
    await expect.poll(() => page.textContent('#search-results')).toContain('pl.film_actor');
    await page.press('#search', 'Enter');
    await page.waitForURL(/table\.pl\.film_actor\.html$/);

    // Markdown with Mermaid, and --check: up to date, then stale after a change of the sources, naming the file.
    const md = join(w.root, 'docs-md');
    expect((await run(w.root, 'docs', { project: 'core,sales', format: 'markdown', out: md })).code).toBe(0);
    expect(readFileSync(join(md, 'sales/sales/README.md'), 'utf8')).toContain(
      'sales_orders }o--|| core_customers : "customer_id"',
    );
    expect((await run(w.root, 'docs', { project: 'core,sales', format: 'markdown', out: md, check: true })).code).toBe(
      0,
    );
    w.write('core/customers.sql', CORE['core/customers.sql'].replace('Where receipts go', 'Where receipts are sent'));
    const stale = await run(w.root, 'docs', { project: 'core,sales', format: 'markdown', out: md, check: true });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('core/core/table.core.customers.md (differs)');
    expect(stale.stderr).not.toMatch(/\n\s+at /);

    // A viewpoint that matches no table: exit 1 at its line of db.yaml.
    w.write('sales/db.yaml', SALES_YAML.replace('sales.order*', 'sales.invoice*'));
    const empty = await run(w.root, 'docs', { project: 'sales', format: 'json', out: join(w.root, 'j') });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('sales/db.yaml:10');
    expect(empty.stderr).toContain('no table matches sales.invoice*');
    w.write('sales/db.yaml', SALES_YAML);

    // Three environments: all at the first release, dev at the second, a failed deployment on qa, a hand edit on prod.
    const deploy = (env: string, extra: Record<string, unknown> = {}) =>
      run(w.root, 'deploy', { project: 'sales', env, assumeYes: true, ticket: `T-${env}`, ...extra });
    for (const env of ['dev', 'qa', 'prod']) expect((await deploy(env)).code).toBe(0);
    // On prod, core's next release (a column renamed) is expanded and left in flight; the sources then go back.
    w.write('core/db.yaml', `${CORE['core/db.yaml']}${CORE_RENAME}`);
    const customersSql = readFileSync(join(w.root, 'core/customers.sql'), 'utf8');
    w.write('core/customers.sql', customersSql.replace('created_at', 'created_on'));
    const expand = await run(w.root, 'deploy', {
      project: 'core',
      env: 'prod',
      strategy: 'expand-contract',
      assumeYes: true,
    });
    expect(expand.code, expand.stderr).toBe(0);
    w.write('core/db.yaml', CORE['core/db.yaml']);
    w.write('core/customers.sql', customersSql);
    w.write('sales/orders.sql', sales(',\n  note text')['sales/orders.sql']);
    expect((await deploy('dev')).code).toBe(0);
    w.write('sales/migrations/V1__fail.sql', 'SELECT 1 / 0;\n');
    w.write('sales/migrations/V1__fail.rollback.sql', 'SELECT 1;\n');
    expect((await deploy('qa')).code).toBe(2);
    execFileSync('psql', ['-q', '-d', urls.prod!, '-c', 'ALTER TABLE sales.orders ADD COLUMN hack int']);

    const board = join(w.root, 'board');
    const notified = hooks.received.length;
    const requests = logRequests();
    const r = await run(w.root, 'docs', { project: 'core,sales', env: ['dev,qa,prod,fresh', 'gone'], out: board });
    requests.restore();
    expect(r.code, r.stderr).toBe(0);
    // Read-only: every session the board opened on an environment's database made itself read-only before it sent
    // anything but its own marking (a shadow database, where the sources are built, is dbee's own); `fresh` got no
    // ledger; no one was notified of prod's drift.
    const before = new Map<number, string[]>();
    for (const e of requests.events) {
      if (e.kind !== 'sent' || e.description.includes('(shadow')) continue;
      const sent = before.get(e.session) ?? [];
      if (!sent.some((t) => t.includes('TRANSACTION READ ONLY'))) sent.push(e.text);
      before.set(e.session, sent);
    }
    expect(before.size).toBeGreaterThanOrEqual(4);
    const writable = [...before.values()].filter(
      (sent) =>
        !sent.at(-1)!.includes('TRANSACTION READ ONLY') ||
        sent.slice(0, -1).some((t) => !/^SELECT set_config\('application_name'/.test(t)),
    );
    expect.soft(writable).toEqual([]);
    const ledger = execFileSync('psql', [
      '-tAq',
      '-d',
      urls.fresh!,
      '-c',
      "SELECT count(*) FROM pg_namespace WHERE nspname = 'dbee'",
    ]);
    expect.soft(String(ledger).trim()).toBe('0');
    expect.soft(hooks.received.slice(notified)).toEqual([]);
    await page.goto(pathToFileURL(join(board, 'board.html')).href);
    const cell = (env: string, project: string) =>
      page.textContent(`td.cell[data-env="${env}"][data-project="${project}"]`).then((t) => t ?? '');
    for (const env of ['dev', 'qa', 'prod']) {
      const log = JSON.parse((await run(w.root, 'log', { project: 'sales', env, format: 'json' })).stdout) as {
        deployments: { id: number; result: string; finishedAt: string; ticket: string; smoke: { summary: string } }[];
      };
      const deployed = log.deployments.find((d) => d.result === 'succeeded')!;
      const text = await cell(env, 'sales');
      expect(text).toContain(deployed.finishedAt);
      expect(text).toContain(`ticket ${deployed.ticket}`);
      expect(text).toContain(`smoke: ${deployed.smoke.summary}`);
      const failed = log.deployments.find((d) => d.result !== 'succeeded');
      if (failed) expect(text).toContain(`#${failed.id}`);
      else expect(text).not.toContain('last ');
    }
    // dev has the second release; the failing migration, written after, is all that is pending there.
    expect(await cell('dev', 'sales')).toContain('pending: 1 (migration:sales/V1)');
    expect(await cell('dev', 'core')).toContain('pending: none');
    expect(await cell('qa', 'sales')).toMatch(/pending: [1-9]/);
    expect(await cell('qa', 'sales')).not.toContain('drift: yes');
    expect(await cell('prod', 'sales')).toContain('drift: yes');
    expect(await cell('gone', 'sales')).toContain('not reachable');
    expect(await cell('gone', 'core')).toContain('not reachable');
    expect(await cell('fresh', 'sales')).toContain('nothing deployed');
    expect(await cell('fresh', 'sales')).not.toContain('not reachable');
    // The expand-contract release in flight on prod is in core's cell there, and in no other cell.
    expect(await cell('prod', 'core')).toContain('in flight: expand-contract: expanded');
    for (const env of ['dev', 'qa', 'fresh', 'gone'])
      for (const project of ['core', 'sales']) expect(await cell(env, project)).not.toContain('in flight');
    expect(await cell('prod', 'sales')).not.toContain('in flight');
    // The timeline: the first release reached dev, qa and prod; the second only dev.
    const history = await page.textContent('#history-sales + table');
    expect(history?.match(/waited/g)?.length).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'docs-site-board.png'), fullPage: true });
    expect(errors).toEqual([]);
    // A site once written with --env is up to date for --check, which compares only what the sources make (failed
    // before: every page's header linked the board only when --env was given, so all 16 pages "differed"); writing
    // from the sources again keeps the board's link and leaves the board alone. The JSON site keeps its board apart.
    expect(readFileSync(join(board, 'index.html'), 'utf8')).toContain('href="board.html"');
    const fromSources = { project: 'core,sales', out: board };
    const check = await run(w.root, 'docs', { ...fromSources, check: true });
    expect(check.code, check.stderr).toBe(0);
    expect((await run(w.root, 'docs', fromSources)).code).toBe(0);
    expect(readFileSync(join(board, 'core', 'index.html'), 'utf8')).toContain('board.html">release board</a>');
    expect(readFileSync(join(board, 'board.html'), 'utf8')).toContain('data-env="prod"');
    const json = { project: 'core,sales', format: 'json', out: join(w.root, 'json') };
    expect((await run(w.root, 'docs', { ...json, env: ['gone'] })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(json.out, 'docs.json'), 'utf8')).board).toBeNull();
    expect(JSON.parse(readFileSync(join(json.out, 'board.json'), 'utf8')).environments).toEqual(['gone']);
    const jsonCheck = await run(w.root, 'docs', { ...json, check: true });
    expect(jsonCheck.code, jsonCheck.stderr).toBe(0);
    // Written again from the sources alone, the folder is still up to date, the board page left by the run above not
    // counted as a left-over page.
    const again = await run(w.root, 'docs', { ...fromSources, check: true });
    expect(again.code, again.stderr).toBe(0);
    writeFileSync(join(w.root, 'done'), '');
  });
});
