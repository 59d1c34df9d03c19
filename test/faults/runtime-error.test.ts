import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, type TestWorkspace } from '../runner/helpers';
import { deployedShop } from '../runner/shop';
import { assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe.each(ENGINES)('fault: a statement that fails while applying [%s]', (engine) => {
  it('the error names the file and line, the object and the statement (exit 2)', async () => {
    const w = workspaces[workspaces.push(await deployedShop(engine)) - 1]!;
    w.write(
      'shop/bad.sql',
      '-- a view of a column that does not exist\nCREATE VIEW shop.bad AS SELECT nope FROM shop.customers;\n',
    );
    const r = await run(w.root, 'deploy', { project: 'shop' }, w.target.vars);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: shop\/bad\.sql:2: column "nope" does not exist/);
    expect(r.stderr).toContain('statement: CREATE VIEW shop.bad AS SELECT nope FROM shop.customers');
    expect(await w.target.query('SELECT object_key, status FROM dbee.steps WHERE deployment_id = 2')).toEqual([
      { object_key: 'view:shop.bad', status: 'failed' },
    ]);
    await assertLedgerInvariants(w.target);
  });
});
