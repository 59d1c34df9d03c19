import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PgliteConnection } from '@dbee/postgres';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { EMBEDDED_LOCAL_YAML } from './workspace';

/**
 * A release package deployed with the expand-contract strategy (PGlite): `plan --out --strategy expand-contract`
 * carries the release's table model, renames and up/down expressions; the deployment plans from them, not from the
 * working tree. A package written without that part is refused.
 */
const WS = EMBEDDED_LOCAL_YAML;
const V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/orders.sql': 'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, state text);',
};
const V2 = {
  's/db.yaml':
    'version: 1\nname: s\nengine: postgres\nschemas: [s]\nrenames:\n  - { kind: column, schema: s, table: orders, from: state, to: status }\n',
  's/orders.sql':
    'CREATE TABLE s.orders (id int PRIMARY KEY, price int NOT NULL, qty int NOT NULL, status text, total int NOT NULL);',
  's/orders.expand.yaml': 'columns:\n  total: { up: price * qty }\n',
};

describe('an expand-contract release from a package (PGlite)', () => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...V1 });
  afterAll(() => w.remove());
  const q = async (sql: string) => {
    const c = await PgliteConnection.open(join(w.root, '.dbee', 'local'), 't');
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.close();
    }
  };

  it('plans the release from the package, then completes it', async () => {
    expect((await run(w.root, 'deploy', { project: 's' })).code).toBe(0);
    await q("INSERT INTO s.orders VALUES (1, 2, 3, 'open')");
    for (const [f, text] of Object.entries(V2)) w.write(f, text);
    expect((await run(w.root, 'plan', { project: 's', out: 'dist/plain' })).code).toBe(0);
    const planned = await run(w.root, 'plan', { project: 's', out: 'dist/r1', strategy: 'expand-contract' });
    expect(planned.stderr).not.toMatch(/error/);
    expect(planned.code).toBe(0);
    // The working tree goes back to v1: what deploys is the package's release.
    for (const [f, text] of Object.entries(V1)) w.write(f, text);
    w.write('s/orders.expand.yaml', '');

    const plain = await run(w.root, 'deploy', { project: 's', package: 'dist/plain', strategy: 'expand-contract' });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('has no expand-contract part for s');

    const expanded = await run(w.root, 'deploy', { project: 's', package: 'dist/r1', strategy: 'expand-contract' });
    expect(expanded.stderr).not.toMatch(/error/);
    expect(expanded.code).toBe(0);
    expect(expanded.stdout).toContain('rename column s.orders.state to status');
    expect(await q('SELECT status, total FROM s_v1.orders')).toEqual([{ status: 'open', total: 6 }]);
    // The contract phase's dry run: the embedded copy cannot hold the expanded tables' sync triggers (their functions
    // live in the ledger's schema), so it says so and refuses (exit 1); --no-verify prints the statements.
    const dry = await run(w.root, 'complete', { project: 's', dryRun: true });
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain('the dry run could not verify the plan');
    const printed = await run(w.root, 'complete', { project: 's', dryRun: true, verify: false });
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain('-- complete (each statement under lock_timeout');
    expect(printed.stdout + printed.stderr).toContain('dry run: not verified (--no-verify)');
    expect((await run(w.root, 'complete', { project: 's' })).code).toBe(0);
    expect(await q('SELECT id, price, qty, status, total FROM s.orders')).toEqual([
      { id: 1, price: 2, qty: 3, status: 'open', total: 6 },
    ]);
  });
});

describe('an expand-contract package is bound to the values it was made with (PGlite)', () => {
  const yaml = (note: string, other: string) =>
    `version: 1\ndefaultEnvironment: local\nenvironments:\n  local:\n    engine: postgres\n    connection: { embedded: .dbee/local }\n    variables: { note: ${note} }\n  other:\n    engine: postgres\n    connection: { embedded: .dbee/other }\n    variables: { note: ${other} }\n`;
  const comment = "COMMENT ON TABLE s.orders IS 'kept by {{note}}';";
  const w = tempWorkspace({ 'dbee.yaml': yaml('ops', 'sales'), ...V1, 's/comment.sql': comment });
  afterAll(() => w.remove());

  it('is refused (exit 1, nothing applied) on an environment whose values differ, as an incremental package is', async () => {
    for (const env of ['local', 'other']) expect((await run(w.root, 'deploy', { project: 's', env })).code).toBe(0);
    for (const [f, text] of Object.entries(V2)) w.write(f, text);
    const planned = await run(w.root, 'plan', { project: 's', out: 'dist/r1', strategy: 'expand-contract' });
    expect(planned.code, planned.stderr).toBe(0);
    const other = await run(w.root, 'deploy', {
      project: 's',
      env: 'other',
      package: 'dist/r1',
      strategy: 'expand-contract',
    });
    expect(other.stderr).toContain("the package's SQL was rendered with the values of {{note}} on local");
    expect(other.code).toBe(1);
    const status = await run(w.root, 'status', { project: 's', env: 'other' });
    expect(status.stdout).not.toContain('release 1');
  });
});
