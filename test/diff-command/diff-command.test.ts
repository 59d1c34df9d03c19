import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { copyExamples, TARGETS, type Target } from './targets';

describe.each(TARGETS)('dbee diff [%s]', (_name, setup) => {
  let root: string;
  let t: Target;
  const diff = async (extra: Record<string, unknown> = {}) => {
    const r = await run(root, 'diff', { project: 'sales', env: t.env, format: 'json', ...extra }, t.vars);
    expect(r.stderr).toBe('');
    return {
      code: r.code,
      json: JSON.parse(r.stdout) as {
        cached: boolean;
        changes: number;
        hazards: string[];
        steps: { key: string; action: string; statements: string[] }[];
      },
    };
  };
  beforeAll(async () => {
    root = copyExamples();
    t = await setup(root);
    const r = await run(root, 'deploy', { project: 'sales', env: t.env }, t.vars);
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await t?.done();
    rmSync(root, { recursive: true, force: true });
  });

  it('is empty right after a deployment of the same sources', async () => {
    const { code, json } = await diff({ cache: false });
    expect(code).toBe(0);
    expect(json.changes).toBe(0);
  });

  it('answers a repeated diff from the cache while neither side changed', async () => {
    const first = await diff();
    const second = await diff();
    expect(second.json.cached).toBe(true);
    expect(second.json.steps).toEqual(first.json.steps);
  });

  it('sees a change on the database side (cache invalidated), with hazards, and --fail-on-diff exits 1', async () => {
    await t.exec(`ALTER TABLE sales.orders ADD COLUMN note text;
      DROP PROCEDURE sales.cancel_stale_orders(interval);
      CREATE INDEX orders_status_idx ON sales.orders (status);`);
    const { json } = await diff();
    expect(json.cached).toBe(false);
    const summary = json.steps.map((s) => `${s.action} ${s.key}`);
    expect(summary).toEqual(
      expect.arrayContaining([
        'drop index:sales.orders_status_idx@sales.orders',
        'alter table:sales.orders',
        'create procedure:sales.cancel_stale_orders(interval)',
      ]),
    );
    expect(json.hazards).toContain('data-loss');
    const failing = await run(root, 'diff', { project: 'sales', env: t.env, failOnDiff: true }, t.vars);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('table:sales.orders');
  });

  it('sees a change on the source side (cache invalidated)', async () => {
    const before = await diff();
    appendFileSync(
      join(root, 'examples/sales/schema/sales/views/order_totals.sql'),
      "\nCOMMENT ON VIEW sales.order_totals IS 'one row per order';\n",
    );
    const after = await diff();
    expect(after.json.cached).toBe(false);
    expect(after.json.changes).toBe(before.json.changes + 1);
    expect(after.json.steps.map((s) => s.key)).toContain('view:sales.order_totals');
  });

  it('never answers from the cache when the database cannot be reached', async () => {
    await diff(); // warm the cache
    let vars = t.vars;
    const yaml = readFileSync(join(root, 'dbee.yaml'), 'utf8');
    if (t.env === 'local') {
      // An embedded database cannot be unreachable; make it unobtainable instead: its lock is held by a live process.
      writeFileSync(
        join(root, 'dbee.yaml'),
        yaml.replace('      embedded: .dbee/local\n', '      embedded: .dbee/local\n    deploy: { waitForLock: 1s }\n'),
      );
      writeFileSync(
        join(root, '.dbee', 'local.lock'),
        JSON.stringify({ user: 'someone', host: hostname(), pid: process.ppid, since: 'now' }),
      );
    } else {
      vars = { DBEE_TEST_URL: 'postgres://postgres@127.0.0.1:1/nowhere' };
    }
    const r = await run(root, 'diff', { project: 'sales', env: t.env }, vars);
    writeFileSync(join(root, 'dbee.yaml'), yaml);
    if (t.env === 'local') rmSync(join(root, '.dbee', 'local.lock'));
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('cached');
    expect(r.stderr).toMatch(t.env === 'local' ? /LOCK|lock/ : /cannot connect/);
  });
});

describe('dbee diff between environments and between git refs', () => {
  let root: string;
  beforeAll(() => {
    root = copyExamples();
    const yaml = readFileSync(join(root, 'dbee.yaml'), 'utf8').replace(
      '  dev:\n',
      '  other:\n    engine: postgres\n    connection:\n      embedded: .dbee/other\n\n  dev:\n',
    );
    writeFileSync(join(root, 'dbee.yaml'), yaml);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'pipe' });
    git('init', '-q');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'add', '.');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'v1');
    appendFileSync(
      join(root, 'examples/sales/schema/sales/tables/orders.sql'),
      '\nCREATE INDEX orders_status_idx ON sales.orders (status);\n',
    );
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qam', 'v2');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('compares two refs from git objects, without a database or a checkout', async () => {
    const r = await run(root, 'diff', { project: 'sales', base: 'HEAD~1', head: 'HEAD', format: 'json' });
    expect(r.stderr).toBe('');
    const json = JSON.parse(r.stdout);
    expect(json.steps.map((s: { action: string; key: string }) => `${s.action} ${s.key}`)).toEqual([
      'create index:sales.orders_status_idx@sales.orders',
    ]);
    expect(json.from).toBe('HEAD~1');
  });

  it('compares one environment with another', async () => {
    expect((await run(root, 'deploy', { project: 'sales', env: 'local' })).code).toBe(0);
    execFileSync('git', ['stash', '-q'], { cwd: root });
    execFileSync('git', ['checkout', '-q', 'HEAD~1'], { cwd: root });
    expect((await run(root, 'deploy', { project: 'sales', env: 'other' })).code).toBe(0);
    execFileSync('git', ['checkout', '-q', '-'], { cwd: root });
    // other (v1) -> local (v2): local has the index that other lacks.
    const r = await run(root, 'diff', { project: 'sales', env: 'other', againstEnv: 'local', format: 'json' });
    expect(r.stderr).toBe('');
    const json = JSON.parse(r.stdout);
    expect(json.steps.map((s: { action: string; key: string }) => `${s.action} ${s.key}`)).toEqual([
      'create index:sales.orders_status_idx@sales.orders',
    ]);
  });
});
