import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, type TestWorkspace } from '../runner/helpers';
import { catalog, deployOk, shopAtV1, shopsAtV1, V2, writeAll } from './fixture';

let workspaces: TestWorkspace[] = [];
/** Shop v1 with V1's checks deployed once for the server's four cases, a copy each. */
const shops = shopsAtV1();
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
  await shops.removeAll();
});
const keep = (w: TestWorkspace) => (workspaces.push(w), w);

/** V1's checks: the greeting says hello, and there are two customers. */
const V1_SMOKE = {
  'shop/smoke/shop.yaml':
    "checks:\n  - name: greeting\n    function: shop.greet\n    args: [ada]\n    rows: [{ greet: 'hello ada' }]\n" +
    '  - name: two customers\n    query: SELECT count(*)::int AS n FROM shop.customers\n    rows: [{ n: 2 }]\n',
};
/** V2's checks: the greeting says hi, and orders exist (both fail on V1). */
const V2_SMOKE = {
  'shop/smoke/shop.yaml':
    "checks:\n  - name: greeting\n    function: shop.greet\n    args: [ada]\n    rows: [{ greet: 'hi ada' }]\n" +
    '  - name: orders table is there\n    exists: [table:shop.orders]\n',
};

const results = (w: TestWorkspace, deployment: number) =>
  w.target.query<{ check_name: string; status: string }>(
    `SELECT check_name, status FROM dbee.smoke_results WHERE deployment_id = ${deployment} ORDER BY id`,
  );

/**
 * Which checks a rollback runs is read from the ledger (the checks recorded with the deployment rolled back to): core
 * code that both engines reach through the same statements. The first case (back, forth, and a dry run, with the
 * results recorded) runs on both engines; the others on the server only, where a case costs about a third of PGlite's
 * (CONTRIBUTING.md, "Engine-independent matrices run whole on one engine, one cell on the other").
 */
describe.each(ENGINES)('smoke checks after a rollback are those of the state rolled back to [%s]', (engine) => {
  it("rolling back to an earlier deployment runs the checks recorded with it, not the working tree's; undoing that rollback runs the newer ones", async () => {
    // The only case from this state on PGlite, deployed in place there (`shopsAtV1`: a copy pays from the second).
    const w = keep(await (engine === 'pglite' ? shopAtV1 : shops.atV1)(engine, '', V1_SMOKE));
    const v1 = await catalog(w);
    writeAll(w, { ...V2, ...V2_SMOKE });
    await deployOk(w);

    // The working tree still holds V2's checks, which would fail on V1.
    const back = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('smoke checks recorded with deployment #1');
    expect(back.stdout).toMatch(/smoke: +shop passed/);
    expect(await catalog(w)).toEqual(v1);
    expect((await results(w, 3)).filter((r) => !r.check_name.startsWith('baseline'))).toEqual([
      { check_name: 'greeting', status: 'passed' },
      { check_name: 'two customers', status: 'passed' },
    ]);

    // Undoing the rollback brings V2 back, verified by V2's checks (recorded with deployment #2).
    const again = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('smoke checks recorded with deployment #2');
    expect((await results(w, 4)).filter((r) => !r.check_name.startsWith('baseline'))).toEqual([
      { check_name: 'greeting', status: 'passed' },
      { check_name: 'orders table is there', status: 'passed' },
    ]);

    // And a rollback of that one goes to V1 again: its checks were recorded with the first rollback (#3).
    const third = await run(w.root, 'rollback', { project: 'shop', dryRun: true }, w.target.vars);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('smoke checks recorded with deployment #3');
  });

  if (engine === 'postgres')
    it('--to an earlier deployment across several runs the checks recorded with that one', async () => {
      const w = keep(await shops.atV1(engine, '', V1_SMOKE));
      writeAll(w, { ...V2, ...V2_SMOKE });
      await deployOk(w);
      w.write(
        'shop/smoke/shop.yaml',
        V2_SMOKE['shop/smoke/shop.yaml']! +
          '  - name: three customers\n    query: SELECT count(*)::int AS n FROM shop.customers\n    rows: [{ n: 3 }]\n',
      );
      w.write('shop/migrations/V2__third.sql', "INSERT INTO shop.customers (id, name) VALUES (3, 'cy');\n");
      w.write('shop/migrations/V2__third.rollback.sql', 'DELETE FROM shop.customers WHERE id = 3;\n');
      await deployOk(w);
      const r = await run(w.root, 'rollback', { project: 'shop', to: 1 }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('the smoke checks recorded with deployment #1 (2)');
      expect(r.stdout).toContain('pass  two customers');
    });

  if (engine === 'postgres')
    it("rolling back a first deployment runs none of the project's checks: the baseline verifies what the ledger still records", async () => {
      const w = keep(await shops.atV1(engine, '', V1_SMOKE));
      const r = await run(w.root, 'rollback', { project: 'shop' }, w.target.vars);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('the project is rolled back to nothing');
      expect(r.stdout).not.toContain('greeting');
      expect(await w.target.query("SELECT count(*)::int AS n FROM dbee.objects WHERE project = 'shop'")).toEqual([
        { n: 0 },
      ]);
    });

  if (engine === 'postgres')
    it('the recorded checks still fail a rollback that leaves the state broken (exit 3, the rollback stays applied)', async () => {
      const w = keep(await shops.atV1(engine, '', V1_SMOKE));
      writeAll(w, { ...V2, ...V2_SMOKE });
      await deployOk(w);
      // Data is not schema: a third customer is no drift, and no rollback takes it away.
      await w.target.query("INSERT INTO shop.customers (id, name) VALUES (3, 'cy')");
      const r = await run(w.root, 'rollback', { project: 'shop', report: 'r.json' }, w.target.vars);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('1 smoke check of shop failed after the rollback: two customers');
      expect(await w.target.query("SELECT to_regclass('shop.orders') IS NULL AS gone")).toEqual([{ gone: true }]);
      // The report says it as a deployment's does: applied, then failed by its smoke checks (exit 3).
      expect(JSON.parse(readFileSync(join(w.root, 'r.json'), 'utf8'))).toMatchObject({
        status: 'failed',
        exitCode: 3,
        smoke: expect.stringMatching(/^shop failed/),
        projects: [{ project: 'shop', deploymentId: 3, status: 'failed', error: { code: 'SMOKE_FAILED' } }],
        error: { code: 'SMOKE_FAILED' },
      });
    });
});
