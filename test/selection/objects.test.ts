import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { tempWorkspace } from '../support/workspace';
import { ENGINES, rows, type TestWorkspace } from '../runner/helpers';
import { shopAtV1, V2, writeAll } from '../rollback/fixture';

/**
 * `deploy --objects` / `--objects-from` (issue #62), on the rollback suite's shop: V1 deployed, V2's sources pending
 * with four changes: the function `greet` (alone), the view `names` (over customers' new column `email`), the table
 * `customers` (a new column) and the new table `orders`.
 */
let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

const deployments = async (w: TestWorkspace) =>
  Number((await rows(w.target, 'SELECT count(*)::int AS n FROM dbee.deployments'))[0]!.n);
const greeting = async (w: TestWorkspace) => (await rows(w.target, "SELECT shop.greet('x') AS g"))[0]!.g as string;

describe.each(ENGINES)('deploy a selection of objects [%s]', (engine) => {
  it('deploys one selected function alone; the rest stays pending in status, and the next deploy plans only it', async () => {
    const w = keep(await shopAtV1(engine));
    writeAll(w, V2);
    const dbee = (command: 'deploy', options: Record<string, unknown> = {}) =>
      run(w.root, command, { project: 'shop', assumeYes: true, countdownFrom: 0, ...options }, w.target.vars);

    const dry = await dbee('deploy', { objects: ['function:shop.greet'], dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const one = await dbee('deploy', { objects: ['function:shop.greet'], report: 'report.json' });
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/selection: +function:shop\.greet: 1 object, \d+ changes? left pending/);
    expect(await greeting(w)).toBe('hi x');
    const report = JSON.parse(readFileSync(join(w.root, 'report.json'), 'utf8'));
    expect(report.selection.globs).toEqual(['function:shop.greet']);
    expect(report.selection.objects).toEqual([expect.stringMatching(/^function:shop\.greet/)]);
    expect(report.selection.pending).toContain('view:shop.names');
    const cols = await rows(
      w.target,
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'customers' ORDER BY 1",
    );
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'name']);

    const status = await run(w.root, 'status', { project: 'shop', format: 'json' }, w.target.vars);
    expect(status.code).toBe(0);
    const pending = (JSON.parse(status.stdout) as { pendingSteps: { key: string }[] }).pendingSteps;
    expect([...new Set(pending.map((p) => p.key))].sort()).toEqual([
      'table:shop.customers',
      'table:shop.orders',
      'view:shop.names',
    ]);
    const views = await run(
      w.root,
      'status',
      { project: 'shop', format: 'json', objects: ['view:shop.*'] },
      w.target.vars,
    );
    expect((JSON.parse(views.stdout) as { pendingSteps: { key: string }[] }).pendingSteps.map((p) => p.key)).toEqual([
      'view:shop.names',
    ]);
    const typo = await run(w.root, 'status', { project: 'shop', objects: ['view:shop.nmes'] }, w.target.vars);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('--objects view:shop.nmes matches no object of shop');

    const rest = await dbee('deploy', { dryRun: true, verify: false });
    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain('view:shop.names');
    expect(rest.stdout).toContain('table:shop.orders');
    expect(rest.stdout).not.toContain('function:shop.greet');

    // A package of a selection (the new table) deploys like any package; then only the view and its column are left.
    const planned = await run(
      w.root,
      'plan',
      { project: 'shop', objects: ['table:shop.orders'], out: 'pkg' },
      w.target.vars,
    );
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    const pkg = await dbee('deploy', { package: 'pkg' });
    expect(pkg.stderr).toBe('');
    expect(pkg.code).toBe(0);
    expect(await rows(w.target, 'SELECT count(*)::int AS n FROM shop.orders')).toEqual([{ n: 0 }]);
    const last = await dbee('deploy', { dryRun: true, verify: false });
    expect(last.code).toBe(0);
    expect(last.stdout).toContain('view:shop.names');
    expect(last.stdout).toContain('table:shop.customers');
    expect(last.stdout).not.toMatch(/table:shop\.orders|function:shop\.greet/);
  });

  it('refuses a batch file with a misspelled routine, then a selection that needs an unselected change, before anything runs; --with-needed takes it along', async () => {
    const w = keep(await shopAtV1(engine));
    writeAll(w, V2);
    const dbee = (options: Record<string, unknown>) =>
      run(w.root, 'deploy', { project: 'shop', assumeYes: true, countdownFrom: 0, ...options }, w.target.vars);
    const before = await deployments(w);

    w.write('batch.txt', '# tonight\nfunction:shop.greet\nview:shop.names  # the report view\nfunction:shop.gret\n');
    const batch = await dbee({ objectsFrom: 'batch.txt', withNeeded: true });
    expect(batch.code).toBe(1);
    expect(batch.stderr).toContain('batch.txt:4: --objects function:shop.gret matches no object of shop');
    expect(batch.stderr).not.toContain('batch.txt:2');
    expect(await deployments(w)).toBe(before);
    expect(await greeting(w)).toBe('hello x');

    for (const dryRun of [true, false]) {
      const refused = await dbee({ objects: ['view:shop.names'], dryRun });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('view:shop.names needs table:shop.customers');
      expect(refused.stderr).toContain('--with-needed');
    }
    expect(await deployments(w)).toBe(before);

    const taken = await dbee({ objects: ['view:shop.names'], withNeeded: true });
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(taken.stdout).toContain('table:shop.customers');
    const view = await rows(w.target, 'SELECT * FROM shop.names ORDER BY id');
    expect(view).toEqual([
      { id: 1, name: 'ADA', email: null },
      { id: 2, name: 'BOB', email: null },
    ]);
    // The function and the new table were neither selected nor needed: still pending.
    expect(await greeting(w)).toBe('hello x');
    expect(await rows(w.target, "SELECT 1 FROM pg_tables WHERE schemaname = 'shop' AND tablename = 'orders'")).toEqual(
      [],
    );

    // Roll back one object: the function deployed with the new table goes back alone; the table and the view stay.
    expect((await dbee({})).code).toBe(0);
    expect(await greeting(w)).toBe('hi x');
    const rollback = (options: Record<string, unknown>) =>
      run(w.root, 'rollback', { project: 'shop', assumeYes: true, ...options }, w.target.vars);
    const misspelled = await rollback({ objects: ['function:shop.gret'] });
    expect(misspelled.code).toBe(1);
    expect(misspelled.stderr).toContain('--objects function:shop.gret matches no object that a deployment of shop');
    // The column the view deployed with it stands on cannot go back alone: refused, naming the view, dry run or not.
    const afterDeploy = await deployments(w);
    for (const dryRun of [true, false]) {
      const alone = await rollback({ objects: ['table:shop.customers'], dryRun });
      expect(alone.code).toBe(1);
      expect(alone.stderr).toMatch(/table:shop\.customers cannot be rolled back alone: view:shop\.names stands on it/);
      expect(alone.stderr).toContain("--objects 'view:shop.names'");
    }
    expect(await deployments(w)).toBe(afterDeploy);
    const dryOne = await rollback({ objects: ['function:shop.greet'], dryRun: true });
    expect(dryOne.stderr).toBe('');
    expect(dryOne.code).toBe(0);
    expect(dryOne.stdout).toContain('function:shop.greet');
    expect(dryOne.stdout).not.toContain('table:shop.orders');
    const one = await rollback({ objects: ['function:shop.greet'] });
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    expect(await greeting(w)).toBe('hello x');
    expect(await rows(w.target, 'SELECT count(*)::int AS n FROM shop.orders')).toEqual([{ n: 0 }]);
    expect((await rows(w.target, 'SELECT email FROM shop.names ORDER BY id'))[0]).toEqual({ email: null });
    const [undone] = await rows(
      w.target,
      "SELECT summary->'selection' AS selection FROM dbee.deployments WHERE kind = 'rollback' ORDER BY id DESC LIMIT 1",
    );
    expect(undone!.selection).toEqual(['function:shop.greet']);
    // The function is pending again, and only it; its smoke checks alone run (the other one fails here).
    w.write(
      'shop/smoke/shop.yaml',
      "checks:\n  - name: greets\n    function: shop.greet\n    args: [ada]\n    rows: [{ greet: 'hello ada' }]\n" +
        '  - name: five orders\n    query: SELECT count(*)::int AS n FROM shop.orders\n    rows: [{ n: 5 }]\n',
    );
    const status = await run(w.root, 'status', { project: 'shop', format: 'json' }, w.target.vars);
    const pending = (JSON.parse(status.stdout) as { pendingSteps: { key: string }[] }).pendingSteps;
    expect(pending.map((p) => p.key)).toEqual([expect.stringMatching(/^function:shop\.greet/)]);
    const smoke = await run(
      w.root,
      'smoke-test',
      { project: 'shop', objects: ['function:shop.greet'], format: 'json' },
      w.target.vars,
    );
    expect(smoke.code).toBe(0);
    expect((JSON.parse(smoke.stdout) as { results: { name: string }[] }).results.map((r) => r.name)).toEqual([
      'baseline: deployed objects exist',
      'greets',
    ]);
  });
});

