import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import type { TestWorkspace } from '../runner/helpers';
import { deployedShop, SHOP_V1 } from '../runner/shop';
import { assertCatalogAsFresh, assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

const V2 = {
  'shop/migrations/V2__slow.sql': 'SELECT pg_sleep(3);\n',
  'shop/migrations/V2__slow.rollback.sql': 'SELECT 0;\n',
  'shop/migrations/V3__after.sql': 'CREATE TABLE shop.after_slow (id int);\n',
  'shop/migrations/V3__after.rollback.sql': 'DROP TABLE shop.after_slow;\n',
};

// A timeout the database imposes on every session (ALTER DATABASE ... SET): a server matter.
describe('fault: a server-side statement_timeout cancels a step [postgres]', () => {
  it('exit 2 naming the timeout and the file, the step not recorded, the rest not run; the next run resumes once the timeout allows it', async () => {
    const w = workspaces[workspaces.push(await deployedShop('postgres')) - 1]!;
    const db = new URL(w.target.vars.DBEE_RUNNER_URL!).pathname.slice(1);
    for (const [rel, text] of Object.entries(V2)) w.write(rel, text);
    await w.target.query(`ALTER DATABASE ${db} SET statement_timeout = '1s'`);
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('canceling statement due to statement timeout');
    expect(r.stderr).toContain('shop/migrations/V2__slow.sql');
    expect(r.stderr).not.toContain('lock lost');
    expect(await w.target.query('SELECT id::int, status FROM dbee.deployments ORDER BY id')).toEqual([
      { id: 1, status: 'succeeded' },
      { id: 2, status: 'failed' },
    ]);
    expect(await w.target.query('SELECT version FROM dbee.migrations ORDER BY version')).toEqual([{ version: '1' }]);
    expect(await w.target.query("SELECT to_regclass('shop.after_slow') IS NULL AS absent")).toEqual([{ absent: true }]);
    await assertLedgerInvariants(w.target);

    await w.target.query(`ALTER DATABASE ${db} RESET statement_timeout`);
    const again = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/shop: deploying 2 steps/);
    await assertLedgerInvariants(w.target);
    await assertCatalogAsFresh(w, { ...SHOP_V1, ...V2 }, ['shop']);
  });
});
