import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

describe.each(ENGINES)('fault: a release that drops a table [%s]', (engine) => {
  it("passes its smoke baseline: the dropped table's indexes leave the ledger with it", async () => {
    const w = workspaces[workspaces.push(
      await workspaceWith(engine, {
        's/db.yaml': dbYaml('s'),
        's/schema.sql': 'CREATE SCHEMA s;\n',
        's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY);\n',
        's/orders.sql': 'CREATE TABLE s.orders (id int PRIMARY KEY, c int);\nCREATE INDEX orders_c_idx ON s.orders (c);\n',
      }),
    ) - 1]!;
    expect((await run(w.root, 'deploy', { project: 's' }, w.target.vars)).code).toBe(0);
    // The release: orders removed, customers changed (so the project is planned by a diff, which drops orders).
    rmSync(join(w.root, 's', 'orders.sql'));
    w.write('s/customers.sql', 'CREATE TABLE s.customers (id int PRIMARY KEY, name text);\n');
    const r = await run(w.root, 'deploy', { project: 's', allowHazards: ['data-loss'] }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pass  baseline: deployed objects exist');
    expect(await w.target.query("SELECT object_key FROM dbee.objects WHERE object_key LIKE '%orders%'")).toEqual([]);
    await assertLedgerInvariants(w.target);
  });
});