/**
 * A selection naming another project's schema selects nothing there instead of being refused (Nx runs a target's
 * dependencies with the same options). The other project's schema is compared as this environment deploys it:
 * `{{env}}_core` with `env: DEV` is `dev_core` (before: the db.yaml's text `{{env}}_core` was compared, and the entry
 * was refused as matching nothing). Configuration only: one engine.
 */
describe('a selection naming a schema another project owns, made from a variable', () => {
  it('is not refused by the project that does not own it', async () => {
    const w = tempWorkspace({
      'dbee.yaml':
        'version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection:\n      embedded: memory\n    variables: { env: DEV }\n',
      'core/db.yaml': "version: 1\nname: core\nengine: postgres\nschemas: ['{{env}}_core']\n",
      'core/core.sql':
        'CREATE SCHEMA {{env}}_core;\nCREATE FUNCTION {{env}}_core.one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
      'app/db.yaml': 'version: 1\nname: app\nengine: postgres\nschemas: [app]\ndependsOn: [core]\n',
      'app/app.sql': 'CREATE SCHEMA app;\nCREATE VIEW app.v AS SELECT {{env}}_core.one() AS n;',
    });
    try {
      const status = await run(w.root, 'status', { project: 'app', objects: ['function:dev_core.one'] });
      expect(status.stderr).toBe('');
      expect(status.code).toBe(0);
      const mine = await run(w.root, 'status', { project: 'app', objects: ['function:app.none'] });
      expect(mine.code).toBe(1);
      expect(mine.stderr).toContain('function:app.none');
    } finally {
      w.remove();
    }
  });
});
