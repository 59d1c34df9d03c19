import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/run';
import { dbYaml, ENGINES, snapshot, workspaceWith, type TestWorkspace } from '../runner/helpers';

let workspaces: TestWorkspace[] = [];
afterEach(async () => {
  for (const w of workspaces) await w.remove();
  workspaces = [];
});

/**
 * Table c.t and views v1 <- v2 <- v3 over it, v2 with a grant and a comment. `v1` is v1's select list and filter: the
 * release changes it, keeping its columns (a new filter) or widening it (a column added).
 */
const chain = (v1: string): Record<string, string> => ({
  'c/db.yaml': dbYaml('c'),
  'c/a_schema.sql': 'CREATE SCHEMA c;\nCREATE TABLE c.t (id int PRIMARY KEY, amount numeric(12,2));\n',
  'c/v1.sql': `CREATE OR REPLACE VIEW c.v1 AS SELECT ${v1};\n`,
  'c/v2.sql':
    "CREATE OR REPLACE VIEW c.v2 AS SELECT id, amount FROM c.v1;\nGRANT SELECT ON c.v2 TO PUBLIC;\nCOMMENT ON VIEW c.v2 IS 'two';\n",
  'c/v3.sql': 'CREATE OR REPLACE VIEW c.v3 AS SELECT id FROM c.v2;\n',
});
const V1 = 'id, amount FROM c.t';

/** The oids of the three views: a view dropped and created again gets a new one. */
async function oids(w: TestWorkspace): Promise<Record<string, unknown>[]> {
  return w.target.query(
    "SELECT relname, oid::int AS oid FROM pg_class WHERE relnamespace = 'c'::regnamespace AND relkind = 'v' ORDER BY 1",
  );
}

/** Deploy the chain, then the release `v1`; returns the workspace and the catalog before the release. */
async function released(engine: (typeof ENGINES)[number], v1: string) {
  const w = await workspaceWith(engine, chain(V1));
  workspaces.push(w);
  const first = await run(w.root, 'deploy', { project: 'c' }, w.target.vars);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  const before = await snapshot(w.target, { withLedger: false });
  for (const [rel, text] of Object.entries(chain(v1))) w.write(rel, text);
  const release = await run(w.root, 'deploy', { project: 'c' }, w.target.vars);
  expect(release.code, release.stdout + release.stderr).toBe(0);
  return { w, before };
}

describe.each(ENGINES)('a rollback puts a view back in place when its columns allow it [%s]', (engine) => {
  it('a view whose release kept its columns is replaced back; the views over it, their grant and comment stay', async () => {
    const { w, before } = await released(engine, `${V1} WHERE id > 0`);
    const views = await oids(w);
    const dry = await run(w.root, 'rollback', { project: 'c', dryRun: true }, w.target.vars);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /-- step 1\/1: replace view:c\.v1 .*\nCREATE OR REPLACE VIEW c\.v1 AS\s+SELECT [^;]*;\n--   if the server refuses this replacement: [^\n]*\n--   again by its old definition[^\n]*\n\n/,
    );
    expect(dry.stdout).not.toMatch(/DROP VIEW/);

    const r = await run(w.root, 'rollback', { project: 'c' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Not one view dropped: the same relations, with their grant and comment, and the step ran one statement.
    expect(await oids(w)).toEqual(views);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(before.catalog);
    const step = await w.target.query<{ statements: string[] }>(
      "SELECT statements FROM dbee.steps WHERE deployment_id = 3 AND object_key LIKE '%c.v1%'",
    );
    expect(step.map((s) => s.statements.length)).toEqual([1]);
  });

  it('a view whose release added a column is still dropped and created with the views over it', async () => {
    const { w, before } = await released(engine, `${V1.replace('amount', 'amount, 1 AS x')}`);
    const views = await oids(w);
    const r = await run(w.root, 'rollback', { project: 'c' }, w.target.vars);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = await oids(w);
    for (const [i, v] of views.entries()) expect(after[i]!.oid, String(v.relname)).not.toBe(v.oid);
    expect((await snapshot(w.target, { withLedger: false })).catalog).toEqual(before.catalog);
  });
});
