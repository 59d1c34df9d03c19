import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { ENGINES, workspaceWith, type TestWorkspace } from '../runner/helpers';
import { assertLedgerInvariants } from './invariants';

let workspaces: TestWorkspace[] = [];
afterAll(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/** Every name needs quoting: parentheses, spaces, capitals. */
const WEIRD = {
  'w/db.yaml': "version: 1\nname: w\nengine: postgres\nschemas: ['we(ird)']\n",
  'w/s.sql': `CREATE SCHEMA "we(ird)";
CREATE TABLE "we(ird)"."T a" (id int PRIMARY KEY, "Name" text);
CREATE INDEX "T a_idx" ON "we(ird)"."T a" ("Name");
CREATE VIEW "we(ird)"."V w" AS SELECT id, "Name" FROM "we(ird)"."T a";
CREATE FUNCTION "we(ird)"."f(x)"(n int) RETURNS int LANGUAGE sql AS $$ SELECT n + 1 $$;
`,
  'w/migrations/V1__seed.sql': `INSERT INTO "we(ird)"."T a" VALUES (1, 'x');\n`,
  'w/migrations/V1__seed.rollback.sql': `DELETE FROM "we(ird)"."T a";\n`,
};

describe.each(ENGINES)('fault: identifiers that need quoting work everywhere [%s]', (engine) => {
  it('a schema named we(ird): deploy (smoke included), status, smoke-test, diff and rollback', async () => {
    const w = workspaces[workspaces.push(await workspaceWith(engine, WEIRD)) - 1]!;
    const deploy = await run(w.root, 'deploy', { project: 'w' }, w.target.vars);
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toContain('pass  baseline: view we(ird).V w compiles');
    const status = await run(w.root, 'status', { project: 'w' }, w.target.vars);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('pending: nothing');
    expect(status.stdout).toContain('drift: no');
    const smoke = await run(w.root, 'smoke-test', { project: 'w' }, w.target.vars);
    expect(smoke.code, smoke.stderr).toBe(0);
    const diff = await run(w.root, 'diff', { project: 'w' }, w.target.vars);
    expect(diff.code, diff.stderr).toBe(0);
    const rollback = await run(w.root, 'rollback', { project: 'w' }, w.target.vars);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await w.target.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'we(ird)'`)).toEqual([
      { n: 0 },
    ]);
    await assertLedgerInvariants(w.target);
  });
});
