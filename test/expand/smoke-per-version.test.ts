import { afterAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from '../support/workspace';
import { run } from '../support/run';
import { EMBEDDED_LOCAL_YAML } from './workspace';

/**
 * While a release is expanded, the previous release's smoke checks run against the old version schema and the new
 * release's against the new one (PGlite). A check of the new release that fails there is exit 3.
 */
const WS = EMBEDDED_LOCAL_YAML;
const V1 = {
  's/db.yaml': 'version: 1\nname: s\nengine: postgres\nschemas: [s]\n',
  's/schema.sql': 'CREATE SCHEMA s;',
  's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY, name text);',
  's/smoke/customers.yaml': 'checks:\n  - name: customers have a name\n    query: SELECT id, name FROM customers\n',
};
const V2 = {
  's/customers.sql': 'CREATE TABLE s.customers (id int PRIMARY KEY, first_name text, last_name text);',
  's/customers.expand.yaml':
    'columns:\n  first_name: { up: "split_part(name, \' \', 1)" }\n  last_name: { up: "split_part(name, \' \', 2)" }\n  name: { down: "first_name || \' \' || last_name" }\n',
  's/smoke/customers.yaml':
    'checks:\n  - name: customers have first names\n    query: SELECT first_name FROM customers WHERE id = 1\n    rows: [{ first_name: Ada }]\n',
};

describe('smoke checks per version while expanded (PGlite)', () => {
  const w = tempWorkspace({ 'dbee.yaml': WS, ...V1 });
  afterAll(() => w.remove());

  it("runs the old release's checks on the old version and the new release's on the new one", async () => {
    expect((await run(w.root, 'deploy', { project: 's' })).code).toBe(0);
    expect((await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract', dryRun: true })).code).toBe(0);
    for (const [f, text] of Object.entries(V2)) w.write(f, text);
    // The new release's check expects a row that is not there: exit 3, the release stays expanded.
    const failing = await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract' });
    expect(failing.stdout).toContain('smoke checks of the old version (s_v0, s)');
    expect(failing.stdout).toMatch(/pass .*customers have a name/);
    expect(failing.stdout).toContain('smoke checks of the new version (s_v1, s)');
    expect(failing.stdout).toMatch(/FAIL.*customers have first names/);
    expect(failing.code).toBe(3);

    w.write(
      's/smoke/customers.yaml',
      'checks:\n  - name: customers have first names\n    query: SELECT id, first_name, last_name FROM customers\n',
    );
    // The checks are the release's as planned: abort, then expand again with the fixed check.
    expect((await run(w.root, 'abort', { project: 's' })).code).toBe(0);
    const passing = await run(w.root, 'deploy', { project: 's', strategy: 'expand-contract' });
    expect(passing.stderr).not.toMatch(/error/);
    expect(passing.stdout).toMatch(/pass .*customers have a name/);
    expect(passing.stdout).toMatch(/pass .*customers have first names/);
    expect(passing.code).toBe(0);
  });
});
