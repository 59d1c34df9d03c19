import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, type TestWorkspace } from '../runner/helpers';
import { deployedShop, SHOP_V1 } from '../runner/shop';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe.each(ENGINES)('fault: a removed table file without a drop decision is reported [%s]', (engine) => {
  it('deploy warns and drops nothing; status lists it as a pending drop', async () => {
    const w = workspaces[workspaces.push(await deployedShop(engine)) - 1]!;
    rmSync(join(w.root, 'shop', 'customers.sql'));
    rmSync(join(w.root, 'shop', 'names.sql'));
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'warning: shop: table:shop.customers, view:shop.names are deployed but no longer in the sources; nothing drops them without a decision',
    );
    expect(await w.target.query("SELECT to_regclass('shop.customers') IS NOT NULL AS kept")).toEqual([{ kept: true }]);
    const status = await run(w.root, 'status', { project: 'shop' }, w.target.vars);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(
      'pending drop (source removed, no drop decision: nothing drops it): table:shop.customers, view:shop.names',
    );
    const json = await run(w.root, 'status', { project: 'shop', format: 'json' }, w.target.vars);
    expect(JSON.parse(json.stdout).pendingDrops).toEqual(['table:shop.customers', 'view:shop.names']);
  });

  it('diff lists it as a pending drop (text and json)', async () => {
    const w = workspaces[workspaces.push(await deployedShop(engine)) - 1]!;
    rmSync(join(w.root, 'shop', 'customers.sql'));
    rmSync(join(w.root, 'shop', 'names.sql'));
    const text = await run(w.root, 'diff', { project: 'shop', cache: false }, w.target.vars);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      'pending drop (source removed, no drop decision: deploy leaves it unless it plans shop by a diff): table:shop.customers, view:shop.names',
    );
    const json = await run(w.root, 'diff', { project: 'shop', format: 'json' }, w.target.vars);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).pendingDrops).toEqual(['table:shop.customers', 'view:shop.names']);
    // Nothing pending once the sources hold them again.
    for (const f of ['shop/customers.sql', 'shop/names.sql']) w.write(f, SHOP_V1[f]!);
    const back = await run(w.root, 'diff', { project: 'shop', format: 'json' }, w.target.vars);
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ changes: 0, pendingDrops: [] });
  });
});
